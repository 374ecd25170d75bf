//! Poll-io streams: tokio's and futures-io's IO traits straight on a
//! rentio stream's fd, with no copy.
//!
//! A read first tries a non-blocking `recv` into the caller's buffer; on
//! `EAGAIN` it waits for read readiness through the runtime's own driver
//! (the stream's `poll_read_ready`: a `PollAdd` on io_uring, the poller on
//! readiness) and tries again. Writes do the same with `send`. Nothing is
//! inferred from a short read: the next read always tries its syscall
//! first, so no wake-up can be lost to data that came in between, and a
//! spurious wake only costs one `EAGAIN`.

use std::io;
use std::os::fd::AsFd;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use rentio_driver::coop;
use rentio_net::{TcpStream, UnixStream};
use rustix::io::Errno;
use rustix::net::{RecvFlags, SendAncillaryBuffer, SendFlags, Shutdown};

/// A rentio stream with readiness methods: what [`PollIo`] runs on.
pub trait PollStream: AsFd + sealed::Sealed {
    /// Polls for read readiness (see `TcpStream::poll_read_ready`).
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Polls for write readiness (see `TcpStream::poll_write_ready`).
    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for rentio_net::TcpStream {}
    impl Sealed for rentio_net::UnixStream {}
}

macro_rules! poll_stream {
    ($t:ty) => {
        impl PollStream for $t {
            fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                <$t>::poll_read_ready(self, cx)
            }

            fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                <$t>::poll_write_ready(self, cx)
            }
        }

        impl IntoPollIo for $t {
            fn into_poll_io(self) -> PollIo<$t> {
                PollIo::new(self)
            }
        }
    };
}

poll_stream!(TcpStream);
poll_stream!(UnixStream);

/// tokio's [`AsyncRead`](tokio::io::AsyncRead)/[`AsyncWrite`](tokio::io::AsyncWrite)
/// and futures-io's traits on a rentio stream, with no copy: reads go
/// straight into the caller's buffer and writes straight from its slice.
///
/// Get one with [`IntoPollIo::into_poll_io`] and go back with
/// [`into_rent_io`](PollIo::into_rent_io). To read and write from two
/// tasks, split it with `tokio::io::split`; a read and a write may wait at
/// once.
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

    /// The stream back, for rent IO.
    pub fn into_rent_io(self) -> S {
        self.stream
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// Reads into `buf` without blocking, waiting for readiness on
    /// `EAGAIN`. `Ok(0)` with `buf` non-empty is end of stream.
    fn poll_read_slice(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        // A stream that always has data must still let other tasks run.
        ready!(coop::poll_proceed(cx));
        let mut waits = 0;
        loop {
            match rustix::net::recv(self.stream.as_fd(), &mut *buf, RecvFlags::DONTWAIT) {
                Ok((n, _)) => return Poll::Ready(Ok(n)),
                // A wait that fired before the last syscall (the task woke,
                // read, and drained the socket) is stale: one more wait.
                // A fresh one that fires and finds nothing is odd: yield.
                Err(Errno::AGAIN) if waits >= 2 => return yield_now(cx),
                Err(Errno::AGAIN) => {
                    ready!(self.stream.poll_read_ready(cx))?;
                    waits += 1;
                }
                Err(Errno::INTR) => {}
                Err(e) => return Poll::Ready(Err(e.into())),
            }
        }
    }

    /// Writes from `bufs` without blocking (`MSG_NOSIGNAL`: a reset peer
    /// is `EPIPE`, never `SIGPIPE`), waiting for readiness on `EAGAIN`.
    fn poll_send(&self, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let flags = SendFlags::DONTWAIT | SendFlags::NOSIGNAL;
        if bufs.iter().all(|b| b.is_empty()) {
            return Poll::Ready(Ok(0));
        }
        ready!(coop::poll_proceed(cx));
        let mut waits = 0;
        loop {
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
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(Errno::AGAIN) if waits >= 2 => return yield_now(cx),
                Err(Errno::AGAIN) => {
                    ready!(self.stream.poll_write_ready(cx))?;
                    waits += 1;
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

impl<S: PollStream> tokio::io::AsyncRead for PollIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = ready!(self.poll_read_slice(cx, buf.initialize_unfilled()))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<S: PollStream> tokio::io::AsyncWrite for PollIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_send(cx, &[io::IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // At most UIO_MAXIOV slices go in one sendmsg.
        self.poll_send(cx, &bufs[..bufs.len().min(1024)])
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Nothing is buffered: a write that returned was sent.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown_write())
    }
}

impl<S: PollStream> futures_io::AsyncRead for PollIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_slice(cx, buf)
    }
}

impl<S: PollStream> futures_io::AsyncWrite for PollIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_send(cx, &[io::IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_send(cx, &bufs[..bufs.len().min(1024)])
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown_write())
    }
}

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
