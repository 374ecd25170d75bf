//! Across cores: `Handle::spawn` from another thread (its output, a
//! panic, a runtime gone), 100,000 messages through `sync::mpsc` between
//! two busy runtimes in order and with backpressure, `sync::oneshot`, and
//! the launcher's handles.

#![cfg(not(loom))]
#![allow(clippy::unwrap_used)]

mod support;

use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rentio_executor::sync::{mpsc, oneshot};
use rentio_executor::{Runtime, tpc};

/// Runs `rt` until `done` is set (or 10 s pass).
fn serve_until(rt: &Runtime, done: &AtomicBool) {
    rt.block_on(async {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !done.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
            rentio_executor::time::sleep(Duration::from_millis(1)).await;
        }
    });
}

#[test]
fn spawn_on_another_runtime() {
    for choice in support::backends() {
        let rt = Runtime::builder().backend(choice).build().unwrap();
        let handle = rt.handle();
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        let other = std::thread::spawn(move || {
            let rt2 = Runtime::new().unwrap();
            let out = rt2.block_on(async {
                // The future is !Send: it is built where it runs.
                let value = handle.spawn(|| async { *Rc::new(6) * 7 }).await.unwrap();
                let panicked = handle
                    .spawn(|| async { panic!("on purpose") })
                    .await
                    .unwrap_err();
                assert!(panicked.is_panic());
                let made_badly = handle
                    .spawn(|| -> std::future::Ready<()> { panic!("in make") })
                    .await
                    .unwrap_err();
                assert!(made_badly.is_panic());
                value
            });
            d.store(true, Ordering::SeqCst);
            (out, handle)
        });
        serve_until(&rt, &done);
        let (value, handle) = other.join().unwrap();
        assert_eq!(value, 42, "{choice:?}");
        drop(rt);
        // The runtime is gone: the work is cancelled, not lost silently.
        let rt2 = Runtime::new().unwrap();
        let gone = rt2.block_on(handle.spawn(|| async { 1 })).unwrap_err();
        assert!(gone.is_cancelled(), "{choice:?}");
    }
}

/// 100,000 messages from one runtime to another, both busy with other
/// tasks, through a channel of 64: all arrive, in order.
#[test]
fn mpsc_across_busy_runtimes_keeps_order() {
    const N: u64 = 100_000;
    for choice in support::backends() {
        let (tx, mut rx) = mpsc::channel::<u64>(64);
        let producer = std::thread::spawn(move || {
            let rt = Runtime::builder().backend(choice).build().unwrap();
            rt.block_on(async move {
                // A busy neighbour on the same core.
                let busy = rentio_executor::spawn(async {
                    for _ in 0..20_000 {
                        rentio_executor::yield_now().await;
                    }
                });
                for i in 0..N {
                    tx.send(i).await.unwrap();
                }
                busy.await.unwrap();
            });
        });
        let rt = Runtime::builder().backend(choice).build().unwrap();
        let got = rt.block_on(async move {
            let busy = rentio_executor::spawn(async {
                for _ in 0..20_000 {
                    rentio_executor::yield_now().await;
                }
            });
            let mut next = 0;
            while let Some(i) = rx.recv().await {
                assert_eq!(i, next, "{choice:?}: out of order");
                next += 1;
            }
            busy.await.unwrap();
            next
        });
        producer.join().unwrap();
        assert_eq!(got, N, "{choice:?}");
    }
}

#[test]
fn backpressure_and_closed_ends() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel::<u32>(2);
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        assert!(tx.try_send(3).is_err(), "a full channel refuses");
        // A send waits until the receiver takes one.
        let tx2 = tx.clone();
        let waiting = rentio_executor::spawn(async move { tx2.send(3).await });
        rentio_executor::yield_now().await;
        assert!(!waiting.is_finished());
        assert_eq!(rx.recv().await, Some(1));
        waiting.await.unwrap().unwrap();
        drop(tx);
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.recv().await, Some(3));
        assert_eq!(rx.recv().await, None, "every sender gone");

        let (tx, rx) = mpsc::channel::<u32>(1);
        drop(rx);
        assert_eq!(tx.send(9).await.unwrap_err().0, 9);

        let (tx, rx) = oneshot::channel::<u32>();
        drop(tx);
        assert!(rx.await.is_err());
        let (tx, rx) = oneshot::channel::<u32>();
        drop(rx);
        assert_eq!(tx.send(5), Err(5));
    });
}

#[test]
fn launcher_handles_reach_every_core() {
    use std::sync::atomic::AtomicUsize;
    // Each core stays up until both are done asking: work sent to a core
    // whose runtime has returned is cancelled.
    static DONE: AtomicUsize = AtomicUsize::new(0);
    let results = tpc::Launcher::new()
        .threads(2)
        .pin(false)
        .run(|core| async move {
            assert_eq!(tpc::cores(), 2);
            let mut seen = Vec::new();
            for i in 0..2 {
                let handle = tpc::handle(i).unwrap();
                let (tx, rx) = oneshot::channel();
                handle
                    .spawn(move || async move {
                        tx.send(std::thread::current().name().map(str::to_string))
                            .unwrap();
                    })
                    .await
                    .unwrap();
                seen.push(rx.await.unwrap());
            }
            assert!(tpc::handle(2).is_none());
            DONE.fetch_add(1, Ordering::SeqCst);
            while DONE.load(Ordering::SeqCst) < 2 {
                rentio_executor::time::sleep(Duration::from_millis(1)).await;
            }
            (core.index, seen)
        });
    for result in results {
        let (_, seen) = result.unwrap();
        assert_eq!(
            seen,
            vec![
                Some("rentio-core-0".to_string()),
                Some("rentio-core-1".to_string())
            ]
        );
    }
}

/// One `Sender` shared by tasks on two runtimes, through a channel of
/// one: every send completes (each waiting send has its own wake-up).
#[test]
fn one_sender_shared_across_tasks_and_cores() {
    const EACH: u32 = 2_000;
    let (tx, mut rx) = mpsc::channel::<u32>(1);
    let tx = Arc::new(tx);
    let senders: Vec<_> = (0..2)
        .map(|k| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                Runtime::new().unwrap().block_on(async move {
                    let a = {
                        let tx = tx.clone();
                        rentio_executor::spawn(async move {
                            for i in 0..EACH {
                                tx.send(k * 10 * EACH + i).await.unwrap();
                            }
                        })
                    };
                    for i in 0..EACH {
                        tx.send(k * 10 * EACH + EACH + i).await.unwrap();
                    }
                    a.await.unwrap();
                })
            })
        })
        .collect();
    drop(tx);
    let got = Runtime::new().unwrap().block_on(async move {
        let mut n = 0;
        while rx.recv().await.is_some() {
            n += 1;
        }
        n
    });
    for s in senders {
        s.join().unwrap();
    }
    assert_eq!(got, 4 * EACH);
}

/// A receiver dropped with messages queued that hold senders of the same
/// channel: no deadlock (they drop after the lock is let go).
#[test]
fn dropping_a_receiver_with_senders_in_its_queue() {
    struct Msg(#[allow(dead_code)] Option<mpsc::Sender<Msg>>);
    let (tx, rx) = mpsc::channel::<Msg>(4);
    assert!(tx.try_send(Msg(Some(tx.clone()))).is_ok());
    // The queued sender's drop takes the channel's lock again.
    drop(rx);
    drop(tx);
}
