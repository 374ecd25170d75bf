//! `IORING_OP_WRITE`: write(2) / pwrite(2) from a rented buffer.

use std::os::fd::RawFd;

use io_uring::{opcode, squeue, types};
use rentio_buf::{BufResult, IoBuf};

use super::{Completion, Interest, OpCode, Readiness};
use crate::sys::{Syscall, clamp_len};

/// Writes the initialized part of a buffer, at an offset or at the file's
/// current position.
///
/// The length is clamped to `MAX_RW_COUNT` (2 GiB less a page), as the
/// kernel caps any transfer: a larger buffer gives a short count.
///
/// # Kernel support
///
/// `IORING_OP_WRITE`, Linux 5.6. On readiness: a pollable fd waits for
/// writability; a regular file, or any write at an offset, runs on the
/// blocking pool.
#[derive(Debug)]
pub struct Write<B> {
    fd: RawFd,
    buf: B,
    offset: Option<u64>,
}

impl<B: IoBuf> Write<B> {
    /// A write at the fd's current position.
    pub fn new(fd: RawFd, buf: B) -> Write<B> {
        Write {
            fd,
            buf,
            offset: None,
        }
    }

    /// A write at `offset` (pwrite).
    pub fn at(fd: RawFd, buf: B, offset: u64) -> Write<B> {
        Write {
            fd,
            buf,
            offset: Some(offset),
        }
    }
}

// SAFETY: the SQE and syscall point into the buffer's initialized part,
// which IoBuf guarantees does not move with the op.
unsafe impl<B: IoBuf> OpCode for Write<B> {
    type Output = BufResult<usize, B>;
    const CODE: u8 = opcode::Write::CODE;

    fn direct_fd(&self) -> Option<RawFd> {
        Some(self.fd)
    }

    fn uring_entry(&mut self) -> squeue::Entry {
        let len = clamp_len(self.buf.buf_len());
        opcode::Write::new(types::Fd(self.fd), self.buf.as_buf_ptr(), len)
            .offset(self.offset.unwrap_or(u64::MAX))
            .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::file(self.fd, self.offset, Interest::Write)
    }

    fn syscall(&mut self) -> Syscall {
        Syscall::Write {
            fd: self.fd,
            ptr: self.buf.as_buf_ptr(),
            len: clamp_len(self.buf.buf_len()) as usize,
            offset: self.offset,
        }
    }

    fn complete(self, completion: Completion) -> BufResult<usize, B> {
        (completion.result.map(|n| n as usize), self.buf)
    }
}
