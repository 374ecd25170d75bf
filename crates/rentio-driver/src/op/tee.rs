//! `IORING_OP_TEE`: tee(2), bytes duplicated from one pipe into another
//! without consuming them.

use std::io;
use std::os::fd::RawFd;

use io_uring::{opcode, squeue, types};

use super::{Completion, OpCode, Readiness};
use crate::sys::Syscall;

/// Duplicates up to `len` bytes at the head of pipe `fd_in` into pipe
/// `fd_out`, leaving them in `fd_in` (a later [`Splice`](super::Splice)
/// still moves them). The result is the count duplicated: 0 means `fd_in`
/// is empty with no writer left.
///
/// Lengths are cut to `u32::MAX` (the ring's field); a blocking pipe may
/// hold a pool thread until it is ready (use `SPLICE_F_NONBLOCK` for
/// `EAGAIN` instead).
///
/// # Kernel support
///
/// `IORING_OP_TEE`, Linux 5.8; the blocking pool where the ring lacks it
/// (or the builder masks it), and on readiness.
#[derive(Debug)]
pub struct Tee {
    fd_in: RawFd,
    fd_out: RawFd,
    len: u32,
    flags: u32,
}

impl Tee {
    /// `tee(fd_in, fd_out, len, flags)`; of the flags only
    /// `SPLICE_F_NONBLOCK` means anything to tee.
    pub fn new(fd_in: RawFd, fd_out: RawFd, len: usize, flags: u32) -> Tee {
        Tee {
            fd_in,
            fd_out,
            len: u32::try_from(len).unwrap_or(u32::MAX),
            // The ring reads bit 31 as "fd_in is a registered file".
            flags: flags & (libc::SPLICE_F_NONBLOCK | libc::SPLICE_F_MORE | libc::SPLICE_F_MOVE),
        }
    }
}

// SAFETY: no pointers.
unsafe impl OpCode for Tee {
    type Output = io::Result<usize>;
    const CODE: u8 = opcode::Tee::CODE;
    const LATE_FDS: bool = true;
    const SYSCALL_FALLBACK: bool = true;

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::Tee::new(types::Fd(self.fd_in), types::Fd(self.fd_out), self.len)
            .flags(self.flags)
            .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Blocking
    }

    fn syscall(&mut self) -> Syscall {
        Syscall::Tee {
            fd_in: self.fd_in,
            fd_out: self.fd_out,
            len: self.len as usize,
            flags: self.flags,
        }
    }

    fn complete(self, completion: Completion) -> io::Result<usize> {
        completion.result.map(|n| n as usize)
    }
}
