//! The thread-per-core launcher: one thread per CPU, each pinned to its CPU
//! and running its own runtime.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use rustix::thread::{CpuSet, sched_getaffinity, sched_setaffinity};

use crate::Handle;
use crate::runtime::Builder;

thread_local! {
    /// On a launched core's thread: every core's handle, by index.
    static HANDLES: RefCell<Option<Arc<[Option<Handle>]>>> = const { RefCell::new(None) };
}

/// From a core the [`Launcher`] started: a `Send + Clone` handle to core
/// `index` (this one included), to run work there with
/// [`Handle::spawn`]. `None` outside a launched core, for an index past
/// the last, or for a core whose runtime failed to start.
///
/// Work sent to a core runs while that core's runtime runs: one whose
/// future has returned cancels it (the join handle says so).
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::time::Duration;
///
/// static SERVED: AtomicBool = AtomicBool::new(false);
/// let results = rentio_executor::tpc::Launcher::new().threads(2).pin(false).run(|core| async move {
///     if core.index == 0 {
///         // Runs on core 1; its answer comes back here.
///         let other = rentio_executor::tpc::handle(1).unwrap();
///         other
///             .spawn(|| async {
///                 SERVED.store(true, Ordering::SeqCst);
///                 std::thread::current().name().unwrap_or("").to_string()
///             })
///             .await
///             .unwrap()
///     } else {
///         // Core 1 stays up until core 0's work has run on it.
///         while !SERVED.load(Ordering::SeqCst) {
///             rentio_executor::time::sleep(Duration::from_millis(1)).await;
///         }
///         String::new()
///     }
/// });
/// assert_eq!(results[0].as_ref().unwrap(), "rentio-core-1");
/// ```
pub fn handle(index: usize) -> Option<Handle> {
    HANDLES.with(|h| h.borrow().as_ref()?.get(index)?.clone())
}

/// Every launched core's figures, by index, from any of them (`None` for
/// a core that failed to start; empty outside a launched core).
pub fn metrics() -> Vec<Option<crate::RuntimeMetrics>> {
    HANDLES.with(|h| {
        h.borrow()
            .iter()
            .flat_map(|all| all.iter())
            .map(|handle| handle.as_ref().map(crate::Handle::metrics))
            .collect()
    })
}

/// How many cores the launcher started (0 outside a launched core).
pub fn cores() -> usize {
    HANDLES.with(|h| h.borrow().as_ref().map_or(0, |h| h.len()))
}

/// What a core's closure learns about its thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Core {
    /// 0-based index among the launched threads.
    pub index: usize,
    /// The CPU the thread is pinned to (the CPU it was assigned when not
    /// pinning).
    pub cpu: usize,
    /// Whether the thread is pinned to `cpu`.
    pub pinned: bool,
}

/// How a core's thread ended badly.
pub enum CoreError {
    /// Its runtime could not be built, or it could not be pinned.
    Io(io::Error),
    /// Its future panicked; the payload.
    Panic(Box<dyn Any + Send + 'static>),
}

impl fmt::Debug for CoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoreError::Io(e) => write!(f, "CoreError::Io({e})"),
            CoreError::Panic(p) => {
                let msg = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                write!(f, "CoreError::Panic({msg:?})")
            }
        }
    }
}

/// The CPUs this process may run on (`sched_getaffinity`, which respects
/// cgroup cpusets and `taskset`), in order.
///
/// # Errors
///
/// If the affinity cannot be read.
pub fn available_cpus() -> io::Result<Vec<usize>> {
    let set = sched_getaffinity(None)?;
    Ok((0..CpuSet::MAX_CPU)
        .filter(|&cpu| set.is_set(cpu))
        .collect())
}

/// Starts runtimes on several threads, one per CPU by default.
///
/// # Examples
///
/// ```
/// let results = rentio_executor::tpc::Launcher::new().threads(2).run(|core| async move {
///     rentio_executor::spawn(async move { core.index * 10 }).await.unwrap_or(0)
/// });
/// for result in results {
///     assert!(result.is_ok());
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Launcher {
    threads: Option<usize>,
    pin: bool,
    builder: Builder,
}

impl Default for Launcher {
    fn default() -> Launcher {
        Launcher::new()
    }
}

impl Launcher {
    /// One thread per available CPU, pinned, with default runtimes.
    pub fn new() -> Launcher {
        Launcher {
            threads: None,
            pin: true,
            builder: Builder::new(),
        }
    }

    /// Starts `n` threads (CPUs are reused round-robin if `n` exceeds
    /// them).
    pub fn threads(mut self, n: usize) -> Launcher {
        self.threads = Some(n.max(1));
        self
    }

    /// Whether to pin each thread to its CPU (default: yes).
    pub fn pin(mut self, pin: bool) -> Launcher {
        self.pin = pin;
        self
    }

    /// The runtime configuration for every thread.
    pub fn builder(mut self, builder: Builder) -> Launcher {
        self.builder = builder;
        self
    }

    /// Runs `per_core(core)` on every thread's runtime and waits for all of
    /// them, returning each thread's result (or its error) in core order.
    pub fn run<F, Fut, T>(self, per_core: F) -> Vec<Result<T, CoreError>>
    where
        F: Fn(Core) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = T> + 'static,
        T: Send + 'static,
    {
        let cpus = match available_cpus() {
            Ok(cpus) if !cpus.is_empty() => cpus,
            Ok(_) => vec![0],
            Err(e) => return vec![Err(CoreError::Io(e))],
        };
        let n = self.threads.unwrap_or(cpus.len());
        let per_core = Arc::new(per_core);
        // Every core's handle, known to all before any starts its work.
        let meet = Arc::new(Meeting {
            state: Mutex::new(Gathering {
                handles: vec![None; n],
                arrived: 0,
                expected: n,
            }),
            all_here: Condvar::new(),
        });
        let mut handles = Vec::with_capacity(n);
        for index in 0..n {
            let core = Core {
                index,
                cpu: cpus[index % cpus.len()],
                pinned: self.pin,
            };
            let per_core = per_core.clone();
            let builder = self.builder.clone();
            let meet = meet.clone();
            let waiting = meet.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("rentio-core-{index}"))
                .spawn(move || run_core(core, &builder, &meet, &*per_core));
            if spawned.is_err() {
                // Nobody waits for a core that never started.
                waiting.gather().expected -= 1;
                waiting.all_here.notify_all();
            }
            handles.push(spawned);
        }
        handles
            .into_iter()
            .map(|spawned| match spawned {
                Err(e) => Err(CoreError::Io(e)),
                Ok(handle) => match handle.join() {
                    Ok(result) => result,
                    Err(panic) => Err(CoreError::Panic(panic)),
                },
            })
            .collect()
    }
}

/// Where the cores meet before they start: each leaves its handle (or
/// nothing, if its runtime failed), and none starts before all came.
struct Meeting {
    state: Mutex<Gathering>,
    all_here: Condvar,
}

struct Gathering {
    handles: Vec<Option<Handle>>,
    arrived: usize,
    expected: usize,
}

impl Meeting {
    fn gather(&self) -> MutexGuard<'_, Gathering> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Leaves `handle` as core `index`'s and waits for the others; every
    /// core's handle, by index.
    fn meet(&self, index: usize, handle: Option<Handle>) -> Arc<[Option<Handle>]> {
        let mut state = self.gather();
        state.handles[index] = handle;
        state.arrived += 1;
        self.all_here.notify_all();
        while state.arrived < state.expected {
            state = self
                .all_here
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state.handles.clone().into()
    }
}

/// Arrives at the meeting (empty-handed) if a core panics before it did.
struct Arrival<'a> {
    meet: &'a Meeting,
    arrived: bool,
}

impl Drop for Arrival<'_> {
    fn drop(&mut self) {
        if !self.arrived {
            let mut state = self.meet.gather();
            state.arrived += 1;
            drop(state);
            self.meet.all_here.notify_all();
        }
    }
}

fn run_core<F, Fut, T>(
    core: Core,
    builder: &Builder,
    meet: &Meeting,
    per_core: &F,
) -> Result<T, CoreError>
where
    F: Fn(Core) -> Fut,
    Fut: Future<Output = T>,
{
    let mut arrival = Arrival {
        meet,
        arrived: false,
    };
    let started = (|| {
        if core.pinned {
            let mut set = CpuSet::new();
            set.set(core.cpu);
            sched_setaffinity(None, &set).map_err(|e| CoreError::Io(e.into()))?;
        }
        builder.build().map_err(CoreError::Io)
    })();
    // Every core arrives, one that failed too, so none waits forever.
    arrival.arrived = true;
    let all = meet.meet(core.index, started.as_ref().ok().map(|rt| rt.handle()));
    let rt = started?;
    HANDLES.with(|h| *h.borrow_mut() = Some(all));
    let future = per_core(core);
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.block_on(future)))
        .map_err(CoreError::Panic)
}
