//! The runtime-local scheduler state: the run queue, the owned-task list
//! and the inbox, and running one task.
//!
//! No `RefCell` borrow here is held across a poll or a drop: tasks are
//! popped, the borrow ends, then they run; freed references are dropped
//! after the borrow that removed them.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering as StdOrdering};
use std::task::{Context, Poll};

use crate::loom::{Arc, Ordering};
use crate::park::Unpark;
use crate::remote::{Remote, TaskRefPool};
use crate::task::JoinHandle;
use crate::task::join::notify_join;
use crate::task::raw::{Header, TaskRef};
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
    /// The owned-task list: an intrusive doubly linked list through the
    /// task headers, each entry holding one reference.
    owned_head: Cell<*mut Header>,
    pub(crate) remote: Arc<Remote>,
    /// The references new tasks take to `remote`.
    pub(crate) task_refs: TaskRefPool,
    pub(crate) timers: RefCell<Timers>,
    pool: rentio_driver::Pool,
}

impl Shared {
    pub(crate) fn new(unpark: Box<dyn Unpark>, pool: rentio_driver::Pool) -> Shared {
        let id = NEXT_ID.fetch_add(1, StdOrdering::Relaxed);
        let remote = Arc::new(Remote::new(id, unpark));
        Shared {
            id,
            queue: RefCell::new(VecDeque::with_capacity(256)),
            owned_head: Cell::new(std::ptr::null_mut()),
            task_refs: TaskRefPool::new(&remote),
            remote,
            timers: RefCell::new(Timers::new()),
            pool,
        }
    }

    /// The blocking pool.
    pub(crate) fn pool(&self) -> &rentio_driver::Pool {
        &self.pool
    }

    /// Spawns `future` on this runtime.
    #[track_caller]
    pub(crate) fn spawn<F: Future + 'static>(&self, future: F) -> JoinHandle<F::Output> {
        self.spawn_at(future, std::panic::Location::caller())
    }

    /// Spawns `future`, spawned at `at` (for the stall detector).
    pub(crate) fn spawn_at<F: Future + 'static>(
        &self,
        future: F,
        at: &'static std::panic::Location<'static>,
    ) -> JoinHandle<F::Output> {
        let (queued, owned, handle) = TaskRef::new(future, self.task_refs.take(), at);
        self.link_owned(owned);
        self.push_local(queued);
        JoinHandle::new(handle)
    }

    /// Queues a task on this runtime's run queue.
    #[inline]
    pub(crate) fn push_local(&self, task: TaskRef) {
        match self.queue.try_borrow_mut() {
            Ok(mut queue) => queue.push_back(task),
            // Never expected: no borrow is held across a poll or a drop.
            Err(_) => {
                let remote = task.header().remote.to_arc();
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

    pub(crate) fn queue_len(&self) -> usize {
        self.queue.borrow().len()
    }

    pub(crate) fn has_runnable(&self) -> bool {
        !self.queue.borrow().is_empty()
    }

    /// Runs up to `max` tasks from the run queue; returns how many ran.
    pub(crate) fn run_batch(&self, max: usize) -> usize {
        let mut ran = 0;
        while ran < max {
            let next = {
                let mut queue = self.queue.borrow_mut();
                let next = queue.pop_front();
                // A task a few places on: its header is likely cold, and
                // the atomic transitions on it would wait for the miss.
                if let Some(after) = queue.get(PREFETCH_AHEAD) {
                    prefetch(after.as_ptr());
                }
                next
            };
            let Some(task) = next else { break };
            self.run(task);
            ran += 1;
        }
        crate::metrics::Counters::add(&self.remote.counters.polls, ran as u64);
        // Outside task polls (the main future, custom loops) nothing is
        // limited.
        rentio_driver::coop::set(None);
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
                rentio_driver::coop::set(Some(rentio_driver::coop::DEFAULT_BUDGET));
                let watch = &self.remote.counters.watch;
                watch.start(task.header().spawned_at);
                #[cfg(feature = "tracing")]
                let _span = tracing::trace_span!(
                    "rentio.task",
                    id = task.as_ptr().as_ptr() as usize,
                    spawned_at = %task.header().spawned_at,
                )
                .entered();
                // SAFETY: owner thread; the transition set RUNNING.
                let polled = unsafe { task.poll(&mut cx) };
                watch.end();
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
        // Leave the owned list first: the transition may drop this
        // runner's references, after which the join handle may free the
        // task at any moment. (Only this thread walks the list.)
        self.unlink_owned(task.as_ptr());
        let prev = task.header().state.transition_to_complete_and_release(2);
        if prev & (JOIN_HANDLE | JOIN_WAKER) == JOIN_HANDLE {
            // The queue's and the list's references went with the
            // transition; the join handle takes the output.
            let _ = task.into_raw();
            return;
        }
        if prev & JOIN_HANDLE == 0 {
            // SAFETY: no join handle wants the output, so it is ours; this
            // is the owner thread.
            unsafe { task.drop_output() };
        }
        if prev & JOIN_WAKER != 0 {
            notify_join(&task);
        }
        // Drop the owned list's reference with the queue's.
        task.release_with(1);
    }

    /// Puts a task's owned-list reference at the head of the list.
    #[inline]
    fn link_owned(&self, task: TaskRef) {
        crate::metrics::Counters::add(&self.remote.counters.tasks_alive, 1);
        let ptr = task.into_raw().as_ptr();
        let head = self.owned_head.get();
        // SAFETY: `ptr` is live (the list now owns a reference to it).
        let header = unsafe { &*ptr };
        header
            .owned_prev
            .store(std::ptr::null_mut(), Ordering::Relaxed);
        header.owned_next.store(head, Ordering::Relaxed);
        if !head.is_null() {
            // SAFETY: every header in the list is live (the list holds a
            // reference to each).
            unsafe { &*head }.owned_prev.store(ptr, Ordering::Relaxed);
        }
        self.owned_head.set(ptr);
    }

    /// Takes a task out of the owned list; its reference is the caller's.
    fn unlink_owned(&self, task: NonNull<Header>) {
        crate::metrics::Counters::add(&self.remote.counters.tasks_alive, u64::MAX);
        // SAFETY: the caller holds a reference, so the header is live.
        let header = unsafe { task.as_ref() };
        let prev = header.owned_prev.load(Ordering::Relaxed);
        let next = header.owned_next.load(Ordering::Relaxed);
        if prev.is_null() {
            self.owned_head.set(next);
        } else {
            // SAFETY: listed headers are live (the list holds references).
            unsafe { &*prev }.owned_next.store(next, Ordering::Relaxed);
        }
        if !next.is_null() {
            // SAFETY: as above.
            unsafe { &*next }.owned_prev.store(prev, Ordering::Relaxed);
        }
    }

    /// Shutdown: cancel every owned task (dropping its future here, on the
    /// owner thread), then release every queued reference.
    pub(crate) fn shutdown(&self) {
        // One at a time: dropping a future may spawn or wake others.
        while let Some(head) = NonNull::new(self.owned_head.get()) {
            self.unlink_owned(head);
            // SAFETY: the list's reference to this task is now ours.
            let task = unsafe { TaskRef::from_raw(head) };
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

/// How far down the run queue `run_batch` prefetches: far enough that the
/// line arrives before the task runs.
const PREFETCH_AHEAD: usize = 3;

/// Starts loading a task header into the cache (a hint; no effect on
/// other targets).
#[inline(always)]
fn prefetch(header: NonNull<Header>) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch is a hint that never faults, whatever the
        // address; SSE is part of the x86_64 baseline.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(header.as_ptr().cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = header;
}
