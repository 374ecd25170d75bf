//! An fd made by an owned op whose result nobody takes is closed, not
//! leaked: dropped `Finished`, and ops still in the driver when it drops.
//! One test per process (it counts `/proc/self/fd`).

#![allow(clippy::unwrap_used)]

mod support;

use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;

use rentio_driver::op::Accept;
use support::{backends, driver, fd_count, tick_until};

#[test]
fn unclaimed_accepted_fds_are_closed() {
    for target in backends() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let before = fd_count();
        {
            let driver = driver(target, |_| {});
            // Taken by `completions` and dropped without `output`.
            driver.push(Accept::new(listener.as_raw_fd())).unwrap();
            let c1 = TcpStream::connect(addr).unwrap();
            let mut got = 0;
            assert!(tick_until(&driver, 200, || {
                driver.completions(|done| {
                    assert!(done.raw_result() >= 0, "[{target:?}] accepted");
                    got += 1;
                });
                got == 1
            }));
            // Finished in the driver, never taken, when the driver drops.
            driver.push(Accept::new(listener.as_raw_fd())).unwrap();
            let c2 = TcpStream::connect(addr).unwrap();
            for _ in 0..20 {
                driver
                    .poll(Some(std::time::Duration::from_millis(5)))
                    .unwrap();
            }
            drop(driver);
            drop((c1, c2));
        }
        // Pool threads may still hold the unparker's eventfd for a moment.
        let mut now = fd_count();
        for _ in 0..100 {
            if now <= before {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
            now = fd_count();
        }
        assert_eq!(now, before, "[{target:?}] accepted fds leaked");
    }
}
