//! A `Send + Sync` sleep from a runtime's handle, awaited on another thread:
//! the deadline goes through the runtime's inbox, its timer wakes the other
//! thread, and dropping the sleep early cancels the timer.

#![cfg(not(loom))]
#![allow(clippy::unwrap_used)]

mod support;

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use rentio_executor::time::Instant;
use rentio_executor::{Runtime, SendSleep, spawn_blocking, yield_now};

/// A minimal block_on for a plain thread.
fn park_on<F: Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

#[test]
fn a_send_sleep_wakes_another_thread() {
    fn is_send_sync<T: Send + Sync>() {}
    is_send_sync::<SendSleep>();
    for choice in support::backends() {
        let rt = Runtime::builder().backend(choice).build().unwrap();
        let handle = rt.handle();
        rt.block_on(async move {
            // The other thread sleeps on this runtime's timers while this
            // runtime keeps running.
            let deadline = Instant::now() + Duration::from_millis(15);
            let sleep = handle.sleep_until(deadline);
            let woke_at = spawn_blocking(move || {
                park_on(sleep);
                Instant::now()
            })
            .await
            .unwrap();
            assert!(woke_at >= deadline, "[{choice:?}] woke early");
        });
        assert_eq!(rt.timers(), 0);
    }
}

#[test]
fn dropping_a_send_sleep_cancels_its_timer() {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    let polled = Arc::new(AtomicBool::new(false));
    let p = polled.clone();
    rt.block_on(async move {
        let sleep = handle.sleep(Duration::from_secs(3600));
        // Poll it once on a pool thread (which registers the deadline
        // through the inbox), then drop it there.
        spawn_blocking(move || {
            let mut sleep = Box::pin(sleep);
            let waker = Waker::noop();
            let mut cx = Context::from_waker(waker);
            assert!(sleep.as_mut().poll(&mut cx).is_pending());
            p.store(true, Ordering::SeqCst);
            // Dropped whether or not the owner has registered it yet: both
            // orders must leave no timer.
            drop(sleep);
        })
        .await
        .unwrap();
        for _ in 0..20 {
            yield_now().await;
        }
    });
    assert!(polled.load(Ordering::SeqCst));
    assert_eq!(rt.timers(), 0, "the aborted timer task cancelled its timer");
}

/// On the runtime's own thread a send sleep sits on the wheel: it fires
/// there, and dropping it leaves no timer.
#[test]
fn a_send_sleep_on_its_own_runtime() {
    for choice in support::backends() {
        let rt = Runtime::builder().backend(choice).build().unwrap();
        let handle = rt.handle();
        rt.block_on(async move {
            let deadline = Instant::now() + Duration::from_millis(10);
            handle.sleep_until(deadline).await;
            assert!(Instant::now() >= deadline, "[{choice:?}] woke early");
            let mut sleep = Box::pin(handle.sleep(Duration::from_secs(3600)));
            let waker = Waker::noop();
            assert!(
                sleep
                    .as_mut()
                    .poll(&mut Context::from_waker(waker))
                    .is_pending()
            );
            drop(sleep);
        });
        assert_eq!(
            rt.timers(),
            0,
            "[{choice:?}] the dropped sleep left a timer"
        );
    }
}

/// Polled first on its runtime, then moved to another thread: the other
/// thread is woken (the wheel timer, which would wake the old waker, is
/// cancelled through the inbox); dropped there after a wheel poll, it
/// leaves no timer either.
#[test]
fn a_send_sleep_moved_to_another_thread() {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    rt.block_on(async move {
        let waker = Waker::noop();
        let deadline = Instant::now() + Duration::from_millis(15);
        let mut sleep = Box::pin(handle.sleep_until(deadline));
        assert!(
            sleep
                .as_mut()
                .poll(&mut Context::from_waker(waker))
                .is_pending()
        );
        let woke_at = spawn_blocking(move || {
            park_on(sleep);
            Instant::now()
        })
        .await
        .unwrap();
        assert!(woke_at >= deadline, "woke early");

        let mut sleep = Box::pin(handle.sleep(Duration::from_secs(3600)));
        assert!(
            sleep
                .as_mut()
                .poll(&mut Context::from_waker(waker))
                .is_pending()
        );
        spawn_blocking(move || drop(sleep)).await.unwrap();
        for _ in 0..20 {
            yield_now().await;
        }
    });
    assert_eq!(
        rt.timers(),
        0,
        "a sleep dropped elsewhere cancelled its timer"
    );
}
