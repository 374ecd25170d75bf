//! `Handle`: a `Send + Sync` reference to a runtime, for other threads.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::JoinHandle;
use crate::context;
use crate::loom::{Arc, Mutex, lock};
use crate::remote::Remote;
use crate::time::Instant;
use crate::time::wheel::TimerKey;

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
    /// The runtime's figures as of its last tick (see [`RuntimeMetrics`]
    /// for what is exact when).
    ///
    /// [`RuntimeMetrics`]: crate::RuntimeMetrics
    pub fn metrics(&self) -> crate::RuntimeMetrics {
        self.remote.counters.snapshot()
    }

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
    /// one). Polled on the runtime's own thread, it sits on the timer
    /// wheel as a local [`sleep`](crate::time::sleep) does (no lock, no
    /// task); polled on another thread, the deadline goes through the
    /// runtime's inbox and the runtime's timer wakes the future's waker
    /// wherever it is.
    pub fn sleep_until(&self, deadline: Instant) -> SendSleep {
        SendSleep {
            deadline,
            remote: self.remote.clone(),
            timer: Timer::None,
        }
    }

    /// Runs `make` on this handle's runtime, from any thread: there it
    /// builds a future (which need not be `Send`: it never leaves that
    /// runtime) and spawns it as a task. The returned handle is `Send`.
    ///
    /// A panic in `make` or in the future, an abort, or the runtime
    /// shutting down first comes back as a [`JoinError`](crate::JoinError).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let rt = rentio_executor::Runtime::new()?;
    /// let handle = rt.handle();
    /// let other = std::thread::spawn(move || {
    ///     let rt2 = rentio_executor::Runtime::new().unwrap();
    ///     // On another runtime: the work runs on the first one.
    ///     rt2.block_on(handle.spawn(|| async { std::rc::Rc::new(21).as_ref() * 2 }))
    /// });
    /// // The first runtime must run for the work to happen.
    /// rt.block_on(async {
    ///     while !other.is_finished() {
    ///         rentio_executor::time::sleep(std::time::Duration::from_millis(1)).await;
    ///     }
    /// });
    /// assert_eq!(other.join().unwrap().unwrap(), 42);
    /// # Ok(())
    /// # }
    /// ```
    #[track_caller]
    pub fn spawn<F, Fut>(&self, make: F) -> RemoteJoinHandle<Fut::Output>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        let at = std::panic::Location::caller();
        let slot = Arc::new(crate::oneshot::Oneshot::new());
        let tx = Reply(Some(slot.clone()));
        let job = Box::new(move || {
            let mut tx = tx;
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(make)) {
                Ok(future) => {
                    let task = crate::runtime::spawn_at(future, at);
                    drop(crate::spawn(async move {
                        let result = task.await;
                        tx.send(result);
                    }));
                }
                Err(panic) => tx.send(Err(crate::JoinError::panic(panic))),
            }
        });
        // A runtime already gone drops the job, whose reply says so.
        drop(self.remote.push_job(job));
        RemoteJoinHandle { slot }
    }

    /// A sleep of `duration`; see [`Handle::sleep_until`].
    pub fn sleep(&self, duration: std::time::Duration) -> SendSleep {
        let deadline = Instant::now()
            .checked_add(duration)
            .unwrap_or_else(|| Instant::now() + std::time::Duration::from_secs(86400 * 365 * 30));
        self.sleep_until(deadline)
    }
}

/// The reply of a [`Handle::spawn`]: sends the task's result, or, if it
/// is dropped unsent (the job or the task dropped with its runtime), that
/// the task was cancelled.
struct Reply<T>(Option<Arc<crate::oneshot::Oneshot<Result<T, crate::JoinError>>>>);

impl<T> Reply<T> {
    fn send(&mut self, result: Result<T, crate::JoinError>) {
        if let Some(slot) = self.0.take() {
            slot.send(result);
        }
    }
}

impl<T> Drop for Reply<T> {
    fn drop(&mut self) {
        self.send(Err(crate::JoinError::cancelled()));
    }
}

/// The `Send` join handle of [`Handle::spawn`]: resolves to the task's
/// output, or a [`JoinError`](crate::JoinError).
///
/// # Cancel safety
///
/// Dropping it detaches the task, which runs on.
pub struct RemoteJoinHandle<T> {
    slot: Arc<crate::oneshot::Oneshot<Result<T, crate::JoinError>>>,
}

impl<T> fmt::Debug for RemoteJoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteJoinHandle").finish_non_exhaustive()
    }
}

impl<T> Future for RemoteJoinHandle<T> {
    type Output = Result<T, crate::JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.slot.poll_recv(cx)
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
/// Dropping it cancels its timer: at once on the runtime's thread (unless
/// its timers are busy, as when the wheel itself drops the sleep's
/// owner), through the runtime's inbox otherwise.
#[must_use = "futures do nothing unless polled"]
pub struct SendSleep {
    deadline: Instant,
    remote: Arc<Remote>,
    timer: Timer,
}

/// Where a [`SendSleep`]'s timer is.
enum Timer {
    /// Not registered yet.
    None,
    /// On the runtime's wheel, registered on its thread.
    Wheel(TimerKey),
    /// Polled on another thread: a task on the runtime sleeps and wakes
    /// the waker kept here.
    Remote(Arc<Mutex<SleepState>>),
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

    /// On the runtime's own thread: registers on (or re-wakers) its wheel.
    /// `None` elsewhere, or once the timer went through the inbox.
    fn poll_on_wheel(&mut self, cx: &Context<'_>) -> Option<Poll<()>> {
        let id = self.remote.id;
        context::with_current(|shared| {
            if shared.id != id {
                return None;
            }
            let mut timers = shared.timers.try_borrow_mut().ok()?;
            match self.timer {
                Timer::None => {
                    let key = timers.insert(self.deadline, cx.waker().clone());
                    self.timer = Timer::Wheel(key);
                    Some(Poll::Pending)
                }
                // Gone from the wheel: it fired, so the deadline has passed
                // (timers never fire early).
                Timer::Wheel(key) => Some(if timers.wheel.set_waker(key, cx.waker()) {
                    Poll::Pending
                } else {
                    Poll::Ready(())
                }),
                Timer::Remote(_) => None,
            }
        })
        .flatten()
    }

    /// Cancels a wheel timer: at once on the runtime's thread with its
    /// timers free, else through its inbox (a runtime already gone took
    /// its wheel along).
    fn cancel_on_wheel(&self, key: TimerKey) {
        let id = self.remote.id;
        // Whether it ran: on the runtime, with the timers not borrowed (a
        // sleep dropped by a waker the wheel drops is not).
        let cancel = move || {
            context::with_current(|shared| {
                shared.id == id
                    && shared
                        .timers
                        .try_borrow_mut()
                        .map(|mut timers| timers.wheel.cancel(key))
                        .is_ok()
            })
            .unwrap_or(false)
        };
        if !cancel() {
            // A job runs from the runtime's loop, with the timers free; a
            // runtime in teardown drops its wheel whole.
            let _ = self.remote.push_job(Box::new(move || {
                cancel();
            }));
        }
    }
}

impl Future for SendSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if Instant::now() >= this.deadline {
            return Poll::Ready(());
        }
        if let Some(poll) = this.poll_on_wheel(cx) {
            return poll;
        }
        // Another thread. A timer on the wheel would wake the waker it was
        // last polled with: go through the inbox from now on.
        if let Timer::Wheel(key) = this.timer {
            this.cancel_on_wheel(key);
            this.timer = Timer::None;
        }
        let shared = match &this.timer {
            Timer::Remote(shared) => shared.clone(),
            _ => {
                let shared = Arc::new(Mutex::new(SleepState::default()));
                this.timer = Timer::Remote(shared.clone());
                shared
            }
        };
        let mut state = lock(&shared);
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
            let deadline = this.deadline;
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
            if this.remote.push_job(job).is_err() {
                // The runtime is gone: no timer will ever fire.
                return Poll::Ready(());
            }
        }
        Poll::Pending
    }
}

impl Drop for SendSleep {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.timer, Timer::None) {
            Timer::None => {}
            Timer::Wheel(key) => self.cancel_on_wheel(key),
            Timer::Remote(shared) => {
                let task = {
                    let mut state = lock(&shared);
                    state.cancelled = true;
                    state.task.take()
                };
                if let Some(task) = task {
                    task.abort();
                }
            }
        }
    }
}
