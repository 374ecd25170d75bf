//! `IORING_OP_FADVISE`: posix_fadvise(2).

use std::io;
use std::os::fd::RawFd;

use io_uring::{opcode, squeue, types};

use super::{Completion, OpCode, Readiness};
use crate::sys::Syscall;

/// Tells the kernel how a range of a file will be used
/// (`POSIX_FADV_SEQUENTIAL`, `WILLNEED`, `DONTNEED`, …).
///
/// The ring takes a 32-bit length: a longer range is advised up to
/// `u32::MAX` bytes on both backends (advice is a hint); `len` 0 means to
/// the end of the file.
///
/// # Kernel support
///
/// `IORING_OP_FADVISE`, Linux 5.6; the blocking pool where the ring lacks
/// it, and on readiness.
#[derive(Debug)]
pub struct Fadvise {
    fd: RawFd,
    offset: u64,
    len: u64,
    advice: i32,
}

impl Fadvise {
    /// `posix_fadvise(fd, offset, len, advice)`.
    pub fn new(fd: RawFd, offset: u64, len: u64, advice: i32) -> Fadvise {
        Fadvise {
            fd,
            offset,
            len: len.min(u64::from(u32::MAX)),
            advice,
        }
    }
}

// SAFETY: no pointers.
unsafe impl OpCode for Fadvise {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::Fadvise::CODE;
    const LATE_FDS: bool = true;
    const SYSCALL_FALLBACK: bool = true;

    fn uring_entry(&mut self) -> squeue::Entry {
        let len = self.len as libc::off_t;
        opcode::Fadvise::new(types::Fd(self.fd), len, self.advice)
            .offset(self.offset)
            .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Blocking
    }

    fn syscall(&mut self) -> Syscall {
        Syscall::Fadvise {
            fd: self.fd,
            offset: self.offset,
            len: self.len,
            advice: self.advice,
        }
    }

    fn complete(self, completion: Completion) -> io::Result<()> {
        completion.result.map(drop)
    }
}
