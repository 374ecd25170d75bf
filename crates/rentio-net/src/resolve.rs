//! Addresses to connect to, resolved off the runtime thread.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// What [`TcpStream::connect`](crate::TcpStream::connect) and friends
/// accept: socket addresses, or a host name and port, which is looked up on
/// the blocking pool so the runtime thread never waits on DNS.
///
/// Implemented for the `std::net` address types, `(IpAddr, u16)`,
/// `(&str, u16)`, `(String, u16)`, `&str` and `String` (`"host:port"`) and
/// `&[SocketAddr]`.
pub trait ToSocketAddrs: sealed::Sealed {}

mod sealed {
    /// What an address resolves to.
    #[derive(Debug)]
    pub enum Resolve {
        /// Addresses known without a lookup.
        Ready(Vec<std::net::SocketAddr>),
        /// `host:port` to look up.
        Lookup(String),
    }

    pub trait Sealed {
        fn to_resolve(&self) -> Resolve;
    }
}

use sealed::{Resolve, Sealed};

impl<T: Sealed + ?Sized> ToSocketAddrs for T {}

macro_rules! ready {
    ($($t:ty),*) => {$(
        impl Sealed for $t {
            fn to_resolve(&self) -> Resolve {
                Resolve::Ready(vec![SocketAddr::from(*self)])
            }
        }
    )*};
}

ready!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl Sealed for [SocketAddr] {
    fn to_resolve(&self) -> Resolve {
        Resolve::Ready(self.to_vec())
    }
}

impl Sealed for str {
    fn to_resolve(&self) -> Resolve {
        match self.parse::<SocketAddr>() {
            Ok(addr) => Resolve::Ready(vec![addr]),
            Err(_) => Resolve::Lookup(self.to_string()),
        }
    }
}

impl Sealed for String {
    fn to_resolve(&self) -> Resolve {
        self.as_str().to_resolve()
    }
}

impl Sealed for (&str, u16) {
    fn to_resolve(&self) -> Resolve {
        match self.0.parse::<IpAddr>() {
            Ok(ip) => Resolve::Ready(vec![SocketAddr::new(ip, self.1)]),
            Err(_) => Resolve::Lookup(format!("{}:{}", self.0, self.1)),
        }
    }
}

impl Sealed for (String, u16) {
    fn to_resolve(&self) -> Resolve {
        (self.0.as_str(), self.1).to_resolve()
    }
}

impl<T: Sealed + ?Sized> Sealed for &T {
    fn to_resolve(&self) -> Resolve {
        (**self).to_resolve()
    }
}

/// Resolves `addr`: at once for addresses, on the blocking pool for names.
pub(crate) async fn resolve<A: ToSocketAddrs + ?Sized>(addr: &A) -> io::Result<Vec<SocketAddr>> {
    let addrs = match addr.to_resolve() {
        Resolve::Ready(addrs) => addrs,
        Resolve::Lookup(host) => {
            // `spawn_blocking` needs a runtime: say so instead of panicking.
            rentio_executor::current_driver()?;
            let lookup = rentio_executor::spawn_blocking(move || {
                std::net::ToSocketAddrs::to_socket_addrs(&host).map(Iterator::collect::<Vec<_>>)
            });
            match lookup.await {
                Ok(result) => result?,
                Err(e) => {
                    return Err(io::Error::other(format!(
                        "rentio-net: name lookup failed: {e}"
                    )));
                }
            }
        }
    };
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "rentio-net: the address resolved to nothing",
        ));
    }
    Ok(addrs)
}
