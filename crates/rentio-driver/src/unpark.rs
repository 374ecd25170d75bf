//! The cross-thread unparker.
//!
//! A parked driver blocks in `io_uring_enter` (or the poller's wait). Another
//! thread wakes it through an [`Unparker`]: a `Send + Sync + Clone` handle
//! that writes the driver's eventfd (which the ring watches with a one-shot
//! `PollAdd`, re-armed after each wake) or calls the poller's `notify`.
//!
//! The handshake is one atomic with three states, changed only by
//! read-modify-write operations:
//!
//! - `EMPTY`: the driver is running; nothing to tell it.
//! - `PARKED`: the driver is (about to be) blocked; an unpark must signal.
//! - `NOTIFIED`: an unpark arrived; the driver must not block next time.
//!
//! `unpark` swaps in `NOTIFIED` and signals only if it swapped out `PARKED`,
//! so a running driver costs a waker one atomic and no syscall. The driver
//! parks by `EMPTY -> PARKED` (a failed exchange means `NOTIFIED`: it swaps
//! back to `EMPTY` and does not block) and swaps `EMPTY` back when it wakes.
//! Both sides use `SeqCst` read-modify-writes, so either the driver sees
//! `NOTIFIED` before blocking or the waker sees `PARKED` and signals.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;

#[cfg(loom)]
use loom::sync::atomic::{AtomicU8, Ordering};
#[cfg(not(loom))]
use std::sync::atomic::{AtomicU8, Ordering};

const EMPTY: u8 = 0;
const PARKED: u8 = 1;
const NOTIFIED: u8 = 2;

/// Wakes a parked driver from any thread.
///
/// Cloning is cheap (one `Arc`). An unpark never blocks and is never lost:
/// if the driver is not parked, its next park returns at once. The eventfd
/// is held by the `Arc`, so a late unpark never writes into an fd number that
/// was closed and reused.
#[derive(Clone)]
pub struct Unparker {
    inner: Arc<ParkState>,
}

/// The state shared by a driver and its unparkers.
pub(crate) struct ParkState {
    state: AtomicU8,
    signal: Signal,
}

enum Signal {
    EventFd(OwnedFd),
    Poller(Arc<polling::Poller>),
    /// Counts signals instead of sending them (model checks).
    #[cfg(all(loom, test))]
    Count(loom::sync::atomic::AtomicUsize),
}

impl Unparker {
    pub(crate) fn new(state: Arc<ParkState>) -> Unparker {
        Unparker { inner: state }
    }

    /// Wakes the driver if it is parked, or keeps its next park from
    /// blocking.
    pub fn unpark(&self) {
        if self.inner.state.swap(NOTIFIED, Ordering::SeqCst) == PARKED {
            self.inner.signal();
        }
    }
}

impl std::fmt::Debug for Unparker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unparker").finish_non_exhaustive()
    }
}

impl ParkState {
    /// A park state signalled through a new non-blocking CLOEXEC eventfd.
    pub(crate) fn with_eventfd() -> io::Result<ParkState> {
        use rustix::event::{EventfdFlags, eventfd};
        let fd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        Ok(ParkState {
            state: AtomicU8::new(EMPTY),
            signal: Signal::EventFd(fd),
        })
    }

    /// A park state signalled through the poller's `notify`.
    pub(crate) fn with_poller(poller: Arc<polling::Poller>) -> ParkState {
        ParkState {
            state: AtomicU8::new(EMPTY),
            signal: Signal::Poller(poller),
        }
    }

    /// The eventfd, if this state uses one.
    pub(crate) fn eventfd(&self) -> Option<&OwnedFd> {
        match &self.signal {
            Signal::EventFd(fd) => Some(fd),
            _ => None,
        }
    }

    /// Moves to `PARKED`; `false` if an unpark is pending (consumed here),
    /// in which case the caller must not block.
    pub(crate) fn try_park(&self) -> bool {
        match self
            .state
            .compare_exchange(EMPTY, PARKED, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => true,
            Err(_) => {
                self.state.swap(EMPTY, Ordering::SeqCst);
                false
            }
        }
    }

    /// Back to `EMPTY` after a park, whatever woke the driver.
    pub(crate) fn unparked(&self) {
        self.state.swap(EMPTY, Ordering::SeqCst);
    }

    /// Resets the eventfd's counter after the ring saw it readable.
    pub(crate) fn drain(&self) {
        if let Signal::EventFd(fd) = &self.signal {
            let mut buf = [0u8; 8];
            // A non-blocking read; EAGAIN just means another drain won.
            let _ = rustix::io::read(fd.as_fd(), &mut buf);
        }
    }

    fn signal(&self) {
        match &self.signal {
            Signal::EventFd(fd) => {
                // EAGAIN (counter at its maximum) still leaves it readable.
                let _ = rustix::io::write(fd.as_fd(), &1u64.to_ne_bytes());
            }
            Signal::Poller(poller) => {
                let _ = poller.notify();
            }
            #[cfg(all(loom, test))]
            Signal::Count(n) => {
                n.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;

    /// Either the parking side sees the unpark before it blocks, or the
    /// unparker sees it parked and signals: a wake is never lost.
    #[test]
    fn loom_an_unpark_is_never_lost() {
        loom::model(|| {
            let state = Arc::new(ParkState {
                state: AtomicU8::new(EMPTY),
                signal: Signal::Count(loom::sync::atomic::AtomicUsize::new(0)),
            });
            let unparker = Unparker::new(state.clone());
            let t = loom::thread::spawn(move || unparker.unpark());
            let parked = state.try_park();
            t.join().unwrap();
            let Signal::Count(signals) = &state.signal else {
                unreachable!()
            };
            let signals = signals.load(Ordering::SeqCst);
            if parked {
                assert_eq!(signals, 1, "parked, so the unpark must signal");
                state.unparked();
            } else {
                assert_eq!(
                    signals, 0,
                    "not parked: the unpark was seen, no signal needed"
                );
            }
            // Either way the handshake is back at EMPTY or NOTIFIED, never
            // stuck at PARKED.
            assert_ne!(state.state.load(Ordering::SeqCst), PARKED);
        });
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn unpark_before_park_keeps_park_from_blocking() {
        let state = Arc::new(ParkState::with_eventfd().unwrap());
        let unparker = Unparker::new(state.clone());
        unparker.unpark();
        assert!(!state.try_park(), "a pending unpark must be consumed");
        assert!(state.try_park(), "the next park blocks again");
        state.unparked();
    }

    #[test]
    fn unpark_while_parked_signals_the_eventfd() {
        let state = Arc::new(ParkState::with_eventfd().unwrap());
        let unparker = Unparker::new(state.clone());
        assert!(state.try_park());
        unparker.unpark();
        let mut buf = [0u8; 8];
        let n = rustix::io::read(state.eventfd().unwrap().as_fd(), &mut buf).unwrap();
        assert_eq!(n, 8);
        assert_eq!(u64::from_ne_bytes(buf), 1);
        state.unparked();
    }

    #[test]
    fn unparker_is_send_sync_clone() {
        fn check<T: Send + Sync + Clone>() {}
        check::<Unparker>();
    }
}
