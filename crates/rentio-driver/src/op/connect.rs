//! `IORING_OP_CONNECT`: connect(2) a socket.

use std::io;
use std::os::fd::RawFd;

use io_uring::{opcode, squeue, types};

use super::{Completion, Interest, OpCode, Readiness};
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
    addr: Box<SockAddr>,
    started: bool,
}

impl Connect {
    /// A connect of `fd` to `addr`.
    pub fn new(fd: RawFd, addr: SockAddr) -> Connect {
        Connect {
            fd,
            addr: Box::new(addr),
            started: false,
        }
    }
}

// SAFETY: the address is boxed, so it stays put when the op moves.
unsafe impl OpCode for Connect {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::Connect::CODE;

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::Connect::new(types::Fd(self.fd), self.addr.as_ptr(), self.addr.len()).build()
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
            Syscall::Connect {
                fd: self.fd,
                addr: self.addr.as_ptr(),
                len: self.addr.len(),
            }
        }
    }

    fn complete(self, completion: Completion) -> io::Result<()> {
        completion.result.map(drop)
    }
}
