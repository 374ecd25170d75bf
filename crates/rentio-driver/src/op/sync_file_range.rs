//! `IORING_OP_SYNC_FILE_RANGE`: sync_file_range(2).

use std::io;
use std::os::fd::RawFd;

use io_uring::{opcode, squeue, types};

use super::{Completion, OpCode, Readiness};
use crate::sys::Syscall;

/// Starts (or waits for) writeback of a range of a file
/// (`SYNC_FILE_RANGE_WRITE`, `WAIT_BEFORE`, `WAIT_AFTER`). It makes
/// nothing durable by itself: metadata and the disk cache are left alone.
///
/// The ring takes a 32-bit length: a longer range is cut to `u32::MAX`
/// bytes; `len` 0 means to the end of the file, on both backends.
///
/// # Kernel support
///
/// `IORING_OP_SYNC_FILE_RANGE`, Linux 5.2; the blocking pool where the
/// ring lacks it, and on readiness.
#[derive(Debug)]
pub struct SyncFileRange {
    fd: RawFd,
    offset: u64,
    len: u64,
    flags: u32,
}

impl SyncFileRange {
    /// `sync_file_range(fd, offset, len, flags)`.
    pub fn new(fd: RawFd, offset: u64, len: u64, flags: u32) -> SyncFileRange {
        SyncFileRange {
            fd,
            offset,
            len: len.min(u64::from(u32::MAX)),
            flags,
        }
    }
}

// SAFETY: no pointers.
unsafe impl OpCode for SyncFileRange {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::SyncFileRange::CODE;
    const LATE_FDS: bool = true;
    const SYSCALL_FALLBACK: bool = true;

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::SyncFileRange::new(types::Fd(self.fd), self.len as u32)
            .offset(self.offset)
            .flags(self.flags)
            .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Blocking
    }

    fn syscall(&mut self) -> Syscall {
        Syscall::SyncFileRange {
            fd: self.fd,
            offset: self.offset,
            len: self.len,
            flags: self.flags,
        }
    }

    fn complete(self, completion: Completion) -> io::Result<()> {
        completion.result.map(drop)
    }
}
