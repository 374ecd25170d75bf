//! `IORING_OP_WRITE_FIXED`: a write from a registered buffer.

use std::os::fd::RawFd;

use io_uring::{opcode, squeue, types};
use rentio_buf::{BufResult, IoBuf};

use super::{Completion, Interest, OpCode, Readiness};
use crate::FixedBuf;
use crate::sys::{Syscall, clamp_len};

/// Writes the initialized part of a [`FixedBuf`], at an offset or at the
/// fd's current position. Meant for files: on a socket it is `write(2)`,
/// which raises `SIGPIPE` at a reset peer (use [`Send`](super::Send),
/// with `MSG_NOSIGNAL`, there, as rentio's sockets do).
///
/// Push it only with a buffer registered with this driver's ring
/// ([`FixedBuf::is_registered_with`]); otherwise the kernel refuses it
/// (`EFAULT`), and a plain [`Write`](super::Write) is the op to use, which
/// rentio's `write_fixed` calls choose themselves.
///
/// # Kernel support
///
/// `IORING_OP_WRITE_FIXED`, Linux 5.1. Fallback: a plain write (the
/// readiness backend runs `write(2)`/`pwrite(2)` as
/// [`Write`](super::Write) does).
#[derive(Debug)]
pub struct WriteFixed {
    fd: RawFd,
    buf: FixedBuf,
    offset: Option<u64>,
}

impl WriteFixed {
    /// A write at the fd's current position.
    pub fn new(fd: RawFd, buf: FixedBuf) -> WriteFixed {
        WriteFixed {
            fd,
            buf,
            offset: None,
        }
    }

    /// A write at `offset` (pwrite).
    pub fn at(fd: RawFd, buf: FixedBuf, offset: u64) -> WriteFixed {
        WriteFixed {
            fd,
            buf,
            offset: Some(offset),
        }
    }
}

// SAFETY: the SQE and syscall point into the buffer's initialized part,
// in the pool's heap allocation, which does not move and lives while the
// `FixedBuf` (held by the op) does.
unsafe impl OpCode for WriteFixed {
    type Output = BufResult<usize, FixedBuf>;
    const CODE: u8 = opcode::WriteFixed::CODE;

    fn direct_fd(&self) -> Option<RawFd> {
        Some(self.fd)
    }

    fn uring_entry(&mut self) -> squeue::Entry {
        let len = clamp_len(self.buf.buf_len());
        let index = self.buf.index();
        opcode::WriteFixed::new(types::Fd(self.fd), self.buf.as_buf_ptr(), len, index)
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

    fn complete(self, completion: Completion) -> BufResult<usize, FixedBuf> {
        (completion.result.map(|n| n as usize), self.buf)
    }
}
