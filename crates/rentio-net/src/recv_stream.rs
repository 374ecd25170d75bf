//! [`RecvStream`]: a stream socket's arrivals, each in a buffer of a
//! shared [`BufRing`].

use std::io;
use std::task::{Context, Poll};

use rentio_driver::op::{Recv, RecvMulti};
use rentio_driver::{BufRing, Multi, Op, RingBuf};

use crate::socket::Socket;

/// The data a stream socket receives, one [`RingBuf`] per arrival, from
/// [`TcpStream::recv_stream`](crate::TcpStream::recv_stream) or
/// [`UnixStream::recv_stream`](crate::UnixStream::recv_stream).
///
/// On io_uring with buffer rings (Linux 6.0) one multishot receive stays
/// armed: the kernel takes a buffer of the ring only when data arrives, so
/// an idle connection holds no receive buffer, and many connections can
/// share one ring. When every buffer is out the receive ends with
/// `ENOBUFS`; the stream waits for a buffer to come back (a dropped
/// `RingBuf`) and arms it again: no data is lost (it waits in the
/// socket) and nothing spins. Elsewhere (readiness, an older kernel, a
/// restricted ring) the ring is a user-space pool and each arrival is a
/// plain receive into a free buffer.
///
/// Drop each `RingBuf` once its bytes are used: the ring is only as deep
/// as its buffer count.
///
/// # Cancel safety
///
/// [`next`](RecvStream::next) is cancel safe: data is taken only when it
/// returns it. Dropping the stream with data received but not taken
/// loses that data (as dropping a read does); its buffers still go back
/// to the ring.
pub struct RecvStream<'a> {
    socket: &'a Socket,
    ring: BufRing,
    /// The armed multishot receive (registered ring), and the ring's
    /// `returned` count when it was armed.
    multi: Option<Multi<RecvMulti>>,
    armed_at: u64,
    /// The receive in flight (user-space pool).
    once: Option<Op<Recv<RingBuf>>>,
    eof: bool,
    /// [`cancel`](RecvStream::cancel) was called: nothing is armed again,
    /// and the stream ends with `ECANCELED` once what was in flight ends.
    cancelled: bool,
    /// The driver has queued the cancel of what is in flight.
    cancel_queued: bool,
}

impl<'a> RecvStream<'a> {
    pub(crate) fn new(socket: &'a Socket, ring: &BufRing) -> RecvStream<'a> {
        RecvStream {
            socket,
            ring: ring.clone(),
            multi: None,
            armed_at: 0,
            once: None,
            eof: false,
            cancelled: false,
            cancel_queued: false,
        }
    }

    /// Stops receiving: the armed receive is cancelled through the driver.
    /// [`next`](RecvStream::next) then yields what the kernel received
    /// before the cancel took effect (and an error of the socket's, if
    /// one came), then `Err(ECANCELED)` once, then `None` (or `None` at
    /// once, if the stream ended first); nothing the kernel took from the
    /// socket is lost, and what it did not take stays in the socket for a
    /// later read.
    pub fn cancel(&mut self) {
        self.cancelled = true;
        self.queue_cancel();
    }

    /// Queues the cancel of what is in flight, once; a cancel that cannot
    /// be queued now (a full submission queue) is asked again at the next
    /// poll.
    fn queue_cancel(&mut self) {
        if self.cancel_queued {
            return;
        }
        if let Some(multi) = &mut self.multi {
            if multi.key().is_some() {
                self.cancel_queued = multi.cancel().is_ok();
            } else {
                self.multi = None;
            }
        }
        if let Some(op) = &self.once {
            match op.key() {
                Some(key) => {
                    self.cancel_queued = self
                        .socket
                        .driver()
                        .and_then(|driver| driver.cancel(key))
                        .is_ok();
                }
                // Not pushed yet: dropping it cancels nothing the kernel
                // holds, and its buffer goes back to the pool.
                None => self.once = None,
            }
        }
    }

    /// Whether [`cancel`](RecvStream::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled
    }

    /// [`next`](RecvStream::next), with the stream cancelled (see
    /// [`cancel`](RecvStream::cancel)) once `handle`'s
    /// [`Canceller`](crate::Canceller) fires.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as `next`.
    pub async fn next_cancellable(
        &mut self,
        handle: &crate::CancelHandle,
    ) -> Option<io::Result<RingBuf>> {
        let mut registration = handle.registration();
        std::future::poll_fn(|cx| {
            if !self.cancelled && handle.is_cancelled() {
                self.cancel();
            }
            let next = self.poll_next(cx);
            if next.is_pending() && !self.cancelled {
                registration.register(cx.waker());
                if handle.is_cancelled() {
                    cx.waker().wake_by_ref();
                }
            }
            next
        })
        .await
    }

    /// The next arrival; `None` at the end of stream.
    ///
    /// # Errors
    ///
    /// As `recv(2)`; the stream goes on after an error only if the socket
    /// does.
    pub async fn next(&mut self) -> Option<io::Result<RingBuf>> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Polls for the next arrival, as a `Stream`'s `poll_next`.
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<RingBuf>>> {
        if self.eof {
            return Poll::Ready(None);
        }
        if self.cancelled {
            return self.poll_cancelled(cx);
        }
        let driver = match self.socket.driver() {
            Ok(driver) => driver,
            Err(e) => return Poll::Ready(Some(Err(e))),
        };
        if !self.ring.is_registered() {
            return self.poll_pool(&driver, cx);
        }
        loop {
            let (socket, ring) = (self.socket, &self.ring);
            if self.multi.is_none() {
                self.armed_at = ring.returned();
            }
            let multi = self
                .multi
                .get_or_insert_with(|| driver.multi(RecvMulti::new(socket.raw(), ring)));
            match multi.poll_recv(cx) {
                Poll::Ready(Some(Ok(Some(buf)))) => return Poll::Ready(Some(Ok(buf))),
                Poll::Ready(Some(Ok(None))) => {
                    self.eof = true;
                    self.multi = None;
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(Err(e))) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    // The receive has ended (no buffer for what came): arm
                    // again once a buffer has come back since it was
                    // armed (not before: the kernel may hold buffers
                    // whose completions nobody has taken, and re-arming
                    // then would only fail again).
                    self.multi = None;
                    if self.ring.returned() == self.armed_at {
                        self.ring.wait_returned(cx.waker());
                        if self.ring.returned() == self.armed_at {
                            return Poll::Pending;
                        }
                    }
                }
                Poll::Ready(Some(Err(e))) if e.raw_os_error() == Some(libc::ECANCELED) => {}
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                // Ended (after an error, or the kernel's own reasons): arm
                // again.
                Poll::Ready(None) => self.multi = None,
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// After [`cancel`](RecvStream::cancel): what the receive in flight
    /// still yields, then `ECANCELED` once, then the end.
    fn poll_cancelled(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<RingBuf>>> {
        if let Some(multi) = &mut self.multi {
            loop {
                match multi.poll_recv(cx) {
                    Poll::Ready(Some(Ok(Some(buf)))) => return Poll::Ready(Some(Ok(buf))),
                    Poll::Ready(Some(Ok(None))) => {
                        self.multi = None;
                        self.eof = true;
                        return Poll::Ready(None);
                    }
                    // The cancel's own end, or no buffer left: over.
                    Poll::Ready(Some(Err(e)))
                        if matches!(e.raw_os_error(), Some(libc::ECANCELED | libc::ENOBUFS)) => {}
                    // A real error (a reset) is the caller's to see.
                    Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                    Poll::Ready(None) => break,
                    Poll::Pending => {
                        if !self.cancel_queued {
                            self.queue_cancel();
                            if !self.cancel_queued {
                                cx.waker().wake_by_ref();
                            }
                        }
                        return Poll::Pending;
                    }
                }
            }
            self.multi = None;
        }
        if let Some(op) = self.once.as_mut() {
            let Poll::Ready((result, buf)) = std::future::Future::poll(std::pin::Pin::new(op), cx)
            else {
                if !self.cancel_queued {
                    self.queue_cancel();
                    if !self.cancel_queued {
                        cx.waker().wake_by_ref();
                    }
                }
                return Poll::Pending;
            };
            self.once = None;
            match result {
                Ok(0) => {
                    self.eof = true;
                    return Poll::Ready(None);
                }
                Ok(_) => return Poll::Ready(Some(Ok(buf))),
                Err(e) if e.raw_os_error() == Some(libc::ECANCELED) => {}
                Err(e) => return Poll::Ready(Some(Err(e))),
            }
        }
        self.eof = true;
        Poll::Ready(Some(Err(io::Error::from_raw_os_error(libc::ECANCELED))))
    }

    /// A user-space pool: one receive into a free buffer at a time.
    fn poll_pool(
        &mut self,
        driver: &rentio_driver::Driver,
        cx: &mut Context<'_>,
    ) -> Poll<Option<io::Result<RingBuf>>> {
        if self.once.is_none() {
            let Some(buf) = self.ring.take() else {
                self.ring.wait_returned(cx.waker());
                return Poll::Pending;
            };
            self.once = Some(driver.op(self.socket.stream_recv(buf)));
        }
        let Some(op) = self.once.as_mut() else {
            unreachable!("set just above")
        };
        let Poll::Ready((result, buf)) = std::future::Future::poll(std::pin::Pin::new(op), cx)
        else {
            return Poll::Pending;
        };
        self.once = None;
        match result {
            Ok(0) => {
                self.eof = true;
                Poll::Ready(None)
            }
            Ok(_) => Poll::Ready(Some(Ok(buf))),
            Err(e) => Poll::Ready(Some(Err(e))),
        }
    }
}

impl Drop for RecvStream<'_> {
    fn drop(&mut self) {
        // An armed multishot may still hand out buffers: drain it on a
        // task, so they return to the ring (their data is dropped).
        let Some(multi) = self.multi.take() else {
            return;
        };
        if multi.key().is_none() {
            return;
        }
        if rentio_executor::Handle::current().is_err() {
            // No runtime (it is shutting down): the driver reaps the
            // completions; their buffers stay out of the ring, which
            // goes with it.
            return;
        }
        let mut multi = multi;
        let _ = multi.cancel();
        drop(rentio_executor::spawn(async move {
            while let Some(next) = std::future::poll_fn(|cx| multi.poll_recv(cx)).await {
                drop(next);
            }
        }));
    }
}

impl std::fmt::Debug for RecvStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvStream")
            .field("fd", &self.socket.raw())
            .field("ring", &self.ring)
            .field("eof", &self.eof)
            .finish()
    }
}
