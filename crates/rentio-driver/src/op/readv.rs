//! `IORING_OP_READV`: readv(2) / preadv(2) into rented buffers.

use std::os::fd::RawFd;

use io_uring::{opcode, squeue, types};
use rentio_buf::{BufResult, IoVecBufMut};

use super::{Completion, Interest, OpCode, Readiness, spare_iovecs_of};
use crate::sys::Syscall;

/// Reads into the spare capacity of several buffers in order.
///
/// # Kernel support
///
/// `IORING_OP_READV`, Linux 5.1. On readiness like [`Read`](super::Read).
#[derive(Debug)]
pub struct Readv<B> {
    fd: RawFd,
    bufs: B,
    iovecs: Vec<libc::iovec>,
    offset: Option<u64>,
}

impl<B: IoVecBufMut> Readv<B> {
    /// A vectored read at the current position.
    pub fn new(fd: RawFd, bufs: B) -> Readv<B> {
        Readv::with_offset(fd, bufs, None)
    }

    /// A vectored read at `offset`.
    pub fn at(fd: RawFd, bufs: B, offset: u64) -> Readv<B> {
        Readv::with_offset(fd, bufs, Some(offset))
    }

    fn with_offset(fd: RawFd, mut bufs: B, offset: Option<u64>) -> Readv<B> {
        let iovecs = spare_iovecs_of(&mut bufs);
        Readv {
            fd,
            bufs,
            iovecs,
            offset,
        }
    }
}

// SAFETY: the iovec array is a Vec's heap memory, never resized after
// construction; its entries point into the buffers' spare capacity, which
// IoVecBufMut guarantees stays put; `complete` trusts only the count.
unsafe impl<B: IoVecBufMut> OpCode for Readv<B> {
    type Output = BufResult<usize, B>;
    const CODE: u8 = opcode::Readv::CODE;

    fn direct_fd(&self) -> Option<RawFd> {
        Some(self.fd)
    }

    fn is_empty_read(&self) -> bool {
        self.iovecs.iter().all(|iov| iov.iov_len == 0)
    }

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::Readv::new(
            types::Fd(self.fd),
            self.iovecs.as_ptr(),
            self.iovecs.len() as u32,
        )
        .offset(self.offset.unwrap_or(u64::MAX))
        .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::file(self.fd, self.offset, Interest::Read)
    }

    fn syscall(&mut self) -> Syscall {
        Syscall::Readv {
            fd: self.fd,
            iov: self.iovecs.as_ptr(),
            count: self.iovecs.len(),
            offset: self.offset,
        }
    }

    fn complete(mut self, completion: Completion) -> BufResult<usize, B> {
        match completion.result {
            Ok(n) => {
                // SAFETY: the kernel filled `n` bytes of the spare parts in
                // order, exactly as set_iovec_init distributes them.
                unsafe { self.bufs.set_iovec_init(n as usize) };
                (Ok(n as usize), self.bufs)
            }
            Err(e) => (Err(e), self.bufs),
        }
    }
}
