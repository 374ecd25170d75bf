//! Owned read and write halves of a stream socket.
//!
//! Both halves share the socket through an `Rc`; reads and writes only
//! need its fd, so the halves never alias a `&mut` (monoio's halves do).

use std::fmt;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;

use crate::socket::Socket;

/// Implements the rent IO traits for a type whose `socket` field is (or
/// derefs to) a [`Socket`]: `read` for the read side, `write` for the
/// write side, `both` for a whole stream.
macro_rules! rent_io {
    (read: [$($g:ident)*] $t:ty) => {
        impl<$($g)*> rentio_io::AsyncReadRent for $t {
            fn read<T: rentio_buf::IoBufMut>(
                &mut self,
                buf: T,
            ) -> impl Future<Output = rentio_buf::BufResult<usize, T>> {
                self.socket.recv_stream(buf)
            }

            fn readv<T: rentio_buf::IoVecBufMut>(
                &mut self,
                buf: T,
            ) -> impl Future<Output = rentio_buf::BufResult<usize, T>> {
                self.socket.readv(buf)
            }
        }
    };
    (write: [$($g:ident)*] $t:ty) => {
        impl<$($g)*> rentio_io::AsyncWriteRent for $t {
            fn write<T: rentio_buf::IoBuf>(
                &mut self,
                buf: T,
            ) -> impl Future<Output = rentio_buf::BufResult<usize, T>> {
                self.socket.send(buf)
            }

            fn writev<T: rentio_buf::IoVecBuf>(
                &mut self,
                buf: T,
            ) -> impl Future<Output = rentio_buf::BufResult<usize, T>> {
                self.socket.writev(buf)
            }

            async fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }

            async fn shutdown(&mut self) -> std::io::Result<()> {
                self.socket.shutdown(std::net::Shutdown::Write).await
            }
        }
    };
    (both: $t:ident) => {
        $crate::split::rent_io!(read: [] $t);
        $crate::split::rent_io!(write: [] $t);

        impl $crate::split::sealed::Sealed for $t {
            fn into_shared(self) -> std::rc::Rc<$crate::socket::Socket> {
                self.socket
            }

            fn from_shared(socket: std::rc::Rc<$crate::socket::Socket>) -> $t {
                $t { socket }
            }
        }

        impl $crate::split::Split for $t {}
    };
}
pub(crate) use rent_io;

/// A stream's readiness methods (`poll_read_ready`, `clear_read_ready`
/// and their write twins), for a type whose `socket` field derefs to a
/// [`Socket`].
macro_rules! poll_ready_methods {
    () => {
        /// Polls for read readiness: `Ready(Ok(()))` while the socket may
        /// be readable (or has an error, or the peer hung up). Readiness is
        /// cached, as tokio's is: it holds until
        /// [`clear_read_ready`](Self::clear_read_ready), and then this
        /// waits for the next readiness event from the runtime's driver (a
        /// multishot `PollAdd` on io_uring, the poller on readiness).
        ///
        /// Readiness can be spurious: a non-blocking read may still find
        /// nothing (`WouldBlock`); call `clear_read_ready` then and poll
        /// again. Only the last task to poll is woken, as with tokio's
        /// `poll_read_ready`; a reader and a writer may wait at once.
        ///
        /// # Errors
        ///
        /// A socket used from another runtime, or the driver's error.
        ///
        /// # Examples
        ///
        /// ```
        /// use std::future::poll_fn;
        /// use std::os::fd::AsFd;
        ///
        /// rentio_executor::Runtime::new()?.block_on(async {
        ///     let (a, b) = rentio_net::UnixStream::pair()?;
        ///     rustix::io::write(b.as_fd(), b"hi")?;
        ///     let mut buf = [0u8; 8];
        ///     let n = loop {
        ///         poll_fn(|cx| a.poll_read_ready(cx)).await?;
        ///         match rustix::io::read(a.as_fd(), &mut buf) {
        ///             Ok(n) => break n,
        ///             Err(rustix::io::Errno::AGAIN) => a.clear_read_ready(),
        ///             Err(e) => return Err(e.into()),
        ///         }
        ///     };
        ///     assert_eq!(&buf[..n], b"hi");
        ///     Ok::<(), std::io::Error>(())
        /// })?;
        /// # Ok::<(), std::io::Error>(())
        /// ```
        pub fn poll_read_ready(
            &self,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            self.socket.poll_ready(cx, rentio_driver::Interest::Read)
        }

        /// Says a non-blocking read found nothing (`WouldBlock`):
        /// [`poll_read_ready`](Self::poll_read_ready) now waits for the
        /// next readiness event.
        pub fn clear_read_ready(&self) {
            self.socket.clear_ready(rentio_driver::Interest::Read)
        }

        /// Says a non-blocking read came back short and so drained the
        /// socket, sparing the next read a syscall bound to say
        /// `WouldBlock`: as [`clear_read_ready`](Self::clear_read_ready),
        /// unless an event said the peer shut down (or an error), since a
        /// read may then stop short at end of stream with no event to
        /// follow. Only a TCP read drains when short: on a Unix stream a
        /// read stops early at a message that carried fds while more data
        /// waits behind it.
        pub fn read_drained(&self) {
            self.socket.read_drained()
        }

        /// Drops the readiness waits that
        /// [`poll_read_ready`](Self::poll_read_ready) and
        /// [`poll_write_ready`](Self::poll_write_ready) keep armed between
        /// calls, and forgets what they said: for a stream going back from
        /// readiness-based IO to rent IO, so that nothing armed keeps
        /// waking the last task that polled.
        pub fn reset_readiness(&self) {
            self.socket.reset_ready()
        }

        /// Polls for write readiness, as
        /// [`poll_read_ready`](Self::poll_read_ready) does for reads.
        ///
        /// # Errors
        ///
        /// As [`poll_read_ready`](Self::poll_read_ready).
        pub fn poll_write_ready(
            &self,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            self.socket.poll_ready(cx, rentio_driver::Interest::Write)
        }

        /// Says a non-blocking write found no room (`WouldBlock`), or
        /// filled the send buffer (a short write):
        /// [`poll_write_ready`](Self::poll_write_ready) now waits for the
        /// next readiness event.
        pub fn clear_write_ready(&self) {
            self.socket.clear_ready(rentio_driver::Interest::Write)
        }
    };
}
pub(crate) use poll_ready_methods;

/// A stream type that splits into owned halves.
pub trait Split: Sized + sealed::Sealed {
    /// Splits into owned halves usable from two tasks (the stream type's
    /// own `into_split`, for generic code).
    fn into_split(self) -> (OwnedReadHalf<Self>, OwnedWriteHalf<Self>) {
        split(self)
    }
}

pub(crate) mod sealed {
    use std::rc::Rc;

    use crate::socket::Socket;

    pub trait Sealed {
        fn into_shared(self) -> Rc<Socket>;
        fn from_shared(socket: Rc<Socket>) -> Self;
    }
}

/// The read half of a split stream (see `into_split`).
pub struct OwnedReadHalf<S> {
    pub(crate) socket: Rc<Socket>,
    _stream: std::marker::PhantomData<S>,
}

/// The write half of a split stream. Dropping it shuts down the write side
/// (the peer reads end of stream), as tokio's does.
pub struct OwnedWriteHalf<S> {
    pub(crate) socket: Rc<Socket>,
    shutdown_on_drop: bool,
    _stream: std::marker::PhantomData<S>,
}

/// Halves of two different streams were passed to `reunite`.
pub struct ReuniteError<S>(pub OwnedReadHalf<S>, pub OwnedWriteHalf<S>);

impl<S> fmt::Debug for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReuniteError(..)")
    }
}

impl<S> fmt::Display for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("rentio-net: the halves belong to different streams")
    }
}

impl<S> std::error::Error for ReuniteError<S> {}

pub(crate) fn split<S: Split>(stream: S) -> (OwnedReadHalf<S>, OwnedWriteHalf<S>) {
    let socket = stream.into_shared();
    (
        OwnedReadHalf {
            socket: socket.clone(),
            _stream: std::marker::PhantomData,
        },
        OwnedWriteHalf {
            socket,
            shutdown_on_drop: true,
            _stream: std::marker::PhantomData,
        },
    )
}

impl<S: Split> OwnedReadHalf<S> {
    /// The data this half receives, each arrival in a buffer of `ring`:
    /// see [`RecvStream`](crate::RecvStream). With the write half, a
    /// connection can send while its receive stays armed.
    pub fn recv_stream(&self, ring: &rentio_driver::BufRing) -> crate::RecvStream<'_> {
        crate::RecvStream::new(&self.socket, ring)
    }

    /// Puts the stream back together.
    ///
    /// # Errors
    ///
    /// The two halves, if they come from different streams.
    pub fn reunite(self, mut write: OwnedWriteHalf<S>) -> Result<S, ReuniteError<S>> {
        if !Rc::ptr_eq(&self.socket, &write.socket) {
            return Err(ReuniteError(self, write));
        }
        write.shutdown_on_drop = false;
        drop(write);
        Ok(S::from_shared(self.socket))
    }
}

impl<S: Split> OwnedWriteHalf<S> {
    /// Puts the stream back together.
    ///
    /// # Errors
    ///
    /// The two halves, if they come from different streams.
    pub fn reunite(self, read: OwnedReadHalf<S>) -> Result<S, ReuniteError<S>> {
        read.reunite(self)
    }
}

rent_io!(read: [S] OwnedReadHalf<S>);
rent_io!(write: [S] OwnedWriteHalf<S>);

impl<S> Drop for OwnedWriteHalf<S> {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // SAFETY: plain syscall on the socket's fd, which is open.
            unsafe { libc::shutdown(self.socket.raw(), libc::SHUT_WR) };
        }
    }
}

impl<S> AsRawFd for OwnedReadHalf<S> {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.raw()
    }
}

impl<S> AsRawFd for OwnedWriteHalf<S> {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.raw()
    }
}

impl<S> std::os::fd::AsFd for OwnedReadHalf<S> {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.socket.fd()
    }
}

impl<S> std::os::fd::AsFd for OwnedWriteHalf<S> {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.socket.fd()
    }
}

impl<S> fmt::Debug for OwnedReadHalf<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedReadHalf")
            .field("fd", &self.socket.raw())
            .finish()
    }
}

impl<S> fmt::Debug for OwnedWriteHalf<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedWriteHalf")
            .field("fd", &self.socket.raw())
            .finish()
    }
}
