//! `IORING_OP_FTRUNCATE`: ftruncate(2).

use std::io;
use std::os::fd::RawFd;

use io_uring::{opcode, squeue, types};

use super::{Completion, OpCode, Readiness};
use crate::sys::Syscall;

/// Sets a file's length: cuts it, or grows it with zeros.
///
/// # Kernel support
///
/// `IORING_OP_FTRUNCATE`, Linux 6.9; the blocking pool where the ring
/// lacks it, and on readiness.
#[derive(Debug)]
pub struct Ftruncate {
    fd: RawFd,
    len: u64,
}

impl Ftruncate {
    /// `ftruncate(fd, len)`.
    pub fn new(fd: RawFd, len: u64) -> Ftruncate {
        Ftruncate { fd, len }
    }
}

// SAFETY: no pointers.
unsafe impl OpCode for Ftruncate {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::Ftruncate::CODE;
    const LATE_FDS: bool = true;
    const SYSCALL_FALLBACK: bool = true;

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::Ftruncate::new(types::Fd(self.fd), self.len).build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Blocking
    }

    fn syscall(&mut self) -> Syscall {
        Syscall::Ftruncate {
            fd: self.fd,
            len: self.len,
        }
    }

    fn complete(self, completion: Completion) -> io::Result<()> {
        completion.result.map(drop)
    }
}
