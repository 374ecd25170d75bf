//! Unix domain sockets: streams, listeners and datagrams, with path and
//! abstract (Linux) addresses.

use std::io;
use std::net;
use std::os::fd::OwnedFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{self as unet, SocketAddr};
use std::path::Path;
use std::rc::Rc;

use rentio_buf::{BufResult, IoBuf, IoBufMut};
use rentio_driver::SockAddr;
use rentio_driver::op::{RecvMsg, SendMsg};

use crate::cancel::CancelHandle;
use crate::socket::Socket;
use crate::split::{self, OwnedReadHalf, OwnedWriteHalf};
use crate::tcp::{fd_traits, into_fd_traits};

/// A Unix stream listener.
pub struct UnixListener {
    /// Before `socket`: dropped first, so its armed accept's cancel is
    /// queued before the close submits what is queued (the port is free
    /// once the kernel has taken both).
    pub(crate) accepts: crate::accept::AcceptQueue,
    pub(crate) socket: Socket,
}

impl UnixListener {
    /// Binds to a filesystem path (which must not exist).
    ///
    /// # Errors
    ///
    /// `AddrInUse` if the path exists, or as `bind(2)`.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        unet::UnixListener::bind(path).map(UnixListener::from_std)
    }

    /// Binds to an address, e.g. an abstract one made with
    /// `SocketAddr::from_abstract_name` (`std::os::linux::net::SocketAddrExt`).
    ///
    /// # Errors
    ///
    /// As `bind(2)`.
    pub fn bind_addr(addr: &SocketAddr) -> io::Result<UnixListener> {
        unet::UnixListener::bind_addr(addr).map(UnixListener::from_std)
    }

    /// Accepts a connection, from the listener's queue of connections
    /// the kernel accepted (see [`TcpListener::accept`](crate::TcpListener::accept)).
    ///
    /// # Errors
    ///
    /// As `accept4(2)`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a connection accepted after the future was dropped
    /// stays queued for the next `accept`.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let fd = std::future::poll_fn(|cx| self.accepts.poll_accept(&self.socket, cx)).await?;
        let stream = UnixStream::from_socket(Socket::adopt(fd));
        let addr = stream.peer_addr()?;
        Ok((stream, addr))
    }

    /// An [`accept`](UnixListener::accept) that `handle`'s
    /// [`Canceller`](crate::Canceller) can end, awaited to its end (see
    /// [`TcpListener::accept_cancellable`](crate::TcpListener::accept_cancellable)).
    ///
    /// # Errors
    ///
    /// `ECANCELED` once cancelled and nothing is left in flight, else as
    /// [`accept`](UnixListener::accept).
    ///
    /// # Cancel safety
    ///
    /// Cancel through the handle: connections the kernel accepted before
    /// the cancel took effect come back as `Ok`, one per call, before the
    /// `ECANCELED`. Dropping the future is as dropping an `accept`.
    pub async fn accept_cancellable(
        &self,
        handle: &CancelHandle,
    ) -> io::Result<(UnixStream, SocketAddr)> {
        let mut registration = handle.registration();
        let fd = std::future::poll_fn(|cx| {
            registration.register(cx.waker());
            self.accepts
                .poll_accept_cancellable(&self.socket, handle, cx)
        })
        .await?;
        let stream = UnixStream::from_socket(Socket::adopt(fd));
        let addr = stream.peer_addr()?;
        Ok((stream, addr))
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// As `getsockname(2)`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket
            .with_std(|s: &unet::UnixListener| s.local_addr())
    }

    /// Wraps a std listener.
    pub fn from_std(listener: unet::UnixListener) -> UnixListener {
        UnixListener {
            socket: Socket::from_fd(listener.into()),
            accepts: Default::default(),
        }
    }

    /// Gives the listener back as a std one.
    ///
    /// Connections in its accept queue are closed, and its armed accept
    /// is cancelled.
    pub fn into_std(self) -> unet::UnixListener {
        let UnixListener { socket, accepts } = self;
        drop(accepts);
        unet::UnixListener::from(socket.into_fd())
    }
}

/// A Unix stream connection.
pub struct UnixStream {
    pub(crate) socket: Rc<Socket>,
}

impl UnixStream {
    fn from_socket(socket: Socket) -> UnixStream {
        UnixStream {
            socket: Rc::new(socket),
        }
    }

    /// Connects to the socket at a filesystem path.
    ///
    /// # Errors
    ///
    /// `NotFound`, `ConnectionRefused`, or as `connect(2)`.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future abandons the attempt.
    pub async fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        let addr = SocketAddr::from_pathname(path)?;
        UnixStream::connect_addr(&addr).await
    }

    /// Connects to an address (a path or an abstract name).
    ///
    /// # Errors
    ///
    /// As [`connect`](UnixStream::connect).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future abandons the attempt; the socket is closed.
    pub async fn connect_addr(addr: &SocketAddr) -> io::Result<UnixStream> {
        let raw = to_raw(addr)?;
        let socket = Socket::new(libc::AF_UNIX, libc::SOCK_STREAM)?;
        socket.connect(raw).await?;
        Ok(UnixStream::from_socket(socket))
    }

    /// A connected pair.
    ///
    /// # Errors
    ///
    /// As `socketpair(2)`.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = unet::UnixStream::pair()?;
        Ok((UnixStream::from_std(a), UnixStream::from_std(b)))
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// As `getpeername(2)`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.socket.with_std(|s: &unet::UnixStream| s.peer_addr())
    }

    /// This end's address.
    ///
    /// # Errors
    ///
    /// As `getsockname(2)`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.with_std(|s: &unet::UnixStream| s.local_addr())
    }

    /// Shuts down the read side, the write side or both.
    ///
    /// # Errors
    ///
    /// As `shutdown(2)`.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels the `shutdown`, which may or may not
    /// have taken effect; shutting the same side down again is harmless.
    pub async fn shutdown_with(&self, how: net::Shutdown) -> io::Result<()> {
        self.socket.shutdown(how).await
    }

    split::poll_ready_methods!();

    /// Splits into owned halves usable from two tasks.
    pub fn into_split(self) -> (OwnedReadHalf<UnixStream>, OwnedWriteHalf<UnixStream>) {
        split::split(self)
    }

    /// Wraps a std stream.
    pub fn from_std(stream: unet::UnixStream) -> UnixStream {
        UnixStream::from_socket(Socket::from_fd(stream.into()))
    }

    /// The data this stream receives, each arrival in a buffer of `ring`
    /// (which many streams may share): see [`RecvStream`](crate::RecvStream).
    /// With io_uring buffer rings an idle connection holds no receive
    /// buffer.
    ///
    /// ```no_run
    /// # async fn f(stream: rentio_net::UnixStream) -> std::io::Result<()> {
    /// let ring = rentio_net::BufRing::new(&rentio_executor::current_driver()?, 64, 16 << 10)?;
    /// let mut arrivals = stream.recv_stream(&ring);
    /// while let Some(buf) = arrivals.next().await {
    ///     let buf = buf?;
    ///     // … use &buf[..]; dropping it gives the buffer back
    /// #   drop(buf);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn recv_stream(&self, ring: &rentio_driver::BufRing) -> crate::RecvStream<'_> {
        crate::RecvStream::new(&self.socket, ring)
    }

    /// Takes the stream off this runtime, to be
    /// [`attach`](crate::Detached::attach)ed on another (a core of
    /// [`tpc`](rentio_executor::tpc), through
    /// [`Handle::spawn`](rentio_executor::Handle::spawn)). The ops that
    /// dropped futures left on the fd end first (on io_uring they are
    /// cancelled, and the cancel awaited), so nothing of this runtime acts
    /// on the socket once it moves, and no byte the peer sends is lost: it
    /// waits in the socket for the other core.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future closes the stream.
    pub async fn detach(self) -> crate::Detached<UnixStream> {
        crate::Detached::leave(Socket::unshare(self.socket)).await
    }

    /// Gives the stream back as a std one.
    ///
    /// # Errors
    ///
    /// If the stream is split (a half is still alive): it comes back.
    pub fn into_std(self) -> Result<unet::UnixStream, UnixStream> {
        match Rc::try_unwrap(self.socket) {
            Ok(socket) => Ok(unet::UnixStream::from(socket.into_fd())),
            Err(socket) => Err(UnixStream { socket }),
        }
    }
}

split::rent_io!(both: UnixStream);

/// A Unix datagram socket.
pub struct UnixDatagram {
    pub(crate) socket: Socket,
}

impl UnixDatagram {
    /// Binds to a filesystem path.
    ///
    /// # Errors
    ///
    /// As `bind(2)`.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixDatagram> {
        unet::UnixDatagram::bind(path).map(UnixDatagram::from_std)
    }

    /// Binds to an address (a path or an abstract name).
    ///
    /// # Errors
    ///
    /// As `bind(2)`.
    pub fn bind_addr(addr: &SocketAddr) -> io::Result<UnixDatagram> {
        unet::UnixDatagram::bind_addr(addr).map(UnixDatagram::from_std)
    }

    /// A socket bound to no address.
    ///
    /// # Errors
    ///
    /// As `socket(2)`.
    pub fn unbound() -> io::Result<UnixDatagram> {
        unet::UnixDatagram::unbound().map(UnixDatagram::from_std)
    }

    /// A connected pair.
    ///
    /// # Errors
    ///
    /// As `socketpair(2)`.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = unet::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_std(a), UnixDatagram::from_std(b)))
    }

    /// Sets the default peer (connecting a datagram socket never blocks).
    ///
    /// # Errors
    ///
    /// As `connect(2)`.
    pub fn connect<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        self.socket
            .with_std(|s: &unet::UnixDatagram| s.connect(path))
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may or may not have sent it.
    pub async fn send<T: IoBuf>(&self, buf: T) -> BufResult<usize, T> {
        self.socket.send(buf).await
    }

    /// Receives one datagram.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may lose a datagram.
    pub async fn recv<T: IoBufMut>(&self, buf: T) -> BufResult<usize, T> {
        self.socket.recv(buf).await
    }

    /// Sends one datagram to `addr`.
    ///
    /// # Cancel safety
    ///
    /// As [`send`](UnixDatagram::send).
    pub async fn send_to<T: IoBuf>(&self, buf: T, addr: &SocketAddr) -> BufResult<usize, T> {
        self.send_to_with(buf, addr, None).await
    }

    pub(crate) async fn send_to_with<T: IoBuf>(
        &self,
        buf: T,
        addr: &SocketAddr,
        cancel: Option<&CancelHandle>,
    ) -> BufResult<usize, T> {
        let raw = match to_raw(addr) {
            Ok(raw) => raw,
            Err(e) => return (Err(e), buf),
        };
        let op = SendMsg::new(self.socket.raw(), [buf], Some(raw));
        let (result, [buf]) = self.socket.run(op, cancel).await;
        (result, buf)
    }

    /// Receives one datagram and its sender's address (unnamed if the
    /// sender is not bound).
    ///
    /// # Cancel safety
    ///
    /// As [`recv`](UnixDatagram::recv).
    pub async fn recv_from<T: IoBufMut>(&self, buf: T) -> BufResult<(usize, SocketAddr), T> {
        self.recv_from_with(buf, None).await
    }

    pub(crate) async fn recv_from_with<T: IoBufMut>(
        &self,
        buf: T,
        cancel: Option<&CancelHandle>,
    ) -> BufResult<(usize, SocketAddr), T> {
        let op = RecvMsg::new(self.socket.raw(), [buf]);
        let (result, [buf]) = self.socket.run(op, cancel).await;
        let result = result.map(|(n, addr)| (n, from_raw(&addr)));
        (result, buf)
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// As `getsockname(2)`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket
            .with_std(|s: &unet::UnixDatagram| s.local_addr())
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// As `getpeername(2)`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.socket.with_std(|s: &unet::UnixDatagram| s.peer_addr())
    }

    /// Wraps a std socket.
    pub fn from_std(socket: unet::UnixDatagram) -> UnixDatagram {
        UnixDatagram {
            socket: Socket::from_fd(socket.into()),
        }
    }

    /// Gives the socket back as a std one.
    pub fn into_std(self) -> unet::UnixDatagram {
        unet::UnixDatagram::from(self.socket.into_fd())
    }
}

fd_traits!(UnixListener, socket);
fd_traits!(UnixStream, socket);
fd_traits!(UnixDatagram, socket);

into_fd_traits!(UnixListener, |listener| {
    let UnixListener { socket, accepts } = listener;
    drop(accepts);
    socket.into_fd()
});
into_fd_traits!(UnixStream, |stream| Socket::unshare(stream.socket)
    .into_fd());
into_fd_traits!(UnixDatagram, |socket| socket.socket.into_fd());

impl From<OwnedFd> for UnixListener {
    fn from(fd: OwnedFd) -> UnixListener {
        UnixListener {
            socket: Socket::from_fd(fd),
            accepts: Default::default(),
        }
    }
}

impl From<OwnedFd> for UnixStream {
    fn from(fd: OwnedFd) -> UnixStream {
        UnixStream::from_socket(Socket::from_fd(fd))
    }
}

impl From<OwnedFd> for UnixDatagram {
    fn from(fd: OwnedFd) -> UnixDatagram {
        UnixDatagram {
            socket: Socket::from_fd(fd),
        }
    }
}

/// The offset of `sun_path` in `sockaddr_un`.
fn path_offset() -> usize {
    std::mem::offset_of!(libc::sockaddr_un, sun_path)
}

/// A std Unix address as the kernel's `sockaddr_un`.
fn to_raw(addr: &SocketAddr) -> io::Result<SockAddr> {
    // SAFETY: an all-zero sockaddr_storage is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    storage.ss_family = libc::AF_UNIX as libc::sa_family_t;
    // The name bytes, and whether a leading NUL marks an abstract name.
    let (bytes, abstract_) = if let Some(path) = addr.as_pathname() {
        (path.as_os_str().as_bytes(), false)
    } else if let Some(name) = addr.as_abstract_name() {
        (name, true)
    } else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "rentio-net: cannot send to an unnamed Unix address",
        ));
    };
    let start = path_offset() + usize::from(abstract_);
    // Room for the name, plus a NUL after a path.
    let room = size_of::<libc::sockaddr_un>() - start - usize::from(!abstract_);
    if bytes.len() > room {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "rentio-net: Unix socket address too long",
        ));
    }
    // SAFETY: `storage` is larger than `sockaddr_un`; the copy stays within
    // its `sun_path` (checked against `room` above).
    unsafe {
        let base = (&raw mut storage).cast::<u8>();
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), base.add(start), bytes.len());
    }
    let len = start + bytes.len() + usize::from(!abstract_);
    Ok(SockAddr::from_raw(storage, len as libc::socklen_t))
}

/// The kernel's `sockaddr_un` as a std Unix address; one std cannot
/// represent (a path filling all of `sun_path`) comes back unnamed.
fn from_raw(addr: &SockAddr) -> SocketAddr {
    parse_raw(addr)
        .or_else(|_| SocketAddr::from_pathname(""))
        .unwrap_or_else(|_| unreachable!("an empty path is the unnamed address"))
}

fn parse_raw(addr: &SockAddr) -> io::Result<SocketAddr> {
    let len = addr.len() as usize;
    let offset = path_offset();
    if len <= offset {
        return SocketAddr::from_pathname("");
    }
    let storage = addr.as_storage();
    // SAFETY: `sockaddr_storage` is plain bytes of at least `len` (the
    // kernel never reports more than the storage's size).
    let raw = unsafe {
        std::slice::from_raw_parts(
            (&raw const *storage).cast::<u8>(),
            len.min(size_of::<libc::sockaddr_storage>()),
        )
    };
    let name = &raw[offset..];
    match name.first() {
        Some(0) => SocketAddr::from_abstract_name(&name[1..]),
        _ => {
            let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            SocketAddr::from_pathname(std::ffi::OsStr::from_bytes(&name[..end]))
        }
    }
}
