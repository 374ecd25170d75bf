//! File ops on both backends: open, write, read (at an offset and at the
//! current position), readv/writev, statx, fsync, close.

#![allow(clippy::unwrap_used)]

mod support;

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use rentio_driver::op::{Close, Fsync, OpenAt, Read, Readv, Statx, Write, Writev};
use support::{block_on, each_backend};

fn temp_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rentio-driver-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn open_write_read_statx_fsync_close() {
    each_backend(|driver| {
        let path = temp_path(&format!("basic-{}", driver.backend()));
        let fd = block_on(
            driver,
            driver.op(
                OpenAt::new(&path, libc::O_CREAT | libc::O_RDWR | libc::O_TRUNC, 0o600).unwrap(),
            ),
        )
        .unwrap();
        let raw = fd.as_raw_fd();

        let (n, buf) = block_on(
            driver,
            driver.op(Write::at(raw, b"hello, world".to_vec(), 0)),
        );
        assert_eq!(n.unwrap(), 12);
        assert_eq!(buf, b"hello, world");

        // Reads append to the initialized part.
        let mut buf = Vec::with_capacity(32);
        buf.extend_from_slice(b">>");
        let (n, buf) = block_on(driver, driver.op(Read::at(raw, buf, 7)));
        assert_eq!(n.unwrap(), 5);
        assert_eq!(buf, b">>world");

        let stat = block_on(driver, driver.op(Statx::fd(raw))).unwrap();
        assert_eq!(stat.stx_size, 12);
        let stat = block_on(driver, driver.op(Statx::path(&path).unwrap())).unwrap();
        assert_eq!(stat.stx_size, 12);

        block_on(driver, driver.op(Fsync::new(raw))).unwrap();
        block_on(driver, driver.op(Fsync::data(raw))).unwrap();
        block_on(driver, driver.op(Close::new(fd))).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"hello, world");
        std::fs::remove_file(&path).unwrap();
    });
}

#[test]
fn read_and_write_at_the_current_position() {
    each_backend(|driver| {
        let path = temp_path(&format!("cur-{}", driver.backend()));
        std::fs::write(&path, b"0123456789").unwrap();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let raw = file.as_raw_fd();
        let (n, buf) = block_on(driver, driver.op(Read::new(raw, Vec::with_capacity(4))));
        assert_eq!((n.unwrap(), &buf[..]), (4, &b"0123"[..]));
        let (n, buf) = block_on(driver, driver.op(Read::new(raw, Vec::with_capacity(4))));
        assert_eq!(
            (n.unwrap(), &buf[..]),
            (4, &b"4567"[..]),
            "the position advanced"
        );
        let (n, _) = block_on(driver, driver.op(Write::new(raw, b"ab".to_vec())));
        assert_eq!(n.unwrap(), 2);
        assert_eq!(std::fs::read(&path).unwrap(), b"01234567ab");
        std::fs::remove_file(&path).unwrap();
    });
}

#[test]
fn vectored_read_and_write() {
    each_backend(|driver| {
        let path = temp_path(&format!("vec-{}", driver.backend()));
        let file = std::fs::File::create(&path).unwrap();
        let bufs = vec![b"abc".to_vec(), b"".to_vec(), b"defgh".to_vec()];
        let (n, bufs) = block_on(driver, driver.op(Writev::at(file.as_raw_fd(), bufs, 0)));
        assert_eq!(n.unwrap(), 8);
        assert_eq!(bufs[2], b"defgh");
        drop(file);

        let file = std::fs::File::open(&path).unwrap();
        let bufs = [Vec::with_capacity(2), Vec::with_capacity(10)];
        let (n, bufs) = block_on(driver, driver.op(Readv::at(file.as_raw_fd(), bufs, 0)));
        assert_eq!(n.unwrap(), 8);
        assert_eq!(bufs[0], b"ab");
        assert_eq!(bufs[1], b"cdefgh");
        std::fs::remove_file(&path).unwrap();
    });
}

#[test]
fn open_errors_are_io_errors() {
    each_backend(|driver| {
        let err = block_on(
            driver,
            driver.op(OpenAt::new("/nonexistent/rentio", libc::O_RDONLY, 0).unwrap()),
        )
        .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        let err = OpenAt::new("a\0b", libc::O_RDONLY, 0).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        let err = block_on(
            driver,
            driver.op(Statx::path("/nonexistent/rentio").unwrap()),
        )
        .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    });
}

#[test]
fn opened_fds_are_cloexec() {
    each_backend(|driver| {
        let fd = block_on(
            driver,
            driver.op(OpenAt::new("/dev/null", libc::O_RDONLY, 0).unwrap()),
        )
        .unwrap();
        // SAFETY: F_GETFD takes no pointer.
        let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) };
        assert!(flags & libc::FD_CLOEXEC != 0);
        // The fd is a real, owned fd: closing through OwnedFd works.
        // SAFETY: into_raw_fd hands over ownership to the new OwnedFd.
        let owned = unsafe { OwnedFd::from_raw_fd(std::os::fd::IntoRawFd::into_raw_fd(fd)) };
        drop(owned);
    });
}

#[test]
fn vectored_io_at_the_current_position_on_a_socket() {
    each_backend(|driver| {
        let (a, b) = support::socketpair();
        let (n, _) = block_on(
            driver,
            driver.op(Writev::new(
                a.as_raw_fd(),
                vec![b"ab".to_vec(), b"cde".to_vec()],
            )),
        );
        assert_eq!(n.unwrap(), 5);
        let bufs = vec![Vec::with_capacity(3), Vec::with_capacity(8)];
        let (n, bufs) = block_on(driver, driver.op(Readv::new(b.as_raw_fd(), bufs)));
        assert_eq!(n.unwrap(), 5);
        assert_eq!((&bufs[0][..], &bufs[1][..]), (&b"abc"[..], &b"de"[..]));
    });
}
