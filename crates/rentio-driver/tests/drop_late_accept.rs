//! A connection that arrives before the first poll, with the accept dropped
//! before the next enter: the driver closes the late fd. One test per
//! process (fd counts are process-wide).

#![allow(clippy::unwrap_used)]

mod support;

use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Duration;

use rentio_driver::op::Accept;
use support::{each_backend, fd_count, tick_until};

#[test]
fn a_late_accepted_fd_is_closed() {
    let before = fd_count();
    each_backend(|driver| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let closed_before = driver.stats().late_fds_closed;
        // The connection is in the backlog before the accept is pushed.
        let client = TcpStream::connect(addr).unwrap();
        // Push the accept (on readiness this also tries accept4, which
        // succeeds; on io_uring the SQE waits for the next enter)...
        let accept = driver.submit(Accept::new(listener.as_raw_fd())).unwrap();
        // ...and drop it before the driver enters again.
        drop(accept);
        assert!(tick_until(driver, 50, || driver.ops_in_slab() == 0));
        assert_eq!(driver.stats().late_fds_closed - closed_before, 1);
        // The server side was closed: the client sees EOF.
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut byte = [0u8; 1];
        let n = std::io::Read::read(&mut &client, &mut byte).unwrap_or(0);
        assert_eq!(n, 0);
    });
    assert_eq!(fd_count(), before, "no fd leaked");
}
