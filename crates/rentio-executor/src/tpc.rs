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

/// How many cores a [`Launcher`] starts when not told: one per CPU this
/// process may run on (its affinity, which a cgroup cpuset and `taskset`
/// narrow), and no more than its cgroup's CPU quota allows (`cpu.max` on
/// cgroup v2, `cpu.cfs_quota_us / cpu.cfs_period_us` on v1, rounded up):
/// a container limited to 2 CPUs on a 64-CPU host starts 2 cores, not 64
/// that the quota would throttle.
pub fn default_core_count() -> usize {
    default_cores(available_cpus().map_or(1, |cpus| cpus.len().max(1)))
}

fn default_cores(cpus: usize) -> usize {
    let read = |path: &std::path::Path| std::fs::read_to_string(path).ok();
    match std::fs::read_to_string("/proc/self/cgroup") {
        Ok(cgroups) => match cpu_quota(&cgroups, read) {
            Some(quota) => cpus.min(quota).max(1),
            None => cpus,
        },
        Err(_) => cpus,
    }
}

/// The CPU quota of the cgroup that `/proc/self/cgroup` (`cgroups`)
/// names, in whole CPUs rounded up, the tightest of its levels; `None`
/// if there is none. `read` reads a file under `/sys/fs/cgroup`.
fn cpu_quota(cgroups: &str, read: impl Fn(&std::path::Path) -> Option<String>) -> Option<usize> {
    use std::path::{Path, PathBuf};
    let root = Path::new("/sys/fs/cgroup");
    let mut best: Option<usize> = None;
    let mut note = |quota: Option<usize>| {
        if let Some(q) = quota {
            best = Some(best.map_or(q, |b| b.min(q)));
        }
    };
    // Each level from the process's cgroup up to the root.
    let levels = |base: PathBuf, path: &str| -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut p = PathBuf::from(path.trim_start_matches('/'));
        loop {
            out.push(base.join(&p));
            if !p.pop() {
                break;
            }
        }
        out
    };
    for line in cgroups.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if controllers.is_empty() {
            // cgroup v2: `cpu.max` holds "QUOTA PERIOD" or "max PERIOD".
            for dir in levels(root.to_path_buf(), path) {
                note(read(&dir.join("cpu.max")).and_then(|max| {
                    let mut it = max.split_whitespace();
                    let quota: u64 = it.next()?.parse().ok()?;
                    let period: u64 = it.next()?.parse().ok()?;
                    whole_cpus(quota, period)
                }));
            }
        } else if controllers.split(',').any(|c| c == "cpu") {
            // cgroup v1: the quota is -1 when there is none.
            for mount in [
                root.join(controllers),
                root.join("cpu"),
                root.join("cpu,cpuacct"),
            ] {
                for dir in levels(mount, path) {
                    let quota = read(&dir.join("cpu.cfs_quota_us"))
                        .and_then(|q| q.trim().parse::<i64>().ok());
                    let period = read(&dir.join("cpu.cfs_period_us"))
                        .and_then(|p| p.trim().parse::<u64>().ok());
                    if let (Some(q), Some(p)) = (quota, period)
                        && q > 0
                    {
                        note(whole_cpus(q as u64, p));
                    }
                }
            }
        }
    }
    best
}

fn whole_cpus(quota: u64, period: u64) -> Option<usize> {
    (period > 0).then(|| quota.div_ceil(period).max(1) as usize)
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

    /// How many cores [`run`](Launcher::run) starts: the number given to
    /// [`threads`](Launcher::threads), else [`default_core_count`].
    pub fn core_count(&self) -> usize {
        self.threads.unwrap_or_else(default_core_count)
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
        let n = self.threads.unwrap_or_else(|| default_cores(cpus.len()));
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

#[cfg(all(test, not(loom)))]
mod tests {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};

    use super::cpu_quota;

    fn files(list: &[(&str, &str)]) -> impl Fn(&Path) -> Option<String> {
        let map: HashMap<PathBuf, String> = list
            .iter()
            .map(|(p, c)| (PathBuf::from(p), (*c).to_string()))
            .collect();
        move |p: &Path| map.get(p).cloned()
    }

    #[test]
    fn cgroup_v2_quota_rounds_up_and_takes_the_tightest_level() {
        let read = files(&[
            ("/sys/fs/cgroup/cpu.max", "max 100000\n"),
            ("/sys/fs/cgroup/app/cpu.max", "250000 100000\n"),
            ("/sys/fs/cgroup/app/worker/cpu.max", "max 100000\n"),
        ]);
        assert_eq!(cpu_quota("0::/app/worker\n", read), Some(3));
        let none = files(&[("/sys/fs/cgroup/cpu.max", "max 100000\n")]);
        assert_eq!(cpu_quota("0::/\n", none), None);
        let half = files(&[("/sys/fs/cgroup/x/cpu.max", "50000 100000")]);
        assert_eq!(cpu_quota("0::/x", half), Some(1), "half a CPU is one core");
    }

    #[test]
    fn cgroup_v1_quota() {
        let read = files(&[
            (
                "/sys/fs/cgroup/cpu,cpuacct/pod/cpu.cfs_quota_us",
                "200000\n",
            ),
            (
                "/sys/fs/cgroup/cpu,cpuacct/pod/cpu.cfs_period_us",
                "100000\n",
            ),
            ("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "-1\n"),
            ("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n"),
        ]);
        assert_eq!(
            cpu_quota("4:memory:/pod\n3:cpu,cpuacct:/pod\n", read),
            Some(2)
        );
        let unlimited = files(&[
            ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "-1"),
            ("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000"),
        ]);
        assert_eq!(cpu_quota("1:cpu:/\n", unlimited), None);
    }
}
