#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub use rentio_driver::{Backend, BackendChoice};
pub use rentio_executor::{
    Builder, Handle, JoinError, JoinHandle, RemoteJoinHandle, Runtime, RuntimeMetrics, SendSleep,
    current_driver, spawn, spawn_blocking, yield_now,
};
pub use rentio_macros::{main, test};

/// Owned buffers for rented IO (`IoBuf`, `IoBufMut`, slices, vectored).
pub mod buf {
    pub use rentio_buf::*;
}

/// The raw IO driver: ops, backends, the blocking pool, the unparker.
pub mod driver {
    pub use rentio_driver::*;
}

/// Rent IO traits and helpers (`rentio-io`).
pub mod io {
    pub use rentio_io::*;
}

/// TCP, UDP and Unix sockets (`rentio-net`).
pub mod net {
    pub use rentio_net::*;
}

/// Files and directories, std::fs call for call (`rentio-fs`).
pub mod fs {
    pub use rentio_fs::*;
}

/// tokio's and futures-io's IO traits over rentio streams (the `compat`
/// feature, on by default): see [`rentio_compat`].
#[cfg(feature = "compat")]
pub mod compat {
    pub use rentio_compat::*;
}

/// Unix signals: `ctrl_c()` and `unix::signal(kind)`.
pub mod signal {
    pub use rentio_executor::signal::*;
}

/// Channels within and across cores: `oneshot`, bounded `mpsc`.
pub mod sync {
    pub use rentio_executor::sync::*;
}

/// Timers: `sleep`, `timeout`, `interval`, `Instant`.
pub mod time {
    pub use rentio_executor::time::*;
}

/// Thread-per-core: one pinned runtime per CPU.
pub mod tpc {
    pub use rentio_executor::tpc::*;
}

/// Support for the macros' expansions. Not a public API.
#[doc(hidden)]
pub mod __private {
    use std::fmt::Debug;
    use std::future::Future;
    use std::panic::{AssertUnwindSafe, catch_unwind};

    use crate::{BackendChoice, Builder};

    /// What a `#[rentio::test]` body may return.
    pub trait TestOutput {
        /// `Err(message)` fails the test.
        fn into_result(self) -> Result<(), String>;
    }

    impl TestOutput for () {
        fn into_result(self) -> Result<(), String> {
            Ok(())
        }
    }

    impl<E: Debug> TestOutput for Result<(), E> {
        fn into_result(self) -> Result<(), String> {
            self.map_err(|e| format!("{e:?}"))
        }
    }

    /// The backends a test runs on: both, unless `RENTIO_DRIVER` narrows.
    pub fn test_backends() -> Vec<BackendChoice> {
        match std::env::var("RENTIO_DRIVER").ok().as_deref() {
            Some("uring") => vec![BackendChoice::Uring],
            Some("poll") => vec![BackendChoice::Poll],
            _ => vec![BackendChoice::Uring, BackendChoice::Poll],
        }
    }

    /// `#[rentio::test]`: the body once per backend.
    #[track_caller]
    pub fn test_each_backend<F, Fut, R>(name: &str, builder: &Builder, make: F)
    where
        F: Fn() -> Fut,
        Fut: Future<Output = R>,
        R: TestOutput,
    {
        for choice in test_backends() {
            let mut b = builder.clone();
            b.backend(choice);
            let rt = match b.build() {
                Ok(rt) => rt,
                Err(e) if choice == BackendChoice::Uring => {
                    eprintln!("{name}: skipped on io_uring, which cannot start here: {e}");
                    continue;
                }
                Err(e) => panic!("{name}: the readiness runtime failed to start: {e}"),
            };
            let backend = rt.backend();
            match catch_unwind(AssertUnwindSafe(|| rt.block_on(make()))) {
                Ok(out) => {
                    if let Err(msg) = out.into_result() {
                        panic!("{name} failed on the {backend} backend: {msg}");
                    }
                }
                Err(panic) => {
                    let msg = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "(non-string panic)".into());
                    panic!("{name} failed on the {backend} backend: {msg}");
                }
            }
        }
    }
}
