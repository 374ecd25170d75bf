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
