//! Shared helpers for the executor's integration tests.

#![allow(dead_code, clippy::unwrap_used)]

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

/// Runs `test` on a runtime of each backend, naming the backend if it
/// panics.
pub fn each_backend(test: impl Fn(&Runtime)) {
    for choice in backends() {
        let rt = Runtime::builder().backend(choice).build().unwrap();
        let backend = rt.backend();
        if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| test(&rt))) {
            panic!(
                "test failed on the {backend} backend: {}",
                panic_message(&*panic)
            );
        }
    }
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}
