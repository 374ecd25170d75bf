//! `JoinHandle` and `JoinError`.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::raw::{TaskRef, wake_join};
use super::state::{COMPLETE, JOIN_WAKER};
use super::waker::schedule;
use crate::loom::{Mutex, lock};

/// An owned permission to await a task's output.
///
/// Awaiting it gives `Ok(output)`, or a [`JoinError`] if the task panicked
/// or was aborted (or its runtime shut down). Dropping it detaches the
/// task, which keeps running. It is `Send` only if the output is.
///
/// # Cancel safety
///
/// Dropping the future returned by awaiting (the handle itself) detaches
/// the task; the output, if any, is dropped.
#[must_use = "dropping a JoinHandle detaches the task"]
pub struct JoinHandle<T> {
    /// Taken only in `drop`.
    task: ManuallyDrop<TaskRef>,
    taken: bool,
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
            task: ManuallyDrop::new(task),
            taken: false,
            _output: PhantomData,
        }
    }

    /// Asks the task to stop: the owner drops its future at its next turn
    /// and the handle then gives a cancelled [`JoinError`]. Callable from
    /// any thread; does nothing if the task already finished.
    pub fn abort(&self) {
        if self.task.header().state.transition_to_cancelled() {
            schedule(self.task.as_ptr());
        }
    }

    /// Whether the task has finished (completed, panicked or was aborted).
    pub fn is_finished(&self) -> bool {
        self.task.header().state.load() & COMPLETE != 0
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    /// # Panics
    ///
    /// If polled again after it returned `Ready`.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.taken, "JoinHandle polled after it returned Ready");
        let header = this.task.header();
        if header.state.load() & COMPLETE == 0 {
            {
                let mut slot = lock(&header.join_waker);
                match &*slot {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => *slot = Some(cx.waker().clone()),
                }
            }
            // Completion reads JOIN_WAKER in the same read-modify-write that
            // sets COMPLETE: either it sees the bit and wakes the waker just
            // stored, or this sees COMPLETE and takes the output now.
            if header.state.set_join_waker() & COMPLETE == 0 {
                return Poll::Pending;
            }
        }
        let mut output: Option<Result<T, JoinError>> = None;
        // SAFETY: the task is complete and JOIN_HANDLE is still set (this
        // handle is alive), so the output is this handle's to move; `T` is
        // the task's output type; `output` holds `None`; if `T` is not
        // `Send` this handle never left the owner thread.
        unsafe { this.task.read_output((&raw mut output).cast()) };
        this.taken = true;
        Poll::Ready(output.unwrap_or_else(|| Err(JoinError::cancelled())))
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        // SAFETY: `drop` runs once and nothing uses the field after this.
        let task = unsafe { ManuallyDrop::take(&mut self.task) };
        // A stale join waker would keep a foreign task alive for nothing.
        let clear_waker = |task: &TaskRef| {
            if task.header().state.load() & JOIN_WAKER != 0 {
                let _ = lock(&task.header().join_waker).take();
            }
        };
        if self.taken {
            // The output is gone, so the task is complete: clear a stale
            // join waker (the mutex orders this with a completion still
            // taking it on the owner thread), then let go of JOIN_HANDLE
            // and this reference in one read-modify-write.
            clear_waker(&task);
            task.release_join_handle();
            return;
        }
        if task.header().state.drop_join_handle() {
            // SAFETY: the state says the output was stored while this handle
            // existed, so it is this handle's to drop.
            unsafe { task.drop_output() };
        }
        clear_waker(&task);
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

/// Wakes a completed task's join handle.
pub(crate) fn notify_join(task: &TaskRef) {
    wake_join(task.header());
}
