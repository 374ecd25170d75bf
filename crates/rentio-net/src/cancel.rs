//! Cancelling an op and keeping its buffer.

use std::cell::RefCell;
use std::rc::Rc;
use std::task::Waker;

/// Cancels the ops started with its [`CancelHandle`]s.
///
/// A cancelled op still resolves: it returns its buffer, with any bytes
/// already read, and `ECANCELED` (check `raw_os_error() ==
/// Some(libc::ECANCELED)`) unless it finished first.
///
/// ```no_run
/// use std::time::Duration;
/// use rentio_net::{Canceller, TcpStream};
///
/// # async fn f(stream: TcpStream) {
/// let canceller = Canceller::new();
/// let handle = canceller.handle();
/// let read = stream.read_cancellable(Vec::with_capacity(1024), &handle);
/// // Elsewhere (another task, a timer): canceller.cancel();
/// # canceller.cancel();
/// let (result, buf) = read.await; // the buffer comes back either way
/// # }
/// ```
#[derive(Debug, Default)]
pub struct Canceller {
    state: Rc<RefCell<State>>,
}

#[derive(Debug, Default)]
struct State {
    cancelled: bool,
    /// The wakers of ops waiting on this canceller, one slot per waiting
    /// op (freed when the op ends), so the list stays bounded by the ops
    /// in flight.
    wakers: slab::Slab<Option<Waker>>,
}

impl Canceller {
    /// A canceller that has not fired.
    pub fn new() -> Canceller {
        Canceller::default()
    }

    /// A handle to pass to cancellable ops.
    pub fn handle(&self) -> CancelHandle {
        CancelHandle {
            state: self.state.clone(),
        }
    }

    /// Cancels every op started with one of this canceller's handles, now
    /// and later.
    pub fn cancel(&self) {
        let wakers: Vec<Waker> = {
            let mut state = self.state.borrow_mut();
            state.cancelled = true;
            state
                .wakers
                .iter_mut()
                .filter_map(|(_, w)| w.take())
                .collect()
        };
        for waker in wakers {
            waker.wake();
        }
    }

    /// Whether [`cancel`](Canceller::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.state.borrow().cancelled
    }
}

/// A handle that lets an op see its [`Canceller`] fire.
#[derive(Clone, Debug)]
pub struct CancelHandle {
    state: Rc<RefCell<State>>,
}

impl CancelHandle {
    /// Whether the canceller fired.
    pub fn is_cancelled(&self) -> bool {
        self.state.borrow().cancelled
    }

    /// A slot for one op's waker, freed when the registration drops.
    pub(crate) fn registration(&self) -> Registration {
        Registration {
            state: self.state.clone(),
            slot: None,
        }
    }
}

/// One waiting op's entry in a canceller's waker list.
pub(crate) struct Registration {
    state: Rc<RefCell<State>>,
    slot: Option<usize>,
}

impl Registration {
    pub(crate) fn register(&mut self, waker: &Waker) {
        let mut state = self.state.borrow_mut();
        match self.slot.and_then(|i| state.wakers.get_mut(i)) {
            Some(Some(w)) if w.will_wake(waker) => {}
            Some(entry) => *entry = Some(waker.clone()),
            None => self.slot = Some(state.wakers.insert(Some(waker.clone()))),
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(slot) = self.slot
            && let Ok(mut state) = self.state.try_borrow_mut()
        {
            state.wakers.try_remove(slot);
        }
    }
}
