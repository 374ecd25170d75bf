//! `IORING_OP_READ`: read(2) / pread(2) into a rented buffer.

use std::os::fd::RawFd;

use io_uring::{opcode, squeue, types};
use rentio_buf::{BufResult, IoBufMut};

use super::{Completion, Interest, OpCode, Readiness, complete_append};
use crate::sys::{Syscall, clamp_len};

/// Reads into the spare capacity of a buffer (it appends after the
/// initialized part), at an offset or at the file's current position.
///
/// The length is clamped to `MAX_RW_COUNT` (2 GiB less a page), as the
/// kernel caps any transfer: a larger buffer gives a short count. A buffer with no spare capacity reads 0 bytes.
///
/// # Kernel support
///
/// `IORING_OP_READ`, Linux 5.6. On readiness: a pollable fd (socket, pipe)
/// waits for readability; a regular file, or any read at an offset, runs on
/// the blocking pool.
#[derive(Debug)]
pub struct Read<B> {
    fd: RawFd,
    buf: B,
    offset: Option<u64>,
}

impl<B: IoBufMut> Read<B> {
    /// A read at the fd's current position.
    pub fn new(fd: RawFd, buf: B) -> Read<B> {
        Read {
            fd,
            buf,
            offset: None,
        }
    }

    /// A read at `offset` (pread).
    pub fn at(fd: RawFd, buf: B, offset: u64) -> Read<B> {
        Read {
            fd,
            buf,
            offset: Some(offset),
        }
    }
}

// SAFETY: the SQE and syscall point into the buffer's spare capacity, which
// IoBufMut guarantees is heap or static memory that does not move with the
// op; `complete` marks initialized only the kernel's count.
unsafe impl<B: IoBufMut> OpCode for Read<B> {
    type Output = BufResult<usize, B>;
    const CODE: u8 = opcode::Read::CODE;

    fn direct_fd(&self) -> Option<RawFd> {
        Some(self.fd)
    }

    fn is_empty_read(&self) -> bool {
        self.buf.spare_len() == 0
    }

    fn uring_entry(&mut self) -> squeue::Entry {
        let len = clamp_len(self.buf.spare_len());
        opcode::Read::new(types::Fd(self.fd), self.buf.spare_ptr(), len)
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

    fn complete(self, completion: Completion) -> BufResult<usize, B> {
        complete_append(self.buf, completion)
    }
}
