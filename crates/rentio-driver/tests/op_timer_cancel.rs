//! Timers, cancellation and linked timeouts on both backends.

#![allow(clippy::unwrap_used)]

mod support;

use std::os::fd::AsRawFd;
use std::time::Duration;

use rentio_driver::op::{AsyncCancel, Nop, Recv, Timeout};
use support::{block_on, each_backend, socketpair};

#[test]
fn nop_completes() {
    each_backend(|driver| {
        for _ in 0..3 {
            block_on(driver, driver.op(Nop)).unwrap();
        }
        assert_eq!(driver.ops_in_slab(), 0);
    });
}

#[test]
fn an_expired_timeout_is_success() {
    each_backend(|driver| {
        let start = std::time::Instant::now();
        block_on(driver, driver.op(Timeout::new(Duration::from_millis(5)))).unwrap();
        assert!(start.elapsed() >= Duration::from_millis(5));
    });
}

#[test]
fn async_cancel_ends_a_pending_recv_and_returns_its_buffer() {
    each_backend(|driver| {
        let (_a, b) = socketpair();
        let mut recv = driver
            .submit(Recv::new(b.as_raw_fd(), Vec::with_capacity(8)))
            .unwrap();
        let key = recv.key().unwrap();
        // The recv is waiting: nothing to read.
        driver.poll(Some(Duration::ZERO)).unwrap();
        assert!(recv.try_complete().is_none());
        block_on(driver, driver.op(AsyncCancel::new(key))).unwrap();
        let (res, buf) = block_on(driver, recv);
        assert_eq!(res.unwrap_err().raw_os_error(), Some(libc::ECANCELED));
        assert_eq!(buf.capacity(), 8, "the buffer comes back");
        // Cancelling a finished op: ENOENT.
        let err = block_on(driver, driver.op(AsyncCancel::new(key))).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
        assert_eq!(driver.ops_in_slab(), 0);
    });
}

#[test]
fn a_linked_timeout_cancels_a_stuck_recv() {
    each_backend(|driver| {
        let (_a, b) = socketpair();
        let op = driver
            .op(Recv::new(b.as_raw_fd(), Vec::with_capacity(8)))
            .with_link_timeout(Duration::from_millis(10));
        let (res, buf) = block_on(driver, op);
        assert_eq!(res.unwrap_err().raw_os_error(), Some(libc::ECANCELED));
        assert_eq!(buf.capacity(), 8);
        // Both CQEs (the recv's and the timeout's) are reaped before the
        // slot is freed.
        support::tick_until(driver, 20, || driver.ops_in_slab() == 0);
        assert_eq!(driver.ops_in_slab(), 0);
    });
}

#[test]
fn a_linked_timeout_that_does_not_fire_leaves_the_result() {
    each_backend(|driver| {
        let (a, b) = socketpair();
        rustix_write(&a, b"x");
        let op = driver
            .op(Recv::new(b.as_raw_fd(), Vec::with_capacity(8)))
            .with_link_timeout(Duration::from_secs(5));
        let (res, buf) = block_on(driver, op);
        assert_eq!(res.unwrap(), 1);
        assert_eq!(buf, b"x");
        support::tick_until(driver, 20, || driver.ops_in_slab() == 0);
        if support::is_uring(driver) {
            assert_eq!(driver.ops_in_slab(), 0, "the timeout's CQE was reaped");
        }
    });
}

#[test]
fn driver_cancel_by_key() {
    each_backend(|driver| {
        let (_a, b) = socketpair();
        let mut recv = driver
            .submit(Recv::new(b.as_raw_fd(), Vec::with_capacity(8)))
            .unwrap();
        driver.cancel(recv.key().unwrap()).unwrap();
        assert!(support::tick_until(driver, 20, || {
            recv.try_complete()
                .is_some_and(|(res, _)| res.unwrap_err().raw_os_error() == Some(libc::ECANCELED))
        }));
    });
}

fn rustix_write(fd: &impl AsRawFd, data: &[u8]) {
    // SAFETY: `data` is a live slice of the given length.
    let n = unsafe { libc::write(fd.as_raw_fd(), data.as_ptr().cast(), data.len()) };
    assert_eq!(n, data.len() as isize);
}

#[test]
fn link_timeouts_of_finished_ops_do_not_pile_up() {
    each_backend(|driver| {
        let (a, b) = socketpair();
        // Many reads that beat their (long) deadline: the deadlines must
        // not outlive their ops by more than a sweep.
        for _ in 0..2_000 {
            rustix_write(&a, b"x");
            let op = driver
                .op(Recv::new(b.as_raw_fd(), Vec::with_capacity(8)))
                .with_link_timeout(Duration::from_secs(60));
            let (res, _) = block_on(driver, op);
            assert_eq!(res.unwrap(), 1);
        }
        driver.poll(Some(Duration::ZERO)).unwrap();
        let left = driver.readiness_timers();
        assert!(left <= 128, "{left} deadlines kept for 2000 finished reads");
    });
}
