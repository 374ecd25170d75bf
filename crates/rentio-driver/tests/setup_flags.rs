//! Ring setup: the default flags, the step-down on refused flags, the
//! probe and opcode masks, and reaping under DEFER_TASKRUN without parking.

#![allow(clippy::unwrap_used)]

mod support;

use std::os::fd::AsRawFd;
use std::time::Duration;

use io_uring::opcode;
use rentio_driver::op::{Nop, Recv, Socket};
use rentio_driver::{Backend, BackendChoice, Driver, SetupFlags};
use support::{block_on, socketpair};

fn uring(configure: impl Fn(&mut rentio_driver::Builder)) -> Driver {
    let mut b = Driver::builder();
    b.backend(BackendChoice::Uring);
    configure(&mut b);
    b.build().unwrap()
}

#[test]
fn defer_taskrun_is_on_by_default_here() {
    let driver = uring(|_| {});
    assert_eq!(driver.backend(), Backend::Uring);
    let flags = driver.setup_flags();
    assert!(
        flags.contains(
            SetupFlags::SINGLE_ISSUER
                | SetupFlags::DEFER_TASKRUN
                | SetupFlags::TASKRUN_FLAG
                | SetupFlags::SUBMIT_ALL
        ),
        "got {flags:?}"
    );
    assert!(driver.is_supported(opcode::Nop::CODE));
    assert!(driver.is_supported(opcode::Socket::CODE));
    // Linux 5.18 and 6.6; this machine's kernel has both.
    assert!(driver.ring_fd_registered());
    assert!(flags.contains(SetupFlags::NO_SQARRAY), "got {flags:?}");
    block_on(&driver, driver.op(Nop)).unwrap();
}

#[test]
fn refused_flags_step_down_to_the_next_tier() {
    let driver = uring(|b| {
        b.mask_setup_flags(SetupFlags::DEFER_TASKRUN);
    });
    let flags = driver.setup_flags();
    assert!(!flags.contains(SetupFlags::DEFER_TASKRUN), "got {flags:?}");
    assert!(
        flags.contains(SetupFlags::COOP_TASKRUN | SetupFlags::TASKRUN_FLAG),
        "got {flags:?}"
    );
    block_on(&driver, driver.op(Nop)).unwrap();

    let driver = uring(|b| {
        b.mask_setup_flags(SetupFlags::DEFER_TASKRUN | SetupFlags::COOP_TASKRUN);
    });
    // The last tier: no flags but NO_SQARRAY, which rides on every tier.
    assert_eq!(driver.setup_flags(), SetupFlags::NO_SQARRAY);
    block_on(&driver, driver.op(Nop)).unwrap();
}

#[test]
fn a_masked_no_sqarray_keeps_the_sq_array() {
    let driver = uring(|b| {
        b.mask_setup_flags(SetupFlags::NO_SQARRAY);
    });
    let flags = driver.setup_flags();
    assert!(!flags.contains(SetupFlags::NO_SQARRAY), "got {flags:?}");
    assert!(flags.contains(SetupFlags::DEFER_TASKRUN), "got {flags:?}");
    for _ in 0..10 {
        block_on(&driver, driver.op(Nop)).unwrap();
    }
}

#[test]
fn sqpoll_drops_the_taskrun_flags() {
    let driver = uring(|b| {
        b.sqpoll(Duration::from_millis(10));
    });
    let flags = driver.setup_flags();
    assert!(flags.contains(SetupFlags::SQPOLL), "got {flags:?}");
    assert!(!flags.intersects(SetupFlags::DEFER_TASKRUN | SetupFlags::COOP_TASKRUN));
    for _ in 0..10 {
        block_on(&driver, driver.op(Nop)).unwrap();
    }
}

/// A full SQ while the SQ thread sleeps: the thread sleeps only on an
/// empty SQ, so making room must wake it (waiting for room alone would
/// wait forever). Run on a thread with a deadline, so a hang fails.
#[test]
fn a_full_sq_wakes_a_sleeping_sq_thread() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let driver = uring(|b| {
            b.entries(4).sqpoll(Duration::from_millis(1));
        });
        // Let the SQ thread go idle and sleep.
        std::thread::sleep(Duration::from_millis(50));
        for _ in 0..12 {
            driver.push(Nop).unwrap();
        }
        let mut got = 0;
        while got < 12 {
            driver.poll(Some(Duration::from_millis(100))).unwrap();
            driver.completions(|finished| {
                finished.output::<Nop>().ok().unwrap().unwrap();
                got += 1;
            });
        }
        let _ = done.send(driver.stats().sq_full_submits);
    });
    let sq_full = finished
        .recv_timeout(Duration::from_secs(20))
        .expect("pushing past a full SQ hung with the SQ thread asleep");
    assert!(sq_full > 0, "the SQ never filled, so this proved nothing");
}

/// `Driver::close` promises that ops already pushed for the fd reached the
/// kernel first. Under SQPOLL the SQ thread takes SQEs on its own time, so
/// close must wait for it: otherwise the recv below meets a closed fd
/// (`EBADF`) instead of the byte waiting for it.
#[test]
fn close_under_sqpoll_waits_for_the_sq_thread() {
    let driver = uring(|b| {
        b.sqpoll(Duration::from_millis(1));
    });
    for round in 0..20 {
        let (a, b) = socketpair();
        rustix::io::write(&b, b"x").unwrap();
        // Let the SQ thread go idle and sleep, then queue a recv on `a`.
        std::thread::sleep(Duration::from_millis(3));
        let mut op = driver
            .submit(Recv::new(a.as_raw_fd(), Vec::with_capacity(8)))
            .unwrap();
        driver.close(a);
        let (res, buf) = loop {
            driver.poll(Some(Duration::from_millis(100))).unwrap();
            if let Some(done) = op.try_complete() {
                break done;
            }
        };
        assert_eq!(res.unwrap(), 1, "round {round}");
        assert_eq!(buf, b"x");
    }
}

#[test]
fn a_masked_socket_opcode_falls_back_to_the_syscall() {
    let driver = uring(|b| {
        b.mask_opcode(opcode::Socket::CODE);
    });
    assert!(!driver.is_supported(opcode::Socket::CODE));
    let fd = block_on(
        &driver,
        driver.op(Socket::new(libc::AF_INET, libc::SOCK_STREAM, 0)),
    )
    .unwrap();
    // SAFETY: F_GETFD takes no pointer.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) };
    assert!(flags & libc::FD_CLOEXEC != 0);
}

#[test]
fn a_masked_opcode_without_fallback_is_unsupported() {
    let driver = uring(|b| {
        b.mask_opcode(opcode::Recv::CODE);
    });
    let (_a, b) = socketpair();
    let (res, buf) = block_on(
        &driver,
        driver.op(Recv::new(b.as_raw_fd(), Vec::with_capacity(4))),
    );
    assert_eq!(res.unwrap_err().kind(), std::io::ErrorKind::Unsupported);
    assert_eq!(buf.capacity(), 4, "the buffer comes back");
    assert_eq!(driver.ops_in_slab(), 0);
}

#[test]
fn auto_falls_back_when_a_required_opcode_is_missing() {
    let driver = Driver::builder()
        .backend(BackendChoice::Auto)
        .mask_opcode(opcode::RecvMsg::CODE)
        .build()
        .unwrap();
    assert_eq!(driver.backend(), Backend::Poll);
    let reason = driver.fallback_reason().unwrap();
    assert!(reason.contains("RECVMSG"), "{reason}");
    // Nothing masked: Auto takes io_uring and records no reason.
    let driver = Driver::builder()
        .backend(BackendChoice::Auto)
        .build()
        .unwrap();
    assert_eq!(driver.backend(), Backend::Uring);
    assert_eq!(driver.fallback_reason(), None);
}

#[test]
fn a_peer_completed_recv_is_reaped_without_parking() {
    let driver = uring(|_| {});
    let (a, b) = socketpair();
    let mut recv = driver
        .submit(Recv::new(b.as_raw_fd(), Vec::with_capacity(8)))
        .unwrap();
    // Submit it: the recv is armed in the kernel, with nothing to read.
    driver.poll(Some(Duration::ZERO)).unwrap();
    assert!(recv.try_complete().is_none());
    // The peer sends: under DEFER_TASKRUN the completion waits as task
    // work until this thread enters with GETEVENTS.
    // SAFETY: a live 2-byte buffer.
    let n = unsafe { libc::write(a.as_raw_fd(), b"hi".as_ptr().cast(), 2) };
    assert_eq!(n, 2);
    let parks = driver.stats().parks;
    let mut ticks = 0;
    let (res, buf) = loop {
        driver.poll(Some(Duration::ZERO)).unwrap();
        ticks += 1;
        if let Some(out) = recv.try_complete() {
            break out;
        }
        assert!(
            ticks < 3,
            "the completion was not reaped by non-blocking ticks"
        );
    };
    assert_eq!(res.unwrap(), 2);
    assert_eq!(buf, b"hi");
    assert_eq!(driver.stats().parks, parks, "the driver never parked");
    assert_eq!(ticks, 1, "one non-blocking tick reaps it");
}

#[test]
fn the_env_var_narrows_but_the_builder_wins() {
    // resolve_choice is the pure precedence rule; the builder passes the
    // real environment to it.
    use rentio_driver::resolve_choice;
    assert_eq!(
        resolve_choice(Some(BackendChoice::Uring), Some("poll")).unwrap(),
        BackendChoice::Uring
    );
    assert_eq!(
        resolve_choice(None, Some("poll")).unwrap(),
        BackendChoice::Poll
    );
}
