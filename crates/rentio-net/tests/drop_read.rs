//! A read dropped while it waits leaks no fd (its own process: it counts
//! `/proc/self/fd`).

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use rentio_io::AsyncReadRent;
use rentio_net::{TcpListener, TcpStream, UnixStream};
use support::{each_backend, fd_count};

#[test]
fn reads_dropped_while_waiting_leak_no_fd() {
    each_backend(|| async {
        let before = fd_count();
        for _ in 0..50 {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let mut c = TcpStream::connect(&addr).await.unwrap();
            let (s, _) = listener.accept().await.unwrap();
            // Poll the read once (it waits: no data), then drop it.
            let read = c.read(Vec::with_capacity(1024));
            let r = rentio_executor::time::timeout(Duration::from_millis(1), read).await;
            assert!(r.is_err(), "no data was sent");
            drop((c, s, listener));
            let (mut a, b) = UnixStream::pair().unwrap();
            let read = a.read(Vec::with_capacity(1024));
            let r = rentio_executor::time::timeout(Duration::from_millis(1), read).await;
            assert!(r.is_err(), "no data was sent");
            drop((a, b));
        }
        // Let the driver reap the cancelled ops.
        rentio_executor::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(fd_count(), before, "every fd closed");
    });
}
