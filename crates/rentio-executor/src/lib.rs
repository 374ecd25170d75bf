//! The single-threaded executor of rentio.
//!
//! A [`Runtime`] runs `!Send` tasks over one IO driver: a FIFO run queue,
//! a bounded number of task polls per tick, then the driver is polled (and
//! parks only when nothing is runnable). Wakers are sound from any thread:
//! a wake from another thread or another runtime goes through the owner's
//! inbox and wakes its driver.
//!
//! ```
//! let rt = rentio_executor::Runtime::new()?;
//! let out = rt.block_on(async {
//!     let a = rentio_executor::spawn(async { 40 });
//!     let b = rentio_executor::spawn(async { 2 });
//!     a.await.unwrap() + b.await.unwrap()
//! });
//! assert_eq!(out, 42);
//! # Ok::<(), std::io::Error>(())
//! ```

mod context;
mod handle;
mod loom;
mod metrics;
mod oneshot;
pub mod park;
mod remote;
mod runtime;
mod scheduler;
pub mod signal;
mod stall;
pub mod sync;
pub mod task;
pub mod time;
pub mod tpc;

#[cfg(all(test, loom))]
mod loom_tests;

pub use context::current_driver;
pub use handle::{Handle, RemoteJoinHandle, SendSleep};
pub use metrics::RuntimeMetrics;
pub use runtime::{Builder, Runtime, spawn, spawn_blocking, yield_now};
pub use task::{JoinError, JoinHandle};
