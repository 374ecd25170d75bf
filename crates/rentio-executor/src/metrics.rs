//! What a runtime did: [`RuntimeMetrics`], read on its thread
//! ([`Runtime::metrics`](crate::Runtime::metrics)) or from any other
//! ([`Handle::metrics`](crate::Handle::metrics)).

use std::panic::Location;
use std::sync::OnceLock;
use std::sync::atomic::AtomicPtr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use rentio_driver::Backend;

/// A runtime's figures, counted since it was built.
///
/// The task and tick figures are exact on the runtime's thread. From
/// another thread they are as of the runtime's last tick; the driver's
/// (`ops_in_flight`, `sqes_submitted`, `cq_overflows`) are refreshed when
/// it parks, and at least every 1,024 ticks while it does not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeMetrics {
    /// Tasks spawned and not yet finished or dropped.
    pub tasks_alive: u64,
    /// Task polls.
    pub polls: u64,
    /// Turns of the scheduler loop (a batch of task polls, then the
    /// driver).
    pub ticks: u64,
    /// Times the runtime blocked in its driver with nothing to run.
    pub parks: u64,
    /// Time spent running (all but the time parked), while in `block_on`.
    pub busy: Duration,
    /// Tasks waiting in the run queue at the last tick.
    pub run_queue: u64,
    /// Ops the driver holds (submitted and not yet completed, including
    /// those whose futures were dropped).
    pub ops_in_flight: u64,
    /// SQEs handed to the kernel (0 on readiness).
    pub sqes_submitted: u64,
    /// Times the completion queue overflowed and the driver flushed the
    /// kernel's backlog.
    pub cq_overflows: u64,
    /// The backend the driver runs.
    pub backend: Option<Backend>,
    /// Why the builder fell back to readiness, if it did.
    pub fallback_reason: Option<String>,
    /// Task polls longer than the stall threshold
    /// ([`Builder::stall_threshold`](crate::Builder::stall_threshold)).
    pub stalls: u64,
    /// Where the task of the last reported stall was spawned.
    pub last_stall_spawned_at: Option<&'static Location<'static>>,
}

/// The live counters behind [`RuntimeMetrics`], shared with handles.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) tasks_alive: AtomicU64,
    pub(crate) polls: AtomicU64,
    pub(crate) ticks: AtomicU64,
    pub(crate) parks: AtomicU64,
    pub(crate) busy_ns: AtomicU64,
    pub(crate) run_queue: AtomicU64,
    pub(crate) ops_in_flight: AtomicU64,
    pub(crate) sqes_submitted: AtomicU64,
    pub(crate) cq_overflows: AtomicU64,
    pub(crate) stalls: AtomicU64,
    /// The runtime is gone: its stall watchdog stops.
    pub(crate) closed: std::sync::atomic::AtomicBool,
    pub(crate) backend: OnceLock<(Backend, Option<String>)>,
    /// The stall watchdog's view of the poll in progress (see `stall.rs`).
    pub(crate) watch: crate::stall::Watch,
    /// The spawn location of the task of the last stall.
    pub(crate) last_stall: AtomicPtr<Location<'static>>,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        // One writer (the owner thread): a load and a store, no RMW.
        counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
    }

    pub(crate) fn snapshot(&self) -> RuntimeMetrics {
        let (backend, fallback_reason) = match self.backend.get() {
            Some((b, why)) => (Some(*b), why.clone()),
            None => (None, None),
        };
        RuntimeMetrics {
            tasks_alive: self.tasks_alive.load(Relaxed),
            polls: self.polls.load(Relaxed),
            ticks: self.ticks.load(Relaxed),
            parks: self.parks.load(Relaxed),
            busy: Duration::from_nanos(self.busy_ns.load(Relaxed)),
            run_queue: self.run_queue.load(Relaxed),
            ops_in_flight: self.ops_in_flight.load(Relaxed),
            sqes_submitted: self.sqes_submitted.load(Relaxed),
            cq_overflows: self.cq_overflows.load(Relaxed),
            backend,
            fallback_reason,
            stalls: self.stalls.load(Relaxed),
            // SAFETY: only `&'static Location`s are stored (stall.rs).
            last_stall_spawned_at: unsafe { self.last_stall.load(Relaxed).as_ref() },
        }
    }

    /// Copies the driver's figures for other threads to read.
    pub(crate) fn publish_driver(&self, driver: &rentio_driver::Driver) {
        let stats = driver.stats();
        self.ops_in_flight
            .store(driver.ops_in_slab() as u64, Relaxed);
        self.sqes_submitted.store(stats.sqes_submitted, Relaxed);
        self.cq_overflows.store(stats.cq_overflow_flushes, Relaxed);
    }
}
