//! A buffer of 2 GiB or more gives a short count on both backends, never
//! an error: io_uring refuses a socket transfer over `INT_MAX` with
//! `EINVAL`, so the driver asks for at most `MAX_RW_COUNT`, which is what
//! `read(2)` and `send(2)` cap a transfer at on readiness.
//!
//! The buffers are zeroed allocations the kernel maps lazily: sending
//! reads the shared zero page, and a receive touches only the pages it
//! fills, so the test costs a few MiB, not gigabytes.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::{Read, Write};

use rentio_io::{AsyncReadRent, AsyncWriteRent};
use rentio_net::TcpStream;
use support::each_backend;

/// More than `i32::MAX` bytes.
const HUGE: usize = (1 << 31) + 4096;

/// The kernel's cap on one transfer.
const MAX_RW_COUNT: usize = (i32::MAX as usize) & !4095;

#[test]
fn tcp_transfers_of_2_gib_and_more_give_a_short_count() {
    each_backend(|| async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        let (mut peer, _) = listener.accept().unwrap();

        let (n, buf) = stream.write(vec![0u8; HUGE]).await;
        let n = n.expect("a 2 GiB write is a short count, not an error");
        assert!(n > 0 && n <= MAX_RW_COUNT, "wrote {n}");
        drop(buf);
        // Take what was sent, so the connection is quiet again.
        let mut left = n;
        let mut sink = vec![0u8; 1 << 20];
        while left > 0 {
            left -= peer.read(&mut sink[..left.min(1 << 20)]).unwrap();
        }

        peer.write_all(b"hello").unwrap();
        let (n, buf) = stream.read(Vec::with_capacity(HUGE)).await;
        assert_eq!(n.expect("a 2 GiB read is a short count, not an error"), 5);
        assert_eq!(&buf[..], b"hello");
    });
}
