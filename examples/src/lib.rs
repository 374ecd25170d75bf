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

/// The grace period of a drain: `var` in milliseconds, else 5 s.
pub fn grace_from_env(var: &str) -> std::time::Duration {
    std::env::var(var)
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(
            rentio::net::serve::DEFAULT_GRACE,
            std::time::Duration::from_millis,
        )
}

/// Prints what a drained server did.
pub fn print_report(report: &rentio::net::serve::Report) {
    println!(
        "drained: {} connections accepted, {} finished during the drain, {} cancelled, {} moved between cores",
        report.accepted, report.drained, report.cancelled, report.moved
    );
}

/// `future`, or `None` once the server drains and it has not finished:
/// an idle connection ends at the drain instead of waiting for its
/// deadline. (A read dropped this way may lose bytes that arrived in the
/// same instant; at a drain the connection closes anyway.)
pub async fn or_draining<F: std::future::Future>(
    conn: &rentio::net::serve::Conn,
    future: F,
) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut draining = std::pin::pin!(conn.draining());
    std::future::poll_fn(|cx| {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(cx) {
            return std::task::Poll::Ready(Some(out));
        }
        if draining.as_mut().poll(cx).is_ready() {
            return std::task::Poll::Ready(None);
        }
        std::task::Poll::Pending
    })
    .await
}
