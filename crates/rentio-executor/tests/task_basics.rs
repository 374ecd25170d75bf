//! Tasks on both backends: spawn and join, abort, panics, detaching, remote
//! wakes (a std thread, a tokio runtime thread), and `block_on` woken by a
//! foreign waker.

#![cfg(not(loom))]
#![allow(clippy::unwrap_used)]

mod support;

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use rentio_executor::{JoinHandle, Runtime, spawn, yield_now};
use support::each_backend;

/// A future completed from another thread.
#[derive(Clone, Default)]
struct Signal(Arc<Mutex<(bool, Option<Waker>)>>);

impl Signal {
    fn fire(&self) {
        let waker = {
            let mut s = self.0.lock().unwrap();
            s.0 = true;
            s.1.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Future for Signal {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.0.lock().unwrap();
        if s.0 {
            Poll::Ready(())
        } else {
            s.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

#[test]
fn spawn_and_join_many_not_send_tasks() {
    each_backend(|rt| {
        let total = rt.block_on(async {
            let shared = Rc::new(Cell::new(0));
            let handles: Vec<JoinHandle<usize>> = (0..1000)
                .map(|i| {
                    let shared = shared.clone();
                    spawn(async move {
                        yield_now().await;
                        shared.set(shared.get() + 1);
                        i
                    })
                })
                .collect();
            let mut sum = 0;
            for h in handles {
                sum += h.await.unwrap();
            }
            assert_eq!(shared.get(), 1000);
            sum
        });
        assert_eq!(total, (0..1000).sum::<usize>());
    });
}

#[test]
fn abort_cancels_and_the_handle_says_so() {
    each_backend(|rt| {
        rt.block_on(async {
            let signal = Signal::default();
            let s = signal.clone();
            let h = spawn(async move {
                s.await;
                1
            });
            yield_now().await;
            assert!(!h.is_finished());
            h.abort();
            let err = h.await.unwrap_err();
            assert!(err.is_cancelled(), "{err}");
            // Aborting a finished task does nothing.
            let h = spawn(async { 2 });
            yield_now().await;
            yield_now().await;
            assert!(h.is_finished());
            h.abort();
            assert_eq!(h.await.unwrap(), 2);
        });
    });
}

#[test]
fn abort_from_another_thread_wakes_the_owner() {
    each_backend(|rt| {
        rt.block_on(async {
            let h = spawn(Signal::default());
            yield_now().await;
            let (tx, rx) = std::sync::mpsc::channel::<JoinHandle<()>>();
            let (back_tx, back_rx) = std::sync::mpsc::channel::<JoinHandle<()>>();
            let thread = std::thread::spawn(move || {
                let h = rx.recv().unwrap();
                h.abort();
                back_tx.send(h).unwrap();
            });
            tx.send(h).unwrap();
            thread.join().unwrap();
            let h = back_rx.recv().unwrap();
            assert!(h.await.unwrap_err().is_cancelled());
        });
    });
}

#[test]
fn a_panicking_task_is_reported_and_the_runtime_goes_on() {
    each_backend(|rt| {
        rt.block_on(async {
            let h = spawn(async {
                if std::hint::black_box(true) {
                    panic!("boom");
                }
                0
            });
            let err = h.await.unwrap_err();
            assert!(err.is_panic());
            assert!(err.to_string().contains("boom"), "{err}");
            assert_eq!(spawn(async { 7 }).await.unwrap(), 7);
        });
    });
}

#[test]
fn block_on_propagates_a_panic_of_the_main_future() {
    each_backend(|rt| {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(async {
                if std::hint::black_box(true) {
                    panic!("main boom");
                }
            })
        }));
        assert!(result.is_err());
        // The runtime still works.
        assert_eq!(rt.block_on(async { spawn(async { 3 }).await.unwrap() }), 3);
    });
}

#[test]
fn a_detached_task_keeps_running() {
    each_backend(|rt| {
        rt.block_on(async {
            let done = Rc::new(Cell::new(false));
            let d = done.clone();
            drop(spawn(async move {
                yield_now().await;
                d.set(true);
            }));
            for _ in 0..10 {
                yield_now().await;
            }
            assert!(done.get());
        });
    });
}

#[test]
fn a_wake_from_a_std_thread_reaches_a_parked_runtime() {
    each_backend(|rt| {
        rt.block_on(async {
            let signal = Signal::default();
            let s = signal.clone();
            let h = spawn(async move {
                s.await;
                5
            });
            let thread = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                signal.fire();
            });
            assert_eq!(h.await.unwrap(), 5);
            thread.join().unwrap();
        });
    });
}

#[test]
fn block_on_is_woken_by_a_foreign_waker() {
    each_backend(|rt| {
        let signal = Signal::default();
        let s = signal.clone();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            s.fire();
        });
        rt.block_on(signal);
        thread.join().unwrap();
    });
}

#[test]
fn a_wake_from_a_tokio_runtime_thread() {
    each_backend(|rt| {
        let signal = Signal::default();
        let s = signal.clone();
        let thread = std::thread::spawn(move || {
            let tokio_rt = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap();
            tokio_rt.block_on(async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                s.fire();
            });
        });
        let out = rt.block_on(async move {
            spawn(async move {
                signal.await;
                9
            })
            .await
            .unwrap()
        });
        assert_eq!(out, 9);
        thread.join().unwrap();
    });
}

#[test]
fn join_handles_are_send_only_for_send_outputs() {
    fn is_send<T: Send>() {}
    fn is_sync<T: Sync>() {}
    is_send::<JoinHandle<u32>>();
    is_sync::<JoinHandle<u32>>();
    is_send::<rentio_executor::JoinError>();
    is_sync::<rentio_executor::JoinError>();
    // The negative cases: each line fails to compile (an ambiguous impl)
    // if the type were Send.
    trait AmbiguousIfSend<A> {
        fn some_item() {}
    }
    impl<T: ?Sized> AmbiguousIfSend<()> for T {}
    impl<T: ?Sized + Send> AmbiguousIfSend<u8> for T {}
    let _ = <Runtime as AmbiguousIfSend<_>>::some_item;
    let _ = <JoinHandle<Rc<()>> as AmbiguousIfSend<_>>::some_item;
}
