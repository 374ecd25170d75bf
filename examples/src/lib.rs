//! Runnable examples for rentio; see the `examples` of this package. What
//! several examples share lives here.

use std::io;
use std::net::SocketAddr;

use rentio::net::{TcpListener, TcpSocket};

/// A listener on `addr` with `SO_REUSEPORT` (and `SO_REUSEADDR`), so that
/// one per core can bind the same port and the kernel spreads connections
/// across them.
///
/// # Errors
///
/// As `socket(2)`, `setsockopt(2)`, `bind(2)` and `listen(2)`.
pub fn reuseport_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// `addr`, with a free port chosen if it asks for port 0, so that every
/// core's listener binds the same one. (The port is free when chosen; on
/// a busy machine another process could take it before the cores bind.)
///
/// # Errors
///
/// As `bind(2)`.
pub fn fixed_port(addr: SocketAddr) -> io::Result<SocketAddr> {
    if addr.port() != 0 {
        return Ok(addr);
    }
    std::net::TcpListener::bind(addr)?.local_addr()
}
