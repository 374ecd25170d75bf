//! `IORING_OP_SHUTDOWN`: shutdown(2) one or both directions of a socket.

use std::io;
use std::net;
use std::os::fd::RawFd;

use io_uring::{opcode, squeue, types};

use super::{Completion, OpCode, Readiness};
use crate::sys::Syscall;

/// Shuts down reading, writing or both on a socket.
///
/// # Kernel support
///
/// `IORING_OP_SHUTDOWN`, Linux 5.11; else (and on readiness) the syscall on
/// the driver thread, which does not block.
#[derive(Debug)]
pub struct Shutdown {
    fd: RawFd,
    how: i32,
}

impl Shutdown {
    /// Shuts down `how` on `fd`.
    pub fn new(fd: RawFd, how: net::Shutdown) -> Shutdown {
        let how = match how {
            net::Shutdown::Read => libc::SHUT_RD,
            net::Shutdown::Write => libc::SHUT_WR,
            net::Shutdown::Both => libc::SHUT_RDWR,
        };
        Shutdown { fd, how }
    }
}

// SAFETY: no pointers.
unsafe impl OpCode for Shutdown {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::Shutdown::CODE;
    const SYSCALL_FALLBACK: bool = true;
    // The kernel always runs a shutdown in io-wq, looking its fd up there.
    const LATE_FDS: bool = true;

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::Shutdown::new(types::Fd(self.fd), self.how).build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Immediate
    }

    fn syscall(&mut self) -> Syscall {
        Syscall::Shutdown {
            fd: self.fd,
            how: self.how,
        }
    }

    fn complete(self, completion: Completion) -> io::Result<()> {
        completion.result.map(drop)
    }
}
