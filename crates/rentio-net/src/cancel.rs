//! Cancelling an op and keeping its buffer.

use std::cell::RefCell;
use std::rc::Rc;
use std::task::Waker;

/// Cancels the ops started with its [`CancelHandle`]s.
///
/// A cancelled op still resolves: it returns its buffer, with any bytes
/// already read, and `ECANCELED` (`ErrorKind::Other`, raw OS error 125)
/// unless it finished first.
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
    wakers: Vec<Waker>,
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
        let wakers = {
            let mut state = self.state.borrow_mut();
            state.cancelled = true;
            std::mem::take(&mut state.wakers)
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

    pub(crate) fn register(&self, waker: &Waker) {
        let mut state = self.state.borrow_mut();
        if !state.wakers.iter().any(|w| w.will_wake(waker)) {
            state.wakers.push(waker.clone());
        }
    }
}
