//! `IORING_OP_ACCEPT`: accept4(2) a connection.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use io_uring::{opcode, squeue, types};

use super::{Completion, Interest, KernelBox, OpCode, Readiness};
use crate::addr::SockAddr;
use crate::sys::Syscall;

/// Accepts a connection: the new socket (CLOEXEC) and the peer's address.
///
/// # Cancel safety
///
/// If the op is dropped after the kernel accepted, the driver closes the
/// new socket; the connection is reset, never leaked.
///
/// # Kernel support
///
/// `IORING_OP_ACCEPT`, Linux 5.5. On readiness: `accept4`, waiting for
/// readability on `EAGAIN`.
#[derive(Debug)]
pub struct Accept {
    fd: RawFd,
    addr: KernelBox<SockAddr>,
    flags: i32,
}

impl Accept {
    /// An accept on the listening socket `fd`.
    pub fn new(fd: RawFd) -> Accept {
        Accept {
            fd,
            addr: KernelBox::new(SockAddr::empty()),
            flags: libc::SOCK_CLOEXEC,
        }
    }

    /// An accept whose new socket is also non-blocking (`SOCK_NONBLOCK`).
    pub fn nonblocking(fd: RawFd) -> Accept {
        Accept {
            flags: libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            ..Accept::new(fd)
        }
    }
}

// SAFETY: the address and its length are in a `KernelBox`, so they stay
// put, and pointers to them stay valid, when the op moves.
unsafe impl OpCode for Accept {
    type Output = io::Result<(OwnedFd, SockAddr)>;
    const CODE: u8 = opcode::Accept::CODE;
    const RETURNS_FD: bool = true;

    fn uring_entry(&mut self) -> squeue::Entry {
        let (addr, len) = self.addr_parts();
        opcode::Accept::new(types::Fd(self.fd), addr, len)
            .flags(self.flags)
            .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Io(self.fd, Interest::Read)
    }

    fn syscall(&mut self) -> Syscall {
        let (addr, len) = self.addr_parts();
        Syscall::Accept {
            fd: self.fd,
            addr,
            len,
            flags: self.flags,
        }
    }

    fn complete(self, completion: Completion) -> Self::Output {
        let fd = completion.result?;
        // SAFETY: the kernel just created this fd for us and nobody else
        // holds it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
        // SAFETY: the op has completed: nothing writes the address now.
        Ok((fd, *unsafe { self.addr.get() }))
    }
}

impl Accept {
    fn addr_parts(&self) -> (*mut libc::sockaddr, *mut libc::socklen_t) {
        // SAFETY: the box holds a live `SockAddr` while `self` lives.
        unsafe { SockAddr::raw_parts(self.addr.as_ptr()) }
    }
}
