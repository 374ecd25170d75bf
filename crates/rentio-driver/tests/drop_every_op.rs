//! Every op that can wait in the kernel, dropped while it waits: the slot
//! is freed once the kernel lets go, buffers outlive their last CQE, and no
//! fd leaks. One test per process (fd counts are process-wide).

#![allow(clippy::unwrap_used)]

mod support;

use std::ffi::CString;
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::time::Duration;

use rentio_driver::op::{
    Accept, OpenAt, PollAdd, Read, Readv, Recv, RecvMsg, Send, Timeout, Write,
};
use rentio_driver::{Driver, Interest, OpCode};
use support::{Tracked, each_backend, fd_count, is_uring, pipe, socketpair, tick_until};

/// Submits `op`, lets it reach the kernel, drops it, and checks the slot
/// is freed (after the kernel's last CQE on io_uring).
fn drop_waiting<T: OpCode>(driver: &Driver, name: &str, op: T) {
    let op = driver.submit(op).unwrap();
    driver.poll(Some(Duration::ZERO)).unwrap();
    assert!(!op.is_finished(), "{name}: the op should still wait");
    drop(op);
    assert!(
        tick_until(driver, 100, || driver.ops_in_slab() == 0),
        "{name}: slot not freed"
    );
}

#[test]
fn every_waiting_op_can_be_dropped() {
    let before = fd_count();
    each_backend(|driver| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        drop_waiting(driver, "accept", Accept::new(listener.as_raw_fd()));

        let (a, b) = socketpair();
        let (buf, freed) = Tracked::new(8);
        drop_waiting(driver, "recv", Recv::new(b.as_raw_fd(), buf));
        assert!(freed.get());
        drop_waiting(
            driver,
            "recvmsg",
            RecvMsg::new(b.as_raw_fd(), vec![Vec::with_capacity(8)]),
        );
        drop_waiting(
            driver,
            "poll_add",
            PollAdd::new(b.as_raw_fd(), Interest::Read),
        );
        drop_waiting(driver, "timeout", Timeout::new(Duration::from_secs(60)));

        let (r, w) = pipe();
        let (buf, freed) = Tracked::new(8);
        drop_waiting(driver, "read(pipe)", Read::new(r.as_raw_fd(), buf));
        assert!(freed.get());
        drop_waiting(
            driver,
            "readv(pipe)",
            Readv::new(r.as_raw_fd(), vec![Vec::with_capacity(8)]),
        );

        // Fill the socket's send buffer so a send waits.
        // SAFETY: F_SETFL takes an integer argument.
        unsafe { libc::fcntl(a.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
        let chunk = vec![0u8; 64 << 10];
        // SAFETY: a live buffer of the given length.
        while unsafe {
            libc::send(
                a.as_raw_fd(),
                chunk.as_ptr().cast(),
                chunk.len(),
                libc::MSG_DONTWAIT,
            )
        } > 0
        {}
        drop_waiting(
            driver,
            "send(full)",
            Send::new(a.as_raw_fd(), vec![1u8; 4096]),
        );

        // Fill the pipe so a write waits.
        // SAFETY: F_SETFL takes an integer argument.
        unsafe { libc::fcntl(w.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
        // SAFETY: a live buffer of the given length.
        while unsafe { libc::write(w.as_raw_fd(), chunk.as_ptr().cast(), chunk.len()) } > 0 {}
        drop_waiting(
            driver,
            "write(full pipe)",
            Write::new(w.as_raw_fd(), vec![1u8; 4096]),
        );

        // An open of a FIFO blocks until a writer comes (in the kernel's
        // io-wq, or on a pool thread for readiness).
        let dir = std::env::temp_dir().join(format!(
            "rentio-fifo-{}-{}",
            std::process::id(),
            driver.backend()
        ));
        let _ = std::fs::remove_file(&dir);
        let path = CString::new(dir.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string.
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
        let op = driver
            .submit(OpenAt::new(&dir, libc::O_RDONLY, 0).unwrap())
            .unwrap();
        driver.poll(Some(Duration::ZERO)).unwrap();
        drop(op);
        if !is_uring(driver) {
            // The pool thread sits in open(2): only a writer releases it.
            assert_eq!(driver.ops_in_slab(), 1);
            let writer = std::fs::OpenOptions::new().write(true).open(&dir).unwrap();
            assert!(tick_until(driver, 100, || driver.ops_in_slab() == 0));
            drop(writer);
        } else {
            assert!(tick_until(driver, 100, || driver.ops_in_slab() == 0));
        }
        std::fs::remove_file(&dir).unwrap();
    });
    // A pool thread that reported a result still holds the driver's
    // unparker (and so its eventfd) until its job returns: give it a
    // bounded number of chances to let go.
    for _ in 0..1000 {
        if fd_count() == before {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(fd_count(), before, "no fd leaked (late fds closed)");
}
