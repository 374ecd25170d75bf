//! Dropping ops in flight: the buffer outlives the op's last completion,
//! the slot is freed, and no fd leaks. One test per process (fd counts are
//! process-wide).

#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write as _;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use io_uring::{opcode, squeue, types};
use rentio_driver::buf::{IoBuf, IoBufMut};
use rentio_driver::op::{Completion, Recv};
use rentio_driver::sys::Syscall;
use rentio_driver::{OpCode, Readiness};
use support::{Tracked, each_backend, fd_count, is_uring, pipe, socketpair, tick_until};

/// A read of a *blocking* pipe that always runs on the blocking pool on the
/// readiness backend: the pool thread sits in read(2) until data comes.
struct PoolRead {
    fd: RawFd,
    buf: Tracked,
}

// SAFETY: the pointers go into the Tracked buffer's heap memory.
unsafe impl OpCode for PoolRead {
    type Output = std::io::Result<usize>;
    const CODE: u8 = opcode::Read::CODE;

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::Read::new(
            types::Fd(self.fd),
            self.buf.spare_ptr(),
            self.buf.spare_len() as u32,
        )
        .offset(u64::MAX)
        .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Blocking
    }

    fn syscall(&mut self) -> Syscall {
        Syscall::Read {
            fd: self.fd,
            ptr: self.buf.spare_ptr(),
            len: self.buf.spare_len(),
            offset: None,
        }
    }

    fn complete(self, completion: Completion) -> std::io::Result<usize> {
        completion.result.map(|n| n as usize)
    }
}

#[test]
fn dropped_ops_keep_their_buffers_until_the_last_completion() {
    let before = fd_count();
    each_backend(|driver| {
        // A recv waiting for data, dropped.
        let (_a, b) = socketpair();
        let (buf, freed) = Tracked::new(16);
        let op = driver.submit(Recv::new(b.as_raw_fd(), buf)).unwrap();
        driver.poll(Some(Duration::ZERO)).unwrap();
        drop(op);
        if is_uring(driver) {
            assert!(!freed.get(), "freed before the kernel's CQE");
            assert_eq!(
                driver.ops_in_slab(),
                1,
                "the dropped op waits in the driver"
            );
            assert!(driver.stats().cancels_pushed >= 1);
        }
        assert!(tick_until(driver, 50, || driver.ops_in_slab() == 0));
        assert!(freed.get(), "freed once the last CQE arrived");

        // A read the blocking pool (readiness) or the kernel (io_uring)
        // holds, dropped while it blocks.
        let (r, w) = pipe();
        let (buf, freed) = Tracked::new(16);
        let op = driver
            .submit(PoolRead {
                fd: r.as_raw_fd(),
                buf,
            })
            .unwrap();
        driver.poll(Some(Duration::ZERO)).unwrap();
        drop(op);
        assert!(
            !freed.get(),
            "freed while the kernel or a pool thread may write into it"
        );
        assert_eq!(driver.ops_in_slab(), 1);
        if !is_uring(driver) {
            // The pool thread is inside read(2): only data releases it.
            std::thread::sleep(Duration::from_millis(20));
            assert!(!freed.get());
            let mut w = std::fs::File::from(w);
            w.write_all(b"x").unwrap();
            assert!(tick_until(driver, 100, || driver.ops_in_slab() == 0));
        } else {
            assert!(tick_until(driver, 50, || driver.ops_in_slab() == 0));
            drop(w);
        }
        assert!(freed.get());
        drop(r);
    });

    // Dropping the driver itself with a dropped op in flight: it cancels,
    // reaps, and only then frees the buffer and closes the ring.
    for target in support::backends() {
        let driver = support::driver(target, |_| {});
        let (_a, b) = socketpair();
        let (buf, freed) = Tracked::new(16);
        let op = driver.submit(Recv::new(b.as_raw_fd(), buf)).unwrap();
        driver.poll(Some(Duration::ZERO)).unwrap();
        drop(op);
        drop(driver);
        assert!(
            freed.get(),
            "[{target:?}] the driver's drop reaped the cancelled op"
        );
    }
    // A pool thread that reported a result still holds the driver's
    // unparker (and so its eventfd) until its job returns.
    for _ in 0..1000 {
        if fd_count() == before {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(fd_count(), before, "no fd leaked");
}

#[allow(dead_code)]
fn unused(_: &dyn IoBuf) {}
