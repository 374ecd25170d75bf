//! `Runtime`, its `Builder`, `block_on` and `spawn`.

use std::future::Future;
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use rentio_driver::{Backend, BackendChoice, Driver};

use crate::context;
use crate::park::Park;
use crate::remote::Remote;
use crate::scheduler::Shared;
use crate::task::JoinHandle;
use crate::time::{self, Instant};

/// tokio's choice: enough polls per tick to amortize the driver's enter,
/// few enough that IO and timers are never long starved.
const DEFAULT_TASKS_PER_TICK: usize = 61;

/// Builds a [`Runtime`].
#[derive(Debug, Clone)]
pub struct Builder {
    driver: rentio_driver::Builder,
    tasks_per_tick: usize,
    stall_threshold: Option<Duration>,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// Defaults: the backend from `RENTIO_DRIVER` or `Auto`, 1024 ring
    /// entries, 61 task polls per tick.
    pub fn new() -> Builder {
        Builder {
            driver: rentio_driver::Builder::new(),
            tasks_per_tick: DEFAULT_TASKS_PER_TICK,
            stall_threshold: None,
        }
    }

    /// The IO backend (this wins over `RENTIO_DRIVER`).
    pub fn backend(&mut self, choice: BackendChoice) -> &mut Builder {
        self.driver.backend(choice);
        self
    }

    /// io_uring SQ entries.
    pub fn entries(&mut self, entries: u32) -> &mut Builder {
        self.driver.entries(entries);
        self
    }

    /// Most threads of the blocking pool (file IO on readiness,
    /// `spawn_blocking`).
    pub fn blocking_threads(&mut self, n: usize) -> &mut Builder {
        self.driver.pool_config(rentio_driver::PoolConfig {
            max_threads: n.max(1),
            ..rentio_driver::PoolConfig::default()
        });
        self
    }

    /// Task polls per tick before the driver is polled again (at least 1).
    pub fn tasks_per_tick(&mut self, n: usize) -> &mut Builder {
        self.tasks_per_tick = n.max(1);
        self
    }

    /// The driver's builder, for its other settings (setup flags, pool).
    pub fn driver(&mut self) -> &mut rentio_driver::Builder {
        &mut self.driver
    }

    /// Reports a task poll that runs longer than `threshold` without
    /// yielding (a blocking call, a long computation): a `tracing`
    /// warning with the task's spawn location (`spawn` is
    /// `#[track_caller]`), counted in [`RuntimeMetrics::stalls`]. A
    /// watchdog thread looks every half threshold; the runtime's own
    /// cost is two relaxed stores per poll. Off by default.
    ///
    /// [`RuntimeMetrics::stalls`]: crate::RuntimeMetrics::stalls
    pub fn stall_threshold(&mut self, threshold: Duration) -> &mut Builder {
        self.stall_threshold = Some(threshold.max(Duration::from_millis(1)));
        self
    }

    /// Builds the runtime on this thread, which then owns it.
    ///
    /// # Errors
    ///
    /// As [`rentio_driver::Builder::build`]: a forced io_uring that cannot
    /// start says why; so does a stall watchdog thread that cannot start.
    pub fn build(&self) -> io::Result<Runtime> {
        let driver = self.driver.build()?;
        let shared = Rc::new(Shared::new(
            Box::new(driver.unparker()),
            driver.pool().clone(),
        ));
        let counters = &shared.remote.counters;
        let _ = counters.backend.set((
            driver.backend(),
            driver.fallback_reason().map(str::to_owned),
        ));
        if let Some(threshold) = self.stall_threshold {
            crate::stall::watch(counters, threshold)?;
        }
        Ok(Runtime {
            shared,
            driver,
            tasks_per_tick: self.tasks_per_tick,
        })
    }
}

/// A single-threaded runtime: a run queue of `!Send` tasks over one IO
/// driver. `!Send`: it belongs to the thread that built it.
pub struct Runtime {
    shared: Rc<Shared>,
    driver: Driver,
    tasks_per_tick: usize,
}

impl Runtime {
    /// A runtime with the default configuration.
    ///
    /// # Errors
    ///
    /// As [`Builder::build`].
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// A builder.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// The IO backend this runtime runs on.
    pub fn backend(&self) -> Backend {
        self.driver.backend()
    }

    /// A `Send + Sync` handle to this runtime, for other threads.
    pub fn handle(&self) -> crate::Handle {
        crate::Handle {
            remote: self.shared.remote.clone(),
        }
    }

    /// Timers registered on this runtime (for tests and stats).
    pub fn timers(&self) -> usize {
        self.shared.timers.borrow().len()
    }

    /// Why `Auto` fell back to readiness, if it did.
    pub fn fallback_reason(&self) -> Option<&str> {
        self.driver.fallback_reason()
    }

    /// The runtime's IO driver (for ops built directly on it).
    pub fn driver(&self) -> &Driver {
        &self.driver
    }

    /// Spawns a task on this runtime; it starts running at the next
    /// `block_on`.
    #[track_caller]
    pub fn spawn<F: Future + 'static>(&self, future: F) -> JoinHandle<F::Output> {
        self.shared.spawn(future)
    }

    /// This runtime's figures (see [`RuntimeMetrics`]); the driver's are
    /// read now.
    ///
    /// [`RuntimeMetrics`]: crate::RuntimeMetrics
    pub fn metrics(&self) -> crate::RuntimeMetrics {
        let counters = &self.shared.remote.counters;
        counters.publish_driver(&self.driver);
        counters.snapshot()
    }

    /// Drops every task (their ops are cancelled), then waits at most
    /// `timeout` for the kernel to give back what is in flight before the
    /// ring closes; anything still held after that is leaked, never freed
    /// (see the driver's shutdown).
    pub fn shutdown_timeout(self, timeout: Duration) {
        self.driver.set_shutdown_timeout(timeout);
        drop(self);
    }

    /// Runs `future` to completion on this thread, running spawned tasks
    /// and IO meanwhile.
    ///
    /// The main future is woken like any task: a wake from another thread,
    /// or from another runtime's timer, is never lost.
    ///
    /// # Panics
    ///
    /// If `future` panics (the panic propagates), or if the IO driver fails
    /// beyond repair (a poisoned ring), since `block_on` has no error to
    /// return it through.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _enter = context::enter(self.shared.clone(), &self.driver);
        let main = Arc::new(MainWaker {
            woken: AtomicBool::new(true),
            remote: self.shared.remote.clone(),
        });
        let waker = Waker::from(main.clone());
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        let mut driver = self.driver.clone();
        let counters = &*self.shared.remote.counters;
        // Busy time runs from `mark` (the end of the last park).
        let mut mark = std::time::Instant::now();
        let mut published = mark;
        counters.publish_driver(&driver);
        loop {
            if main.woken.swap(false, Ordering::AcqRel)
                && let Poll::Ready(output) = future.as_mut().poll(&mut cx)
            {
                return output;
            }
            self.shared.run_batch(self.tasks_per_tick);
            self.shared.drain_inbox();
            time::fire_due_now(&self.shared.timers);
            let busy = self.shared.has_runnable() || main.woken.load(Ordering::Acquire);
            let timeout = if busy {
                Some(Duration::ZERO)
            } else {
                let next = self.shared.timers.borrow().next_deadline();
                next.map(|at| at.saturating_duration_since(Instant::now()))
            };
            let ticks = counters.ticks.load(std::sync::atomic::Ordering::Relaxed) + 1;
            counters
                .ticks
                .store(ticks, std::sync::atomic::Ordering::Relaxed);
            counters.run_queue.store(
                self.shared.queue_len() as u64,
                std::sync::atomic::Ordering::Relaxed,
            );
            let parks = timeout != Some(Duration::ZERO);
            // The clock is read before a park and every 64 ticks of a
            // runtime that keeps busy (a read per tick showed in profiles).
            if parks || ticks.is_multiple_of(64) {
                let now = std::time::Instant::now();
                crate::metrics::Counters::add(&counters.busy_ns, (now - mark).as_nanos() as u64);
                mark = now;
                // Counting the ops in flight scans a table: at most every
                // 10 ms (and every 1,024 ticks of a runtime that never
                // parks). Before a park with no end, always: it may last.
                if (parks && (timeout.is_none() || now - published >= Duration::from_millis(10)))
                    || ticks.is_multiple_of(1024)
                {
                    counters.publish_driver(&driver);
                    published = now;
                }
            }
            if let Err(e) = driver.park(timeout) {
                panic!("rentio: the IO driver failed: {e}");
            }
            if parks {
                crate::metrics::Counters::add(&counters.parks, 1);
                mark = std::time::Instant::now();
            }
            self.shared.drain_inbox();
            time::fire_due_now(&self.shared.timers);
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Drop every task with this runtime current, so their drops (and
        // the ops they hold) find it; then the driver goes, cancelling and
        // reaping what the kernel still holds.
        let _enter = context::enter(self.shared.clone(), &self.driver);
        self.shared
            .remote
            .counters
            .closed
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.shared.shutdown();
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("id", &self.shared.id)
            .field("driver", &self.driver)
            .finish_non_exhaustive()
    }
}

use std::sync::Arc;

/// The main future's waker: `Send + Sync`, it sets a flag and wakes the
/// driver through the runtime's inbox side.
struct MainWaker {
    woken: AtomicBool,
    remote: crate::loom::Arc<Remote>,
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.remote.unpark();
    }
}

/// Spawns a task on the current runtime.
///
/// # Panics
///
/// If called outside a runtime (`block_on` or a task of one).
#[track_caller]
pub fn spawn<F: Future + 'static>(future: F) -> JoinHandle<F::Output> {
    spawn_at(future, std::panic::Location::caller())
}

/// [`spawn`], recording `at` as the spawn location.
pub(crate) fn spawn_at<F: Future + 'static>(
    future: F,
    at: &'static std::panic::Location<'static>,
) -> JoinHandle<F::Output> {
    let mut future = Some(future);
    let spawned = context::with_current(|shared| future.take().map(|f| shared.spawn_at(f, at)));
    match spawned.flatten() {
        Some(handle) => handle,
        None => panic!("rentio::spawn called outside a runtime"),
    }
}

/// Runs `f` on the blocking pool (the driver's, shared), and gives its
/// result through a [`JoinHandle`]; a panic in `f` becomes a panic
/// [`JoinError`](crate::JoinError).
///
/// # Panics
///
/// If called outside a runtime.
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let Some(shared) = context::current() else {
        panic!("rentio::spawn_blocking called outside a runtime");
    };
    let slot = Arc::new(crate::oneshot::Oneshot::new());
    let tx = slot.clone();
    let job = move || {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        tx.send(result);
    };
    let started = shared.pool().execute(job);
    shared.spawn(async move {
        if let Err(e) = started {
            panic!("rentio: the blocking pool could not start a thread: {e}");
        }
        match slot.recv().await {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// Yields to the other tasks once: the current task goes to the back of
/// the run queue.
///
/// # Cancel safety
///
/// Cancel safe: dropped before it completes, it has only woken the task
/// once more than needed.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await;
}
