//! The task allocation: header, stage and vtable, and `TaskRef`, an owned
//! reference to it.
//!
//! One allocation per spawn holds the header (only `Send` data: the state,
//! the vtable, the owner's inbox, the join waker) followed by the stage
//! (the future, then its output), which only the owner thread touches, and
//! the join handle once the task is complete.

use std::cell::UnsafeCell;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

use super::join::JoinError;
use super::state::State;
use crate::loom::AtomicPtr;
use crate::remote::RemoteRef;

/// The type-erased operations on a task.
pub(crate) struct VTable {
    /// Polls the future (owner thread); `Ready` once the output is stored.
    poll: unsafe fn(NonNull<Header>, &mut Context<'_>) -> Poll<()>,
    /// Drops the future and stores a cancellation (owner thread).
    cancel: unsafe fn(NonNull<Header>),
    /// Drops a stored output nobody will take.
    drop_output: unsafe fn(NonNull<Header>),
    /// Moves the output to `dst`, a `*mut Option<Result<T, JoinError>>`.
    read_output: unsafe fn(NonNull<Header>, *mut ()),
    /// Frees the allocation (the stage is consumed by then).
    dealloc: unsafe fn(NonNull<Header>),
}

/// The part of a task any thread may touch.
pub(crate) struct Header {
    pub(crate) state: State,
    pub(crate) vtable: &'static VTable,
    /// The owning runtime's inbox, where remote wakes go.
    pub(crate) remote: RemoteRef,
    /// The join handle's waker.
    pub(crate) join_waker: JoinWaker,
    /// The neighbours in the owner's intrusive owned-task list (read and
    /// written by the owner only; atomics with relaxed order, so the header
    /// stays plain `Send + Sync` data).
    pub(crate) owned_prev: AtomicPtr<Header>,
    pub(crate) owned_next: AtomicPtr<Header>,
    /// Where the task was spawned (`#[track_caller]`), for the stall
    /// detector.
    pub(crate) spawned_at: &'static std::panic::Location<'static>,
}

/// The future while it runs, then its output, in one place: which of the
/// two the stage holds is the state's to say, so it has no tag of its own
/// (a task is as small as it can be: `malloc` rounds the cell up in steps
/// of 16 bytes).
///
/// - Not `COMPLETE`: the future. The owner drops it and writes the output
///   (`finish`) before it sets `COMPLETE`.
/// - `COMPLETE`: the output, until its owner (the join handle if
///   `JOIN_HANDLE` was set at completion, else the owner thread) takes or
///   drops it, exactly once. After that, nothing.
///
/// Neither field is ever dropped by the cell itself.
union Stage<F: Future> {
    future: ManuallyDrop<F>,
    output: ManuallyDrop<Result<F::Output, JoinError>>,
}

/// What the stage holds: recorded in debug builds only, to check the
/// protocol above.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Holds {
    Future,
    Output,
    Nothing,
}

#[repr(C)]
struct Cell<F: Future> {
    header: Header,
    stage: UnsafeCell<Stage<F>>,
    #[cfg(debug_assertions)]
    holds: UnsafeCell<Holds>,
}

/// An owned reference to a task (one count of its reference count).
///
/// It may move between threads: the header is `Send` data, and the stage
/// is only touched through the vtable on the owner thread, or once the
/// task is complete by whoever holds the output.
pub(crate) struct TaskRef {
    ptr: NonNull<Header>,
}

// SAFETY: a TaskRef only gives other threads the header (Send + Sync data)
// and the ability to drop a reference; the last reference frees only a
// consumed stage (the owner drops the future on its own thread before it
// releases the owned list's reference), so nothing `!Send` is dropped
// elsewhere.
unsafe impl Send for TaskRef {}

impl TaskRef {
    /// Allocates a task for `future`, owned by the runtime behind `remote`.
    /// Returns the three references a new task starts with: the queue's,
    /// the owned list's and the join handle's.
    #[inline]
    pub(crate) fn new<F: Future + 'static>(
        future: F,
        remote: RemoteRef,
        spawned_at: &'static std::panic::Location<'static>,
    ) -> (TaskRef, TaskRef, TaskRef) {
        let cell = Box::new(Cell {
            header: Header {
                state: State::new(),
                vtable: vtable::<F>(),
                remote,
                join_waker: JoinWaker(crate::loom::UnsafeCell::new(None)),
                owned_prev: AtomicPtr::new(std::ptr::null_mut()),
                owned_next: AtomicPtr::new(std::ptr::null_mut()),
                spawned_at,
            },
            stage: UnsafeCell::new(Stage {
                future: ManuallyDrop::new(future),
            }),
            #[cfg(debug_assertions)]
            holds: UnsafeCell::new(Holds::Future),
        });
        let ptr = NonNull::from(Box::leak(cell)).cast::<Header>();
        (TaskRef { ptr }, TaskRef { ptr }, TaskRef { ptr })
    }

    /// Takes over a reference counted in the state.
    ///
    /// # Safety
    ///
    /// - `ptr` points at a live task header, and the caller gives up one
    ///   reference it owns.
    #[inline]
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> TaskRef {
        TaskRef { ptr }
    }

    /// Gives up ownership of the reference without dropping it.
    #[inline]
    pub(crate) fn into_raw(self) -> NonNull<Header> {
        let ptr = self.ptr;
        std::mem::forget(self);
        ptr
    }

    /// Releases this reference and `extra` more that the caller owns, in
    /// one atomic operation.
    #[inline]
    pub(crate) fn release_with(self, extra: usize) {
        let ptr = self.into_raw();
        // SAFETY: this reference kept the header alive until now.
        let header = unsafe { ptr.as_ref() };
        if header.state.ref_dec_n(1 + extra) {
            // SAFETY: those were the last references (see Drop).
            unsafe { (header.vtable.dealloc)(ptr) }
        }
    }

    /// Drops a join handle's reference whose output was taken: clears
    /// `JOIN_HANDLE` and releases the reference in one atomic operation.
    #[inline]
    pub(crate) fn release_join_handle(self) {
        let ptr = self.into_raw();
        // SAFETY: this reference kept the header alive until now.
        let header = unsafe { ptr.as_ref() };
        if header.state.drop_join_handle_and_ref() {
            // SAFETY: that was the last reference (see Drop).
            unsafe { (header.vtable.dealloc)(ptr) }
        }
    }

    #[inline]
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: a TaskRef keeps the allocation alive.
        unsafe { self.ptr.as_ref() }
    }

    #[inline]
    pub(crate) fn as_ptr(&self) -> NonNull<Header> {
        self.ptr
    }

    /// Polls the future.
    ///
    /// # Safety
    ///
    /// - Called on the owner thread, with the task in the RUNNING state.
    #[inline]
    pub(crate) unsafe fn poll(&self, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: forwarded from the caller.
        unsafe { (self.header().vtable.poll)(self.ptr, cx) }
    }

    /// Drops the future, storing a cancellation.
    ///
    /// # Safety
    ///
    /// - Called on the owner thread, with the future not being polled.
    #[inline]
    pub(crate) unsafe fn cancel(&self) {
        // SAFETY: forwarded from the caller.
        unsafe { (self.header().vtable.cancel)(self.ptr) }
    }

    /// Drops the stored output.
    ///
    /// # Safety
    ///
    /// - The task is complete and the caller owns the output (the state
    ///   transition said so); the output is `Send` or this is the owner
    ///   thread.
    #[inline]
    pub(crate) unsafe fn drop_output(&self) {
        // SAFETY: forwarded from the caller.
        unsafe { (self.header().vtable.drop_output)(self.ptr) }
    }

    /// Moves the output out.
    ///
    /// # Safety
    ///
    /// - As for `drop_output`, and `dst` is a
    ///   `*mut Option<Result<T, JoinError>>` for this task's output `T`,
    ///   holding `None` (it is overwritten without a drop).
    #[inline]
    pub(crate) unsafe fn read_output(&self, dst: *mut ()) {
        // SAFETY: forwarded from the caller.
        unsafe { (self.header().vtable.read_output)(self.ptr, dst) }
    }
}

impl Drop for TaskRef {
    #[inline]
    fn drop(&mut self) {
        if self.header().state.ref_dec() {
            // SAFETY: that was the last reference; the stage was consumed
            // on the owner thread before the owned list let go.
            unsafe { (self.header().vtable.dealloc)(self.ptr) }
        }
    }
}

fn vtable<F: Future + 'static>() -> &'static VTable {
    &VTable {
        poll: poll::<F>,
        cancel: cancel::<F>,
        drop_output: drop_output::<F>,
        read_output: read_output::<F>,
        dealloc: dealloc::<F>,
    }
}

/// # Safety
///
/// - `ptr` is the header of a `Cell<F>`.
unsafe fn stage<'a, F: Future>(ptr: NonNull<Header>) -> &'a mut Stage<F> {
    // SAFETY: the header is the first field of the repr(C) Cell<F>; the
    // caller's state transition gives it exclusive access to the stage.
    unsafe { &mut *ptr.cast::<Cell<F>>().as_ref().stage.get() }
}

/// Debug builds: checks that the stage holds `expected` and records that
/// it now holds `next`.
///
/// # Safety
///
/// - As for [`stage`].
#[inline]
#[cfg_attr(not(debug_assertions), allow(unused_variables))]
unsafe fn check_stage<F: Future>(ptr: NonNull<Header>, expected: Holds, next: Holds) {
    #[cfg(debug_assertions)]
    {
        // SAFETY: as for `stage`: the caller has the stage to itself.
        let holds = unsafe { &mut *ptr.cast::<Cell<F>>().as_ref().holds.get() };
        assert_eq!(*holds, expected, "task stage protocol broken");
        *holds = next;
    }
}

/// Drops the future and stores `output` in its place. A panic in the
/// future's drop is swallowed: the future counts as dropped either way.
///
/// # Safety
///
/// - The stage holds the future, and the caller has it to itself.
unsafe fn finish<F: Future>(ptr: NonNull<Header>, output: Result<F::Output, JoinError>) {
    // SAFETY: forwarded from the caller.
    unsafe { check_stage::<F>(ptr, Holds::Future, Holds::Output) };
    // SAFETY: forwarded from the caller.
    let stage = unsafe { stage::<F>(ptr) };
    // SAFETY: the stage holds the future (caller); it is dropped once,
    // here, and overwritten below without being read again.
    let future: *mut F = unsafe { &mut *stage.future };
    // SAFETY: as above: the future's one drop.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe {
        std::ptr::drop_in_place(future)
    }));
    stage.output = ManuallyDrop::new(output);
}

/// # Safety
///
/// - Owner thread, task RUNNING (so the stage holds the future).
unsafe fn poll<F: Future>(ptr: NonNull<Header>, cx: &mut Context<'_>) -> Poll<()> {
    // SAFETY: forwarded from the caller.
    let stage = unsafe { stage::<F>(ptr) };
    // SAFETY: a running task's stage holds its future, which lives in the
    // heap cell and never moves until it is dropped in place.
    let future = unsafe { Pin::new_unchecked(&mut *stage.future) };
    let output = match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
        Ok(Poll::Pending) => return Poll::Pending,
        Ok(Poll::Ready(output)) => Ok(output),
        Err(panic) => Err(JoinError::panic(panic)),
    };
    // SAFETY: the poll is over; the stage still holds the future.
    unsafe { finish::<F>(ptr, output) };
    Poll::Ready(())
}

/// # Safety
///
/// - Owner thread, task not complete, future not being polled.
unsafe fn cancel<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: an incomplete task's stage holds its future (caller).
    unsafe { finish::<F>(ptr, Err(JoinError::cancelled())) };
}

/// # Safety
///
/// - The task is complete and the caller owns the output.
unsafe fn drop_output<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: forwarded from the caller.
    unsafe { check_stage::<F>(ptr, Holds::Output, Holds::Nothing) };
    // SAFETY: forwarded from the caller.
    let stage = unsafe { stage::<F>(ptr) };
    // SAFETY: the stage holds the output, which the caller owns; it is
    // dropped once, here (a panic in its drop is swallowed: it counts as
    // dropped either way).
    let output: *mut Result<F::Output, JoinError> = unsafe { &mut *stage.output };
    // SAFETY: as above: the output's one drop.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe {
        std::ptr::drop_in_place(output)
    }));
}

/// # Safety
///
/// - As for `drop_output`; `dst` has the right type and holds `None`.
unsafe fn read_output<F: Future>(ptr: NonNull<Header>, dst: *mut ()) {
    // SAFETY: forwarded from the caller.
    unsafe { check_stage::<F>(ptr, Holds::Output, Holds::Nothing) };
    // SAFETY: forwarded from the caller.
    let stage = unsafe { stage::<F>(ptr) };
    // SAFETY: the stage holds the output, which the caller owns and moves
    // out once. The caller guarantees the type of `dst`, and that it
    // holds `None`, which has nothing to drop: a plain write.
    unsafe {
        let output = ManuallyDrop::take(&mut stage.output);
        dst.cast::<Option<Result<F::Output, JoinError>>>()
            .write(Some(output));
    }
}

/// # Safety
///
/// - The last reference is gone.
unsafe fn dealloc<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: no reference remains, so nothing else touches the stage.
    unsafe { check_stage::<F>(ptr, Holds::Nothing, Holds::Nothing) };
    // SAFETY: the pointer came from Box::leak of a Box<Cell<F>>, and no
    // reference remains. The stage is empty (the owner drops the future
    // before the owned list lets go, and the output's owner drops it), and
    // a union of `ManuallyDrop`s drops nothing: dropping the cell drops
    // only `Send` header data.
    drop(unsafe { Box::from_raw(ptr.cast::<Cell<F>>().as_ptr()) });
}

/// The join handle's waker, guarded by the state's `JOIN_WAKER` bit (the
/// protocol tokio uses): while the bit is clear only the join handle
/// touches it; the handle sets the bit to publish it, after which the
/// handle only reads it, until it takes it back by clearing the bit before
/// completion. After `COMPLETE`, the owner reads a published waker to wake
/// it, then clears the bit, handing the field back, or drops the waker
/// itself if the handle is gone by then.
pub(crate) struct JoinWaker(crate::loom::UnsafeCell<Option<Waker>>);

// SAFETY: a `Waker` is `Send + Sync`, and the protocol above gives the
// field one writer at a time, never alongside a reader.
unsafe impl Sync for JoinWaker {}

impl JoinWaker {
    /// Replaces the waker, returning the old one.
    ///
    /// # Safety
    ///
    /// - The caller has the field to itself (see the type's doc).
    #[inline]
    pub(crate) unsafe fn replace(&self, waker: Option<Waker>) -> Option<Waker> {
        // SAFETY: exclusive access, from the caller.
        self.0
            .with_mut(|field| unsafe { std::mem::replace(&mut *field, waker) })
    }

    /// Whether the stored waker would wake the same task as `waker`.
    ///
    /// # Safety
    ///
    /// - Nobody writes the field meanwhile (the join handle, with the
    ///   waker published).
    #[inline]
    pub(crate) unsafe fn will_wake(&self, waker: &Waker) -> bool {
        self.0.with(|field| {
            // SAFETY: no concurrent writer, from the caller.
            unsafe { &*field }
                .as_ref()
                .is_some_and(|w| w.will_wake(waker))
        })
    }

    /// Wakes the stored waker, keeping it.
    ///
    /// # Safety
    ///
    /// - Nobody writes the field meanwhile (the owner, after `COMPLETE`,
    ///   with the waker published).
    #[inline]
    pub(crate) unsafe fn wake_by_ref(&self) {
        self.0.with(|field| {
            // SAFETY: no concurrent writer, from the caller.
            if let Some(waker) = unsafe { &*field } {
                waker.wake_by_ref();
            }
        });
    }
}
