//! A one-value channel from any thread to a task: for `spawn_blocking`.

use std::future::Future;
use std::task::{Poll, Waker};

use crate::loom::{Mutex, lock};

pub(crate) struct Oneshot<T> {
    state: Mutex<(Option<T>, Option<Waker>)>,
}

impl<T> Oneshot<T> {
    pub(crate) fn new() -> Oneshot<T> {
        Oneshot {
            state: Mutex::new((None, None)),
        }
    }

    /// Stores the value and wakes the receiver (any thread).
    pub(crate) fn send(&self, value: T) {
        let waker = {
            let mut state = lock(&self.state);
            state.0 = Some(value);
            state.1.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Waits for the value.
    pub(crate) fn recv(&self) -> impl Future<Output = T> + '_ {
        std::future::poll_fn(move |cx| self.poll_recv(cx))
    }

    /// Polls for the value.
    pub(crate) fn poll_recv(&self, cx: &mut std::task::Context<'_>) -> Poll<T> {
        let mut state = lock(&self.state);
        match state.0.take() {
            Some(value) => Poll::Ready(value),
            None => {
                state.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
