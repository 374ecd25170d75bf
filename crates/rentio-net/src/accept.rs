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
    /// The tasks waiting on this listener (several may accept at once):
    /// the driver's ops are polled with a waker that wakes them all, so
    /// a task whose future was dropped never holds the only wake-up.
    waiters: std::sync::Arc<Waiters>,
}

/// The wakers of the tasks waiting on a listener; waking it wakes each
/// once (a stale one, of a dropped future, costs one spurious poll).
#[derive(Debug, Default)]
struct Waiters(std::sync::Mutex<Vec<std::task::Waker>>);

impl Waiters {
    fn add(&self, waker: &std::task::Waker) {
        let mut list = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !list.iter().any(|w| w.will_wake(waker)) {
            list.push(waker.clone());
        }
    }
}

impl std::task::Wake for Waiters {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        let list = std::mem::take(
            &mut *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for waker in list {
            waker.wake();
        }
    }
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
    /// The multishot accept has handed out a connection: an `EINVAL`
    /// after that is the socket's, not a kernel refusing the flag.
    multishot_worked: bool,
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
        let waker = std::task::Waker::from(self.waiters.clone());
        let mut all = Context::from_waker(&waker);
        let mut guard = self.state.borrow_mut();
        let result = guard.poll_accept(&driver, socket, &mut all);
        let more = !guard.queue.is_empty();
        drop(guard);
        match result {
            Poll::Pending => self.waiters.add(cx.waker()),
            // Connections left: another waiting task may take one.
            Poll::Ready(_) if more => std::task::Wake::wake_by_ref(&self.waiters),
            Poll::Ready(_) => {}
        }
        result
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
        self.waiters.add(cx.waker());
        let waker = std::task::Waker::from(self.waiters.clone());
        let cx = &mut Context::from_waker(&waker);
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
                    // Marked only once it is queued: a failed cancel is
                    // asked again at the next poll.
                    state.cancelling = multi.cancel().is_ok();
                    if !state.cancelling {
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
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
                        state.cancelling = driver.cancel(key).is_ok();
                        if !state.cancelling {
                            cx.waker().wake_by_ref();
                            return Poll::Pending;
                        }
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
    fn poll_accept(
        &mut self,
        driver: &Driver,
        socket: &Socket,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<OwnedFd>> {
        loop {
            let mode = *self.mode.get_or_insert_with(|| mode_of(driver));
            if mode == Mode::Multishot {
                // Every poll moves what the kernel accepted into the
                // queue, so the bound holds while the queue is not empty.
                match self.poll_multi(driver, socket, cx) {
                    Poll::Ready(Err(e))
                        if e.raw_os_error() == Some(libc::EINVAL) && !self.multishot_worked =>
                    {
                        // A kernel that refuses the multishot flag: one
                        // accept at a time from now on (a socket that is
                        // not listening says `EINVAL` again there).
                        self.mode = Some(Mode::OneShot);
                        continue;
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Ready(Ok(())) | Poll::Pending => {}
                }
            }
            if let Some(fd) = self.queue.pop_front() {
                return Poll::Ready(Ok(fd));
            }
            match mode {
                Mode::Multishot => return Poll::Pending,
                Mode::OneShot => {
                    let op = self
                        .once
                        .get_or_insert_with(|| driver.op(Accept::nonblocking(socket.raw())));
                    let done = std::future::Future::poll(std::pin::Pin::new(op), cx);
                    let Poll::Ready(result) = done else {
                        return Poll::Pending;
                    };
                    self.once = None;
                    return Poll::Ready(result.map(|(fd, _)| fd));
                }
                Mode::Readiness => {
                    match self.fill(socket) {
                        Ok(0) => {}
                        Ok(_) => continue,
                        Err(e) => return Poll::Ready(Err(e)),
                    }
                    let edges = self.edges.get_or_insert_with(|| {
                        driver.multi(PollMulti::new(socket.raw(), Interest::Read))
                    });
                    match edges.poll_next(cx) {
                        // An edge (or a poll that ended): try again.
                        Poll::Ready(Some(_)) => {}
                        Poll::Ready(None) => self.edges = None,
                        Poll::Pending => {
                            // The poll may have been armed after the last
                            // connection came: look once more.
                            match self.fill(socket) {
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

    /// Moves the multishot accept's completions into the queue: `Ok` once
    /// the queue holds one, `Pending` when there is none yet.
    fn poll_multi(
        &mut self,
        driver: &Driver,
        socket: &Socket,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            if self.multi.is_none() && self.queue.len() >= BOUND {
                // Full: armed again once an accept has taken some.
                return Poll::Ready(Ok(()));
            }
            let multi = self
                .multi
                .get_or_insert_with(|| driver.multi(AcceptMulti::new(socket.raw())));
            match multi.poll_accept(cx) {
                Poll::Ready(Some(Ok(fd))) => {
                    self.multishot_worked = true;
                    self.queue.push_back(fd);
                    if self.queue.len() >= BOUND && !self.cancelling {
                        // Full: stop the kernel accepting for us; what it
                        // accepted already still comes (drained by later
                        // polls), then it is armed again once the queue
                        // is below the bound.
                        self.cancelling = multi.cancel().is_ok();
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
