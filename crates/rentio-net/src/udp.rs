//! UDP sockets.

use std::io;
use std::net::{self, SocketAddr};
use std::os::fd::OwnedFd;

use rentio_buf::{BufResult, IoBuf, IoBufMut};
use rentio_driver::SockAddr;
use rentio_driver::op::{RecvMsg, SendMsg};
use rustix::net::sockopt;

use crate::cancel::CancelHandle;
use crate::resolve::{ToSocketAddrs, resolve};
use crate::socket::Socket;
use crate::tcp::{fd_traits, into_fd_traits};

/// A UDP socket.
pub struct UdpSocket {
    pub(crate) socket: Socket,
}

impl UdpSocket {
    /// Binds to `addr` (port 0 picks a free port).
    ///
    /// # Errors
    ///
    /// As `bind(2)`.
    pub fn bind<A: net::ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        net::UdpSocket::bind(addr).map(UdpSocket::from_std)
    }

    /// Sets the default peer for [`send`](UdpSocket::send) and filters
    /// [`recv`](UdpSocket::recv) to it (the first address `addr` resolves
    /// to that works).
    ///
    /// # Errors
    ///
    /// As `connect(2)`, or the lookup's error.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future abandons the attempt: the default peer may or
    /// may not have been set. Connect again to be sure which one it is.
    pub async fn connect<A: ToSocketAddrs + ?Sized>(&self, addr: &A) -> io::Result<()> {
        let mut last = None;
        for addr in resolve(addr).await? {
            match self.socket.connect(SockAddr::from(addr)).await {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("rentio-net: no address to connect to")))
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// `NotConnected`, `ConnectionRefused` (an ICMP error from an earlier
    /// send), or a datagram too large (`EMSGSIZE`).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may or may not have sent the datagram.
    pub async fn send<T: IoBuf>(&self, buf: T) -> BufResult<usize, T> {
        self.socket.send(buf).await
    }

    /// Receives one datagram from the connected peer into `buf`'s spare
    /// capacity (a longer datagram is truncated).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may lose a datagram.
    pub async fn recv<T: IoBufMut>(&self, buf: T) -> BufResult<usize, T> {
        self.socket.recv(buf).await
    }

    /// Sends one datagram to `addr`.
    ///
    /// # Errors
    ///
    /// As [`send`](UdpSocket::send).
    ///
    /// # Cancel safety
    ///
    /// As [`send`](UdpSocket::send).
    pub async fn send_to<T: IoBuf>(&self, buf: T, addr: SocketAddr) -> BufResult<usize, T> {
        self.send_to_with(buf, addr, None).await
    }

    pub(crate) async fn send_to_with<T: IoBuf>(
        &self,
        buf: T,
        addr: SocketAddr,
        cancel: Option<&CancelHandle>,
    ) -> BufResult<usize, T> {
        let op = SendMsg::new(self.socket.raw(), [buf], Some(SockAddr::from(addr)));
        let (result, [buf]) = self.socket.run(op, cancel).await;
        (result, buf)
    }

    /// Receives one datagram and its sender's address.
    ///
    /// # Cancel safety
    ///
    /// As [`recv`](UdpSocket::recv).
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
        let result = result.and_then(|(n, addr)| match addr.as_socket() {
            Some(addr) => Ok((n, addr)),
            None => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "rentio-net: a datagram without an IP sender address",
            )),
        });
        (result, buf)
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// As `getsockname(2)`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` if not connected.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.socket.peer_addr()
    }

    /// Sets `SO_BROADCAST`.
    ///
    /// # Errors
    ///
    /// As `setsockopt(2)`.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        Ok(sockopt::set_socket_broadcast(self.socket.fd(), on)?)
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// # Errors
    ///
    /// As `getsockopt(2)`.
    pub fn broadcast(&self) -> io::Result<bool> {
        Ok(sockopt::socket_broadcast(self.socket.fd())?)
    }

    /// Sets the hop limit of outgoing unicast datagrams: `IP_TTL` on an
    /// IPv4 socket, `IPV6_UNICAST_HOPS` on an IPv6 one (and its `IP_TTL`,
    /// for IPv4-mapped peers).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for 0 or past 255 (nothing changes); else as
    /// `setsockopt(2)`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.socket.set_ttl(ttl)
    }

    /// The hop limit of outgoing unicast datagrams: `IP_TTL` on an IPv4
    /// socket, `IPV6_UNICAST_HOPS` on an IPv6 one.
    ///
    /// # Errors
    ///
    /// As `getsockopt(2)`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.socket.ttl()
    }

    /// Wraps a std socket.
    pub fn from_std(socket: net::UdpSocket) -> UdpSocket {
        UdpSocket {
            socket: Socket::from_fd(socket.into()),
        }
    }

    /// Gives the socket back as a std one.
    pub fn into_std(self) -> net::UdpSocket {
        net::UdpSocket::from(self.socket.into_fd())
    }
}

fd_traits!(UdpSocket, socket);

into_fd_traits!(UdpSocket, |socket| socket.socket.into_fd());

impl From<OwnedFd> for UdpSocket {
    fn from(fd: OwnedFd) -> UdpSocket {
        UdpSocket {
            socket: Socket::from_fd(fd),
        }
    }
}
