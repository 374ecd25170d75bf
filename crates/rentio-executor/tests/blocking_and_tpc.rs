//! spawn_blocking, shutdown_timeout, and the thread-per-core launcher.

#![cfg(not(loom))]
#![allow(clippy::unwrap_used)]

mod support;

use std::os::fd::AsRawFd;
use std::time::Duration;

use rentio_driver::op::Recv;
use rentio_executor::tpc::{CoreError, Launcher, available_cpus};
use rentio_executor::{Runtime, spawn, spawn_blocking};

#[test]
fn spawn_blocking_gives_the_result_or_the_panic() {
    for choice in support::backends() {
        let rt = Runtime::builder().backend(choice).build().unwrap();
        rt.block_on(async {
            let main = std::thread::current().id();
            let (value, thread) = spawn_blocking(move || (6 * 7, std::thread::current().id()))
                .await
                .unwrap();
            assert_eq!(value, 42);
            assert_ne!(thread, main, "[{choice:?}] ran on a pool thread");
            let err = spawn_blocking(|| {
                if std::hint::black_box(true) {
                    panic!("blocking boom");
                }
            })
            .await
            .unwrap_err();
            assert!(
                err.is_panic() && err.to_string().contains("blocking boom"),
                "{err}"
            );
        });
    }
}

#[test]
fn shutdown_timeout_drops_tasks_holding_ops() {
    for choice in support::backends() {
        let rt = Runtime::builder().backend(choice).build().unwrap();
        let (_a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let driver = rt.driver().clone();
        let fd = b.as_raw_fd();
        let h = rt.spawn(async move {
            let (res, _) = driver.op(Recv::new(fd, Vec::with_capacity(8))).await;
            res.map(drop)
        });
        rt.block_on(async {
            for _ in 0..3 {
                rentio_executor::yield_now().await;
            }
        });
        assert!(!h.is_finished());
        rt.shutdown_timeout(Duration::from_millis(100));
        assert!(
            h.is_finished(),
            "[{choice:?}] the runtime's drop cancelled the task"
        );
    }
}

#[test]
fn the_launcher_runs_one_pinned_runtime_per_cpu() {
    let cpus = available_cpus().unwrap();
    assert!(!cpus.is_empty());
    let results = Launcher::new().run(|core| async move {
        // Inside the thread: the affinity is exactly the core's CPU.
        let mine = available_cpus().unwrap();
        let spawned = spawn(async move { core.index }).await.unwrap();
        (core, mine, spawned)
    });
    assert_eq!(results.len(), cpus.len(), "one thread per available CPU");
    for (i, result) in results.into_iter().enumerate() {
        let (core, mine, spawned) = result.unwrap();
        assert_eq!(core.index, i);
        assert_eq!(spawned, i);
        assert_eq!(core.cpu, cpus[i]);
        assert_eq!(mine, vec![core.cpu], "thread {i} is pinned to its CPU");
    }
}

#[test]
fn the_launcher_reports_a_panicking_core() {
    let results = Launcher::new()
        .threads(2)
        .pin(false)
        .run(|core| async move {
            if core.index == 1 {
                panic!("core one fails");
            }
            core.index
        });
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].as_ref().unwrap(), &0);
    match &results[1] {
        Err(CoreError::Panic(_)) => {}
        other => panic!("expected a panic, got {other:?}"),
    }
}
