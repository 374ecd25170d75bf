//! Bad input on both backends: each case is an `io::Error` or a correct
//! short result, never a panic.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::ErrorKind;
use std::os::fd::AsRawFd;

use rentio_driver::op::{Read, Recv, Send, Write};
use support::{block_on, each_backend, socketpair};

#[test]
fn a_length_above_u32_max_is_clamped_to_a_short_count() {
    each_backend(|driver| {
        // 5 GiB of zeroed pages that are never touched: writing to
        // /dev/null reads none of them.
        let len = 5usize << 30;
        let buf = vec![0u8; len];
        let devnull = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .unwrap();
        let (n, buf) = block_on(driver, driver.op(Write::new(devnull.as_raw_fd(), buf)));
        let n = n.unwrap();
        assert!(
            n > 0 && n <= u32::MAX as usize,
            "short count expected, got {n}"
        );
        assert_eq!(buf.len(), len, "the buffer comes back whole");
    });
}

#[test]
fn an_invalid_fd_is_ebadf() {
    each_backend(|driver| {
        for fd in [-1, 1_000_000] {
            let (res, buf) = block_on(driver, driver.op(Recv::new(fd, Vec::with_capacity(8))));
            assert_eq!(
                res.unwrap_err().raw_os_error(),
                Some(libc::EBADF),
                "recv on fd {fd}"
            );
            assert_eq!(buf.capacity(), 8);
            let (res, _) = block_on(driver, driver.op(Read::at(fd, Vec::with_capacity(8), 0)));
            assert_eq!(
                res.unwrap_err().raw_os_error(),
                Some(libc::EBADF),
                "read on fd {fd}"
            );
        }
        assert_eq!(driver.ops_in_slab(), 0);
    });
}

#[test]
fn zero_length_buffers_give_zero() {
    each_backend(|driver| {
        let (a, b) = socketpair();
        let (n, _) = block_on(driver, driver.op(Send::new(a.as_raw_fd(), Vec::new())));
        assert_eq!(n.unwrap(), 0);
        let (n, buf) = block_on(driver, driver.op(Recv::new(b.as_raw_fd(), Vec::new())));
        assert_eq!(n.unwrap(), 0);
        assert!(buf.is_empty());
        // A full buffer has no spare room: a read into it reads nothing.
        let full = b"abc".to_vec();
        let cap = full.capacity();
        let file = std::fs::File::open("/dev/zero").unwrap();
        let (n, buf) = block_on(driver, driver.op(Read::at(file.as_raw_fd(), full, 0)));
        assert_eq!(n.unwrap(), 0);
        assert_eq!((&buf[..], buf.capacity()), (&b"abc"[..], cap));
    });
}

#[test]
fn a_closed_peer_is_eof_or_epipe_never_sigpipe() {
    // Rust binaries ignore SIGPIPE; restore the default so that a send
    // without MSG_NOSIGNAL would kill this test process.
    // SAFETY: setting a signal disposition to SIG_DFL has no handler to be
    // unsafe about.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    each_backend(|driver| {
        let (a, b) = socketpair();
        drop(b);
        let (res, _) = block_on(
            driver,
            driver.op(Recv::new(a.as_raw_fd(), Vec::with_capacity(8))),
        );
        assert_eq!(res.unwrap(), 0, "EOF from a closed peer");
        let (res, buf) = block_on(
            driver,
            driver.op(Send::new(a.as_raw_fd(), b"data".to_vec())),
        );
        assert_eq!(res.unwrap_err().kind(), ErrorKind::BrokenPipe);
        assert_eq!(buf, b"data");
    });
}
