//! `IORING_OP_CONNECT`: connect(2) a socket.

use std::io;
use std::os::fd::RawFd;

use io_uring::{opcode, squeue, types};

use super::{Completion, Interest, KernelBox, OpCode, Readiness};
use crate::addr::SockAddr;
use crate::sys::Syscall;

/// Connects a socket to an address.
///
/// # Kernel support
///
/// `IORING_OP_CONNECT`, Linux 5.5. On readiness: a non-blocking `connect`,
/// then (on `EINPROGRESS`) waiting for writability and reading `SO_ERROR`.
/// `EAGAIN` is an error, as in tokio: a Unix socket's listener has a full
/// backlog, and the connect never started (io_uring may instead wait for
/// room).
#[derive(Debug)]
pub struct Connect {
    fd: RawFd,
    addr: KernelBox<SockAddr>,
    started: bool,
}

impl Connect {
    /// A connect of `fd` to `addr`.
    pub fn new(fd: RawFd, addr: SockAddr) -> Connect {
        Connect {
            fd,
            addr: KernelBox::new(addr),
            started: false,
        }
    }
}

// SAFETY: the address is in a `KernelBox`, so it stays put, and pointers
// to it stay valid, when the op moves.
unsafe impl OpCode for Connect {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::Connect::CODE;

    fn uring_entry(&mut self) -> squeue::Entry {
        let (addr, len) = self.addr_parts();
        opcode::Connect::new(types::Fd(self.fd), addr, len).build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Io(self.fd, Interest::Write)
    }

    fn waits_on(&self, error: &io::Error) -> bool {
        // Only a connect in progress is worth waiting for: after `EAGAIN`
        // nothing was started, so `SO_ERROR` would read 0 on an unconnected
        // socket.
        error.raw_os_error() == Some(libc::EINPROGRESS)
    }

    fn syscall(&mut self) -> Syscall {
        if std::mem::replace(&mut self.started, true) {
            Syscall::SocketError { fd: self.fd }
        } else {
            let (addr, len) = self.addr_parts();
            Syscall::Connect {
                fd: self.fd,
                addr,
                len,
            }
        }
    }

    fn complete(self, completion: Completion) -> io::Result<()> {
        completion.result.map(drop)
    }
}

impl Connect {
    /// The address for the kernel, and its length.
    fn addr_parts(&self) -> (*const libc::sockaddr, libc::socklen_t) {
        // SAFETY: the box holds a live `SockAddr` while `self` lives.
        let (addr, len) = unsafe { SockAddr::raw_parts(self.addr.as_ptr()) };
        // SAFETY: `len` points into the live box; the kernel only reads the
        // address, so nothing writes the length.
        (addr.cast_const(), unsafe { len.read() })
    }
}
