//! Channels that work within a runtime and across runtimes (cores):
//! [`oneshot`] and a bounded [`mpsc`] with backpressure. A receiver on
//! another core is woken through its runtime's inbox, which unparks that
//! core's driver.
//!
//! `tokio::sync`'s channels, locks and `Notify` work across rentio cores
//! too: they only need wakers, and a rentio waker is `Send` and wakes its
//! task on its own runtime from any thread.

use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A one-value channel.
pub mod oneshot {
    use super::*;

    struct State<T> {
        value: Option<T>,
        receiver: Option<Waker>,
        sender_gone: bool,
        receiver_gone: bool,
    }

    /// Sends the one value ([`channel`]).
    pub struct Sender<T> {
        shared: Arc<Mutex<State<T>>>,
    }

    /// Receives the one value: a future of `Result<T, RecvError>`.
    pub struct Receiver<T> {
        shared: Arc<Mutex<State<T>>>,
    }

    /// The sender was dropped without sending.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct RecvError;

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("the oneshot sender was dropped without sending")
        }
    }

    impl std::error::Error for RecvError {}

    /// A oneshot channel: its sender and receiver may be on any cores.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use rentio_executor::sync::oneshot;
    ///
    /// let (tx, rx) = oneshot::channel();
    /// std::thread::spawn(move || tx.send(7).unwrap());
    /// let got = rentio_executor::Runtime::new()?.block_on(rx);
    /// assert_eq!(got, Ok(7));
    /// # Ok(())
    /// # }
    /// ```
    pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
        let shared = Arc::new(Mutex::new(State {
            value: None,
            receiver: None,
            sender_gone: false,
            receiver_gone: false,
        }));
        (
            Sender {
                shared: shared.clone(),
            },
            Receiver { shared },
        )
    }

    impl<T> Sender<T> {
        /// Sends `value`.
        ///
        /// # Errors
        ///
        /// `Err(value)` back if the receiver is gone.
        pub fn send(self, value: T) -> Result<(), T> {
            let waker = {
                let mut state = lock(&self.shared);
                if state.receiver_gone {
                    return Err(value);
                }
                state.value = Some(value);
                state.receiver.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
            Ok(())
        }

        /// Whether the receiver is gone.
        pub fn is_closed(&self) -> bool {
            lock(&self.shared).receiver_gone
        }
    }

    impl<T> Drop for Sender<T> {
        fn drop(&mut self) {
            let waker = {
                let mut state = lock(&self.shared);
                state.sender_gone = true;
                state.receiver.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }

    impl<T> std::future::Future for Receiver<T> {
        type Output = Result<T, RecvError>;

        fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            let mut state = lock(&self.shared);
            if let Some(value) = state.value.take() {
                return Poll::Ready(Ok(value));
            }
            if state.sender_gone {
                return Poll::Ready(Err(RecvError));
            }
            state.receiver = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    impl<T> Drop for Receiver<T> {
        fn drop(&mut self) {
            lock(&self.shared).receiver_gone = true;
        }
    }

    impl<T> fmt::Debug for Sender<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("oneshot::Sender").finish_non_exhaustive()
        }
    }

    impl<T> fmt::Debug for Receiver<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("oneshot::Receiver").finish_non_exhaustive()
        }
    }
}

/// A bounded multi-producer, single-consumer channel with backpressure:
/// a send waits while the channel holds `capacity` values.
pub mod mpsc {
    use super::*;

    struct State<T> {
        queue: VecDeque<T>,
        capacity: usize,
        senders: usize,
        receiver_gone: bool,
        receiver: Option<Waker>,
        /// Send futures waiting for room, by waiter id (one per future:
        /// a `Sender` may send from several tasks at once).
        waiting: Vec<(u64, Waker)>,
        next_waiter: u64,
    }

    /// Sends values ([`channel`]); clone it for more producers.
    pub struct Sender<T> {
        shared: Arc<Mutex<State<T>>>,
    }

    /// Receives the values, in the order each sender sent them.
    pub struct Receiver<T> {
        shared: Arc<Mutex<State<T>>>,
    }

    /// The receiver is gone; the value comes back.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct SendError<T>(pub T);

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("the mpsc receiver is gone")
        }
    }

    impl<T: fmt::Debug> std::error::Error for SendError<T> {}

    /// A channel holding at most `capacity` values (at least 1); its ends
    /// may be on any cores.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use rentio_executor::sync::mpsc;
    ///
    /// let (tx, mut rx) = mpsc::channel(16);
    /// let producer = std::thread::spawn(move || {
    ///     rentio_executor::Runtime::new().unwrap().block_on(async move {
    ///         for i in 0..100 {
    ///             tx.send(i).await.unwrap();
    ///         }
    ///     })
    /// });
    /// let sum = rentio_executor::Runtime::new()?.block_on(async move {
    ///     let mut sum = 0;
    ///     while let Some(i) = rx.recv().await {
    ///         sum += i;
    ///     }
    ///     sum
    /// });
    /// producer.join().unwrap();
    /// assert_eq!(sum, 4950);
    /// # Ok(())
    /// # }
    /// ```
    pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
        let capacity = capacity.max(1);
        let shared = Arc::new(Mutex::new(State {
            queue: VecDeque::with_capacity(capacity.min(1024)),
            capacity,
            senders: 1,
            receiver_gone: false,
            receiver: None,
            waiting: Vec::new(),
            next_waiter: 0,
        }));
        (
            Sender {
                shared: shared.clone(),
            },
            Receiver { shared },
        )
    }

    impl<T> Sender<T> {
        /// Sends `value`, waiting while the channel is full.
        ///
        /// # Errors
        ///
        /// The value back if the receiver is gone.
        ///
        /// # Cancel safety
        ///
        /// Cancel safe: a send that did not complete sent nothing (and
        /// the value is dropped with the future).
        pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
            let mut value = Some(value);
            let mut waiter = None;
            poll_fn(|cx| self.poll_send(cx, &mut value, &mut waiter)).await
        }

        fn poll_send(
            &self,
            cx: &mut Context<'_>,
            value: &mut Option<T>,
            waiter: &mut Option<u64>,
        ) -> Poll<Result<(), SendError<T>>> {
            let mut replaced = None;
            let waker = {
                let mut state = lock(&self.shared);
                let Some(v) = value.take() else {
                    return Poll::Ready(Ok(()));
                };
                if state.receiver_gone {
                    return Poll::Ready(Err(SendError(v)));
                }
                if state.queue.len() >= state.capacity {
                    *value = Some(v);
                    let id = *waiter.get_or_insert_with(|| {
                        state.next_waiter += 1;
                        state.next_waiter
                    });
                    match state.waiting.iter_mut().find(|(w, _)| *w == id) {
                        Some((_, w)) => replaced = Some(std::mem::replace(w, cx.waker().clone())),
                        None => state.waiting.push((id, cx.waker().clone())),
                    }
                    drop(state);
                    // A waker's drop runs no code under the lock.
                    drop(replaced);
                    return Poll::Pending;
                }
                state.queue.push_back(v);
                if let Some(id) = *waiter {
                    state.waiting.retain(|(w, _)| *w != id);
                }
                state.receiver.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
            Poll::Ready(Ok(()))
        }

        /// Sends `value` if there is room now.
        ///
        /// # Errors
        ///
        /// The value back if the channel is full or the receiver gone.
        pub fn try_send(&self, value: T) -> Result<(), SendError<T>> {
            let waker = {
                let mut state = lock(&self.shared);
                if state.receiver_gone || state.queue.len() >= state.capacity {
                    return Err(SendError(value));
                }
                state.queue.push_back(value);
                state.receiver.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
            Ok(())
        }
    }

    impl<T> Clone for Sender<T> {
        fn clone(&self) -> Sender<T> {
            lock(&self.shared).senders += 1;
            Sender {
                shared: self.shared.clone(),
            }
        }
    }

    impl<T> Drop for Sender<T> {
        fn drop(&mut self) {
            let waker = {
                let mut state = lock(&self.shared);
                state.senders -= 1;
                if state.senders == 0 {
                    state.receiver.take()
                } else {
                    None
                }
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }

    impl<T> Receiver<T> {
        /// The next value; `None` once every sender is gone and the
        /// channel is empty.
        ///
        /// # Cancel safety
        ///
        /// Cancel safe: a value is taken only when `recv` returns it.
        pub async fn recv(&mut self) -> Option<T> {
            poll_fn(|cx| self.poll_recv(cx)).await
        }

        /// Polls for the next value.
        pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
            let (value, wake) = {
                let mut state = lock(&self.shared);
                match state.queue.pop_front() {
                    Some(value) => {
                        // Room: the waiting senders try again (all of
                        // them: one whose send was dropped would not).
                        (Some(value), std::mem::take(&mut state.waiting))
                    }
                    None if state.senders == 0 => return Poll::Ready(None),
                    None => {
                        state.receiver = Some(cx.waker().clone());
                        return Poll::Pending;
                    }
                }
            };
            for (_, waker) in wake {
                waker.wake();
            }
            Poll::Ready(value)
        }
    }

    impl<T> Drop for Receiver<T> {
        fn drop(&mut self) {
            let (queued, waiting) = {
                let mut state = lock(&self.shared);
                state.receiver_gone = true;
                (
                    std::mem::take(&mut state.queue),
                    std::mem::take(&mut state.waiting),
                )
            };
            // Dropped unlocked: a value may hold a sender of this channel.
            drop(queued);
            for (_, waker) in waiting {
                waker.wake();
            }
        }
    }

    impl<T> fmt::Debug for Sender<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("mpsc::Sender").finish_non_exhaustive()
        }
    }

    impl<T> fmt::Debug for Receiver<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("mpsc::Receiver").finish_non_exhaustive()
        }
    }
}
