//! `IORING_OP_FALLOCATE`: fallocate(2).

use std::io;
use std::os::fd::RawFd;

use io_uring::{opcode, squeue, types};

use super::{Completion, OpCode, Readiness};
use crate::sys::Syscall;

/// Allocates (or, with `FALLOC_FL_PUNCH_HOLE` and the like, frees) disk
/// space for `len` bytes of a file from `offset`.
///
/// # Kernel support
///
/// `IORING_OP_FALLOCATE`, Linux 5.6; the blocking pool where the ring
/// lacks it, and on readiness.
#[derive(Debug)]
pub struct Fallocate {
    fd: RawFd,
    mode: i32,
    offset: u64,
    len: u64,
}

impl Fallocate {
    /// `fallocate(fd, mode, offset, len)`; `mode` 0 allocates and grows
    /// the file if needed.
    pub fn new(fd: RawFd, mode: i32, offset: u64, len: u64) -> Fallocate {
        Fallocate {
            fd,
            mode,
            offset,
            len,
        }
    }
}

// SAFETY: no pointers.
unsafe impl OpCode for Fallocate {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::Fallocate::CODE;
    const LATE_FDS: bool = true;
    const SYSCALL_FALLBACK: bool = true;

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::Fallocate::new(types::Fd(self.fd), self.len)
            .offset(self.offset)
            .mode(self.mode)
            .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Blocking
    }

    fn syscall(&mut self) -> Syscall {
        Syscall::Fallocate {
            fd: self.fd,
            mode: self.mode,
            offset: self.offset,
            len: self.len,
        }
    }

    fn complete(self, completion: Completion) -> io::Result<()> {
        completion.result.map(drop)
    }
}
