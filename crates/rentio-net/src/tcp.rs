//! TCP: listeners, streams, and a socket builder for options set before
//! `bind` or `connect`.

use std::io;
use std::net::{self, SocketAddr};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::time::Duration;

use rentio_buf::{BufResult, IoBuf, IoBufMut};
use rentio_driver::SockAddr;

use rustix::net::sockopt;

use crate::cancel::CancelHandle;
use crate::resolve::{ToSocketAddrs, resolve};
use crate::socket::{Socket, domain_of};
use crate::split::{self, OwnedReadHalf, OwnedWriteHalf};

const DEFAULT_BACKLOG: u32 = 1024;

/// A TCP socket not yet bound or connected: set options (`SO_REUSEPORT`
/// for one listener per core, buffer sizes), then [`listen`] or
/// [`connect`].
///
/// [`listen`]: TcpSocket::listen
/// [`connect`]: TcpSocket::connect
#[derive(Debug)]
pub struct TcpSocket {
    socket: Socket,
}

impl TcpSocket {
    /// An IPv4 TCP socket.
    ///
    /// # Errors
    ///
    /// If `socket(2)` fails (out of fds).
    pub fn new_v4() -> io::Result<TcpSocket> {
        Socket::new(libc::AF_INET, libc::SOCK_STREAM).map(|socket| TcpSocket { socket })
    }

    /// An IPv6 TCP socket.
    ///
    /// # Errors
    ///
    /// If `socket(2)` fails.
    pub fn new_v6() -> io::Result<TcpSocket> {
        Socket::new(libc::AF_INET6, libc::SOCK_STREAM).map(|socket| TcpSocket { socket })
    }

    pub(crate) fn for_addr(addr: &SocketAddr) -> io::Result<TcpSocket> {
        Socket::new(domain_of(addr), libc::SOCK_STREAM).map(|socket| TcpSocket { socket })
    }

    /// Sets `SO_REUSEADDR`.
    ///
    /// # Errors
    ///
    /// As `setsockopt(2)`.
    pub fn set_reuseaddr(&self, on: bool) -> io::Result<()> {
        Ok(sockopt::set_socket_reuseaddr(self.socket.fd(), on)?)
    }

    /// Sets `SO_REUSEPORT`: several listeners (one per core) share a port
    /// and the kernel spreads connections among them.
    ///
    /// # Errors
    ///
    /// As `setsockopt(2)`.
    pub fn set_reuseport(&self, on: bool) -> io::Result<()> {
        Ok(sockopt::set_socket_reuseport(self.socket.fd(), on)?)
    }

    /// Sets `SO_SNDBUF` (sizes past `i32::MAX` are clamped to it; the
    /// kernel doubles the value and caps it at `wmem_max`).
    ///
    /// # Errors
    ///
    /// As `setsockopt(2)`.
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        Ok(sockopt::set_socket_send_buffer_size(
            self.socket.fd(),
            buffer_size(size),
        )?)
    }

    /// Sets `SO_RCVBUF` (sizes past `i32::MAX` are clamped to it; the
    /// kernel doubles the value and caps it at `rmem_max`).
    ///
    /// # Errors
    ///
    /// As `setsockopt(2)`.
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        Ok(sockopt::set_socket_recv_buffer_size(
            self.socket.fd(),
            buffer_size(size),
        )?)
    }

    /// Sets `TCP_NODELAY`.
    ///
    /// # Errors
    ///
    /// As `setsockopt(2)`.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        Ok(sockopt::set_tcp_nodelay(self.socket.fd(), on)?)
    }

    /// Binds to `addr`.
    ///
    /// # Errors
    ///
    /// As `bind(2)`: `AddrInUse`, `AddrNotAvailable`, a wrong family.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        let addr = SockAddr::from(addr);
        // SAFETY: `addr` holds a valid sockaddr of `addr.len()` bytes.
        let ret = unsafe {
            libc::bind(
                self.socket.raw(),
                (&raw const *addr.as_storage()).cast(),
                addr.len(),
            )
        };
        if ret < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Listens with `backlog` pending connections at most.
    ///
    /// # Errors
    ///
    /// As `listen(2)`.
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
        // SAFETY: plain syscall on our fd.
        if unsafe { libc::listen(self.socket.raw(), backlog) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(TcpListener {
            socket: self.socket,
            accepts: Default::default(),
        })
    }

    /// Connects to `addr`.
    ///
    /// # Errors
    ///
    /// As `connect(2)`: `ConnectionRefused`, `TimedOut`, unreachable.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future abandons the attempt; the socket is closed.
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        self.socket.connect(SockAddr::from(addr)).await?;
        Ok(TcpStream::from_socket(self.socket))
    }
}

/// A TCP listener.
pub struct TcpListener {
    /// Before `socket`: dropped first, so its armed accept's cancel is
    /// queued before the close submits what is queued (the port is free
    /// once the kernel has taken both).
    pub(crate) accepts: crate::accept::AcceptQueue,
    pub(crate) socket: Socket,
}

impl TcpListener {
    /// Binds to `addr` with `SO_REUSEADDR` and a backlog of 1024, trying
    /// each address `addr` resolves to (without DNS: use an IP address;
    /// for options, see [`TcpSocket`]).
    ///
    /// # Errors
    ///
    /// `AddrInUse` and the like, for the last address tried.
    pub fn bind<A: net::ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        let mut last = None;
        for addr in addr.to_socket_addrs()? {
            match Self::bind_one(addr) {
                Ok(listener) => return Ok(listener),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "rentio-net: no address to bind",
            )
        }))
    }

    fn bind_one(addr: SocketAddr) -> io::Result<TcpListener> {
        let socket = TcpSocket::for_addr(&addr)?;
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        socket.listen(DEFAULT_BACKLOG)
    }

    /// Accepts a connection.
    ///
    /// The listener keeps a queue of connections the kernel accepted for
    /// it: on io_uring one multishot accept stays armed (Linux 5.19; one
    /// accept op at a time before), on readiness `accept4` fills it after
    /// each readiness edge. At most 256 wait there; the kernel's backlog
    /// holds the rest.
    ///
    /// # Errors
    ///
    /// As `accept4(2)`; `EMFILE` (out of fds) among them. A connection
    /// reset before it was taken is skipped.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a connection accepted after the future was dropped
    /// stays queued in the listener for the next `accept`. (Dropping the
    /// listener closes the queued connections.)
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        loop {
            let fd = std::future::poll_fn(|cx| self.accepts.poll_accept(&self.socket, cx)).await?;
            if let Some(accepted) = TcpListener::adopt(fd)? {
                return Ok(accepted);
            }
        }
    }

    /// The stream and its peer's address; `None` if the peer is already
    /// gone.
    pub(crate) fn adopt(fd: OwnedFd) -> io::Result<Option<(TcpStream, SocketAddr)>> {
        let stream = TcpStream::from_socket(Socket::adopt(fd));
        match stream.peer_addr() {
            Ok(addr) => Ok(Some((stream, addr))),
            Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The accepted connections as a stream: `incoming().next().await`.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// An [`accept`](TcpListener::accept) that `handle`'s
    /// [`Canceller`](crate::Canceller) can end, awaited to its end: a
    /// server that stops accepting cancels it and then closes the
    /// listener with no accept left in the kernel, so its port is free at
    /// once (on io_uring an armed accept holds the listening socket until
    /// the kernel has reaped its cancel).
    ///
    /// # Errors
    ///
    /// `ECANCELED` (`raw_os_error() == Some(libc::ECANCELED)`) once
    /// cancelled and nothing is left in flight, else as
    /// [`accept`](TcpListener::accept).
    ///
    /// # Cancel safety
    ///
    /// Cancel through the handle: connections the kernel accepted before
    /// the cancel took effect come back as `Ok`, one per call, before the
    /// `ECANCELED`. Dropping the future is as dropping an `accept`.
    pub async fn accept_cancellable(
        &self,
        handle: &crate::CancelHandle,
    ) -> io::Result<(TcpStream, SocketAddr)> {
        let mut registration = handle.registration();
        loop {
            let fd = std::future::poll_fn(|cx| {
                registration.register(cx.waker());
                self.accepts
                    .poll_accept_cancellable(&self.socket, handle, cx)
            })
            .await?;
            if let Some(accepted) = TcpListener::adopt(fd)? {
                return Ok(accepted);
            }
        }
    }

    /// The address the listener is bound to.
    ///
    /// # Errors
    ///
    /// As `getsockname(2)`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Wraps a std listener (made nonblocking by the readiness backend when
    /// first used).
    pub fn from_std(listener: net::TcpListener) -> TcpListener {
        TcpListener {
            socket: Socket::from_fd(listener.into()),
            accepts: Default::default(),
        }
    }

    /// Gives the listener back as a std one (nonblocking if the readiness
    /// backend used it). Connections in its accept queue are closed, and
    /// its armed accept is cancelled.
    pub fn into_std(self) -> net::TcpListener {
        let TcpListener { socket, accepts } = self;
        drop(accepts);
        net::TcpListener::from(socket.into_fd())
    }
}

/// A TCP connection. Reads and writes rent their buffers
/// ([`AsyncReadRent`](rentio_io::AsyncReadRent), [`AsyncWriteRent`](rentio_io::AsyncWriteRent)).
pub struct TcpStream {
    pub(crate) socket: Rc<Socket>,
}

impl TcpStream {
    fn from_socket(socket: Socket) -> TcpStream {
        TcpStream {
            socket: Rc::new(socket.with_short_reads_draining()),
        }
    }

    /// Connects to `addr`, trying each address it resolves to in turn
    /// (names are looked up on the blocking pool).
    ///
    /// # Errors
    ///
    /// The last address's error (`ConnectionRefused`, …), or the lookup's.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future abandons the attempt.
    pub async fn connect<A: ToSocketAddrs + ?Sized>(addr: &A) -> io::Result<TcpStream> {
        let mut last = None;
        for addr in resolve(addr).await? {
            let attempt = async {
                let socket = TcpSocket::for_addr(&addr)?;
                socket.connect(addr).await
            };
            match attempt.await {
                Ok(stream) => return Ok(stream),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("rentio-net: no address to connect to")))
    }

    /// [`connect`](TcpStream::connect) with a deadline for the whole
    /// attempt.
    ///
    /// # Errors
    ///
    /// `TimedOut` after `timeout`, else as `connect`.
    ///
    /// # Cancel safety
    ///
    /// As [`connect`](TcpStream::connect): dropping the future, or the
    /// deadline passing, abandons the attempt and closes its socket.
    pub async fn connect_timeout<A: ToSocketAddrs + ?Sized>(
        addr: &A,
        timeout: Duration,
    ) -> io::Result<TcpStream> {
        rentio_executor::time::timeout(timeout, TcpStream::connect(addr)).await?
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` once the peer is gone.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.socket.peer_addr()
    }

    /// This end's address.
    ///
    /// # Errors
    ///
    /// As `getsockname(2)`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Sets `TCP_NODELAY` (no Nagle delay for small writes).
    ///
    /// # Errors
    ///
    /// As `setsockopt(2)`.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        Ok(sockopt::set_tcp_nodelay(self.socket.fd(), on)?)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    ///
    /// As `getsockopt(2)`.
    pub fn nodelay(&self) -> io::Result<bool> {
        Ok(sockopt::tcp_nodelay(self.socket.fd())?)
    }

    /// Turns TCP keepalive on with probes after `idle`, or off with `None`.
    ///
    /// # Errors
    ///
    /// As `setsockopt(2)`.
    pub fn set_keepalive(&self, idle: Option<Duration>) -> io::Result<()> {
        if let Some(idle) = idle {
            // Whole seconds, at least one (rounded up by rustix), at most
            // what the kernel takes (`MAX_TCP_KEEPIDLE`), set before
            // keepalive goes on so a refusal changes nothing.
            let idle = idle.clamp(Duration::from_secs(1), Duration::from_secs(32767));
            sockopt::set_tcp_keepidle(self.socket.fd(), idle)?;
        }
        sockopt::set_socket_keepalive(self.socket.fd(), idle.is_some())?;
        Ok(())
    }

    /// Whether `SO_KEEPALIVE` is set.
    ///
    /// # Errors
    ///
    /// As `getsockopt(2)`.
    pub fn keepalive(&self) -> io::Result<bool> {
        Ok(sockopt::socket_keepalive(self.socket.fd())?)
    }

    /// Sets `SO_LINGER`: with `Some(d)`, a close waits up to `d` (in whole
    /// seconds, rounded up) for unsent data, and `Some(0)` resets the
    /// connection; `None` turns it off.
    ///
    /// # Errors
    ///
    /// As `setsockopt(2)`; `InvalidInput` past `i32::MAX` seconds.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        Ok(sockopt::set_socket_linger(self.socket.fd(), linger)?)
    }

    /// `SO_LINGER`: how long a close waits for unsent data, if it does.
    ///
    /// # Errors
    ///
    /// As `getsockopt(2)`.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        Ok(sockopt::socket_linger(self.socket.fd())?)
    }

    /// Sets the hop limit of outgoing packets: `IP_TTL` on an IPv4 socket,
    /// `IPV6_UNICAST_HOPS` on an IPv6 one (and its `IP_TTL`, for an
    /// IPv4-mapped peer).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for 0 or past 255 (nothing changes); else as
    /// `setsockopt(2)`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.socket.set_ttl(ttl)
    }

    /// The hop limit of outgoing packets: `IP_TTL` on an IPv4 socket,
    /// `IPV6_UNICAST_HOPS` on an IPv6 one.
    ///
    /// # Errors
    ///
    /// As `getsockopt(2)`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.socket.ttl()
    }

    /// Shuts down the read side, the write side or both.
    ///
    /// # Errors
    ///
    /// As `shutdown(2)`; a peer already gone is not an error.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels the `shutdown`, which may or may not
    /// have taken effect; shutting the same side down again is harmless.
    pub async fn shutdown_with(&self, how: net::Shutdown) -> io::Result<()> {
        self.socket.shutdown(how).await
    }

    /// A read that ends with `TimedOut` after `timeout` and still returns
    /// the buffer: an io_uring linked timeout (`IORING_OP_LINK_TIMEOUT`),
    /// or a timer on the readiness backend.
    ///
    /// # Cancel safety
    ///
    /// As [`AsyncReadRent::read`](rentio_io::AsyncReadRent::read); on timeout nothing is lost.
    pub async fn read_timeout<T: IoBufMut>(
        &self,
        buf: T,
        timeout: Duration,
    ) -> BufResult<usize, T> {
        self.socket.recv_timeout(buf, timeout).await
    }

    /// Sends `buf` without copying it, where io_uring has zero-copy send
    /// (`IORING_OP_SEND_ZC`, Linux 6.0; a plain send elsewhere): the
    /// kernel sends from the buffer's own pages, and the buffer comes back
    /// only once the network stack is done with them. Worth it for large
    /// buffers (tens of KiB and up). Returns how many bytes were sent,
    /// which may be fewer than all.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels the send (some bytes may have gone);
    /// the driver keeps the buffer until the kernel lets go of it, then
    /// drops it.
    pub async fn send_zc<T: IoBuf>(&self, buf: T) -> BufResult<usize, T> {
        self.socket.send_zc(buf).await
    }

    /// A read that `handle`'s [`Canceller`](crate::Canceller) can cancel;
    /// the buffer, with any bytes read, comes back either way. (The same
    /// as `stream.with_cancel(handle).read(buf)`; see
    /// [`with_cancel`](TcpStream::with_cancel) for every other op.)
    ///
    /// # Cancel safety
    ///
    /// Cancel through the handle to keep the buffer; dropping the future
    /// releases it safely but loses it.
    pub async fn read_cancellable<T: IoBufMut>(
        &self,
        buf: T,
        handle: &CancelHandle,
    ) -> BufResult<usize, T> {
        self.socket
            .run(self.socket.stream_recv(buf), Some(handle))
            .await
    }

    split::poll_ready_methods!();

    /// Splits into owned halves usable from two tasks.
    pub fn into_split(self) -> (OwnedReadHalf<TcpStream>, OwnedWriteHalf<TcpStream>) {
        split::split(self)
    }

    /// Wraps a connected std stream.
    pub fn from_std(stream: net::TcpStream) -> TcpStream {
        TcpStream::from_socket(Socket::from_fd(stream.into()))
    }

    /// The data this stream receives, each arrival in a buffer of `ring`
    /// (which many streams may share): see [`RecvStream`](crate::RecvStream).
    /// With io_uring buffer rings an idle connection holds no receive
    /// buffer.
    ///
    /// ```no_run
    /// # async fn f(stream: rentio_net::TcpStream) -> std::io::Result<()> {
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
    pub async fn detach(self) -> crate::Detached<TcpStream> {
        crate::Detached::leave(Socket::unshare(self.socket)).await
    }

    /// Gives the stream back as a std one.
    ///
    /// # Errors
    ///
    /// If the stream is split (a half is still alive): it comes back.
    pub fn into_std(self) -> Result<net::TcpStream, TcpStream> {
        match Rc::try_unwrap(self.socket) {
            Ok(socket) => Ok(net::TcpStream::from(socket.into_fd())),
            Err(socket) => Err(TcpStream { socket }),
        }
    }
}

split::rent_io!(both: TcpStream);

macro_rules! fd_traits {
    ($t:ty, $($field:tt)+) => {
        impl std::os::fd::AsRawFd for $t {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.$($field)+.raw()
            }
        }

        impl std::os::fd::AsFd for $t {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                // SAFETY: the fd stays open while `self` lives.
                unsafe { std::os::fd::BorrowedFd::borrow_raw(self.$($field)+.raw()) }
            }
        }

        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t)).field("fd", &self.$($field)+.raw()).finish()
            }
        }
    };
}
pub(crate) use fd_traits;

/// `From<$t> for OwnedFd` and `IntoRawFd` for a socket type: the fd is
/// given up released by the driver first (`Socket::into_fd`), so no op of
/// the socket acts on it afterwards.
macro_rules! into_fd_traits {
    ($t:ty, |$v:ident| $into:expr) => {
        /// Gives the fd up, released by the driver first (no op of the
        /// socket acts on it afterwards).
        impl From<$t> for std::os::fd::OwnedFd {
            fn from($v: $t) -> std::os::fd::OwnedFd {
                $into
            }
        }

        impl std::os::fd::IntoRawFd for $t {
            fn into_raw_fd(self) -> std::os::fd::RawFd {
                std::os::fd::IntoRawFd::into_raw_fd(std::os::fd::OwnedFd::from(self))
            }
        }
    };
}
pub(crate) use into_fd_traits;

fd_traits!(TcpListener, socket);
fd_traits!(TcpStream, socket);

impl From<OwnedFd> for TcpListener {
    fn from(fd: OwnedFd) -> TcpListener {
        TcpListener {
            socket: Socket::from_fd(fd),
            accepts: Default::default(),
        }
    }
}

impl From<OwnedFd> for TcpStream {
    fn from(fd: OwnedFd) -> TcpStream {
        TcpStream::from_socket(Socket::from_fd(fd))
    }
}

impl FromRawFd for TcpStream {
    unsafe fn from_raw_fd(fd: RawFd) -> TcpStream {
        // SAFETY: the caller passes an fd it owns (FromRawFd's contract).
        TcpStream::from(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

into_fd_traits!(TcpListener, |listener| {
    let TcpListener { socket, accepts } = listener;
    drop(accepts);
    socket.into_fd()
});
into_fd_traits!(TcpStream, |stream| Socket::unshare(stream.socket).into_fd());

/// A buffer size for `SO_SNDBUF`/`SO_RCVBUF`: the kernel takes an `int`.
fn buffer_size(size: u32) -> usize {
    size.min(i32::MAX as u32) as usize
}

/// [`TcpListener::incoming`]: the accepted connections.
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Incoming<'_> {
    /// The next connection (never `None`: a listener accepts for as long
    /// as it lives; the `Option` matches a stream's `next`).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`TcpListener::accept`].
    pub async fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.listener.accept().await.map(|(stream, _)| stream))
    }

    /// Polls for the next connection, as a `Stream`'s `poll_next`.
    pub fn poll_next(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<io::Result<TcpStream>>> {
        loop {
            let fd = match self.listener.accepts.poll_accept(&self.listener.socket, cx) {
                std::task::Poll::Ready(Ok(fd)) => fd,
                std::task::Poll::Ready(Err(e)) => return std::task::Poll::Ready(Some(Err(e))),
                std::task::Poll::Pending => return std::task::Poll::Pending,
            };
            match TcpListener::adopt(fd) {
                Ok(Some((stream, _))) => return std::task::Poll::Ready(Some(Ok(stream))),
                Ok(None) => {}
                Err(e) => return std::task::Poll::Ready(Some(Err(e))),
            }
        }
    }
}
