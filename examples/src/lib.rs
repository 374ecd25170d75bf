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
