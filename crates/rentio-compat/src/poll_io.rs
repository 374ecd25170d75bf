//! Poll-io streams: tokio's and futures-io's IO traits straight on a
//! rentio stream's fd, with no copy.
//!
//! Readiness is cached per direction, as tokio caches it. While the
//! stream may be readable, a read tries a non-blocking `recv` straight
//! into the caller's buffer; on `EAGAIN` it clears the readiness and waits
//! for the next readiness event through the runtime's own driver (the
//! stream's `poll_read_ready`: a multishot `PollAdd` on io_uring, armed
//! once and kept; the poller on readiness), then tries again. Writes do
//! the same with `send`.
//!
//! A short read drains a TCP socket, so it clears the readiness too, and
//! the next read waits instead of making a `recv` bound to fail (hyper
//! polls its read side again after every request; tokio saves the same
//! syscall). No wake-up is lost to data that comes after that read: the
//! kernel reports every readiness edge after the clear. Two cases have no
//! edge to come, and are never taken for drained: once the peer shut down
//! (or an error showed) a short read may stop at end of stream, so from
//! then on only `EAGAIN` clears; and on a Unix stream a read stops early
//! at a message that carried fds while more data waits behind it, so only
//! `EAGAIN` clears there. A spurious wake (an edge from before the clear)
//! costs one `EAGAIN`.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, ready};

use rentio_driver::coop;
use rentio_net::{TcpStream, UnixStream};
use rustix::io::Errno;
use rustix::net::{RecvFlags, SendAncillaryBuffer, SendFlags, Shutdown};

/// A rentio stream with readiness methods: what [`PollIo`] runs on.
pub trait PollStream: AsFd + sealed::Sealed {
    /// Whether a short read means the socket is drained (TCP, not Unix).
    const SHORT_READ_DRAINS: bool;

    /// Polls for read readiness (see `TcpStream::poll_read_ready`).
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Clears the cached read readiness (see `TcpStream::clear_read_ready`).
    fn clear_read_ready(&self);

    /// A short read drained the stream (see `TcpStream::read_drained`).
    fn read_drained(&self);

    /// Polls for write readiness (see `TcpStream::poll_write_ready`).
    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Clears the cached write readiness.
    fn clear_write_ready(&self);

    /// Drops the readiness waits (see `TcpStream::reset_readiness`).
    fn reset_readiness(&self);
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for rentio_net::TcpStream {}
    impl Sealed for rentio_net::UnixStream {}
}

macro_rules! poll_stream {
    ($t:ty, $drains:expr) => {
        impl PollStream for $t {
            const SHORT_READ_DRAINS: bool = $drains;

            fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                <$t>::poll_read_ready(self, cx)
            }

            fn clear_read_ready(&self) {
                <$t>::clear_read_ready(self)
            }

            fn read_drained(&self) {
                <$t>::read_drained(self)
            }

            fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                <$t>::poll_write_ready(self, cx)
            }

            fn clear_write_ready(&self) {
                <$t>::clear_write_ready(self)
            }

            fn reset_readiness(&self) {
                <$t>::reset_readiness(self)
            }
        }

        impl IntoPollIo for $t {
            fn into_poll_io(self) -> PollIo<$t> {
                PollIo::new(self)
            }
        }
    };
}

poll_stream!(TcpStream, true);
poll_stream!(UnixStream, false);

/// tokio's [`AsyncRead`](tokio::io::AsyncRead)/[`AsyncWrite`](tokio::io::AsyncWrite)
/// and futures-io's traits on a rentio stream, with no copy: reads go
/// straight into the caller's buffer and writes straight from its slice.
///
/// Get one with [`IntoPollIo::into_poll_io`] and go back with
/// [`into_rent_io`](PollIo::into_rent_io). To read and write from two
/// tasks, split it with [`into_split`](PollIo::into_split) (no lock) or
/// `tokio::io::split`; a read and a write may wait at once.
///
/// # Cancel safety
///
/// Every poll method is cancel safe: nothing is in flight between polls
/// but a readiness wait, which owns no buffer; a read or write that
/// returned `Pending` moved no bytes.
///
/// # Examples
///
/// ```
/// use rentio_compat::IntoPollIo;
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// rentio_executor::Runtime::new()?.block_on(async {
///     let (a, b) = rentio_net::UnixStream::pair()?;
///     let (mut a, mut b) = (a.into_poll_io(), b.into_poll_io());
///     a.write_all(b"no copy").await?;
///     let mut got = [0u8; 7];
///     b.read_exact(&mut got).await?;
///     assert_eq!(&got, b"no copy");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct PollIo<S> {
    stream: S,
}

/// A [`TcpStream`] with tokio's and futures-io's traits, no copy.
pub type TcpStreamPoll = PollIo<TcpStream>;

/// A [`UnixStream`] with tokio's and futures-io's traits, no copy.
pub type UnixStreamPoll = PollIo<UnixStream>;

/// Turns a rentio stream into its poll-io form ([`PollIo`]).
pub trait IntoPollIo: PollStream + Sized {
    /// The stream with tokio's and futures-io's traits, no copy.
    fn into_poll_io(self) -> PollIo<Self>;
}

impl<S: PollStream> PollIo<S> {
    /// Wraps `stream`.
    pub fn new(stream: S) -> PollIo<S> {
        PollIo { stream }
    }

    /// The stream back, for rent IO (its readiness waits dropped).
    pub fn into_rent_io(self) -> S {
        self.stream.reset_readiness();
        self.stream
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// Reads with `recv` (a non-blocking read of at most `len` bytes into
    /// the caller's buffer), waiting for readiness while the stream is not
    /// readable. `Ok(0)` with `len` non-zero is end of stream.
    fn poll_read_with(
        &self,
        cx: &mut Context<'_>,
        len: usize,
        mut recv: impl FnMut(BorrowedFd<'_>) -> rustix::io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        if len == 0 {
            return Poll::Ready(Ok(0));
        }
        // A stream that always has data must still let other tasks run.
        ready!(coop::poll_proceed(cx));
        let mut misses = 0;
        loop {
            ready!(self.stream.poll_read_ready(cx))?;
            match recv(self.stream.as_fd()) {
                Ok(n) => {
                    // Drained; end of stream (0) stays readable.
                    if S::SHORT_READ_DRAINS && n > 0 && n < len {
                        self.stream.read_drained();
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(Errno::AGAIN) => {
                    self.stream.clear_read_ready();
                    misses += 1;
                    // A stale edge (from before the last clear) costs one
                    // miss; a fresh one that finds nothing is odd: yield.
                    if misses > 2 {
                        return yield_now(cx);
                    }
                }
                Err(Errno::INTR) => {}
                Err(e) => return Poll::Ready(Err(e.into())),
            }
        }
    }

    /// Writes from `bufs` without blocking (`MSG_NOSIGNAL`: a reset peer
    /// is `EPIPE`, never `SIGPIPE`), waiting for readiness while the send
    /// buffer is full.
    fn poll_send(&self, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let flags = SendFlags::DONTWAIT | SendFlags::NOSIGNAL;
        let len: usize = bufs.iter().map(|b| b.len()).sum();
        if len == 0 {
            return Poll::Ready(Ok(0));
        }
        ready!(coop::poll_proceed(cx));
        let mut misses = 0;
        loop {
            ready!(self.stream.poll_write_ready(cx))?;
            let sent = match bufs {
                [] => return Poll::Ready(Ok(0)),
                [one] => rustix::net::send(self.stream.as_fd(), one, flags),
                many => rustix::net::sendmsg(
                    self.stream.as_fd(),
                    many,
                    &mut SendAncillaryBuffer::default(),
                    flags,
                ),
            };
            match sent {
                Ok(n) => {
                    // A short write filled the send buffer.
                    if n < len {
                        self.stream.clear_write_ready();
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(Errno::AGAIN) => {
                    self.stream.clear_write_ready();
                    misses += 1;
                    if misses > 2 {
                        return yield_now(cx);
                    }
                }
                Err(Errno::INTR) => {}
                Err(e) => return Poll::Ready(Err(e.into())),
            }
        }
    }

    /// Shuts down the write side (a TCP FIN); a second call, or a peer
    /// already gone, is fine.
    fn shutdown_write(&self) -> io::Result<()> {
        match rustix::net::shutdown(self.stream.as_fd(), Shutdown::Write) {
            Ok(()) | Err(Errno::NOTCONN) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// A fresh readiness wait fired and the syscall still found nothing (an
/// error condition such as a pending `POLLERR` with no data): try again on
/// the task's next poll rather than spin inside this one.
fn yield_now<T>(cx: &mut Context<'_>) -> Poll<T> {
    cx.waker().wake_by_ref();
    Poll::Pending
}

impl<S: PollStream> PollIo<S> {
    /// tokio's `poll_read`.
    // Reads into the unfilled part as it is: zeroing it first (hyper hands
    // over 8 KiB and more, uninitialized, for every read) costs more than
    // the read.
    #[allow(unsafe_code)]
    fn poll_read_buf(
        &self,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // SAFETY: `recv` only writes into the slice, never de-initializes
        // what it holds, and we mark as filled only the bytes it wrote.
        let unfilled = unsafe { buf.unfilled_mut() };
        let len = unfilled.len();
        let n = ready!(self.poll_read_with(cx, len, |fd| {
            rustix::net::recv(fd, &mut *unfilled, RecvFlags::DONTWAIT)
                .map(|((read, _), _)| read.len())
        }))?;
        // SAFETY: the kernel wrote (so initialized) the first `n` bytes of
        // the unfilled part.
        unsafe { buf.assume_init(n) };
        buf.advance(n);
        Poll::Ready(Ok(()))
    }

    /// futures-io's `poll_read`.
    fn poll_read_slice(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let len = buf.len();
        self.poll_read_with(cx, len, |fd| {
            rustix::net::recv(fd, &mut *buf, RecvFlags::DONTWAIT).map(|(n, _)| n)
        })
    }
}

/// tokio's and futures-io's read traits for a type whose `io()` is a
/// `&PollIo<S>`.
macro_rules! read_traits {
    ($t:ident) => {
        impl<S: PollStream> tokio::io::AsyncRead for $t<S> {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                self.io().poll_read_buf(cx, buf)
            }
        }

        impl<S: PollStream> futures_io::AsyncRead for $t<S> {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.io().poll_read_slice(cx, buf)
            }
        }
    };
}

/// tokio's and futures-io's write traits, as [`read_traits`] does.
macro_rules! write_traits {
    ($t:ident) => {
        impl<S: PollStream> tokio::io::AsyncWrite for $t<S> {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.io().poll_send(cx, &[io::IoSlice::new(buf)])
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                // At most UIO_MAXIOV slices go in one sendmsg.
                self.io().poll_send(cx, &bufs[..bufs.len().min(1024)])
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                // Nothing is buffered: a write that returned was sent.
                Poll::Ready(Ok(()))
            }

            fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.io().shutdown_write())
            }
        }

        impl<S: PollStream> futures_io::AsyncWrite for $t<S> {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.io().poll_send(cx, &[io::IoSlice::new(buf)])
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.io().poll_send(cx, &bufs[..bufs.len().min(1024)])
            }

            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.io().shutdown_write())
            }
        }
    };
}

impl<S> PollIo<S> {
    fn io(&self) -> &PollIo<S> {
        self
    }
}

read_traits!(PollIo);
write_traits!(PollIo);

impl<S: PollStream> PollIo<S> {
    /// Splits into owned halves, for a reader task and a writer task (a
    /// read and a write may wait at once); no lock, unlike
    /// `tokio::io::split`. Dropping the write half shuts down the write
    /// side, as tokio's `OwnedWriteHalf` does;
    /// [`reunite`](PollReadHalf::reunite) puts the halves back together.
    ///
    /// # Examples
    ///
    /// ```
    /// use rentio_compat::IntoPollIo;
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// rentio_executor::Runtime::new()?.block_on(async {
    ///     let (a, b) = rentio_net::UnixStream::pair()?;
    ///     let (mut read, mut write) = a.into_poll_io().into_split();
    ///     let echo = rentio_executor::spawn(async move {
    ///         let mut b = b.into_poll_io();
    ///         let mut got = [0u8; 4];
    ///         b.read_exact(&mut got).await?;
    ///         b.write_all(&got).await
    ///     });
    ///     write.write_all(b"ping").await?;
    ///     let mut got = [0u8; 4];
    ///     read.read_exact(&mut got).await?;
    ///     assert_eq!(&got, b"ping");
    ///     echo.await.expect("echo task")?;
    ///     let stream = read.reunite(write).expect("halves of one stream");
    ///     drop(stream.into_rent_io());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_split(self) -> (PollReadHalf<S>, PollWriteHalf<S>) {
        let io = Rc::new(self);
        (
            PollReadHalf { io: io.clone() },
            PollWriteHalf {
                io,
                shut_down_on_drop: true,
            },
        )
    }
}

/// The read half of a [`PollIo`] ([`PollIo::into_split`]): tokio's and
/// futures-io's read traits.
#[derive(Debug)]
pub struct PollReadHalf<S> {
    io: Rc<PollIo<S>>,
}

/// The write half of a [`PollIo`] ([`PollIo::into_split`]): tokio's and
/// futures-io's write traits. Dropping it shuts down the write side (a TCP
/// FIN), unless it is [reunited](PollReadHalf::reunite).
#[derive(Debug)]
pub struct PollWriteHalf<S: PollStream> {
    io: Rc<PollIo<S>>,
    shut_down_on_drop: bool,
}

impl<S> PollReadHalf<S> {
    fn io(&self) -> &PollIo<S> {
        &self.io
    }
}

impl<S: PollStream> PollWriteHalf<S> {
    fn io(&self) -> &PollIo<S> {
        &self.io
    }
}

read_traits!(PollReadHalf);
write_traits!(PollWriteHalf);

impl<S: PollStream> PollReadHalf<S> {
    /// The stream again, from its two halves.
    ///
    /// # Errors
    ///
    /// Halves of two different streams, given back.
    pub fn reunite(self, mut write: PollWriteHalf<S>) -> Result<PollIo<S>, ReuniteError<S>> {
        if !Rc::ptr_eq(&self.io, &write.io) {
            return Err(ReuniteError(self, write));
        }
        write.shut_down_on_drop = false;
        drop(write);
        match Rc::try_unwrap(self.io) {
            Ok(io) => Ok(io),
            Err(_) => unreachable!("only the two halves share a split stream"),
        }
    }
}

impl<S: PollStream> Drop for PollWriteHalf<S> {
    fn drop(&mut self) {
        if self.shut_down_on_drop {
            // As tokio's: the peer sees the end; an error has nobody to go to.
            let _ = self.io.shutdown_write();
        }
    }
}

/// [`PollReadHalf::reunite`] was given halves of two different streams;
/// here they are back.
#[derive(Debug)]
pub struct ReuniteError<S: PollStream>(pub PollReadHalf<S>, pub PollWriteHalf<S>);

impl<S: PollStream> std::fmt::Display for ReuniteError<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("rentio-compat: these halves are of two different streams")
    }
}

impl<S: PollStream + std::fmt::Debug> std::error::Error for ReuniteError<S> {}

/// The tokio-compatible form of a rentio stream, on either backend: the
/// zero-copy [`PollIo`] (readiness through the driver, then a non-blocking
/// syscall straight into the caller's buffer). For any other rent-IO type,
/// wrap it in [`Compat`](crate::Compat), the copy path.
///
/// ```
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// rentio_executor::Runtime::new()?.block_on(async {
///     let (a, b) = rentio_net::UnixStream::pair()?;
///     let (mut a, mut b) = (rentio_compat::tokio_io(a), rentio_compat::tokio_io(b));
///     a.write_all(b"ping").await?;
///     let mut got = [0u8; 4];
///     b.read_exact(&mut got).await?;
///     assert_eq!(&got, b"ping");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn tokio_io<S: IntoPollIo>(stream: S) -> PollIo<S> {
    stream.into_poll_io()
}
