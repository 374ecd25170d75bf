//! A listener's accept queue: connections the kernel accepted, held by the
//! listener until an `accept` takes them, so a dropped `accept` future
//! never loses one.
//!
//! - io_uring with multishot accept (Linux 5.19): one `AcceptMulti` stays
//!   armed; each completion's fd joins the queue. When the queue holds
//!   `BOUND` connections the multishot is cancelled (and drained: what
//!   the kernel accepted before the cancel still joins the queue), and it
//!   is armed again once an `accept` finds the queue below the bound.
//! - io_uring without it: one single-shot `Accept` op, kept by the
//!   listener across `accept` futures (a dropped future leaves it armed;
//!   its connection waits for the next `accept`).
//! - Readiness: `accept4` in a loop fills the queue (up to `BOUND`) after
//!   each readiness edge of the listener.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::task::{Context, Poll};

use rentio_driver::op::{Accept, AcceptMulti, PollMulti};
use rentio_driver::{Backend, Driver, Feature, Interest, Multi, Op};

use crate::CancelHandle;
use crate::socket::Socket;

/// At most this many accepted connections wait in the queue (a few more
/// while a cancelled multishot drains).
pub(crate) const BOUND: usize = 256;

#[derive(Debug, Default)]
pub(crate) struct AcceptQueue {
    state: RefCell<State>,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<OwnedFd>,
    mode: Option<Mode>,
    /// io_uring with multishot: the armed accept, and whether it was
    /// cancelled (the queue is full, or a cancel was asked for) and is
    /// being drained.
    multi: Option<Multi<AcceptMulti>>,
    cancelling: bool,
    /// io_uring without multishot: the one accept in flight.
    once: Option<Op<Accept>>,
    /// Readiness: the listener's readability edges.
    edges: Option<Multi<PollMulti>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Multishot,
    OneShot,
    Readiness,
}

impl AcceptQueue {
    /// The next connection: from the queue, else once the kernel accepts
    /// one.
    pub(crate) fn poll_accept(
        &self,
        socket: &Socket,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<OwnedFd>> {
        let driver = socket.driver()?;
        let mut guard = self.state.borrow_mut();
        let state = &mut *guard;
        loop {
            if let Some(fd) = state.queue.pop_front() {
                return Poll::Ready(Ok(fd));
            }
            let mode = *state.mode.get_or_insert_with(|| mode_of(&driver));
            match mode {
                Mode::Multishot => match state.poll_multi(&driver, socket, cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(e)) if e.raw_os_error() == Some(libc::EINVAL) => {
                        // A kernel that refuses the multishot flag: one
                        // accept at a time from now on (a socket that is
                        // not listening says `EINVAL` again there).
                        state.mode = Some(Mode::OneShot);
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return Poll::Pending,
                },
                Mode::OneShot => {
                    let op = state
                        .once
                        .get_or_insert_with(|| driver.op(Accept::nonblocking(socket.raw())));
                    let done = std::future::Future::poll(std::pin::Pin::new(op), cx);
                    let Poll::Ready(result) = done else {
                        return Poll::Pending;
                    };
                    state.once = None;
                    return Poll::Ready(result.map(|(fd, _)| fd));
                }
                Mode::Readiness => {
                    match state.fill(socket) {
                        Ok(0) => {}
                        Ok(_) => continue,
                        Err(e) => return Poll::Ready(Err(e)),
                    }
                    let edges = state.edges.get_or_insert_with(|| {
                        driver.multi(PollMulti::new(socket.raw(), Interest::Read))
                    });
                    match edges.poll_next(cx) {
                        // An edge (or a poll that ended): try again.
                        Poll::Ready(Some(_)) => {}
                        Poll::Ready(None) => state.edges = None,
                        Poll::Pending => {
                            // The poll may have been armed after the last
                            // connection came: look once more.
                            match state.fill(socket) {
                                Ok(0) => return Poll::Pending,
                                Ok(_) => {}
                                Err(e) => return Poll::Ready(Err(e)),
                            }
                        }
                    }
                }
            }
        }
    }

    /// [`poll_accept`](Self::poll_accept) until `handle` is cancelled;
    /// then what was accepted before the cancel took effect still comes
    /// back (`Ok`), and once nothing is left in flight, `ECANCELED`.
    pub(crate) fn poll_accept_cancellable(
        &self,
        socket: &Socket,
        handle: &CancelHandle,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<OwnedFd>> {
        if !handle.is_cancelled() {
            match self.poll_accept(socket, cx) {
                Poll::Pending if !handle.is_cancelled() => return Poll::Pending,
                Poll::Pending => {}
                ready => return ready,
            }
        }
        let driver = socket.driver()?;
        let mut guard = self.state.borrow_mut();
        let state = &mut *guard;
        if let Some(fd) = state.queue.pop_front() {
            return Poll::Ready(Ok(fd));
        }
        // Wind down what is in flight, keeping what it accepted.
        if let Some(multi) = &mut state.multi {
            if multi.key().is_none() {
                state.multi = None;
            } else {
                if !state.cancelling {
                    state.cancelling = true;
                    let _ = multi.cancel();
                }
                loop {
                    match multi.poll_accept(cx) {
                        Poll::Ready(Some(Ok(fd))) => return Poll::Ready(Ok(fd)),
                        Poll::Ready(Some(Err(_))) => {}
                        Poll::Ready(None) => break,
                        Poll::Pending => return Poll::Pending,
                    }
                }
                state.multi = None;
                state.cancelling = false;
            }
        }
        if let Some(op) = &mut state.once {
            match op.key() {
                None => state.once = None,
                Some(key) => {
                    if !state.cancelling {
                        state.cancelling = true;
                        let _ = driver.cancel(key);
                    }
                    let Poll::Ready(result) = std::future::Future::poll(std::pin::Pin::new(op), cx)
                    else {
                        return Poll::Pending;
                    };
                    state.once = None;
                    state.cancelling = false;
                    if let Ok((fd, _)) = result {
                        return Poll::Ready(Ok(fd));
                    }
                }
            }
        }
        state.edges = None;
        Poll::Ready(Err(io::Error::from_raw_os_error(libc::ECANCELED)))
    }
}

impl State {
    /// Moves the multishot accept's completions into the queue: `Ok` once
    /// the queue holds one, `Pending` when there is none yet.
    fn poll_multi(
        &mut self,
        driver: &Driver,
        socket: &Socket,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let multi = self
                .multi
                .get_or_insert_with(|| driver.multi(AcceptMulti::new(socket.raw())));
            match multi.poll_accept(cx) {
                Poll::Ready(Some(Ok(fd))) => {
                    self.queue.push_back(fd);
                    if self.queue.len() >= BOUND && !self.cancelling {
                        // Full: stop the kernel accepting for us; what it
                        // accepted already still comes (drained by later
                        // polls), then it is armed again.
                        self.cancelling = true;
                        let _ = multi.cancel();
                    }
                    // Take every completion already queued.
                    continue;
                }
                Poll::Ready(Some(Err(e))) if e.raw_os_error() == Some(libc::ECANCELED) => continue,
                Poll::Ready(Some(Err(e))) => {
                    // An error ends the stream: armed again next time.
                    if self.queue.is_empty() {
                        self.multi = None;
                        self.cancelling = false;
                        return Poll::Ready(Err(e));
                    }
                    continue;
                }
                Poll::Ready(None) => {
                    self.multi = None;
                    self.cancelling = false;
                    if !self.queue.is_empty() {
                        return Poll::Ready(Ok(()));
                    }
                    // Ended without a connection (cancelled when full and
                    // since emptied): arm again.
                }
                Poll::Pending => {
                    return if self.queue.is_empty() {
                        Poll::Pending
                    } else {
                        Poll::Ready(Ok(()))
                    };
                }
            }
        }
    }

    /// Readiness: `accept4` until `EAGAIN` or the bound; how many joined
    /// the queue.
    fn fill(&mut self, socket: &Socket) -> io::Result<usize> {
        let mut n = 0;
        while self.queue.len() < BOUND {
            match rustix::net::accept_with(
                socket.fd().as_fd(),
                rustix::net::SocketFlags::NONBLOCK | rustix::net::SocketFlags::CLOEXEC,
            ) {
                Ok(fd) => {
                    self.queue.push_back(fd);
                    n += 1;
                }
                Err(rustix::io::Errno::AGAIN) => break,
                Err(rustix::io::Errno::INTR) => {}
                // A connection reset before it was taken, or out of fds:
                // reported only when nothing was accepted.
                Err(e) if n == 0 => return Err(e.into()),
                Err(_) => break,
            }
        }
        Ok(n)
    }
}

fn mode_of(driver: &Driver) -> Mode {
    match driver.backend() {
        Backend::Uring if driver.supports(Feature::MultishotAccept) => Mode::Multishot,
        Backend::Uring => Mode::OneShot,
        Backend::Poll => Mode::Readiness,
    }
}
