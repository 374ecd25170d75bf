//! The remote inbox: where wakes from other threads (and other runtimes)
//! send a runtime's tasks.
//!
//! Unbounded, so `wake()` never blocks beyond a short lock and never drops
//! a wake. A push rings the owner's unparker, which costs one atomic unless
//! the owner is parked (see `rentio_driver::Unparker`). Once the runtime is
//! gone the inbox is closed: a late wake drops its reference at once
//! instead of queueing into a dead inbox.

use std::cell::Cell;
use std::collections::VecDeque;
use std::ptr::NonNull;

use crate::loom::{Arc, AtomicBool, AtomicUsize, Mutex, Ordering, lock};
use crate::park::Unpark;
use crate::task::raw::TaskRef;

/// A runtime's inbox and the means to wake it.
pub(crate) struct Remote {
    /// The owning runtime's id (never reused within a process).
    pub(crate) id: u64,
    inbox: Mutex<Inbox>,
    /// Set after a push, so the owner's per-tick check is one load.
    pending: AtomicBool,
    unpark: Box<dyn Unpark>,
    /// The references tasks hold to this inbox (see [`TaskRefPool`]).
    task_refs: AtomicUsize,
    /// The runtime's figures, readable from any thread.
    pub(crate) counters: std::sync::Arc<crate::metrics::Counters>,
}

struct Inbox {
    tasks: Vec<TaskRef>,
    jobs: Vec<Job>,
    closed: bool,
}

/// Work another thread asks the owner to run on its own thread.
pub(crate) type Job = Box<dyn FnOnce() + Send + 'static>;

impl Remote {
    pub(crate) fn new(id: u64, unpark: Box<dyn Unpark>) -> Remote {
        Remote {
            id,
            inbox: Mutex::new(Inbox {
                tasks: Vec::new(),
                jobs: Vec::new(),
                closed: false,
            }),
            pending: AtomicBool::new(false),
            unpark,
            task_refs: AtomicUsize::new(0),
            counters: Default::default(),
        }
    }

    /// Queues `task` for the owner and wakes it.
    pub(crate) fn push(&self, task: TaskRef) {
        let mut inbox = lock(&self.inbox);
        if inbox.closed {
            drop(inbox);
            drop(task);
            return;
        }
        inbox.tasks.push(task);
        // A read-modify-write, like every change of this flag: the owner's
        // swap and this one are then totally ordered (loom models a plain
        // store racing an RMW too loosely: tokio-rs/loom#254).
        self.pending.swap(true, Ordering::AcqRel);
        drop(inbox);
        self.unpark.unpark();
    }

    /// Asks the owner to run `job` on its thread; `Err(job)` if the runtime
    /// is gone.
    pub(crate) fn push_job(&self, job: Job) -> Result<(), Job> {
        let mut inbox = lock(&self.inbox);
        if inbox.closed {
            return Err(job);
        }
        inbox.jobs.push(job);
        self.pending.swap(true, Ordering::AcqRel);
        drop(inbox);
        self.unpark.unpark();
        Ok(())
    }

    /// Wakes the owner without queueing anything (a `block_on` main future
    /// woken from elsewhere).
    pub(crate) fn unpark(&self) {
        self.unpark.unpark();
    }

    /// Moves every queued task into `out` and every job into `jobs`
    /// (owner thread); returns how many tasks came in.
    pub(crate) fn drain_into(&self, out: &mut VecDeque<TaskRef>, jobs: &mut Vec<Job>) -> usize {
        if !self.pending.swap(false, Ordering::AcqRel) {
            return 0;
        }
        let mut inbox = lock(&self.inbox);
        let n = inbox.tasks.len();
        out.extend(inbox.tasks.drain(..));
        jobs.append(&mut inbox.jobs);
        n
    }

    /// Closes the inbox; returns what was still queued.
    pub(crate) fn close(&self) -> Vec<TaskRef> {
        let (jobs, tasks) = {
            let mut inbox = lock(&self.inbox);
            inbox.closed = true;
            (
                std::mem::take(&mut inbox.jobs),
                std::mem::take(&mut inbox.tasks),
            )
        };
        // Dropped unlocked: a job's drop may wake or push to this inbox.
        drop(jobs);
        tasks
    }
}

/// How many task references the owner takes from the shared count at once.
const TASK_REF_BATCH: usize = 256;

/// The owner's stock of task references to its [`Remote`].
///
/// Every task header points at its runtime's `Remote`, which must outlive
/// the task wherever its last reference is dropped. An `Arc` clone per task
/// would cost two atomic read-modify-writes per spawn. Instead the tasks
/// and this pool share *one* `Arc` strong count, and count among
/// themselves in `Remote::task_refs`: the pool holds one reference for
/// itself plus its stock, each live task holds one. The owner takes a batch
/// of references with one atomic add and hands them to new tasks without
/// atomics; a task freed on the owner thread while the pool lives (the
/// common case) puts its reference back in the stock, again without
/// atomics. A task freed elsewhere, or after the runtime is gone,
/// subtracts its one reference, and the pool subtracts its own and its
/// stock when dropped: whoever brings the count to zero releases the
/// shared `Arc` count.
pub(crate) struct TaskRefPool {
    remote: NonNull<Remote>,
    stock: Cell<usize>,
}

impl TaskRefPool {
    /// The pool of `remote`'s owner; one per `Remote`.
    pub(crate) fn new(remote: &Arc<Remote>) -> TaskRefPool {
        let prev = remote.task_refs.fetch_add(1, Ordering::Relaxed);
        debug_assert_eq!(prev, 0, "one pool per Remote");
        let raw = Arc::into_raw(remote.clone()).cast_mut();
        TaskRefPool {
            // SAFETY: `Arc::into_raw` never returns null.
            remote: unsafe { NonNull::new_unchecked(raw) },
            stock: Cell::new(0),
        }
    }

    /// A reference for a new task.
    #[inline]
    pub(crate) fn take(&self) -> RemoteRef {
        let mut stock = self.stock.get();
        if stock == 0 {
            // SAFETY: this pool's own reference keeps the Remote alive.
            let remote = unsafe { self.remote.as_ref() };
            remote
                .task_refs
                .fetch_add(TASK_REF_BATCH, Ordering::Relaxed);
            stock = TASK_REF_BATCH;
        }
        self.stock.set(stock - 1);
        RemoteRef { ptr: self.remote }
    }

    /// Takes back the reference of a task freed on the owner thread.
    #[inline]
    fn give_back(&self) {
        self.stock.set(self.stock.get() + 1);
    }

    /// Whether `remote` is this pool's.
    #[inline]
    fn owns(&self, remote: NonNull<Remote>) -> bool {
        self.remote == remote
    }
}

impl Drop for TaskRefPool {
    fn drop(&mut self) {
        // SAFETY: the pool's own reference and its stock are counted in
        // `task_refs`, and this gives them all up at once.
        unsafe { release(self.remote, self.stock.get() + 1) }
    }
}

/// One task's reference to its runtime's [`Remote`], taken from the
/// owner's [`TaskRefPool`]; it derefs to the `Remote`.
pub(crate) struct RemoteRef {
    ptr: NonNull<Remote>,
}

// SAFETY: a RemoteRef is a counted pointer to a Remote, which is Send +
// Sync (an `Arc<Remote>` crosses threads); its count is atomic.
unsafe impl Send for RemoteRef {}
// SAFETY: as above; `&RemoteRef` only gives `&Remote`.
unsafe impl Sync for RemoteRef {}

impl RemoteRef {
    /// A strong `Arc` of the `Remote`, independent of this reference.
    pub(crate) fn to_arc(&self) -> Arc<Remote> {
        let ptr = self.ptr.as_ptr().cast_const();
        // SAFETY: this reference keeps the group's `Arc` count alive, so
        // `ptr` is a live `Arc` allocation; the increment pays for the
        // `Arc` made here.
        unsafe {
            Arc::increment_strong_count(ptr);
            Arc::from_raw(ptr)
        }
    }
}

impl std::ops::Deref for RemoteRef {
    type Target = Remote;

    #[inline]
    fn deref(&self) -> &Remote {
        // SAFETY: this reference keeps the Remote alive.
        unsafe { self.ptr.as_ref() }
    }
}

impl Drop for RemoteRef {
    #[inline]
    fn drop(&mut self) {
        let ptr = self.ptr;
        let local = crate::context::with_task_ref_pool(|pool| {
            if pool.owns(ptr) {
                pool.give_back();
                true
            } else {
                false
            }
        });
        if local != Some(true) {
            // SAFETY: this reference is counted in `task_refs`.
            unsafe { release(ptr, 1) }
        }
    }
}

/// Gives up `n` counted task references to `remote`; the last releases the
/// group's `Arc` count.
///
/// # Safety
///
/// - The caller owns `n` references counted in `remote.task_refs`.
unsafe fn release(remote: NonNull<Remote>, n: usize) {
    // SAFETY: the caller's references keep the Remote alive until the
    // subtraction.
    let prev = unsafe { remote.as_ref() }
        .task_refs
        .fetch_sub(n, Ordering::AcqRel);
    debug_assert!(prev >= n, "task reference count underflow");
    if prev == n {
        // SAFETY: the count is zero: nothing else uses the group's `Arc`
        // count, which the pool took with `Arc::into_raw`.
        unsafe { Arc::decrement_strong_count(remote.as_ptr().cast_const()) }
    }
}
