//! Shared helpers for rentio-fs's tests: every test runs on io_uring, on
//! io_uring with the fs opcodes masked (the blocking pool's path), and on
//! readiness, named in a failure.

#![allow(dead_code, clippy::unwrap_used)]

use std::future::Future;
use std::path::PathBuf;

use rentio_driver::op::{
    Fadvise, Fallocate, Ftruncate, LinkAt, MkdirAt, RenameAt, SymlinkAt, SyncFileRange, UnlinkAt,
};
use rentio_driver::{BackendChoice, OpCode};
use rentio_executor::Runtime;

/// A runtime setup a test runs on.
#[derive(Clone, Copy, Debug)]
pub enum Setup {
    Uring,
    /// io_uring with the opcodes that have a pool fallback masked.
    UringMasked,
    Poll,
}

/// The setups this run covers: all, unless `RENTIO_DRIVER` narrows.
pub fn setups() -> Vec<Setup> {
    match std::env::var("RENTIO_DRIVER").ok().as_deref() {
        Some("uring") => vec![Setup::Uring, Setup::UringMasked],
        Some("poll") => vec![Setup::Poll],
        _ => vec![Setup::Uring, Setup::UringMasked, Setup::Poll],
    }
}

pub fn runtime(setup: Setup) -> Runtime {
    let mut builder = Runtime::builder();
    match setup {
        Setup::Uring => {
            builder.backend(BackendChoice::Uring);
        }
        Setup::UringMasked => {
            builder.backend(BackendChoice::Uring);
            for code in [
                <UnlinkAt as OpCode>::CODE,
                <RenameAt as OpCode>::CODE,
                <MkdirAt as OpCode>::CODE,
                <SymlinkAt as OpCode>::CODE,
                <LinkAt as OpCode>::CODE,
                <Fallocate as OpCode>::CODE,
                <Ftruncate as OpCode>::CODE,
                <Fadvise as OpCode>::CODE,
                <SyncFileRange as OpCode>::CODE,
            ] {
                builder.driver().mask_opcode(code);
            }
        }
        Setup::Poll => {
            builder.backend(BackendChoice::Poll);
        }
    }
    builder.build().unwrap()
}

/// Runs the future `make` builds on each setup (30 s bound), naming the
/// setup if it panics.
pub fn each_setup<F, Fut>(make: F)
where
    F: Fn(Setup) -> Fut,
    Fut: Future<Output = ()>,
{
    for setup in setups() {
        let rt = runtime(setup);
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(async {
                rentio_executor::time::timeout(std::time::Duration::from_secs(30), make(setup))
                    .await
                    .expect("the test finished within 30 s")
            })
        }));
        if let Err(panic) = run {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            panic!("test failed on {setup:?}: {msg}");
        }
    }
}

/// A fresh, empty directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "rentio-fs-{}-{name}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// How many fds of this process are open on `path` (tests run in
/// parallel, so a count of all fds would not do).
pub fn fds_open_on(path: &std::path::Path) -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(Result::ok)
        .filter(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == path))
        .count()
}
