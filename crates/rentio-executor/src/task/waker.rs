//! The task waker: a `RawWaker` whose data is the task header.

use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::raw::{Header, TaskRef};
use super::state::TransitionToScheduled;

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// A waker for `task` that borrows the runner's reference instead of
/// taking one; it must not outlive `task`.
pub(crate) fn waker_ref(task: &TaskRef) -> ManuallyDrop<Waker> {
    let raw = RawWaker::new(task.as_ptr().as_ptr().cast_const().cast(), &VTABLE);
    // SAFETY: the vtable's functions uphold RawWaker's contract for a task
    // header; ManuallyDrop keeps this borrowed waker from dropping the
    // reference it does not own (clones take their own).
    ManuallyDrop::new(unsafe { Waker::from_raw(raw) })
}

/// Schedules the task behind `ptr` (a wake that keeps the caller's
/// reference).
pub(crate) fn schedule(ptr: NonNull<Header>) {
    // SAFETY: the caller holds a reference, so the header is alive.
    let header = unsafe { ptr.as_ref() };
    if let TransitionToScheduled::Push = header.state.transition_to_scheduled() {
        // SAFETY: the transition took a reference for the queue entry;
        // this TaskRef owns it.
        let task = unsafe { TaskRef::from_raw(ptr) };
        crate::context::push(task);
    }
}

fn header_ptr(data: *const ()) -> NonNull<Header> {
    // SAFETY: every waker of this vtable was made from a non-null header
    // pointer.
    unsafe { NonNull::new_unchecked(data.cast_mut().cast()) }
}

fn clone(data: *const ()) -> RawWaker {
    // SAFETY: the waker being cloned holds a reference, so the header is
    // alive.
    let header = unsafe { header_ptr(data).as_ref() };
    header.state.ref_inc();
    RawWaker::new(data, &VTABLE)
}

fn wake(data: *const ()) {
    schedule(header_ptr(data));
    drop_waker(data);
}

fn wake_by_ref(data: *const ()) {
    schedule(header_ptr(data));
}

fn drop_waker(data: *const ()) {
    // SAFETY: the waker owned one reference; the TaskRef takes it over and
    // releases it.
    drop(unsafe { TaskRef::from_raw(header_ptr(data)) });
}
