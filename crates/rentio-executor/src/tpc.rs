//! The thread-per-core launcher: one thread per CPU, each pinned to its CPU
//! and running its own runtime.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::io;
use std::sync::Arc;

use rustix::thread::{CpuSet, sched_getaffinity, sched_setaffinity};

use crate::runtime::Builder;

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
        let mut handles = Vec::with_capacity(n);
        for index in 0..n {
            let core = Core {
                index,
                cpu: cpus[index % cpus.len()],
                pinned: self.pin,
            };
            let per_core = per_core.clone();
            let builder = self.builder.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("rentio-core-{index}"))
                .spawn(move || run_core(core, &builder, &*per_core));
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

fn run_core<F, Fut, T>(core: Core, builder: &Builder, per_core: &F) -> Result<T, CoreError>
where
    F: Fn(Core) -> Fut,
    Fut: Future<Output = T>,
{
    if core.pinned {
        let mut set = CpuSet::new();
        set.set(core.cpu);
        sched_setaffinity(None, &set).map_err(|e| CoreError::Io(e.into()))?;
    }
    let rt = builder.build().map_err(CoreError::Io)?;
    let future = per_core(core);
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.block_on(future)))
        .map_err(CoreError::Panic)
}
