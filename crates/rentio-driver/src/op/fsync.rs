//! `IORING_OP_FSYNC`: fsync(2) or fdatasync(2).

use std::io;
use std::os::fd::RawFd;

use io_uring::{opcode, squeue, types};

use super::{Completion, OpCode, Readiness};
use crate::sys::Syscall;

/// Flushes a file's data (and, unless `data_only`, its metadata) to disk.
///
/// # Kernel support
///
/// `IORING_OP_FSYNC`, Linux 5.1. On readiness: the blocking pool.
#[derive(Debug)]
pub struct Fsync {
    fd: RawFd,
    data_only: bool,
}

impl Fsync {
    /// `fsync(fd)`.
    pub fn new(fd: RawFd) -> Fsync {
        Fsync {
            fd,
            data_only: false,
        }
    }

    /// `fdatasync(fd)`.
    pub fn data(fd: RawFd) -> Fsync {
        Fsync {
            fd,
            data_only: true,
        }
    }
}

// SAFETY: no pointers.
unsafe impl OpCode for Fsync {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::Fsync::CODE;
    const LATE_FDS: bool = true;

    fn uring_entry(&mut self) -> squeue::Entry {
        let mut op = opcode::Fsync::new(types::Fd(self.fd));
        if self.data_only {
            op = op.flags(types::FsyncFlags::DATASYNC);
        }
        op.build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Blocking
    }

    fn syscall(&mut self) -> Syscall {
        Syscall::Fsync {
            fd: self.fd,
            data_only: self.data_only,
        }
    }

    fn complete(self, completion: Completion) -> io::Result<()> {
        completion.result.map(drop)
    }
}
