//! The path and file-space ops on both backends, and on io_uring with each
//! opcode masked (the blocking pool's path): unlinkat, renameat, mkdirat,
//! symlinkat, linkat, fallocate, ftruncate, fadvise, sync_file_range,
//! splice; and each dropped in flight.

#![allow(clippy::unwrap_used)]

mod support;

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use rentio_driver::op::{
    Fadvise, Fallocate, Ftruncate, LinkAt, MkdirAt, OpenAt, RenameAt, Splice, SymlinkAt,
    SyncFileRange, UnlinkAt,
};
use rentio_driver::{Backend, Driver, OpCode};
use support::{block_on, each_backend_with};

/// A fresh directory for one test on one backend.
fn scratch(test: &str, driver: &Driver, masked: bool) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "rentio-driver-{}-{test}-{}-{masked}",
        std::process::id(),
        driver.backend()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The opcodes of this file's ops.
const CODES: [u8; 10] = [
    <UnlinkAt as OpCode>::CODE,
    <RenameAt as OpCode>::CODE,
    <MkdirAt as OpCode>::CODE,
    <SymlinkAt as OpCode>::CODE,
    <LinkAt as OpCode>::CODE,
    <Fallocate as OpCode>::CODE,
    <Ftruncate as OpCode>::CODE,
    <Fadvise as OpCode>::CODE,
    <SyncFileRange as OpCode>::CODE,
    <Splice as OpCode>::CODE,
];

/// Runs `test` on every backend, then on io_uring with every opcode of
/// this file masked; `test` gets whether the ops must take the pool.
fn each_path(test: impl Fn(&Driver, bool)) {
    each_backend_with(|_| {}, |driver| test(driver, false));
    each_backend_with(
        |builder| {
            for code in CODES {
                builder.mask_opcode(code);
            }
        },
        |driver| {
            if driver.backend() == Backend::Uring {
                test(driver, true);
            }
        },
    );
}

/// Runs `op`, and checks it went where it should: the ring when it has the
/// opcode, else the blocking pool.
fn run<T: OpCode>(driver: &Driver, op: T) -> T::Output {
    let pool_before = driver.stats().pool_jobs;
    let on_ring = driver.is_supported(T::CODE);
    let out = block_on(driver, driver.op(op));
    let pooled = driver.stats().pool_jobs > pool_before;
    if driver.backend() == Backend::Uring && !on_ring && !pooled {
        panic!(
            "opcode {} is masked or missing, yet the pool ran nothing",
            T::CODE
        );
    }
    if on_ring {
        assert!(
            !pooled,
            "opcode {} is on the ring, yet went to the pool",
            T::CODE
        );
    }
    out
}

fn open(driver: &Driver, path: &Path, flags: i32) -> OwnedFd {
    block_on(driver, driver.op(OpenAt::new(path, flags, 0o644).unwrap())).unwrap()
}

#[test]
fn directories_links_renames_and_unlinks() {
    each_path(|driver, masked| {
        let dir = scratch("paths", driver, masked);
        let sub = dir.join("sub");
        run(driver, MkdirAt::new(&sub, 0o755).unwrap()).unwrap();
        assert!(sub.is_dir());
        let e = run(driver, MkdirAt::new(&sub, 0o755).unwrap()).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists, "{e}");

        let file = sub.join("a");
        std::fs::write(&file, b"data").unwrap();
        run(driver, LinkAt::new(&file, dir.join("hard")).unwrap()).unwrap();
        assert_eq!(std::fs::read(dir.join("hard")).unwrap(), b"data");
        run(driver, SymlinkAt::new("sub/a", dir.join("soft")).unwrap()).unwrap();
        assert_eq!(
            std::fs::read_link(dir.join("soft")).unwrap(),
            Path::new("sub/a")
        );
        assert_eq!(std::fs::read(dir.join("soft")).unwrap(), b"data");

        run(driver, RenameAt::new(&file, dir.join("b")).unwrap()).unwrap();
        assert!(!file.exists());
        assert_eq!(std::fs::read(dir.join("b")).unwrap(), b"data");
        // RENAME_NOREPLACE refuses to replace.
        let e = run(
            driver,
            RenameAt::at(
                libc::AT_FDCWD,
                dir.join("hard"),
                libc::AT_FDCWD,
                dir.join("b"),
                libc::RENAME_NOREPLACE,
            )
            .unwrap(),
        )
        .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists, "{e}");

        let e = run(driver, UnlinkAt::dir(&dir).unwrap()).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::DirectoryNotEmpty, "{e}");
        run(driver, UnlinkAt::dir(&sub).unwrap()).unwrap();
        for name in ["hard", "soft", "b"] {
            run(driver, UnlinkAt::file(dir.join(name)).unwrap()).unwrap();
        }
        let e = run(driver, UnlinkAt::file(dir.join("b")).unwrap()).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "{e}");
        // Relative to a directory fd.
        let dirfd = open(driver, &dir, libc::O_RDONLY | libc::O_DIRECTORY);
        run(
            driver,
            MkdirAt::at(dirfd.as_raw_fd(), "rel", 0o700).unwrap(),
        )
        .unwrap();
        assert!(dir.join("rel").is_dir());
        run(
            driver,
            UnlinkAt::at(dirfd.as_raw_fd(), "rel", libc::AT_REMOVEDIR).unwrap(),
        )
        .unwrap();
        drop(dirfd);
        std::fs::remove_dir(&dir).unwrap();
    });
}

#[test]
fn file_space_and_hints() {
    each_path(|driver, masked| {
        let dir = scratch("space", driver, masked);
        let path = dir.join("f");
        let fd = open(driver, &path, libc::O_CREAT | libc::O_RDWR);
        let raw = fd.as_raw_fd();
        run(driver, Fallocate::new(raw, 0, 0, 1 << 20)).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 1 << 20);
        // Past 4 GiB: a sparse length.
        run(driver, Ftruncate::new(raw, (5 << 30) + 7)).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), (5 << 30) + 7);
        run(driver, Ftruncate::new(raw, 10)).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 10);
        run(driver, Fadvise::new(raw, 0, 0, libc::POSIX_FADV_SEQUENTIAL)).unwrap();
        let e = run(driver, Fadvise::new(raw, 0, 0, 12345)).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{e}");
        std::fs::write(&path, b"dirty").unwrap();
        run(
            driver,
            SyncFileRange::new(
                raw,
                0,
                0,
                libc::SYNC_FILE_RANGE_WRITE | libc::SYNC_FILE_RANGE_WAIT_AFTER,
            ),
        )
        .unwrap();
        let e = run(driver, Ftruncate::new(-1, 0)).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EBADF), "{e}");
        drop(fd);
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

#[test]
fn splice_a_file_through_a_pipe() {
    each_path(|driver, masked| {
        let dir = scratch("splice", driver, masked);
        let path = dir.join("src");
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let src = open(driver, &path, libc::O_RDONLY);
        let dst_path = dir.join("dst");
        let dst = open(driver, &dst_path, libc::O_CREAT | libc::O_WRONLY);
        let (rd, wr) = rustix::pipe::pipe().unwrap();
        let mut off = 0u64;
        while off < data.len() as u64 {
            // File to pipe at an offset, pipe to file at the same one.
            let n = run(
                driver,
                Splice::new(
                    src.as_raw_fd(),
                    Some(off),
                    wr.as_raw_fd(),
                    None,
                    16 << 10,
                    0,
                ),
            )
            .unwrap();
            assert!(n > 0);
            let mut left = n;
            while left > 0 {
                let m = run(
                    driver,
                    Splice::new(
                        rd.as_raw_fd(),
                        None,
                        dst.as_raw_fd(),
                        Some(off + (n - left) as u64),
                        left,
                        0,
                    ),
                )
                .unwrap();
                left -= m;
            }
            off += n as u64;
        }
        // End of input.
        let n = run(
            driver,
            Splice::new(src.as_raw_fd(), Some(off), wr.as_raw_fd(), None, 4096, 0),
        )
        .unwrap();
        assert_eq!(n, 0);
        assert!(
            std::fs::read(&dst_path).unwrap() == data,
            "the copy differs"
        );
        drop((src, dst, rd, wr));
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

/// Each op dropped right after it was pushed: the driver finishes it on
/// its own (its path buffers stay alive until then), and nothing is left.
#[test]
fn every_op_dropped_in_flight() {
    use std::future::Future;
    use std::task::{Context, Waker};

    fn push_and_drop<T: OpCode>(driver: &Driver, op: T) {
        let mut fut = Box::pin(driver.op(op));
        let _ = fut.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        drop(fut);
    }

    each_path(|driver, masked| {
        let dir = scratch("drop", driver, masked);
        let path = dir.join("f");
        std::fs::write(&path, b"x").unwrap();
        let fd = open(driver, &path, libc::O_RDWR);
        let raw = fd.as_raw_fd();
        let (rd, wr) = rustix::pipe::pipe().unwrap();
        push_and_drop(driver, MkdirAt::new(dir.join("d"), 0o755).unwrap());
        push_and_drop(driver, SymlinkAt::new("f", dir.join("s")).unwrap());
        push_and_drop(driver, LinkAt::new(&path, dir.join("h")).unwrap());
        push_and_drop(
            driver,
            RenameAt::new(dir.join("h"), dir.join("h2")).unwrap(),
        );
        push_and_drop(driver, UnlinkAt::file(dir.join("s")).unwrap());
        push_and_drop(driver, Fallocate::new(raw, 0, 0, 4096));
        push_and_drop(driver, Ftruncate::new(raw, 100));
        push_and_drop(driver, Fadvise::new(raw, 0, 0, libc::POSIX_FADV_NORMAL));
        push_and_drop(
            driver,
            SyncFileRange::new(raw, 0, 0, libc::SYNC_FILE_RANGE_WRITE),
        );
        push_and_drop(
            driver,
            Splice::new(raw, Some(0), wr.as_raw_fd(), None, 1, 0),
        );
        // Let the driver reap them all.
        for _ in 0..50 {
            driver
                .poll(Some(std::time::Duration::from_millis(2)))
                .unwrap();
        }
        drop((fd, rd, wr));
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

#[test]
fn a_path_with_a_nul_is_invalid_input() {
    let e = UnlinkAt::file("a\0b").unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    let e = RenameAt::new("ok", "b\0").unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    let e = SymlinkAt::new("\0", "ok").unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
}

/// The kernel looks up the fd of an op it runs in its io-wq workers
/// (ftruncate, fsync, statx, the `*at` calls…) only when a worker takes
/// it, after submission. Such an op in flight, its future dropped, keeps
/// its fd from being closed (and the number reused) until its
/// completion, as a blocking-pool job does: the close waits.
#[test]
fn a_close_waits_for_a_worker_op_that_names_the_fd() {
    use std::future::Future;
    use std::task::{Context, Waker};

    each_path(|driver, masked| {
        let dir = scratch("late", driver, masked);
        let path = dir.join("f");
        std::fs::write(&path, vec![1u8; 1 << 20]).unwrap();
        let fd = open(driver, &path, libc::O_RDWR);
        let raw = fd.as_raw_fd();
        let mut op = Box::pin(driver.op(Ftruncate::new(raw, 10)));
        let _ = op.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        drop(op);
        let deferred = driver.stats().closes_deferred;
        driver.close(fd);
        assert_eq!(
            driver.stats().closes_deferred,
            deferred + 1,
            "the close did not wait for the ftruncate"
        );
        let open = || {
            // SAFETY: F_GETFD on a number that may or may not be open only
            // asks; nothing else opens files in this test meanwhile.
            let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(raw) };
            rustix::io::fcntl_getfd(fd).is_ok()
        };
        assert!(open(), "closed before the op completed");
        // The dropped op was cancelled, or ran: either way it completes,
        // and then the fd closes.
        for _ in 0..100 {
            driver
                .poll(Some(std::time::Duration::from_millis(5)))
                .unwrap();
            if !open() {
                break;
            }
        }
        assert!(!open(), "closed once the op completed");
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

/// The same through the low-level face (`Driver::push`, whose common
/// case skips the op table) and through a `Close` op on the ring: each
/// close waits for the ftruncate that names the fd.
#[test]
fn owned_ops_and_close_ops_wait_too() {
    use rentio_driver::op::Close;

    each_path(|driver, masked| {
        let dir = scratch("late-owned", driver, masked);
        let path = dir.join("f");
        std::fs::write(&path, vec![1u8; 1 << 20]).unwrap();
        for via_close_op in [false, true] {
            let fd = open(driver, &path, libc::O_RDWR);
            let raw = fd.as_raw_fd();
            driver.push(Ftruncate::new(raw, 10)).unwrap();
            let deferred = driver.stats().closes_deferred;
            if via_close_op {
                block_on(driver, driver.op(Close::new(fd))).unwrap();
            } else {
                driver.close(fd);
            }
            assert_eq!(
                driver.stats().closes_deferred,
                deferred + 1,
                "close op {via_close_op}: the close did not wait"
            );
            // The owned op's completion, then the close.
            let mut done = false;
            for _ in 0..100 {
                driver
                    .poll(Some(std::time::Duration::from_millis(5)))
                    .unwrap();
                driver.completions(|_| done = true);
                if done {
                    break;
                }
            }
            assert!(done, "the ftruncate completed");
            assert_eq!(std::fs::metadata(&path).unwrap().len(), 10);
            std::fs::write(&path, vec![1u8; 1 << 20]).unwrap();
        }
        std::fs::remove_dir_all(&dir).unwrap();
    });
}
