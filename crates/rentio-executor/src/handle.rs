//! `Handle`: a `Send + Sync` reference to a runtime, for other threads.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::JoinHandle;
use crate::loom::{Arc, Mutex, lock};
use crate::remote::Remote;
use crate::time::Instant;

/// A handle to a runtime that any thread may hold: it reaches the runtime
/// through its inbox.
#[derive(Clone)]
pub struct Handle {
    pub(crate) remote: Arc<Remote>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("runtime", &self.remote.id)
            .finish()
    }
}

impl Handle {
    /// A handle to the runtime current on this thread.
    ///
    /// # Errors
    ///
    /// Outside a runtime (`Runtime::block_on` or one of its tasks).
    pub fn current() -> std::io::Result<Handle> {
        crate::context::with_current(|shared| Handle {
            remote: shared.remote.clone(),
        })
        .ok_or_else(|| {
            std::io::Error::other(
                "rentio: no runtime on this thread (Handle::current inside Runtime::block_on or a task)",
            )
        })
    }

    /// A sleep until `deadline` on this runtime's timers, as a `Send + Sync`
    /// future that may be awaited on any thread (hyper's `rt::Timer`, for
    /// one). The deadline is registered through the runtime's inbox; the
    /// runtime's timer wakes the future's waker wherever it is.
    pub fn sleep_until(&self, deadline: Instant) -> SendSleep {
        SendSleep {
            deadline,
            remote: self.remote.clone(),
            shared: Arc::new(Mutex::new(SleepState::default())),
        }
    }

    /// A sleep of `duration`; see [`Handle::sleep_until`].
    pub fn sleep(&self, duration: std::time::Duration) -> SendSleep {
        let deadline = Instant::now()
            .checked_add(duration)
            .unwrap_or_else(|| Instant::now() + std::time::Duration::from_secs(86400 * 365 * 30));
        self.sleep_until(deadline)
    }
}

#[derive(Default)]
struct SleepState {
    fired: bool,
    requested: bool,
    /// The sleep was dropped: a request still in the inbox does nothing.
    cancelled: bool,
    waker: Option<Waker>,
    /// The owner-side task that sleeps on the runtime's wheel.
    task: Option<JoinHandle<()>>,
}

/// The `Send + Sync` sleep of [`Handle::sleep_until`].
///
/// # Cancel safety
///
/// Dropping it aborts the owner-side timer task, which cancels the timer.
#[must_use = "futures do nothing unless polled"]
pub struct SendSleep {
    deadline: Instant,
    remote: Arc<Remote>,
    shared: Arc<Mutex<SleepState>>,
}

impl fmt::Debug for SendSleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendSleep")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl SendSleep {
    /// The deadline.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

impl Future for SendSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            return Poll::Ready(());
        }
        let mut state = lock(&self.shared);
        if state.fired {
            return Poll::Ready(());
        }
        match &state.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => state.waker = Some(cx.waker().clone()),
        }
        if !state.requested {
            state.requested = true;
            drop(state);
            let shared = self.shared.clone();
            let deadline = self.deadline;
            let job = Box::new(move || {
                // Under the lock, so a drop either sees the task or stops
                // the request from spawning it.
                let mut state = lock(&shared);
                if state.cancelled {
                    return;
                }
                let fire = shared.clone();
                state.task = Some(crate::spawn(async move {
                    crate::time::sleep_until(deadline).await;
                    let waker = {
                        let mut state = lock(&fire);
                        state.fired = true;
                        state.waker.take()
                    };
                    if let Some(waker) = waker {
                        waker.wake();
                    }
                }));
            });
            if self.remote.push_job(job).is_err() {
                // The runtime is gone: no timer will ever fire.
                return Poll::Ready(());
            }
        }
        Poll::Pending
    }
}

impl Drop for SendSleep {
    fn drop(&mut self) {
        let task = {
            let mut state = lock(&self.shared);
            state.cancelled = true;
            state.task.take()
        };
        if let Some(task) = task {
            task.abort();
        }
    }
}
