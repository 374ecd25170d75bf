//! Model checks (loom) of where threads meet: the inbox, and the task state
//! machine under a remote wake racing the owner.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p rentio-executor --lib --release loom`

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use loom::sync::atomic::AtomicUsize;
use loom::thread;

use crate::loom::{Arc, Ordering};
use crate::park::Unpark;
use crate::remote::{Remote, TaskRefPool};
use crate::task::JoinHandle;
use crate::task::join::notify_join;
use crate::task::raw::TaskRef;
use crate::task::state::{
    COMPLETE, JOIN_HANDLE, JOIN_WAKER, TransitionToIdle, TransitionToRunning, TransitionToScheduled,
};

/// Counts unparks.
struct CountUnpark(Arc<AtomicUsize>);

impl Unpark for CountUnpark {
    fn unpark(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

struct Pending;

impl Future for Pending {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

fn remote(unparks: &Arc<AtomicUsize>) -> Arc<Remote> {
    Arc::new(Remote::new(1, Box::new(CountUnpark(unparks.clone()))))
}

#[test]
fn loom_inbox_never_loses_a_push() {
    loom::model(|| {
        let unparks = Arc::new(AtomicUsize::new(0));
        let remote = remote(&unparks);
        let pool = TaskRefPool::new(&remote);
        let (a, a2, a3) = TaskRef::new(Pending, pool.take(), std::panic::Location::caller());
        let r = remote.clone();
        let t = thread::spawn(move || r.push(a));
        let mut out = VecDeque::new();
        let mut jobs = Vec::new();
        remote.drain_into(&mut out, &mut jobs);
        t.join().unwrap();
        remote.drain_into(&mut out, &mut jobs);
        assert_eq!(out.len(), 1, "the pushed task was drained exactly once");
        assert!(
            unparks.load(Ordering::SeqCst) >= 1,
            "the push rang the unparker"
        );
        // Tear down like the owner would: the future goes first.
        for t in out.drain(..) {
            drop(t);
        }
        // SAFETY: the model's thread is the owner; nothing polls.
        unsafe { a2.cancel() };
        let _ = a2.header().state.transition_to_complete();
        // SAFETY: no handle kept the output (a3 is dropped below unread).
        drop(a3);
        drop(a2);
        close_and_check(&remote, pool);
    });
}

#[test]
fn loom_a_remote_wake_racing_a_poll_is_not_lost() {
    loom::model(|| {
        let unparks = Arc::new(AtomicUsize::new(0));
        let remote = remote(&unparks);
        let pool = TaskRefPool::new(&remote);
        let (queued, owned, handle) =
            TaskRef::new(Pending, pool.take(), std::panic::Location::caller());
        drop(handle);
        // The owner runs the task from its queue entry...
        assert!(matches!(
            queued.header().state.transition_to_running(),
            TransitionToRunning::Poll
        ));
        // ...while another thread wakes it.
        let ptr = owned.header() as *const _ as usize;
        let waker_ref = {
            owned.header().state.ref_inc();
            // SAFETY: the reference just taken belongs to this TaskRef.
            unsafe { TaskRef::from_raw(std::ptr::NonNull::new(ptr as *mut _).unwrap()) }
        };
        let t = thread::spawn(move || {
            let pushed = matches!(
                waker_ref.header().state.transition_to_scheduled(),
                TransitionToScheduled::Push
            );
            (pushed, waker_ref)
        });
        let idle = queued.header().state.transition_to_idle();
        let (pushed, waker_ref) = t.join().unwrap();
        // Either the wake saw RUNNING and the owner requeues, or it saw the
        // task idle and pushed it itself: exactly one of the two.
        let requeue = matches!(idle, TransitionToIdle::Requeue);
        assert!(requeue ^ pushed, "requeue {requeue} pushed {pushed}");
        if pushed {
            // The pusher's extra reference.
            let _ = waker_ref.header().state.ref_dec();
        }
        drop(waker_ref);
        // SAFETY: owner thread; nothing polls.
        unsafe { owned.cancel() };
        let _ = owned.header().state.transition_to_complete();
        assert!(owned.header().state.load() & COMPLETE != 0);
        drop(queued);
        drop(owned);
        close_and_check(&remote, pool);
    });
}

/// A new task its owner is running: the inbox, its pool, and the queue's,
/// owned list's and join handle's references.
fn running_task() -> (Arc<Remote>, TaskRefPool, TaskRef, TaskRef, TaskRef) {
    let unparks = Arc::new(AtomicUsize::new(0));
    let remote = remote(&unparks);
    let pool = TaskRefPool::new(&remote);
    let (queued, owned, handle) =
        TaskRef::new(Pending, pool.take(), std::panic::Location::caller());
    assert!(matches!(
        queued.header().state.transition_to_running(),
        TransitionToRunning::Poll
    ));
    (remote, pool, queued, owned, handle)
}

/// The owner cancels a RUNNING task and finishes it as `Shared::complete`
/// does, giving up the queue's and the owned list's references; returns
/// the state before completion.
fn complete_as_owner(queued: TaskRef, owned: TaskRef) -> usize {
    // SAFETY: owner thread, the task is RUNNING and not being polled.
    unsafe { queued.cancel() };
    let prev = queued.header().state.transition_to_complete_and_release(2);
    let _ = owned.into_raw();
    if prev & (JOIN_HANDLE | JOIN_WAKER) == JOIN_HANDLE {
        let _ = queued.into_raw();
        return prev;
    }
    if prev & JOIN_HANDLE == 0 {
        // SAFETY: no join handle wants the output; owner thread.
        unsafe { queued.drop_output() };
    }
    if prev & JOIN_WAKER != 0 {
        notify_join(&queued);
    }
    queued.release_with(1);
    prev
}

/// Closes the inbox, drops the pool, and checks that nothing kept a
/// reference to the inbox.
fn close_and_check(remote: &Arc<Remote>, pool: TaskRefPool) {
    drop(remote.close());
    drop(pool);
    assert_eq!(
        Arc::strong_count(remote),
        1,
        "the tasks' and the pool's references to the inbox were released"
    );
}

/// A waker over a loom `Arc`, so loom sees a leaked or doubly dropped
/// clone; it counts its wakes.
fn counting_waker(count: &Arc<AtomicUsize>) -> Waker {
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop);
    fn clone(data: *const ()) -> RawWaker {
        // SAFETY: `data` came from `Arc::into_raw` and the waker being
        // cloned still holds its count.
        unsafe { Arc::increment_strong_count(data.cast::<AtomicUsize>()) };
        RawWaker::new(data, &VTABLE)
    }
    fn wake(data: *const ()) {
        wake_by_ref(data);
        drop(data);
    }
    fn wake_by_ref(data: *const ()) {
        // SAFETY: the waker holds a count, so the counter is alive.
        unsafe { &*data.cast::<AtomicUsize>() }.fetch_add(1, Ordering::SeqCst);
    }
    fn drop(data: *const ()) {
        // SAFETY: the waker's own count, given up once.
        unsafe { Arc::decrement_strong_count(data.cast::<AtomicUsize>()) };
    }
    let data = Arc::into_raw(count.clone()).cast::<()>();
    // SAFETY: the vtable keeps the `Arc` count of each waker.
    unsafe { Waker::from_raw(RawWaker::new(data, &VTABLE)) }
}

/// A join handle on another thread publishes its waker (through
/// `JoinHandle::poll`) and is dropped while the owner completes the task:
/// the join waker field is never written and read at once (loom checks the
/// cell), the waker is dropped exactly once (loom checks its `Arc`), and
/// the task is freed once.
#[test]
fn loom_completion_racing_the_join_handle_frees_the_task_once() {
    loom::model(|| {
        let (remote, pool, queued, owned, handle) = running_task();
        let wakes = Arc::new(AtomicUsize::new(0));
        let w = wakes.clone();
        let t = thread::spawn(move || {
            let mut handle = JoinHandle::<()>::new(handle);
            let waker = counting_waker(&w);
            let mut cx = Context::from_waker(&waker);
            let polled = Pin::new(&mut handle).poll(&mut cx);
            drop(handle);
            polled.is_ready()
        });
        let prev = complete_as_owner(queued, owned);
        let ready = t.join().unwrap();
        if prev & JOIN_WAKER != 0 {
            assert!(!ready, "a published waker means the handle saw Pending");
            assert_eq!(wakes.load(Ordering::SeqCst), 1, "and it was woken");
        }
        close_and_check(&remote, pool);
        assert_eq!(
            Arc::strong_count(&wakes),
            1,
            "every waker clone was dropped"
        );
    });
}

/// The join handle re-polls with a different waker (takes its published
/// waker back, replaces it, publishes again) while the owner completes
/// the task: every waker clone is dropped once, the task freed once.
#[test]
fn loom_a_join_handle_re_polled_with_a_new_waker_racing_completion() {
    loom::model(|| {
        let (remote, pool, queued, owned, handle) = running_task();
        let w1 = Arc::new(AtomicUsize::new(0));
        let w2 = Arc::new(AtomicUsize::new(0));
        let (a, b) = (w1.clone(), w2.clone());
        let t = thread::spawn(move || {
            let mut handle = JoinHandle::<()>::new(handle);
            let k1 = counting_waker(&a);
            let k2 = counting_waker(&b);
            let r1 = Pin::new(&mut handle).poll(&mut Context::from_waker(&k1));
            if r1.is_ready() {
                return;
            }
            let r2 = Pin::new(&mut handle).poll(&mut Context::from_waker(&k2));
            if r2.is_ready() {
                return;
            }
            drop(handle);
        });
        let _ = complete_as_owner(queued, owned);
        t.join().unwrap();
        close_and_check(&remote, pool);
        assert_eq!(
            Arc::strong_count(&w1),
            1,
            "every clone of the first waker was dropped"
        );
        assert_eq!(
            Arc::strong_count(&w2),
            1,
            "every clone of the second waker was dropped"
        );
    });
}
