//! [`Cancellable`]: every rent-IO op of a socket, cancelled through a
//! [`CancelHandle`] with its buffer and the bytes already moved kept.

use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::unix::net::SocketAddr as UnixAddr;

use rentio_buf::{BufResult, IoBuf, IoBufMut, IoVecBuf, IoVecBufMut};
use rentio_driver::op::{Readv, Send, SendMsg};
use rentio_io::{AsyncReadRent, AsyncWriteRent};

use crate::cancel::CancelHandle;
use crate::{
    OwnedReadHalf, OwnedWriteHalf, TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixListener,
    UnixStream,
};

/// A socket whose ops a [`Canceller`](crate::Canceller) can cancel, from
/// `with_cancel` on any socket type, a split half or a listener.
///
/// Each op runs as the socket's own would; once the canceller fires, the
/// op in flight is cancelled through the driver (`IORING_OP_ASYNC_CANCEL`,
/// or at once on the readiness backend) and still resolves: a read or
/// write gives back its buffer, with `Ok(n)` if the kernel moved `n`
/// bytes before the cancel took effect, else `ECANCELED`
/// (`raw_os_error() == Some(libc::ECANCELED)`). Nothing is lost: a
/// cancelled read took no bytes it does not report, and a cancelled write
/// says how far it got. An op started after the cancel ends at once with
/// `ECANCELED`, without reaching the kernel.
///
/// Streams and split halves implement [`AsyncReadRent`] and
/// [`AsyncWriteRent`], so `read_exact`, `write_all` and the rest of
/// `rentio-io` work on the view; datagram sockets have `send`, `recv`,
/// `send_to` and `recv_from`; listeners have `accept`. Those helpers
/// loop over single ops and give the buffer back on an error, but not
/// how far they got: for an exact count under a cancel, loop over
/// `write` (or `read`) yourself.
///
/// ```no_run
/// use std::time::Duration;
/// use rentio_io::AsyncWriteRent;
/// use rentio_net::{Canceller, TcpStream};
///
/// # async fn f(stream: TcpStream) {
/// // A deadline on a write: the timer task cancels it.
/// let canceller = Canceller::new();
/// let handle = canceller.handle();
/// let mut view = stream.with_cancel(&handle);
/// let write = view.write(vec![0u8; 1 << 20]);
/// # canceller.cancel();
/// let (result, buf) = write.await; // Ok(n): n bytes went; ECANCELED: none
/// # let _ = (result, buf);
/// # }
/// ```
#[derive(Debug)]
pub struct Cancellable<'a, S> {
    io: &'a S,
    handle: &'a CancelHandle,
}

impl<'a, S> Cancellable<'a, S> {
    /// The socket.
    pub fn get_ref(&self) -> &'a S {
        self.io
    }

    /// The handle the ops are cancelled through.
    pub fn handle(&self) -> &'a CancelHandle {
        self.handle
    }
}

macro_rules! with_cancel {
    ([$($g:ident)*] $t:ty) => {
        impl<$($g)*> $t {
            /// A view of this socket whose ops `handle`'s
            /// [`Canceller`](crate::Canceller) can cancel, keeping their
            /// buffers and the bytes done (see [`Cancellable`]).
            pub fn with_cancel<'a>(&'a self, handle: &'a CancelHandle) -> Cancellable<'a, Self> {
                Cancellable { io: self, handle }
            }
        }
    };
}

with_cancel!([] TcpStream);
with_cancel!([] UnixStream);
with_cancel!([S] OwnedReadHalf<S>);
with_cancel!([S] OwnedWriteHalf<S>);
with_cancel!([] UdpSocket);
with_cancel!([] UnixDatagram);
with_cancel!([] TcpListener);
with_cancel!([] UnixListener);

/// The rent traits on the view of a stream or half whose `socket` field
/// derefs to a `Socket`.
macro_rules! cancellable_io {
    (read: [$($g:ident)*] $t:ty) => {
        /// Reads, cancelled through the view's handle (see [`Cancellable`]).
        ///
        /// # Cancel safety
        ///
        /// Cancel through the handle to keep the buffer and what was
        /// read; dropping the future is as dropping the socket's own read.
        impl<$($g)*> AsyncReadRent for Cancellable<'_, $t> {
            fn read<T: IoBufMut>(&mut self, buf: T) -> impl Future<Output = BufResult<usize, T>> {
                let socket = &*self.io.socket;
                socket.run(socket.stream_recv(buf), Some(self.handle))
            }

            fn readv<T: IoVecBufMut>(
                &mut self,
                bufs: T,
            ) -> impl Future<Output = BufResult<usize, T>> {
                let socket = &*self.io.socket;
                socket.run(Readv::new(socket.raw(), bufs), Some(self.handle))
            }
        }
    };
    (write: [$($g:ident)*] $t:ty) => {
        /// Writes, cancelled through the view's handle (see
        /// [`Cancellable`]).
        ///
        /// # Cancel safety
        ///
        /// Cancel through the handle to keep the buffer and learn how
        /// many bytes went; dropping the future is as dropping the
        /// socket's own write.
        impl<$($g)*> AsyncWriteRent for Cancellable<'_, $t> {
            fn write<T: IoBuf>(&mut self, buf: T) -> impl Future<Output = BufResult<usize, T>> {
                let socket = &*self.io.socket;
                socket.run(Send::new(socket.raw(), buf), Some(self.handle))
            }

            fn writev<T: IoVecBuf>(
                &mut self,
                bufs: T,
            ) -> impl Future<Output = BufResult<usize, T>> {
                let socket = &*self.io.socket;
                socket.run(SendMsg::new(socket.raw(), bufs, None), Some(self.handle))
            }

            async fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }

            async fn shutdown(&mut self) -> io::Result<()> {
                self.io
                    .socket
                    .shutdown_with(Shutdown::Write, Some(self.handle))
                    .await
            }
        }
    };
}

cancellable_io!(read: [] TcpStream);
cancellable_io!(write: [] TcpStream);
cancellable_io!(read: [] UnixStream);
cancellable_io!(write: [] UnixStream);
cancellable_io!(read: [S] OwnedReadHalf<S>);
cancellable_io!(write: [S] OwnedWriteHalf<S>);

impl Cancellable<'_, TcpStream> {
    /// [`TcpStream::send_zc`], cancelled through the handle: the send is
    /// cancelled in the kernel and still resolves, with the count that
    /// went (or `ECANCELED`) and, once the kernel's notification says it
    /// let go of the pages, the buffer.
    ///
    /// # Cancel safety
    ///
    /// Cancel through the handle to keep the buffer and learn how many
    /// bytes went; dropping the future is as dropping `send_zc`'s.
    pub async fn send_zc<T: IoBuf>(&self, buf: T) -> BufResult<usize, T> {
        self.io.socket.send_zc_cancellable(buf, self.handle).await
    }
}

impl Cancellable<'_, UdpSocket> {
    /// [`UdpSocket::send`], cancelled through the handle.
    ///
    /// # Cancel safety
    ///
    /// Cancel through the handle to keep the buffer; `ECANCELED` means
    /// the datagram was not sent.
    pub async fn send<T: IoBuf>(&self, buf: T) -> BufResult<usize, T> {
        self.io.socket.send_with(buf, Some(self.handle)).await
    }

    /// [`UdpSocket::recv`], cancelled through the handle.
    ///
    /// # Cancel safety
    ///
    /// Cancel through the handle: `ECANCELED` means no datagram was
    /// taken, so none is lost.
    pub async fn recv<T: IoBufMut>(&self, buf: T) -> BufResult<usize, T> {
        self.io.socket.recv_with(buf, Some(self.handle)).await
    }

    /// [`UdpSocket::send_to`], cancelled through the handle.
    ///
    /// # Cancel safety
    ///
    /// As [`send`](Self::send).
    pub async fn send_to<T: IoBuf>(&self, buf: T, addr: SocketAddr) -> BufResult<usize, T> {
        self.io.send_to_with(buf, addr, Some(self.handle)).await
    }

    /// [`UdpSocket::recv_from`], cancelled through the handle.
    ///
    /// # Cancel safety
    ///
    /// As [`recv`](Self::recv).
    pub async fn recv_from<T: IoBufMut>(&self, buf: T) -> BufResult<(usize, SocketAddr), T> {
        self.io.recv_from_with(buf, Some(self.handle)).await
    }
}

impl Cancellable<'_, UnixDatagram> {
    /// [`UnixDatagram::send`], cancelled through the handle.
    ///
    /// # Cancel safety
    ///
    /// Cancel through the handle to keep the buffer; `ECANCELED` means
    /// the datagram was not sent.
    pub async fn send<T: IoBuf>(&self, buf: T) -> BufResult<usize, T> {
        self.io.socket.send_with(buf, Some(self.handle)).await
    }

    /// [`UnixDatagram::recv`], cancelled through the handle.
    ///
    /// # Cancel safety
    ///
    /// Cancel through the handle: `ECANCELED` means no datagram was
    /// taken, so none is lost.
    pub async fn recv<T: IoBufMut>(&self, buf: T) -> BufResult<usize, T> {
        self.io.socket.recv_with(buf, Some(self.handle)).await
    }

    /// [`UnixDatagram::send_to`], cancelled through the handle.
    ///
    /// # Cancel safety
    ///
    /// As [`send`](Self::send).
    pub async fn send_to<T: IoBuf>(&self, buf: T, addr: &UnixAddr) -> BufResult<usize, T> {
        self.io.send_to_with(buf, addr, Some(self.handle)).await
    }

    /// [`UnixDatagram::recv_from`], cancelled through the handle.
    ///
    /// # Cancel safety
    ///
    /// As [`recv`](Self::recv).
    pub async fn recv_from<T: IoBufMut>(&self, buf: T) -> BufResult<(usize, UnixAddr), T> {
        self.io.recv_from_with(buf, Some(self.handle)).await
    }
}

impl Cancellable<'_, TcpListener> {
    /// [`TcpListener::accept_cancellable`].
    ///
    /// # Cancel safety
    ///
    /// As [`TcpListener::accept_cancellable`]: nothing the kernel
    /// accepted is lost.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        self.io.accept_cancellable(self.handle).await
    }
}

impl Cancellable<'_, UnixListener> {
    /// [`UnixListener::accept_cancellable`].
    ///
    /// # Cancel safety
    ///
    /// As [`UnixListener::accept_cancellable`]: nothing the kernel
    /// accepted is lost.
    pub async fn accept(&self) -> io::Result<(UnixStream, UnixAddr)> {
        self.io.accept_cancellable(self.handle).await
    }
}
