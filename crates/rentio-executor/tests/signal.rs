//! Signals: one sent to the process wakes every listener, in every
//! runtime (one of each backend, on two threads), exactly once; bad kinds
//! are errors. Each test listens for its own signal, since signals are
//! process-wide and tests run at once.

#![cfg(not(loom))]
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use rentio_driver::BackendChoice;
use rentio_executor::Runtime;
use rentio_executor::signal::unix::{SignalKind, signal};
use rentio_executor::time::timeout;

/// Two runtimes of each backend in use, two listeners each: one `SIGUSR1`
/// wakes all eight once, and a second `recv` then waits.
#[test]
fn a_signal_wakes_every_listener_once() {
    let choices = support::backends();
    let runtimes = choices.len() * 2;
    let ready = Arc::new(Barrier::new(runtimes + 1));
    let sent = Arc::new(Barrier::new(runtimes + 1));
    let threads: Vec<_> = (0..runtimes)
        .map(|i| {
            let choice = choices[i % choices.len()];
            let (ready, sent) = (ready.clone(), sent.clone());
            std::thread::spawn(move || {
                let rt = Runtime::builder().backend(choice).build().unwrap();
                rt.block_on(async move {
                    let mut a = signal(SignalKind::user_defined1()).unwrap();
                    let mut b = signal(SignalKind::user_defined1()).unwrap();
                    // Let this runtime's reader start before the signal.
                    rentio_executor::yield_now().await;
                    ready.wait();
                    sent.wait();
                    for s in [&mut a, &mut b] {
                        timeout(Duration::from_secs(5), s.recv())
                            .await
                            .unwrap_or_else(|_| panic!("{choice:?}: a listener was not woken"));
                    }
                    for s in [&mut a, &mut b] {
                        assert!(
                            timeout(Duration::from_millis(100), s.recv()).await.is_err(),
                            "{choice:?}: woken twice for one signal"
                        );
                    }
                });
            })
        })
        .collect();
    ready.wait();
    // SAFETY: kill(2) with our own pid and a signal every runtime handles.
    assert_eq!(unsafe { libc::kill(libc::getpid(), libc::SIGUSR1) }, 0);
    sent.wait();
    for t in threads {
        t.join().unwrap();
    }
}

/// Signals that come before a `recv` are kept for it (merged), and a
/// listener made after a signal does not see it.
#[test]
fn a_signal_is_kept_until_taken() {
    support::each_backend(|rt| {
        rt.block_on(async {
            let mut early = signal(SignalKind::user_defined2()).unwrap();
            rentio_executor::yield_now().await;
            for _ in 0..3 {
                // SAFETY: as above.
                unsafe { libc::kill(libc::getpid(), libc::SIGUSR2) };
            }
            // Let the reader dispatch.
            rentio_executor::time::sleep(Duration::from_millis(50)).await;
            let mut late = signal(SignalKind::user_defined2()).unwrap();
            timeout(Duration::from_secs(5), early.recv()).await.unwrap();
            assert!(
                timeout(Duration::from_millis(50), late.recv())
                    .await
                    .is_err()
            );
        });
    });
}

#[test]
fn kinds_that_cannot_be_handled_are_errors() {
    let rt = Runtime::builder()
        .backend(BackendChoice::Poll)
        .build()
        .unwrap();
    rt.block_on(async {
        for kind in [libc::SIGKILL, libc::SIGSTOP, libc::SIGSEGV, 0, 99] {
            let e = signal(SignalKind::from_raw(kind)).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{kind}: {e}");
        }
    });
    // Outside a runtime.
    assert!(signal(SignalKind::hangup()).is_err());
}

/// A hundred runtimes that listen and are dropped at once (their readers
/// never ran) give their pipes back: listening still works after them.
#[test]
fn runtimes_dropped_at_once_give_their_pipes_back() {
    for _ in 0..100 {
        let rt = Runtime::new().unwrap();
        rt.block_on(async {
            signal(SignalKind::window_change()).unwrap();
        });
    }
    support::each_backend(|rt| {
        rt.block_on(async {
            let mut s = signal(SignalKind::window_change()).unwrap();
            rentio_executor::yield_now().await;
            // SAFETY: kill(2) with our own pid and a handled signal.
            unsafe { libc::kill(libc::getpid(), libc::SIGWINCH) };
            timeout(Duration::from_secs(5), s.recv()).await.unwrap();
        });
    });
}
