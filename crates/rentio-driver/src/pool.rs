//! The blocking pool: threads for the syscalls a backend cannot do
//! asynchronously (file IO, open, statx on the readiness backend; an opcode
//! the ring lacks).
//!
//! Elastic and bounded: a job goes to an idle thread if there is one,
//! otherwise a new thread starts while fewer than `max_threads` run,
//! otherwise it queues. A thread idle for `keep_alive` exits. The pool is
//! treated like the kernel: a job holds raw pointers into an op that stays
//! in the driver until the job reports back through the driver's [`Sink`].

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use crate::sys::Syscall;
use crate::unpark::Unparker;

/// Limits of a blocking pool.
#[derive(Clone, Copy, Debug)]
pub struct PoolConfig {
    /// Most threads running at once.
    pub max_threads: usize,
    /// How long an idle thread waits for work before it exits.
    pub keep_alive: Duration,
}

impl Default for PoolConfig {
    fn default() -> PoolConfig {
        PoolConfig {
            max_threads: 64,
            keep_alive: Duration::from_secs(10),
        }
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// A shared, elastic thread pool.
#[derive(Clone)]
pub struct Pool {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<PoolState>,
    cond: Condvar,
    config: PoolConfig,
}

struct PoolState {
    jobs: VecDeque<Job>,
    threads: usize,
    /// Threads waiting for work and not yet handed a job.
    idle: usize,
    /// Wake-ups handed out to idle threads and not yet taken.
    notified: usize,
}

/// Where a driver's pool results land: `(user_data, result)` pairs, and the
/// driver's unparker to wake it.
pub(crate) struct Sink {
    results: Mutex<Vec<(u64, io::Result<u32>)>>,
    /// Set (Release) after a result is pushed, so the driver's per-tick
    /// check is one load instead of a lock.
    has_results: AtomicBool,
    unparker: Unparker,
}

impl Pool {
    /// A pool with these limits; no thread starts until the first job.
    pub fn new(config: PoolConfig) -> Pool {
        Pool {
            shared: Arc::new(Shared {
                state: Mutex::new(PoolState {
                    jobs: VecDeque::new(),
                    threads: 0,
                    idle: 0,
                    notified: 0,
                }),
                cond: Condvar::new(),
                config: PoolConfig {
                    max_threads: config.max_threads.max(1),
                    ..config
                },
            }),
        }
    }

    /// Runs `job` on a pool thread.
    ///
    /// # Errors
    ///
    /// Fails only if no thread is free or can take the job later and a new
    /// one cannot be started. The job is then dropped unrun, before this
    /// returns.
    pub fn execute(&self, job: impl FnOnce() + Send + 'static) -> io::Result<()> {
        let job: Job = Box::new(job);
        let mut state = self.shared.lock();
        if state.idle > 0 {
            // Hand it to an idle thread: count it as woken now, so a second
            // job right behind this one does not count on the same thread.
            state.idle -= 1;
            state.notified += 1;
            state.jobs.push_back(job);
            drop(state);
            self.shared.cond.notify_one();
            return Ok(());
        }
        if state.threads >= self.shared.config.max_threads {
            // Every thread is busy; the first to finish takes it.
            state.jobs.push_back(job);
            return Ok(());
        }
        state.threads += 1;
        drop(state);
        let shared = self.shared.clone();
        // The new thread runs this job first; if it cannot start, the
        // closure (and the job in it) is dropped unrun by `spawn`.
        let spawned = std::thread::Builder::new()
            .name("rentio-blocking".into())
            .spawn(move || shared.run(job));
        match spawned {
            Ok(_) => Ok(()),
            Err(e) => {
                self.shared.lock().threads -= 1;
                Err(e)
            }
        }
    }

    /// Threads alive now (for tests and stats).
    pub fn threads(&self) -> usize {
        self.shared.lock().threads
    }

    pub(crate) fn run_syscall(
        &self,
        syscall: Syscall,
        user_data: u64,
        sink: Arc<Sink>,
    ) -> io::Result<()> {
        self.execute(move || {
            // SAFETY: the op that produced `syscall` stays in the driver's
            // slab (counted as owing a completion) until `sink.push` below
            // reports back, so the memory it points at is alive and untouched
            // by the driver thread while the call runs.
            let result = unsafe { syscall.run() };
            sink.push(user_data, result);
        })
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn run(&self, first: Job) {
        first();
        let mut state = self.lock();
        loop {
            if let Some(job) = state.jobs.pop_front() {
                drop(state);
                job();
                state = self.lock();
                continue;
            }
            state.idle += 1;
            loop {
                let (next, timeout) = self
                    .cond
                    .wait_timeout(state, self.config.keep_alive)
                    .unwrap_or_else(PoisonError::into_inner);
                state = next;
                if state.notified > 0 {
                    // `execute` already took this thread off the idle count.
                    state.notified -= 1;
                    break;
                }
                if timeout.timed_out() {
                    state.idle -= 1;
                    state.threads -= 1;
                    return;
                }
            }
        }
    }
}

impl Sink {
    pub(crate) fn new(unparker: Unparker) -> Sink {
        Sink {
            results: Mutex::new(Vec::new()),
            has_results: AtomicBool::new(false),
            unparker,
        }
    }

    fn push(&self, user_data: u64, result: io::Result<u32>) {
        self.results
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((user_data, result));
        self.has_results.store(true, Ordering::Release);
        self.unparker.unpark();
    }

    /// Whether a result may be waiting: one plain load, for the driver's
    /// per-tick check.
    #[inline]
    pub(crate) fn has_results(&self) -> bool {
        self.has_results.load(Ordering::Relaxed)
    }

    /// Moves every reported result into `out`.
    #[inline]
    pub(crate) fn drain_into(&self, out: &mut Vec<(u64, io::Result<u32>)>) {
        // A result pushed after this swap sets the flag again, so it is
        // seen next tick (and its unpark keeps the driver from sleeping).
        if self.has_results.swap(false, Ordering::Acquire) {
            let mut results = self.results.lock().unwrap_or_else(PoisonError::into_inner);
            out.append(&mut results);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn idle_threads_exit_and_the_bound_holds() {
        let pool = Pool::new(PoolConfig {
            max_threads: 2,
            keep_alive: Duration::from_millis(20),
        });
        let (tx, rx) = mpsc::channel();
        let gate = Arc::new(std::sync::Barrier::new(3));
        for _ in 0..2 {
            let gate = gate.clone();
            let tx = tx.clone();
            pool.execute(move || {
                gate.wait();
                tx.send(()).unwrap();
            })
            .unwrap();
        }
        // A third job queues: the bound is two threads.
        let tx3 = tx.clone();
        pool.execute(move || tx3.send(()).unwrap()).unwrap();
        assert_eq!(pool.threads(), 2);
        gate.wait();
        for _ in 0..3 {
            rx.recv_timeout(Duration::from_secs(10)).unwrap();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while pool.threads() > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(pool.threads(), 0, "idle threads exit after keep_alive");
    }

    #[test]
    fn a_blocked_job_does_not_starve_the_next_one() {
        let pool = Pool::new(PoolConfig {
            max_threads: 4,
            keep_alive: Duration::from_secs(5),
        });
        // One idle thread.
        let (tx, rx) = mpsc::channel();
        let t = tx.clone();
        pool.execute(move || t.send(0).unwrap()).unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), 0);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while pool.shared.lock().idle == 0 && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
        // Two jobs back to back: the first blocks until the second ran.
        let (unblock_tx, unblock_rx) = mpsc::channel::<()>();
        let t = tx.clone();
        pool.execute(move || {
            unblock_rx.recv().unwrap();
            t.send(1).unwrap();
        })
        .unwrap();
        let t = tx.clone();
        pool.execute(move || t.send(2).unwrap()).unwrap();
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(10)).unwrap(),
            2,
            "the second job ran"
        );
        unblock_tx.send(()).unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), 1);
    }
}
