//! Timers, always on: [`sleep`], [`sleep_until`], [`timeout`],
//! [`timeout_at`], [`interval`].
//!
//! Each runtime keeps a hierarchical timer wheel at 1 ms resolution (O(1)
//! insert and cancel). Deadlines round up to the next millisecond, so a
//! timer never fires early. The runtime fires due timers every tick and
//! parks no longer than the next deadline.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

pub use std::time::Instant;

use crate::context;
use crate::scheduler::Shared;

pub(crate) mod wheel;

use wheel::{TimerKey, Wheel};

/// A runtime's timers: the wheel and the instant its tick 0 stands for.
pub(crate) struct Timers {
    pub(crate) wheel: Wheel,
    start: Instant,
    fired: Vec<Waker>,
}

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers {
            wheel: Wheel::new(),
            start: Instant::now(),
            fired: Vec::new(),
        }
    }

    /// Registers a timer for `deadline` (rounded up to its tick).
    pub(crate) fn insert(&mut self, deadline: Instant, waker: Waker) -> TimerKey {
        let tick = self.tick_at_or_after(deadline);
        self.wheel.insert(tick, waker)
    }

    /// The first tick at or after `deadline` (deadlines round up).
    fn tick_at_or_after(&self, deadline: Instant) -> u64 {
        let d = deadline.saturating_duration_since(self.start);
        let ms = d.as_millis();
        let ms = if d.subsec_nanos().is_multiple_of(1_000_000) {
            ms
        } else {
            ms + 1
        };
        u64::try_from(ms).unwrap_or(u64::MAX / 2)
    }

    /// The last tick at or before `now`.
    fn tick_at_or_before(&self, now: Instant) -> u64 {
        let ms = now.saturating_duration_since(self.start).as_millis();
        u64::try_from(ms).unwrap_or(u64::MAX / 2)
    }

    /// When the next timer is due, if any.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let tick = self.wheel.next_expiration()?;
        Some(after(self.start, Duration::from_millis(tick)))
    }

    /// Timers registered.
    pub(crate) fn len(&self) -> usize {
        self.wheel.len()
    }

    /// Fires what is due at `now`; returns the wakers to wake once the
    /// borrow of the timers ends.
    pub(crate) fn fire(&mut self, now: Instant) -> Vec<Waker> {
        let tick = self.tick_at_or_before(now);
        let mut fired = std::mem::take(&mut self.fired);
        self.wheel.advance(tick, &mut fired);
        fired
    }

    /// Gives back the list `fire` lent (keeping its allocation).
    pub(crate) fn recycle(&mut self, mut fired: Vec<Waker>) {
        fired.clear();
        if self.fired.capacity() < fired.capacity() {
            self.fired = fired;
        }
    }
}

/// [`fire_due`] as of now, reading the clock only if a timer is armed:
/// a runtime with no timers (most ticks of a busy server) skips the read,
/// which on a VM whose clock has no vDSO path is a syscall. The wheel
/// catches up on the next advance (an idle wheel only moves its `elapsed`).
pub(crate) fn fire_due_now(timers: &RefCell<Timers>) -> usize {
    if timers.borrow().len() == 0 {
        return 0;
    }
    fire_due(timers, Instant::now())
}

/// Fires the due timers of `shared`, waking their tasks.
pub(crate) fn fire_due(timers: &RefCell<Timers>, now: Instant) -> usize {
    let mut fired = timers.borrow_mut().fire(now);
    let n = fired.len();
    for waker in fired.drain(..) {
        waker.wake();
    }
    timers.borrow_mut().recycle(fired);
    n
}

/// Waits until `duration` has passed.
///
/// A `duration` past what an [`Instant`] can hold (`Duration::MAX`) waits
/// until a far future, about 30 years away, as tokio's does: in practice
/// forever, without a panic.
///
/// # Panics
///
/// When first polled outside a runtime.
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(after(Instant::now(), duration))
}

/// Waits until `deadline`.
///
/// # Panics
///
/// When first polled outside a runtime.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        entry: None,
    }
}

/// About 30 years from now, tokio's stand-in for "never": far enough that
/// no timer set to it fires, near enough that any platform's `Instant`
/// holds it.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86400 * 365 * 30)
}

/// `at + duration`, or [`far_future`] where that is past what an `Instant`
/// holds (`Duration::MAX`, say): the one way timers advance an instant.
fn after(at: Instant, duration: Duration) -> Instant {
    at.checked_add(duration).unwrap_or_else(far_future)
}

/// The future of [`sleep`] and [`sleep_until`].
///
/// Its timer lives on the runtime that polls it: first polled on one
/// runtime and then on another (the first may be gone), it moves its timer
/// to the second.
///
/// # Cancel safety
///
/// Dropping it cancels the timer (O(1)); nothing else is lost.
#[must_use = "futures do nothing unless polled"]
pub struct Sleep {
    deadline: Instant,
    entry: Option<(Rc<Shared>, TimerKey)>,
}

impl Sleep {
    /// The deadline.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Moves the deadline (the timer is re-registered on the next poll).
    pub fn reset(&mut self, deadline: Instant) {
        self.cancel();
        self.deadline = deadline;
    }

    fn cancel(&mut self) {
        if let Some((shared, key)) = self.entry.take() {
            // `try_borrow_mut`: a drop during the runtime's own teardown.
            if let Ok(mut timers) = shared.timers.try_borrow_mut() {
                timers.wheel.cancel(key);
            }
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if Instant::now() >= this.deadline {
            this.cancel();
            return Poll::Ready(());
        }
        if let Some((shared, key)) = &this.entry {
            // Polled on another runtime than the one it waits on (which may
            // be gone and never fire): move to this one. Outside any
            // runtime, keep waiting where it is.
            let moved = context::with_current(|current| current.id != shared.id).unwrap_or(false);
            if !moved && shared.timers.borrow_mut().wheel.set_waker(*key, cx.waker()) {
                return Poll::Pending;
            }
        }
        let current = context::current();
        let Some(shared) = current.or_else(|| this.entry.as_ref().map(|(s, _)| s.clone())) else {
            panic!("rentio: a timer was polled outside a runtime");
        };
        this.cancel();
        let key = {
            let mut timers = shared.timers.borrow_mut();
            let tick = timers.tick_at_or_after(this.deadline);
            timers.wheel.insert(tick, cx.waker().clone())
        };
        this.entry = Some((shared, key));
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// The error of a [`timeout`] whose deadline passed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(e: Elapsed) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, e)
    }
}

/// Runs `future` for at most `duration` (`Duration::MAX` saturates as in
/// [`sleep`]).
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep(duration),
    }
}

/// Runs `future` until `deadline` at most.
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep_until(deadline),
    }
}

/// The future of [`timeout`]: the inner future's output, or [`Elapsed`].
///
/// # Cancel safety
///
/// As cancel safe as the inner future: dropping it drops the inner future.
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Timeout<F> {
    future: F,
    sleep: Sleep,
}

impl<F> Timeout<F> {
    /// The inner future.
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned (never moved out while
        // pinned; `into_inner` takes `self` by value, which needs it
        // unpinned); `sleep` is Unpin and not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above; the field is pinned as long as `self` is.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        if let Poll::Ready(out) = future.poll(cx) {
            return Poll::Ready(Ok(out));
        }
        match Pin::new(&mut this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// What an [`Interval`] does about ticks it missed (the task was busy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks at once, one after the other, then go on at
    /// the original cadence.
    #[default]
    Burst,
    /// Fire once now, and count the period from now.
    Delay,
    /// Fire once now, and go on at the next tick of the original cadence.
    Skip,
}

/// Ticks every `period`, the first tick at once.
///
/// A tick that would fall past what an [`Instant`] can hold (a `period` of
/// `Duration::MAX`) is put in a far future, about 30 years away, as
/// tokio's is: such an interval ticks once and then stays pending.
///
/// # Panics
///
/// If `period` is zero.
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks every `period` from `start`.
///
/// # Panics
///
/// If `period` is zero.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "rentio: interval period must be non-zero"
    );
    Interval {
        period,
        next: start,
        missed: MissedTickBehavior::default(),
        sleep: sleep_until(start),
    }
}

/// A stream of evenly spaced instants; see [`interval`].
#[derive(Debug)]
pub struct Interval {
    period: Duration,
    next: Instant,
    missed: MissedTickBehavior,
    sleep: Sleep,
}

impl Interval {
    /// Sets what happens to missed ticks.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Waits for the next tick and returns its scheduled instant.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped `tick()` consumes no tick.
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let tick = self.next;
        let now = Instant::now();
        let mut next = after(tick, self.period);
        if next <= now {
            next = match self.missed {
                MissedTickBehavior::Burst => next,
                MissedTickBehavior::Delay => after(now, self.period),
                MissedTickBehavior::Skip => {
                    let behind = now.duration_since(tick).as_nanos();
                    let period = self.period.as_nanos().max(1);
                    let steps = behind / period + 1;
                    let steps = u32::try_from(steps).unwrap_or(u32::MAX);
                    after(tick, self.period.saturating_mul(steps))
                }
            };
        }
        self.next = next;
        self.sleep.reset(next);
        Poll::Ready(tick)
    }
}
