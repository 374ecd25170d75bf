//! `IORING_OP_READ_FIXED`: a read into a registered buffer.

use std::os::fd::RawFd;

use io_uring::{opcode, squeue, types};
use rentio_buf::{BufResult, IoBufMut};

use super::{Completion, Interest, OpCode, Readiness, complete_append};
use crate::FixedBuf;
use crate::sys::{Syscall, clamp_len};

/// Reads into the spare capacity of a [`FixedBuf`] (after its initialized
/// part), at an offset or at the fd's current position (a socket or pipe
/// reads as `read(2)` does). The kernel uses the buffer's pages pinned at
/// registration instead of pinning them per op.
///
/// Push it only with a buffer registered with this driver's ring
/// ([`FixedBuf::is_registered_with`]); otherwise the kernel refuses it
/// (`EFAULT`), and a plain [`Read`](super::Read) is the op to use, which
/// rentio's `read_fixed` calls choose themselves.
///
/// # Kernel support
///
/// `IORING_OP_READ_FIXED`, Linux 5.1. Fallback: a plain read (the
/// readiness backend runs `read(2)`/`pread(2)` as [`Read`](super::Read)
/// does).
#[derive(Debug)]
pub struct ReadFixed {
    fd: RawFd,
    buf: FixedBuf,
    offset: Option<u64>,
}

impl ReadFixed {
    /// A read at the fd's current position.
    pub fn new(fd: RawFd, buf: FixedBuf) -> ReadFixed {
        ReadFixed {
            fd,
            buf,
            offset: None,
        }
    }

    /// A read at `offset` (pread).
    pub fn at(fd: RawFd, buf: FixedBuf, offset: u64) -> ReadFixed {
        ReadFixed {
            fd,
            buf,
            offset: Some(offset),
        }
    }
}

// SAFETY: the SQE and syscall point into the buffer's spare capacity, in
// the pool's heap allocation, which does not move and lives while the
// `FixedBuf` (held by the op) does; `complete` marks initialized only the
// kernel's count.
unsafe impl OpCode for ReadFixed {
    type Output = BufResult<usize, FixedBuf>;
    const CODE: u8 = opcode::ReadFixed::CODE;

    fn direct_fd(&self) -> Option<RawFd> {
        Some(self.fd)
    }

    fn is_empty_read(&self) -> bool {
        self.buf.spare_len() == 0
    }

    fn uring_entry(&mut self) -> squeue::Entry {
        let len = clamp_len(self.buf.spare_len());
        let index = self.buf.index();
        opcode::ReadFixed::new(types::Fd(self.fd), self.buf.spare_ptr(), len, index)
            .offset(self.offset.unwrap_or(u64::MAX))
            .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::file(self.fd, self.offset, Interest::Read)
    }

    fn syscall(&mut self) -> Syscall {
        Syscall::Read {
            fd: self.fd,
            ptr: self.buf.spare_ptr(),
            len: clamp_len(self.buf.spare_len()) as usize,
            offset: self.offset,
        }
    }

    fn complete(self, completion: Completion) -> BufResult<usize, FixedBuf> {
        complete_append(self.buf, completion)
    }
}
