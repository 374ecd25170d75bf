//! `Runtime::metrics` and `Handle::metrics`: tasks, polls, ticks, parks,
//! busy time, the driver's figures; and the stall detector, which names
//! the spawn location of a task that blocks its core.

#![cfg(not(loom))]
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use rentio_driver::Backend;
use rentio_executor::Runtime;

#[test]
fn metrics_count_tasks_polls_parks_and_ops() {
    for choice in support::backends() {
        let rt = Runtime::builder().backend(choice).build().unwrap();
        let before = rt.metrics();
        assert_eq!(before.tasks_alive, 0);
        assert_eq!(before.backend, Some(rt.backend()));
        let handle = rt.handle();
        rt.block_on(async {
            let tasks: Vec<_> = (0..10)
                .map(|_| {
                    rentio_executor::spawn(async {
                        rentio_executor::yield_now().await;
                        rentio_executor::yield_now().await;
                    })
                })
                .collect();
            let seen = std::thread::spawn(move || handle.metrics());
            // Alive until they finish; another thread sees them too.
            assert_eq!(
                rentio_executor::Handle::current()
                    .unwrap()
                    .metrics()
                    .tasks_alive,
                10
            );
            for t in tasks {
                t.await.unwrap();
            }
            let _ = seen.join().unwrap();
            rentio_executor::time::sleep(Duration::from_millis(5)).await;
            rentio_executor::current_driver()
                .unwrap()
                .op(rentio_driver::op::Nop)
                .await
                .unwrap();
        });
        let after = rt.metrics();
        assert_eq!(after.tasks_alive, 0, "{choice:?}");
        assert!(after.polls >= 30, "{choice:?}: {after:?}");
        assert!(after.ticks >= 2, "{choice:?}: {after:?}");
        assert!(after.parks >= 1, "{choice:?}: the sleep parks: {after:?}");
        assert!(after.busy > Duration::ZERO, "{choice:?}");
        assert!(after.busy < Duration::from_secs(5), "{choice:?}: {after:?}");
        assert_eq!(after.ops_in_flight, 0, "{choice:?}");
        if after.backend == Some(Backend::Uring) {
            assert!(after.sqes_submitted >= 1, "{after:?}");
        } else {
            assert_eq!(after.sqes_submitted, 0);
        }
        assert_eq!(after.stalls, 0, "no stall detector");
        let remote = rt.handle().metrics();
        assert_eq!(remote.polls, after.polls);
        assert_eq!(remote.tasks_alive, 0);
    }
}

#[test]
fn stall_detector_names_the_spawn_location() {
    for choice in support::backends() {
        let rt = Runtime::builder()
            .backend(choice)
            .stall_threshold(Duration::from_millis(20))
            .build()
            .unwrap();
        let line = line!() + 3;
        rt.block_on(async {
            // Blocks its core for 200 ms: a stall.
            rentio_executor::spawn(async { std::thread::sleep(Duration::from_millis(200)) })
                .await
                .unwrap();
            // Short polls are not.
            for _ in 0..20 {
                rentio_executor::time::sleep(Duration::from_millis(2)).await;
            }
        });
        let m = rt.metrics();
        assert_eq!(m.stalls, 1, "{choice:?}: one stall, reported once: {m:?}");
        let at = m.last_stall_spawned_at.unwrap();
        assert!(at.file().ends_with("metrics.rs"), "{at}");
        assert_eq!(at.line(), line, "{at}");
    }
}
