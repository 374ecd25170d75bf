//! `IORING_OP_SOCKET`: socket(2), with a fallback to the syscall.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use io_uring::{opcode, squeue};

use super::{Completion, OpCode, Readiness};
use crate::sys::Syscall;

/// Creates a socket (always CLOEXEC).
///
/// # Kernel support
///
/// `IORING_OP_SOCKET`, Linux 5.19; on older kernels (or when masked) and on
/// readiness, the `socket` syscall on the driver thread.
#[derive(Debug)]
pub struct Socket {
    domain: i32,
    ty: i32,
    protocol: i32,
}

impl Socket {
    /// A socket of `domain` (`AF_INET`, …), `ty` (`SOCK_STREAM`, …) and
    /// `protocol` (usually 0).
    pub fn new(domain: i32, ty: i32, protocol: i32) -> Socket {
        Socket {
            domain,
            ty: ty | libc::SOCK_CLOEXEC,
            protocol,
        }
    }
}

// SAFETY: the SQE and syscall carry no pointer.
unsafe impl OpCode for Socket {
    type Output = io::Result<OwnedFd>;
    const CODE: u8 = opcode::Socket::CODE;
    const RETURNS_FD: bool = true;
    const SYSCALL_FALLBACK: bool = true;

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::Socket::new(self.domain, self.ty, self.protocol).build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Immediate
    }

    fn syscall(&mut self) -> Syscall {
        Syscall::Socket {
            domain: self.domain,
            ty: self.ty,
            protocol: self.protocol,
        }
    }

    fn complete(self, completion: Completion) -> io::Result<OwnedFd> {
        let fd = completion.result?;
        // SAFETY: the kernel just created this fd for us.
        Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
    }
}
