//! Timers on both backends: ordering, cancellation, timeouts, intervals.
//! Assertions count events and compare instants with the deadlines they
//! were given (a timer must never fire early), never elapsed milliseconds.

#![cfg(not(loom))]
#![allow(clippy::unwrap_used)]

mod support;

use std::cell::RefCell;
use std::future::pending;
use std::rc::Rc;
use std::time::Duration;

use rentio_executor::spawn;
use rentio_executor::time::{self, Instant, MissedTickBehavior};
use support::each_backend;

#[test]
fn sleeps_finish_in_deadline_order_and_never_early() {
    each_backend(|rt| {
        let order = Rc::new(RefCell::new(Vec::new()));
        rt.block_on(async {
            let start = Instant::now();
            let mut handles = Vec::new();
            for ms in [30u64, 10, 20, 5, 25] {
                let order = order.clone();
                handles.push(spawn(async move {
                    let deadline = start + Duration::from_millis(ms);
                    time::sleep_until(deadline).await;
                    assert!(Instant::now() >= deadline, "fired early");
                    order.borrow_mut().push(ms);
                }));
            }
            for h in handles {
                h.await.unwrap();
            }
        });
        assert_eq!(*order.borrow(), vec![5, 10, 20, 25, 30]);
        assert_eq!(rt.timers(), 0);
    });
}

#[test]
fn dropped_sleeps_leave_no_timer_behind() {
    each_backend(|rt| {
        rt.block_on(async {
            let sleeps: Vec<_> = (0..1000)
                .map(|i| time::sleep(Duration::from_secs(60 + i)))
                .collect();
            // Register them all by polling each once.
            let mut sleeps: Vec<_> = sleeps.into_iter().map(Box::pin).collect();
            std::future::poll_fn(|cx| {
                for s in &mut sleeps {
                    assert!(s.as_mut().poll(cx).is_pending());
                }
                std::task::Poll::Ready(())
            })
            .await;
        });
        assert_eq!(rt.timers(), 0, "dropping the sleeps cancelled them");
        // One sleep, dropped after it registered, between two block_ons.
        let mut s = Box::pin(time::sleep(Duration::from_secs(60)));
        rt.block_on(std::future::poll_fn(|cx| {
            assert!(s.as_mut().poll(cx).is_pending());
            std::task::Poll::Ready(())
        }));
        assert_eq!(rt.timers(), 1);
        drop(s);
        assert_eq!(rt.timers(), 0);
    });
}

#[test]
fn timeout_gives_the_output_or_elapsed() {
    each_backend(|rt| {
        rt.block_on(async {
            assert_eq!(
                time::timeout(Duration::from_secs(5), async { 4 }).await,
                Ok(4)
            );
            let start = Instant::now();
            let err = time::timeout(Duration::from_millis(15), pending::<()>())
                .await
                .unwrap_err();
            assert!(Instant::now() >= start + Duration::from_millis(15));
            let io: std::io::Error = err.into();
            assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
            let deadline = Instant::now() + Duration::from_millis(5);
            assert!(time::timeout_at(deadline, pending::<()>()).await.is_err());
            assert!(Instant::now() >= deadline);
        });
    });
}

#[test]
fn interval_ticks_on_its_cadence_and_handles_missed_ticks() {
    each_backend(|rt| {
        rt.block_on(async {
            let period = Duration::from_millis(10);
            let mut iv = time::interval(period);
            let first = iv.tick().await;
            let second = iv.tick().await;
            assert_eq!(second - first, period);
            assert!(Instant::now() >= second);

            // Miss three ticks by blocking the thread, then look at what
            // each behaviour does.
            for behavior in [
                MissedTickBehavior::Burst,
                MissedTickBehavior::Delay,
                MissedTickBehavior::Skip,
            ] {
                let mut iv = time::interval(period);
                iv.set_missed_tick_behavior(behavior);
                let t0 = iv.tick().await;
                std::thread::sleep(period * 3 + period / 2);
                let t1 = iv.tick().await;
                assert_eq!(
                    t1,
                    t0 + period,
                    "{behavior:?}: the late tick keeps its instant"
                );
                let t2 = iv.tick().await;
                match behavior {
                    MissedTickBehavior::Burst => assert_eq!(t2, t0 + period * 2),
                    MissedTickBehavior::Delay => assert!(t2 >= t0 + period * 4, "{behavior:?}"),
                    MissedTickBehavior::Skip => assert_eq!(t2, t0 + period * 4),
                }
            }
        });
    });
}
