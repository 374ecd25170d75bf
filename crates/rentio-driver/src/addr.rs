//! Socket addresses in the kernel's layout, boxed by the ops that pass them.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// A socket address as the kernel reads and writes it (`sockaddr_storage`
/// and its length).
#[derive(Clone, Copy)]
pub struct SockAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

impl SockAddr {
    /// An empty address with room for any family, for the kernel to fill.
    pub fn empty() -> SockAddr {
        SockAddr {
            // SAFETY: sockaddr_storage is plain old data; all-zero is a
            // valid (AF_UNSPEC) value.
            storage: unsafe { std::mem::zeroed() },
            len: size_of::<libc::sockaddr_storage>() as libc::socklen_t,
        }
    }

    /// Builds an address from raw storage and length (clamped to the
    /// storage's size).
    pub fn from_raw(storage: libc::sockaddr_storage, len: libc::socklen_t) -> SockAddr {
        let max = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        SockAddr {
            storage,
            len: len.min(max),
        }
    }

    /// The address family (`AF_*`).
    pub fn family(&self) -> i32 {
        i32::from(self.storage.ss_family)
    }

    /// The length in bytes the kernel uses.
    pub fn len(&self) -> libc::socklen_t {
        self.len
    }

    /// Whether the length is zero (an unnamed address).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The raw storage.
    pub fn as_storage(&self) -> &libc::sockaddr_storage {
        &self.storage
    }

    pub(crate) fn as_mut_ptr(&mut self) -> *mut libc::sockaddr {
        (&raw mut self.storage).cast()
    }

    /// Pointers to the storage and the length of the address at `this`,
    /// made without a reference, so they stay valid however the
    /// [`KernelBox`](crate::op::KernelBox) that holds it moves.
    ///
    /// # Safety
    ///
    /// - `this` points to a live `SockAddr`.
    pub(crate) unsafe fn raw_parts(
        this: *mut SockAddr,
    ) -> (*mut libc::sockaddr, *mut libc::socklen_t) {
        // SAFETY: the caller's pointer is live; `&raw mut` on its fields
        // makes no reference.
        let storage = unsafe { &raw mut (*this).storage };
        // SAFETY: as above.
        let len = unsafe { &raw mut (*this).len };
        (storage.cast(), len)
    }

    /// The address as an IP socket address, if it is one.
    pub fn as_socket(&self) -> Option<SocketAddr> {
        match self.family() {
            libc::AF_INET if self.len as usize >= size_of::<libc::sockaddr_in>() => {
                // SAFETY: the family says the storage holds a sockaddr_in,
                // and sockaddr_storage is aligned for every sockaddr type.
                let sin = unsafe { &*(&raw const self.storage).cast::<libc::sockaddr_in>() };
                let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                Some(SocketAddr::V4(SocketAddrV4::new(
                    ip,
                    u16::from_be(sin.sin_port),
                )))
            }
            libc::AF_INET6 if self.len as usize >= size_of::<libc::sockaddr_in6>() => {
                // SAFETY: as above, for sockaddr_in6.
                let sin6 = unsafe { &*(&raw const self.storage).cast::<libc::sockaddr_in6>() };
                let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                Some(SocketAddr::V6(SocketAddrV6::new(
                    ip,
                    u16::from_be(sin6.sin6_port),
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }
}

impl From<SocketAddr> for SockAddr {
    fn from(addr: SocketAddr) -> SockAddr {
        let mut out = SockAddr::empty();
        match addr {
            SocketAddr::V4(v4) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: v4.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from(*v4.ip()).to_be(),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: sockaddr_storage is larger than and aligned for
                // sockaddr_in; we write one whole value.
                unsafe { out.as_mut_ptr().cast::<libc::sockaddr_in>().write(sin) };
                out.len = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            }
            SocketAddr::V6(v6) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: v6.port().to_be(),
                    sin6_flowinfo: v6.flowinfo(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: v6.ip().octets(),
                    },
                    sin6_scope_id: v6.scope_id(),
                };
                // SAFETY: as above, for sockaddr_in6.
                unsafe { out.as_mut_ptr().cast::<libc::sockaddr_in6>().write(sin6) };
                out.len = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
            }
        }
        out
    }
}

impl fmt::Debug for SockAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_socket() {
            Some(addr) => write!(f, "SockAddr({addr})"),
            None => write!(f, "SockAddr(family {}, {} bytes)", self.family(), self.len),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_addresses_round_trip() {
        for s in ["127.0.0.1:8080", "[::1]:443", "[fe80::1%2]:1"] {
            let addr: SocketAddr = s.parse().unwrap();
            assert_eq!(SockAddr::from(addr).as_socket(), Some(addr));
        }
        assert_eq!(SockAddr::empty().as_socket(), None);
    }
}
