//! `IORING_OP_SEND`: send(2) from a rented buffer.

use std::os::fd::RawFd;

use io_uring::{opcode, squeue, types};
use rentio_buf::{BufResult, IoBuf};

use super::{Completion, Interest, OpCode, Readiness};
use crate::sys::{Syscall, clamp_len};

/// Sends the initialized part of a buffer on a socket, always with
/// `MSG_NOSIGNAL`: a reset peer is an `EPIPE` error, never `SIGPIPE`.
///
/// The length is clamped to `MAX_RW_COUNT` (2 GiB less a page): io_uring
/// refuses more with `EINVAL`, and `send(2)` caps it there, so a larger
/// buffer gives a short count on both backends.
///
/// # Kernel support
///
/// `IORING_OP_SEND`, Linux 5.6. On readiness: `send` with `MSG_DONTWAIT`,
/// waiting for writability on `EAGAIN`.
#[derive(Debug)]
pub struct Send<B> {
    fd: RawFd,
    buf: B,
    flags: i32,
}

impl<B: IoBuf> Send<B> {
    /// A send with no extra flags.
    pub fn new(fd: RawFd, buf: B) -> Send<B> {
        Send::with_flags(fd, buf, 0)
    }

    /// A send with `MSG_*` flags (`MSG_NOSIGNAL` is always added).
    pub fn with_flags(fd: RawFd, buf: B, flags: i32) -> Send<B> {
        Send {
            fd,
            buf,
            flags: flags | libc::MSG_NOSIGNAL,
        }
    }
}

// SAFETY: as for Write: the pointers go into the buffer's initialized part.
unsafe impl<B: IoBuf> OpCode for Send<B> {
    type Output = BufResult<usize, B>;
    const CODE: u8 = opcode::Send::CODE;

    fn direct_fd(&self) -> Option<RawFd> {
        Some(self.fd)
    }

    fn uring_entry(&mut self) -> squeue::Entry {
        let len = clamp_len(self.buf.buf_len());
        opcode::Send::new(types::Fd(self.fd), self.buf.as_buf_ptr(), len)
            .flags(self.flags)
            .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Io(self.fd, Interest::Write)
    }

    fn syscall(&mut self) -> Syscall {
        Syscall::Send {
            fd: self.fd,
            ptr: self.buf.as_buf_ptr(),
            len: clamp_len(self.buf.buf_len()) as usize,
            flags: self.flags,
        }
    }

    fn complete(self, completion: Completion) -> BufResult<usize, B> {
        (completion.result.map(|n| n as usize), self.buf)
    }
}
