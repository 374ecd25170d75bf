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
use crate::loom::{AtomicPtr, Mutex, lock};
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
    pub(crate) join_waker: Mutex<Option<Waker>>,
    /// The neighbours in the owner's intrusive owned-task list (read and
    /// written by the owner only; atomics with relaxed order, so the header
    /// stays plain `Send + Sync` data).
    pub(crate) owned_prev: AtomicPtr<Header>,
    pub(crate) owned_next: AtomicPtr<Header>,
}

/// Where the future stands.
enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

/// The stage is `ManuallyDrop`: it is consumed on the owner thread (or by
/// the output's owner) before the last reference goes, so freeing the cell
/// drops only the header.
#[repr(C)]
struct Cell<F: Future> {
    header: Header,
    stage: UnsafeCell<ManuallyDrop<Stage<F>>>,
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
    ) -> (TaskRef, TaskRef, TaskRef) {
        let cell = Box::new(Cell {
            header: Header {
                state: State::new(),
                vtable: vtable::<F>(),
                remote,
                join_waker: Mutex::new(None),
                owned_prev: AtomicPtr::new(std::ptr::null_mut()),
                owned_next: AtomicPtr::new(std::ptr::null_mut()),
            },
            stage: UnsafeCell::new(ManuallyDrop::new(Stage::Running(future))),
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

/// Drops the future of a `Running` stage and stores `output` in its place,
/// without the stage's drop glue (the variant is known). A panic in the
/// future's drop is swallowed: the future counts as dropped either way.
fn finish<F: Future>(stage: &mut Stage<F>, output: Result<F::Output, JoinError>) {
    let Stage::Running(future) = stage else {
        unreachable!("only a running task finishes");
    };
    let future: *mut F = future;
    // SAFETY: the future is dropped once, here, and the stage is
    // overwritten below without reading or dropping it again.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe {
        std::ptr::drop_in_place(future)
    }));
    // SAFETY: the future was dropped above, which was all the stage held,
    // so a plain write loses nothing.
    unsafe { std::ptr::write(stage, Stage::Finished(output)) }
}

/// # Safety
///
/// - Owner thread, task RUNNING, stage `Running`.
unsafe fn poll<F: Future>(ptr: NonNull<Header>, cx: &mut Context<'_>) -> Poll<()> {
    // SAFETY: forwarded from the caller.
    let stage = unsafe { stage::<F>(ptr) };
    let Stage::Running(future) = stage else {
        return Poll::Ready(());
    };
    // SAFETY: the future lives in the heap cell and never moves until it
    // is dropped in place.
    let future = unsafe { Pin::new_unchecked(future) };
    let output = match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
        Ok(Poll::Pending) => return Poll::Pending,
        Ok(Poll::Ready(output)) => Ok(output),
        Err(panic) => Err(JoinError::panic(panic)),
    };
    finish(stage, output);
    Poll::Ready(())
}

/// # Safety
///
/// - Owner thread, future not being polled.
unsafe fn cancel<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: forwarded from the caller.
    let stage = unsafe { stage::<F>(ptr) };
    if let Stage::Running(_) = stage {
        finish(stage, Err(JoinError::cancelled()));
    }
}

/// # Safety
///
/// - The caller owns the output.
unsafe fn drop_output<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: forwarded from the caller.
    let stage = unsafe { stage::<F>(ptr) };
    if let Stage::Finished(output) = stage {
        let output: *mut Result<F::Output, JoinError> = output;
        // SAFETY: the output is dropped once, here (a panic in its drop is
        // swallowed; it counts as dropped either way), and the stage is
        // overwritten without reading or dropping it again.
        let _ = catch_unwind(AssertUnwindSafe(|| unsafe {
            std::ptr::drop_in_place(output)
        }));
        // SAFETY: as above.
        unsafe { std::ptr::write(stage, Stage::Consumed) }
    }
}

/// # Safety
///
/// - The caller owns the output; `dst` has the right type and holds `None`.
unsafe fn read_output<F: Future>(ptr: NonNull<Header>, dst: *mut ()) {
    // SAFETY: forwarded from the caller.
    let stage = unsafe { stage::<F>(ptr) };
    if let Stage::Finished(output) = stage {
        // SAFETY: the output is moved out once and the stage marked
        // consumed with a plain write (no drop of the moved-out value).
        // The caller guarantees the type of `dst`, and that it holds
        // `None`, which has nothing to drop: a plain write there too.
        unsafe {
            let output = std::ptr::read(output);
            std::ptr::write(stage, Stage::Consumed);
            dst.cast::<Option<Result<F::Output, JoinError>>>()
                .write(Some(output));
        }
    }
}

/// # Safety
///
/// - The last reference is gone.
unsafe fn dealloc<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: the pointer came from Box::leak of a Box<Cell<F>>, and no
    // reference remains. The stage is consumed (the owner drops the future
    // before the owned list lets go, and the output's owner drops it), and
    // `ManuallyDrop` skips it: dropping the cell drops only `Send` header
    // data.
    let cell = unsafe { Box::from_raw(ptr.cast::<Cell<F>>().as_ptr()) };
    debug_assert!(matches!(
        // SAFETY: no reference remains, so nothing else touches the stage.
        unsafe { &**cell.stage.get() },
        Stage::Consumed
    ));
    drop(cell);
}

/// Wakes the join handle's waker, if any.
#[inline]
pub(crate) fn wake_join(header: &Header) {
    let waker = lock(&header.join_waker).take();
    if let Some(waker) = waker {
        waker.wake();
    }
}
