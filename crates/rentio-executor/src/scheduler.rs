//! The runtime-local scheduler state: the run queue, the owned-task list
//! and the inbox, and running one task.
//!
//! No `RefCell` borrow here is held across a poll or a drop: tasks are
//! popped, the borrow ends, then they run; freed references are dropped
//! after the borrow that removed them.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering as StdOrdering};
use std::task::{Context, Poll};

use slab::Slab;

use crate::loom::{Arc, Ordering};
use crate::park::Unpark;
use crate::remote::Remote;
use crate::task::JoinHandle;
use crate::task::join::notify_join;
use crate::task::raw::TaskRef;
use crate::task::state::{JOIN_HANDLE, JOIN_WAKER, TransitionToIdle, TransitionToRunning};
use crate::task::waker::waker_ref;
use crate::time::Timers;

/// Runtime ids: never reused, so a waker can tell its runtime from a later
/// one on the same thread.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// What a runtime's tasks share on its thread.
pub(crate) struct Shared {
    pub(crate) id: u64,
    queue: RefCell<VecDeque<TaskRef>>,
    owned: RefCell<Slab<TaskRef>>,
    pub(crate) remote: Arc<Remote>,
    pub(crate) timers: RefCell<Timers>,
    pool: rentio_driver::Pool,
}

impl Shared {
    pub(crate) fn new(unpark: Box<dyn Unpark>, pool: rentio_driver::Pool) -> Shared {
        let id = NEXT_ID.fetch_add(1, StdOrdering::Relaxed);
        Shared {
            id,
            queue: RefCell::new(VecDeque::with_capacity(256)),
            owned: RefCell::new(Slab::new()),
            remote: Arc::new(Remote::new(id, unpark)),
            timers: RefCell::new(Timers::new()),
            pool,
        }
    }

    /// The blocking pool.
    pub(crate) fn pool(&self) -> &rentio_driver::Pool {
        &self.pool
    }

    /// Spawns `future` on this runtime.
    pub(crate) fn spawn<F: Future + 'static>(&self, future: F) -> JoinHandle<F::Output> {
        let (queued, owned, handle) = TaskRef::new(future, self.remote.clone());
        let key = self.owned.borrow_mut().insert(owned);
        handle.header().owned_key.store(key, Ordering::Relaxed);
        self.push_local(queued);
        JoinHandle::new(handle)
    }

    /// Queues a task on this runtime's run queue.
    pub(crate) fn push_local(&self, task: TaskRef) {
        match self.queue.try_borrow_mut() {
            Ok(mut queue) => queue.push_back(task),
            // Never expected: no borrow is held across a poll or a drop.
            Err(_) => {
                let remote = task.header().remote.clone();
                remote.push(task);
            }
        }
    }

    /// Moves the inbox into the run queue and runs the jobs other threads
    /// sent; returns how many tasks came in.
    pub(crate) fn drain_inbox(&self) -> usize {
        let mut jobs = Vec::new();
        let n = {
            let mut queue = self.queue.borrow_mut();
            self.remote.drain_into(&mut queue, &mut jobs)
        };
        for job in jobs {
            job();
        }
        n
    }

    pub(crate) fn has_runnable(&self) -> bool {
        !self.queue.borrow().is_empty()
    }

    /// Runs up to `max` tasks from the run queue; returns how many ran.
    pub(crate) fn run_batch(&self, max: usize) -> usize {
        let mut ran = 0;
        while ran < max {
            let next = self.queue.borrow_mut().pop_front();
            let Some(task) = next else { break };
            self.run(task);
            ran += 1;
        }
        ran
    }

    /// Runs one task, holding the queue entry's reference.
    fn run(&self, task: TaskRef) {
        match task.header().state.transition_to_running() {
            TransitionToRunning::Done => drop(task),
            TransitionToRunning::Cancel => {
                // SAFETY: owner thread, and the task is not being polled.
                unsafe { task.cancel() };
                self.complete(task);
            }
            TransitionToRunning::Poll => {
                let waker = waker_ref(&task);
                let mut cx = Context::from_waker(&waker);
                let budget = rentio_driver::coop::DEFAULT_BUDGET;
                let polled = rentio_driver::coop::with_budget(budget, || {
                    // SAFETY: owner thread; the transition set RUNNING.
                    unsafe { task.poll(&mut cx) }
                });
                match polled {
                    Poll::Ready(()) => self.complete(task),
                    Poll::Pending => match task.header().state.transition_to_idle() {
                        TransitionToIdle::Requeue => self.push_local(task),
                        TransitionToIdle::Idle => drop(task),
                    },
                }
            }
        }
    }

    /// The future is gone and its output stored: hand it over or drop it,
    /// wake the joiner, and leave the owned list.
    fn complete(&self, task: TaskRef) {
        let prev = task.header().state.transition_to_complete();
        if prev & JOIN_HANDLE == 0 {
            // SAFETY: no join handle wants the output, so it is ours; this
            // is the owner thread.
            unsafe { task.drop_output() };
        }
        if prev & JOIN_WAKER != 0 {
            notify_join(&task);
        }
        let key = task.header().owned_key.load(Ordering::Relaxed);
        let owned = self.owned.borrow_mut().try_remove(key);
        drop(owned);
        drop(task);
    }

    /// Shutdown: cancel every owned task (dropping its future here, on the
    /// owner thread), then release every queued reference.
    pub(crate) fn shutdown(&self) {
        loop {
            // One at a time: dropping a future may spawn or wake others.
            let next = {
                let mut owned = self.owned.borrow_mut();
                let key = owned.iter().next().map(|(key, _)| key);
                key.map(|key| owned.remove(key))
            };
            let Some(task) = next else { break };
            let header = task.header();
            let _ = header.state.transition_to_cancelled();
            if header.state.load() & crate::task::state::COMPLETE == 0 {
                // SAFETY: owner thread; nothing polls during shutdown.
                unsafe { task.cancel() };
                let prev = header.state.transition_to_complete();
                if prev & JOIN_HANDLE == 0 {
                    // SAFETY: no join handle wants the output.
                    unsafe { task.drop_output() };
                }
                if prev & JOIN_WAKER != 0 {
                    notify_join(&task);
                }
            }
            drop(task);
        }
        let late = self.remote.close();
        drop(late);
        let queued = std::mem::take(&mut *self.queue.borrow_mut());
        drop(queued);
    }
}
