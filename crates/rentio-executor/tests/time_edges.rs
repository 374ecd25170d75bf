//! Timers at their edges: durations too long for an `Instant` saturate to a
//! far future (as tokio's do) instead of panicking, and a `Sleep` moved to
//! another runtime registers there. Assertions count polls and ticks; the
//! only waits are short sleeps that must end, under a generous guard.

#![cfg(not(loom))]
#![allow(clippy::unwrap_used)]

mod support;

use std::future::{Future, pending, poll_fn};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use rentio_executor::time::{self, Instant, MissedTickBehavior, Sleep};
use rentio_executor::{Runtime, spawn_blocking, yield_now};
use support::{backends, each_backend};

/// Only reached if a timer that must fire is lost.
const GUARD: Duration = Duration::from_secs(10);

/// Polls `f` once with the current task's waker: whether it was ready.
async fn poll_once<F: Future + Unpin>(f: &mut F) -> bool {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *f).poll(cx).is_ready())).await
}

#[test]
fn an_interval_of_duration_max_ticks_once_then_stays_pending() {
    each_backend(|rt| {
        for behavior in [
            MissedTickBehavior::Burst,
            MissedTickBehavior::Delay,
            MissedTickBehavior::Skip,
        ] {
            rt.block_on(async {
                let start = Instant::now();
                let mut iv = time::interval(Duration::MAX);
                iv.set_missed_tick_behavior(behavior);
                assert!(iv.tick().await >= start, "the first tick is at once");
                for _ in 0..3 {
                    let ready = poll_fn(|cx| Poll::Ready(iv.poll_tick(cx).is_ready())).await;
                    assert!(!ready, "{behavior:?}: a second tick of Duration::MAX");
                    yield_now().await;
                }
            });
            assert_eq!(rt.timers(), 0, "dropping the interval cancelled its timer");
        }
    });
}

#[test]
fn an_interval_at_a_past_start_with_a_huge_period_does_not_overflow() {
    each_backend(|rt| {
        rt.block_on(async {
            let period = Duration::from_secs(u64::MAX / 2);
            for behavior in [
                MissedTickBehavior::Burst,
                MissedTickBehavior::Delay,
                MissedTickBehavior::Skip,
            ] {
                let mut iv = time::interval_at(Instant::now(), period);
                iv.set_missed_tick_behavior(behavior);
                iv.tick().await;
                let ready = poll_fn(|cx| Poll::Ready(iv.poll_tick(cx).is_ready())).await;
                assert!(!ready, "{behavior:?}");
            }
        });
    });
}

#[test]
fn sleep_and_timeout_of_duration_max_work() {
    each_backend(|rt| {
        rt.block_on(async {
            let mut forever = Box::pin(time::sleep(Duration::MAX));
            assert!(forever.deadline() > Instant::now() + Duration::from_secs(86400 * 365));
            for _ in 0..3 {
                assert!(!poll_once(&mut forever).await);
                yield_now().await;
            }
            let mut until = Box::pin(time::sleep_until(
                Instant::now() + Duration::from_secs(1 << 40),
            ));
            assert!(!poll_once(&mut until).await);

            assert_eq!(time::timeout(Duration::MAX, async { 4 }).await, Ok(4));
            // The inner future is woken from another thread while the only
            // timer is far away: the runtime parks with a huge timeout.
            let slow = spawn_blocking(|| {
                std::thread::sleep(Duration::from_millis(5));
                7
            });
            assert_eq!(
                time::timeout(Duration::MAX, slow).await.unwrap().unwrap(),
                7
            );
            let mut never = Box::pin(time::timeout(Duration::MAX, pending::<()>()));
            assert!(!poll_once(&mut never).await);

            // A short timer still fires beside the far ones.
            time::sleep(Duration::from_millis(2)).await;

            // Reset to the far future, then back.
            let mut s = Box::pin(time::sleep(Duration::from_millis(1)));
            s.as_mut()
                .reset(Instant::now() + Duration::from_secs(1 << 40));
            assert!(!poll_once(&mut s).await);
            s.as_mut().reset(Instant::now() + Duration::from_millis(1));
            time::timeout(GUARD, s).await.unwrap();
        });
    });
}

/// Runs `sleep` on `rt` against a [`GUARD`] timer polled first, so that a
/// sleep whose timer was lost (and which only notices its deadline when the
/// guard wakes the task) loses: whether `sleep` won.
fn finishes_before_the_guard(rt: &Runtime, mut sleep: Pin<Box<Sleep>>) -> bool {
    rt.block_on(async {
        let mut guard = Box::pin(time::sleep(GUARD));
        poll_fn(|cx| {
            if guard.as_mut().poll(cx).is_ready() {
                Poll::Ready(false)
            } else if sleep.as_mut().poll(cx).is_ready() {
                Poll::Ready(true)
            } else {
                Poll::Pending
            }
        })
        .await
    })
}

/// Polls `sleep` once on `rt`: it must be pending.
fn register_on(rt: &Runtime, sleep: &mut Pin<Box<Sleep>>) {
    rt.block_on(async {
        assert!(!poll_once(sleep).await, "the sleep is not due yet");
    });
}

#[test]
fn a_sleep_polled_on_a_dropped_runtime_completes_on_the_next() {
    for choice in backends() {
        let a = Runtime::builder().backend(choice).build().unwrap();
        let mut sleep = Box::pin(time::sleep(Duration::from_millis(10)));
        register_on(&a, &mut sleep);
        assert_eq!(a.timers(), 1);
        drop(a);
        let b = Runtime::builder().backend(choice).build().unwrap();
        assert!(
            finishes_before_the_guard(&b, sleep),
            "{choice:?}: the sleep's timer never fired on runtime B"
        );
        assert_eq!(b.timers(), 0);
    }
}

#[test]
fn a_sleep_moved_to_another_live_runtime_leaves_nothing_on_the_first() {
    for choice in backends() {
        let a = Runtime::builder().backend(choice).build().unwrap();
        let b = Runtime::builder().backend(choice).build().unwrap();
        let mut sleep = Box::pin(time::sleep(Duration::from_millis(10)));
        register_on(&a, &mut sleep);
        register_on(&b, &mut sleep);
        assert_eq!(a.timers(), 0, "{choice:?}: the timer left runtime A");
        assert_eq!(b.timers(), 1, "{choice:?}: the timer is on runtime B");
        assert!(
            finishes_before_the_guard(&b, sleep),
            "{choice:?}: the sleep's timer never fired on runtime B"
        );
        assert_eq!((a.timers(), b.timers()), (0, 0));
    }
}

#[test]
fn a_sleep_polled_outside_any_runtime_keeps_its_registration() {
    let rt = Runtime::new().unwrap();
    let mut sleep = Box::pin(time::sleep(Duration::from_secs(60)));
    register_on(&rt, &mut sleep);
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    assert!(sleep.as_mut().poll(&mut cx).is_pending());
    assert_eq!(rt.timers(), 1);
    drop(sleep);
    assert_eq!(rt.timers(), 0);
}
