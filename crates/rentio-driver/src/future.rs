//! `Op<T>`: an op as a future (and as a handle for the low-level API), and
//! `Multi<T>`: a multishot op as a stream of completions.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::driver::{Driver, Push};
use crate::key::Key;
use crate::op::{Completion, OpCode};

/// An op on a driver: lazy until first polled (or [`submit`](Op::submit)ted),
/// then in flight until it resolves to `T::Output`.
///
/// # Cancel safety
///
/// Dropping an `Op` in flight is safe: its resources (the buffer, the
/// sockaddr, …) move into the driver, an `AsyncCancel` is pushed, and they are
/// freed when the kernel's last CQE for it arrives; a late fd (from accept,
/// open, socket) is closed. The result is lost; to keep the buffer, cancel
/// through [`Driver::cancel`] and await the op instead.
///
/// # Lifetime of the driver
///
/// An `Op` holds a handle on its [`Driver`], finished or not: the driver
/// (its ring or poller, its eventfd and its tables) lives until the last
/// `Op`, [`Multi`] and `Driver` handle is gone, even after the runtime
/// that made it was dropped. Drop finished ops rather than keeping them.
#[must_use = "an Op does nothing until polled or submitted"]
pub struct Op<T: OpCode> {
    driver: Driver,
    key: Option<Key>,
    data: Option<T>,
    link_timeout: Option<Duration>,
}

// The op's data is never pinned: memory the kernel sees is on the heap, so
// moving an `Op` (or its data) is always allowed.
impl<T: OpCode> Unpin for Op<T> {}

impl<T: OpCode> Op<T> {
    pub(crate) fn new(driver: Driver, data: T) -> Op<T> {
        Op {
            driver,
            key: None,
            data: Some(data),
            link_timeout: None,
        }
    }

    /// Gives the op a deadline: on io_uring a linked `LINK_TIMEOUT` (both
    /// SQEs go to the kernel in one enter), on readiness a timer. If it
    /// fires first the op ends with `ECANCELED` (raw OS error 125) and still returns its resources.
    ///
    /// Has no effect once the op is submitted.
    pub fn with_link_timeout(mut self, timeout: Duration) -> Op<T> {
        if self.key.is_none() {
            self.link_timeout = Some(timeout);
        }
        self
    }

    /// The op's key, once submitted.
    pub fn key(&self) -> Option<Key> {
        self.key
    }

    /// Pushes the op now (it is lazy otherwise); does nothing if already
    /// pushed or finished.
    ///
    /// # Errors
    ///
    /// As [`Driver::submit`]. The op then stays unsubmitted: a later
    /// `submit`, `try_complete` or poll tries the push again (a [`Close`]
    /// gave its fd to the driver on the failed push, and then fails).
    ///
    /// [`Close`]: crate::op::Close
    #[inline]
    pub fn submit(&mut self) -> io::Result<Key> {
        if let Some(key) = self.key {
            return Ok(key);
        }
        let Some(data) = self.data.as_mut() else {
            return Err(io::Error::other("rentio-driver: op already completed"));
        };
        let how = Push {
            link_timeout: self.link_timeout,
            notify: crate::slot::Notify::Handle,
            multi: false,
        };
        let key = self.driver.push_op(data, how)?;
        self.key = Some(key);
        // A readiness op tries its syscall at once, as on first poll; the
        // result stays in the slot for `try_complete`.
        if let Some(data) = self.data.as_mut() {
            self.driver.try_io(key, data);
        }
        Ok(key)
    }

    /// Takes the result if the op has finished (the low-level face): `None`
    /// while it is in flight, and after the result was taken.
    #[inline]
    pub fn try_complete(&mut self) -> Option<T::Output> {
        self.data.as_ref()?;
        match self.poll_inner(None) {
            Poll::Ready(output) => Some(output),
            Poll::Pending => None,
        }
    }

    /// Whether the result has been taken.
    pub fn is_finished(&self) -> bool {
        self.data.is_none()
    }

    #[inline]
    fn poll_inner(&mut self, waker: Option<&Waker>) -> Poll<T::Output> {
        let Some(data) = self.data.as_mut() else {
            panic!("rentio-driver: Op polled after it completed");
        };
        let polled = match self.key {
            Some(key) => self.driver.poll_op(key, data, waker),
            None => {
                let how = Push {
                    link_timeout: self.link_timeout,
                    ..Push::default()
                };
                match self.driver.push_and_poll_op(data, how, waker) {
                    Ok((key, polled)) => {
                        self.key = Some(key);
                        polled
                    }
                    Err(e) => return Poll::Ready(self.finish(Completion::from_result(Err(e)))),
                }
            }
        };
        match polled {
            Poll::Ready(completion) => {
                self.key = None;
                Poll::Ready(self.finish(completion))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    #[inline]
    fn finish(&mut self, completion: Completion) -> T::Output {
        match self.data.take() {
            Some(data) => data.complete(completion),
            None => unreachable!("finish is called with the data present"),
        }
    }
}

impl<T: OpCode> Future for Op<T> {
    type Output = T::Output;

    /// # Panics
    ///
    /// If polled again after it returned `Ready`.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T::Output> {
        if crate::coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        self.get_mut().poll_inner(Some(cx.waker()))
    }
}

impl<T: OpCode> Drop for Op<T> {
    fn drop(&mut self) {
        release(&self.driver, &mut self.key, &mut self.data);
    }
}

/// The drop of an op handle: an op in flight hands its resources to the
/// driver (which cancels it); one never pushed stops any readiness watch
/// on an fd it owned before that fd closes.
fn release<T: OpCode>(driver: &Driver, key: &mut Option<Key>, data: &mut Option<T>) {
    if let Some(key) = key.take() {
        let data = data
            .take()
            .map(|d| Box::new(d) as Box<dyn crate::op::ErasedOp>);
        driver.drop_op(key, data);
    } else if let Some(data) = data {
        driver.forget_unpushed(data);
    }
}

impl<T: OpCode> std::fmt::Debug for Op<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Op")
            .field("key", &self.key)
            .field("finished", &self.data.is_none())
            .finish_non_exhaustive()
    }
}

/// A multishot op: a stream of completions that ends after the kernel's
/// last CQE (one without `IORING_CQE_F_MORE`).
///
/// # Cancel safety
///
/// Dropping it cancels the op; its resources stay in the driver until the
/// kernel's last CQE.
#[must_use = "a Multi does nothing until polled"]
pub struct Multi<T: OpCode> {
    driver: Driver,
    key: Option<Key>,
    data: Option<T>,
    done: bool,
}

impl<T: OpCode> Unpin for Multi<T> {}

impl<T: OpCode> std::fmt::Debug for Multi<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Multi")
            .field("key", &self.key)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<T: OpCode> Multi<T> {
    pub(crate) fn new(driver: Driver, data: T) -> Multi<T> {
        Multi {
            driver,
            key: None,
            data: Some(data),
            done: false,
        }
    }

    /// The op's key, once submitted.
    pub fn key(&self) -> Option<Key> {
        self.key
    }

    /// The op, while the stream holds it.
    pub(crate) fn data_ref(&self) -> Option<&T> {
        self.data.as_ref()
    }

    /// The op back, once the stream has ended (the kernel is done with
    /// it, or it never reached the kernel).
    pub(crate) fn take_finished(&mut self) -> Option<T> {
        if self.done && self.key.is_none() {
            self.data.take()
        } else {
            None
        }
    }

    /// The next completion: `Ready(None)` once the op has ended.
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Completion>> {
        if crate::coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        self.poll_next_inner(Some(cx.waker()))
    }

    /// The next completion if one is queued (the low-level face).
    pub fn try_next(&mut self) -> Poll<Option<Completion>> {
        self.poll_next_inner(None)
    }

    fn poll_next_inner(&mut self, waker: Option<&Waker>) -> Poll<Option<Completion>> {
        if self.done {
            return Poll::Ready(None);
        }
        let key = match self.key {
            Some(key) => key,
            None => {
                let Some(data) = self.data.as_mut() else {
                    return Poll::Ready(None);
                };
                let how = Push {
                    multi: true,
                    ..Push::default()
                };
                match self.driver.push_op(data, how) {
                    Ok(key) => {
                        self.key = Some(key);
                        key
                    }
                    Err(e) => {
                        self.done = true;
                        return Poll::Ready(Some(Completion::from_result(Err(e))));
                    }
                }
            }
        };
        let next = self.driver.poll_multi(key, waker);
        if let Poll::Ready(None) = next {
            self.done = true;
            self.key = None;
        }
        next
    }

    /// Asks the kernel to stop the op; the stream then ends. An op not
    /// pushed yet (never polled) is never pushed: the stream ends at once.
    ///
    /// # Errors
    ///
    /// Only if the cancel request cannot be pushed.
    pub fn cancel(&mut self) -> io::Result<()> {
        match self.key {
            Some(key) => self.driver.cancel(key),
            None => {
                self.done = true;
                Ok(())
            }
        }
    }
}

impl<T: OpCode> Drop for Multi<T> {
    fn drop(&mut self) {
        release(&self.driver, &mut self.key, &mut self.data);
    }
}
