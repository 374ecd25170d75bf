//! Shared helpers for the net integration tests: every test runs on both
//! backends, named in a failure.

#![allow(dead_code, clippy::unwrap_used)]

use std::future::Future;

use rentio_driver::BackendChoice;
use rentio_executor::Runtime;

/// The backends this run covers: both, unless `RENTIO_DRIVER` narrows.
pub fn backends() -> Vec<BackendChoice> {
    match std::env::var("RENTIO_DRIVER").ok().as_deref() {
        Some("uring") => vec![BackendChoice::Uring],
        Some("poll") => vec![BackendChoice::Poll],
        _ => vec![BackendChoice::Uring, BackendChoice::Poll],
    }
}

/// Runs the future `make` builds on a fresh runtime of each backend, with
/// a 60 s bound, naming the backend if it panics.
pub fn each_backend<F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    let configs = backends()
        .into_iter()
        .map(|choice| {
            let mut b = rentio_executor::Builder::new();
            b.backend(choice);
            let name = match choice {
                BackendChoice::Uring => "the io_uring backend",
                _ => "the readiness backend",
            };
            (name, b)
        })
        .collect();
    each_config(configs, |_| make());
}

/// The number of open fds of this process.
pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// A pattern of `len` bytes that differs at every offset mod 251.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// The configurations of a test of an io_uring feature: io_uring, io_uring
/// with `feature` masked (named `masked`: its fallback runs), and
/// readiness, as `RENTIO_DRIVER` narrows.
pub fn feature_configs(
    feature: rentio_driver::Feature,
    masked: &'static str,
) -> Vec<(&'static str, rentio_executor::Builder)> {
    let mut out = Vec::new();
    for choice in backends() {
        let mut b = rentio_executor::Builder::new();
        b.backend(choice);
        match choice {
            BackendChoice::Uring => {
                out.push(("uring", b.clone()));
                b.driver().mask_feature(feature);
                out.push((masked, b));
            }
            _ => out.push(("readiness", b)),
        }
    }
    out
}

/// An io_uring runtime for a test of an io_uring-only behaviour, or
/// `None` (with a message saying the test is skipped and why) when this
/// run excludes io_uring or the kernel refuses it.
pub fn uring_or_skip(what: &str) -> Option<Runtime> {
    if !backends().contains(&BackendChoice::Uring) {
        eprintln!("skipped: {what} is io_uring's, and RENTIO_DRIVER excludes it");
        return None;
    }
    match Runtime::builder().backend(BackendChoice::Uring).build() {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("skipped: {what} needs io_uring, which is unavailable: {e}");
            None
        }
    }
}

/// The configurations of a test of ops with a fallback: io_uring, io_uring
/// with `opcodes` masked (named `masked`: the fallback runs, as on a
/// kernel without them), and readiness, as `RENTIO_DRIVER` narrows.
pub fn opcode_configs(
    opcodes: &[u8],
    masked: &'static str,
) -> Vec<(&'static str, rentio_executor::Builder)> {
    let mut out = Vec::new();
    for choice in backends() {
        let mut b = rentio_executor::Builder::new();
        b.backend(choice);
        match choice {
            BackendChoice::Uring => {
                out.push(("uring", b.clone()));
                for &code in opcodes {
                    b.driver().mask_opcode(code);
                }
                out.push((masked, b));
            }
            _ => out.push(("readiness", b)),
        }
    }
    out
}

/// Runs the future `make` builds on a fresh runtime of each of `configs`,
/// with a 60 s bound, naming the configuration if it panics.
pub fn each_config<F, Fut>(configs: Vec<(&'static str, rentio_executor::Builder)>, make: F)
where
    F: Fn(&'static str) -> Fut,
    Fut: Future<Output = ()>,
{
    for (name, builder) in configs {
        let rt = builder.build().unwrap();
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(async {
                rentio_executor::time::timeout(std::time::Duration::from_secs(60), make(name))
                    .await
                    .expect("the test finished within 60 s")
            })
        }));
        if let Err(panic) = run {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            panic!("test failed on {name}: {msg}");
        }
    }
}
