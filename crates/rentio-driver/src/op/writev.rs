//! `IORING_OP_WRITEV`: writev(2) / pwritev(2) from rented buffers.

use std::os::fd::RawFd;

use io_uring::{opcode, squeue, types};
use rentio_buf::{BufResult, IoVecBuf};

use super::{Completion, Interest, OpCode, Readiness};
use crate::sys::Syscall;

/// Writes the initialized parts of several buffers in order.
///
/// # Kernel support
///
/// `IORING_OP_WRITEV`, Linux 5.1. On readiness like [`Write`](super::Write).
#[derive(Debug)]
pub struct Writev<B> {
    fd: RawFd,
    bufs: B,
    iovecs: Vec<libc::iovec>,
    offset: Option<u64>,
}

impl<B: IoVecBuf> Writev<B> {
    /// A vectored write at the current position.
    pub fn new(fd: RawFd, bufs: B) -> Writev<B> {
        Writev::with_offset(fd, bufs, None)
    }

    /// A vectored write at `offset`.
    pub fn at(fd: RawFd, bufs: B, offset: u64) -> Writev<B> {
        Writev::with_offset(fd, bufs, Some(offset))
    }

    fn with_offset(fd: RawFd, bufs: B, offset: Option<u64>) -> Writev<B> {
        let iovecs = iovecs_of(&bufs);
        Writev {
            fd,
            bufs,
            iovecs,
            offset,
        }
    }
}

/// The iovecs of the initialized parts of `bufs` (at most `UIO_MAXIOV`).
pub(crate) fn iovecs_of<B: IoVecBuf>(bufs: &B) -> Vec<libc::iovec> {
    let count = bufs.iovec_count().min(libc::UIO_MAXIOV as usize);
    (0..count)
        .filter_map(|i| bufs.iovec_at(i))
        .map(|(ptr, len)| libc::iovec {
            iov_base: ptr.cast_mut().cast(),
            iov_len: len,
        })
        .collect()
}

// SAFETY: the iovec array is a Vec's heap memory, never resized after
// construction; its entries point into the buffers' initialized parts,
// which IoVecBuf guarantees stay put.
unsafe impl<B: IoVecBuf> OpCode for Writev<B> {
    type Output = BufResult<usize, B>;
    const CODE: u8 = opcode::Writev::CODE;

    fn direct_fd(&self) -> Option<RawFd> {
        Some(self.fd)
    }

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::Writev::new(
            types::Fd(self.fd),
            self.iovecs.as_ptr(),
            self.iovecs.len() as u32,
        )
        .offset(self.offset.unwrap_or(u64::MAX))
        .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::file(self.fd, self.offset, Interest::Write)
    }

    fn syscall(&mut self) -> Syscall {
        Syscall::Writev {
            fd: self.fd,
            iov: self.iovecs.as_ptr(),
            count: self.iovecs.len(),
            offset: self.offset,
        }
    }

    fn complete(self, completion: Completion) -> BufResult<usize, B> {
        (completion.result.map(|n| n as usize), self.bufs)
    }
}
