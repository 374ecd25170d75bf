//! The stall detector: a watchdog thread that reports a task poll longer
//! than a threshold, with the task's spawn location.
//!
//! The runtime's thread marks each poll in [`Watch`] (two relaxed stores,
//! no clock read); the watchdog looks every half threshold and reports a
//! poll it finds still running at two looks a threshold apart. A poll that
//! never returns is reported once.

use std::panic::Location;
use std::sync::atomic::{
    AtomicPtr, AtomicU64, Ordering::Acquire, Ordering::Relaxed, Ordering::Release,
};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::metrics::Counters;

/// The poll in progress, as the watchdog sees it.
#[derive(Debug)]
pub(crate) struct Watch {
    /// Odd while a task is polled; bumped at each start and end.
    seq: AtomicU64,
    /// The polled task's spawn location.
    at: AtomicPtr<Location<'static>>,
}

impl Default for Watch {
    fn default() -> Watch {
        Watch {
            seq: AtomicU64::new(0),
            at: AtomicPtr::new(std::ptr::null_mut()),
        }
    }
}

impl Watch {
    #[inline]
    pub(crate) fn start(&self, at: &'static Location<'static>) {
        // The last poll's end is ordered before the new location: a
        // watchdog that reads this location then sees that end (its
        // Acquire fence), and so a changed number (free on x86).
        std::sync::atomic::fence(Release);
        self.at.store(std::ptr::from_ref(at).cast_mut(), Relaxed);
        // One writer: a load and a store. Release: a watchdog that sees
        // this number sees `at` too.
        self.seq.store(self.seq.load(Relaxed) + 1, Release);
    }

    #[inline]
    pub(crate) fn end(&self) {
        self.seq.store(self.seq.load(Relaxed) + 1, Relaxed);
    }
}

/// Starts the watchdog of the runtime whose counters these are; it ends
/// when the runtime drops them.
pub(crate) fn watch(counters: &Arc<Counters>, threshold: Duration) -> std::io::Result<()> {
    let counters: Weak<Counters> = Arc::downgrade(counters);
    let look = (threshold / 2).max(Duration::from_millis(1));
    std::thread::Builder::new()
        .name("rentio-stall-watch".into())
        .spawn(move || {
            // The poll being timed: its sequence number and when it was
            // first seen; `reported` once it has been.
            let mut seen: Option<(u64, Instant, bool)> = None;
            loop {
                std::thread::sleep(look);
                let Some(counters) = counters.upgrade() else {
                    return;
                };
                if counters.closed.load(Relaxed) {
                    return;
                }
                let seq = counters.watch.seq.load(Acquire);
                if seq.is_multiple_of(2) {
                    seen = None;
                    continue;
                }
                match &mut seen {
                    Some((s, since, reported)) if *s == seq => {
                        if !*reported && since.elapsed() >= threshold {
                            *reported = true;
                            let at = counters.watch.at.load(Relaxed);
                            // Still the same poll: `at` is its location
                            // (the fence keeps the load of `at` before
                            // the second look at `seq`).
                            std::sync::atomic::fence(Acquire);
                            if counters.watch.seq.load(Relaxed) == seq {
                                report(&counters, at, threshold);
                            }
                        }
                    }
                    _ => seen = Some((seq, Instant::now(), false)),
                }
            }
        })?;
    Ok(())
}

fn report(counters: &Counters, at: *mut Location<'static>, threshold: Duration) {
    if at.is_null() {
        return;
    }
    // SAFETY: only `&'static Location`s are stored.
    let at: &'static Location<'static> = unsafe { &*at };
    counters
        .last_stall
        .store(std::ptr::from_ref(at).cast_mut(), Relaxed);
    // The watchdog is the one writer of `stalls`.
    Counters::add(&counters.stalls, 1);
    tracing::warn!(
        target: "rentio",
        spawned_at = %at,
        "rentio: a task has been polled for more than {threshold:?} without yielding \
         (spawned at {at}); it blocks every other task of its core"
    );
}
