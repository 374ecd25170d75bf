//! The remote inbox: where wakes from other threads (and other runtimes)
//! send a runtime's tasks.
//!
//! Unbounded, so `wake()` never blocks beyond a short lock and never drops
//! a wake. A push rings the owner's unparker, which costs one atomic unless
//! the owner is parked (see `rentio_driver::Unparker`). Once the runtime is
//! gone the inbox is closed: a late wake drops its reference at once
//! instead of queueing into a dead inbox.

use std::collections::VecDeque;

use crate::loom::{AtomicBool, Mutex, Ordering, lock};
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
        let mut inbox = lock(&self.inbox);
        inbox.closed = true;
        inbox.jobs.clear();
        std::mem::take(&mut inbox.tasks)
    }
}
