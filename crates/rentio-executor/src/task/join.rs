//! `JoinHandle` and `JoinError`.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::raw::TaskRef;
use super::state::{COMPLETE, JOIN_HANDLE, JOIN_WAKER};
use super::waker::schedule;
use crate::loom::{Mutex, lock};

/// An owned permission to await a task's output.
///
/// Awaiting it gives `Ok(output)`, or a [`JoinError`] if the task panicked
/// or was aborted (or its runtime shut down). Dropping it detaches the
/// task, which keeps running. It is `Send` only if the output is.
///
/// Like tokio's and monoio's, it is not `#[must_use]`: detaching is
/// common, so `rentio::spawn(fut);` as a statement is fine.
///
/// # Cancel safety
///
/// Dropping the future returned by awaiting (the handle itself) detaches
/// the task; the output, if any, is dropped.
pub struct JoinHandle<T> {
    /// `None` once the output was taken: the handle lets go of the task
    /// (its bit and its reference) at once, which keeps a handle one
    /// pointer wide.
    task: Option<TaskRef>,
    _output: PhantomData<T>,
}

// The output is never pinned: it is moved out of the task when ready.
impl<T> Unpin for JoinHandle<T> {}

// SAFETY: the handle touches the task's header (Send + Sync data) and, once
// the task is complete, moves or drops the output `T` on its own thread:
// sound exactly when `T: Send`. `abort` and `is_finished` take `&self` and
// only use atomics and the header's mutex.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    pub(crate) fn new(task: TaskRef) -> JoinHandle<T> {
        JoinHandle {
            task: Some(task),
            _output: PhantomData,
        }
    }

    /// Asks the task to stop: the owner drops its future at its next turn
    /// and the handle then gives a cancelled [`JoinError`]. Callable from
    /// any thread; does nothing if the task already finished.
    pub fn abort(&self) {
        if let Some(task) = &self.task
            && task.header().state.transition_to_cancelled()
        {
            schedule(task.as_ptr());
        }
    }

    /// Whether the task has finished (completed, panicked or was aborted).
    pub fn is_finished(&self) -> bool {
        self.task
            .as_ref()
            .is_none_or(|task| task.header().state.load() & COMPLETE != 0)
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    /// # Panics
    ///
    /// If polled again after it returned `Ready`.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(task) = &this.task else {
            panic!("JoinHandle polled after it returned Ready");
        };
        let header = task.header();
        let state = header.state.load();
        if state & COMPLETE == 0 {
            let published = if state & JOIN_WAKER == 0 {
                // SAFETY: JOIN_WAKER is clear: the field is this handle's.
                drop(unsafe { header.join_waker.replace(Some(cx.waker().clone())) });
                header.state.set_join_waker()
            // SAFETY: published: only this handle writes the field, and it
            // only reads it here.
            } else if unsafe { header.join_waker.will_wake(cx.waker()) } {
                return Poll::Pending;
            } else {
                header.state.unset_join_waker().and_then(|_| {
                    // SAFETY: taken back before completion: the handle's.
                    drop(unsafe { header.join_waker.replace(Some(cx.waker().clone())) });
                    header.state.set_join_waker()
                })
            };
            match published {
                Ok(_) => return Poll::Pending,
                // Completed before the waker was published: the field is
                // still the handle's; nothing will wake it.
                Err(state) if state & JOIN_WAKER == 0 => {
                    // SAFETY: JOIN_WAKER is clear: the field is this handle's.
                    drop(unsafe { header.join_waker.replace(None) });
                }
                // Completed with the old waker published: completion wakes
                // it and hands the field back (see `JoinHandle::drop`).
                Err(_) => {}
            }
        }
        let mut output: Option<Result<T, JoinError>> = None;
        // SAFETY: the task is complete and JOIN_HANDLE is still set (this
        // handle is alive), so the output is this handle's to move; `T` is
        // the task's output type; `output` holds `None`; if `T` is not
        // `Send` this handle never left the owner thread.
        unsafe { task.read_output((&raw mut output).cast()) };
        if let Some(task) = this.task.take() {
            let_go_after_output(task);
        }
        Poll::Ready(output.unwrap_or_else(|| Err(JoinError::cancelled())))
    }
}

/// A join handle lets go of a complete task whose output it took.
fn let_go_after_output(task: TaskRef) {
    let header = task.header();
    if header.state.load() & JOIN_WAKER == 0 {
        // No published waker is being woken: the field is the handle's.
        // Empty it (a stale waker would keep a foreign task alive for
        // nothing), then let go of JOIN_HANDLE and the reference in one
        // read-modify-write.
        // SAFETY: JOIN_WAKER is clear: the field is the handle's.
        drop(unsafe { header.join_waker.replace(None) });
        task.release_join_handle();
        return;
    }
    // Completion is still waking the published waker: it drops it once it
    // sees the handle gone, unless it handed it back meanwhile.
    let prev = header.state.drop_join_handle();
    if prev & JOIN_WAKER == 0 {
        // SAFETY: JOIN_WAKER is clear: the field is the handle's.
        drop(unsafe { header.join_waker.replace(None) });
    }
    drop(task);
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        // Without a task, the output was taken and the task let go already.
        let Some(task) = self.task.take() else {
            return;
        };
        let header = task.header();
        let prev = header.state.drop_join_handle();
        if prev & COMPLETE != 0 {
            // SAFETY: the state says the output was stored while this handle
            // existed, and nobody took it, so it is this handle's to drop.
            unsafe { task.drop_output() };
        }
        // Before completion the transition took a published waker back;
        // after it, completion drops one it still holds.
        if prev & COMPLETE == 0 || prev & JOIN_WAKER == 0 {
            // SAFETY: JOIN_WAKER is clear: the field is this handle's.
            drop(unsafe { header.join_waker.replace(None) });
        }
        drop(task);
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish_non_exhaustive()
    }
}

/// Why a task produced no output.
///
/// One pointer wide, so a `Result<T, JoinError>` stays small on the hot
/// path: cancellation is `None`, a panic boxes its payload.
pub struct JoinError {
    panic: Option<Box<Mutex<Box<dyn Any + Send + 'static>>>>,
}

impl JoinError {
    pub(crate) fn cancelled() -> JoinError {
        JoinError { panic: None }
    }

    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            panic: Some(Box::new(Mutex::new(payload))),
        }
    }

    /// Whether the task was aborted or its runtime shut down.
    pub fn is_cancelled(&self) -> bool {
        self.panic.is_none()
    }

    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        self.panic.is_some()
    }

    /// The panic's payload, to resume it with `std::panic::resume_unwind`.
    ///
    /// # Errors
    ///
    /// Gives the error back if the task was cancelled rather than panicked.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.panic {
            Some(payload) => Ok(payload.into_inner().unwrap_or_else(|e| e.into_inner())),
            None => Err(self),
        }
    }

    fn panic_message(&self) -> Option<String> {
        let payload = lock(self.panic.as_deref()?);
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.is_panic(), self.panic_message()) {
            (false, _) => f.write_str("task was cancelled"),
            (true, Some(msg)) => write!(f, "task panicked: {msg}"),
            (true, None) => f.write_str("task panicked"),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JoinError({self})")
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(e: JoinError) -> std::io::Error {
        std::io::Error::other(e)
    }
}

/// Wakes a completed task's published join waker, then hands the field
/// back to the join handle, or drops the waker if the handle is gone.
///
/// Call only with `COMPLETE` and `JOIN_WAKER` set (the state before the
/// completing transition had `JOIN_WAKER`), on the completing side.
pub(crate) fn notify_join(task: &TaskRef) {
    let header = task.header();
    // SAFETY: complete with the waker published: the handle no longer
    // writes the field, and this side only reads it until the bit clears.
    unsafe { header.join_waker.wake_by_ref() };
    if header.state.unset_join_waker_after_complete() & JOIN_HANDLE == 0 {
        // SAFETY: the handle is gone and the bit is clear: nobody else
        // touches the field.
        drop(unsafe { header.join_waker.replace(None) });
    }
}
