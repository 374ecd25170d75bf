//! `IORING_OP_RECV`: recv(2) into a rented buffer.

use std::os::fd::RawFd;

use io_uring::{opcode, squeue, types};
use rentio_buf::{BufResult, IoBufMut};

use super::{Completion, Interest, OpCode, Readiness, complete_append};
use crate::sys::{Syscall, clamp_len};

/// Receives from a socket into the spare capacity of a buffer.
///
/// The length is clamped to `MAX_RW_COUNT` (2 GiB less a page): io_uring
/// refuses more with `EINVAL`, and `recv(2)` caps it there, so a larger
/// buffer gives a short count on both backends.
///
/// # Kernel support
///
/// `IORING_OP_RECV`, Linux 5.6. On readiness: `recv` with `MSG_DONTWAIT`,
/// waiting for readability on `EAGAIN`.
#[derive(Debug)]
pub struct Recv<B> {
    fd: RawFd,
    buf: B,
    flags: i32,
    poll_first: bool,
}

impl<B: IoBufMut> Recv<B> {
    /// A receive with no flags.
    pub fn new(fd: RawFd, buf: B) -> Recv<B> {
        Recv {
            fd,
            buf,
            flags: 0,
            poll_first: false,
        }
    }

    /// A receive with `MSG_*` flags (`MSG_PEEK`, `MSG_WAITALL`, …).
    pub fn with_flags(fd: RawFd, buf: B, flags: i32) -> Recv<B> {
        Recv {
            fd,
            buf,
            flags,
            poll_first: false,
        }
    }

    /// Marks a read from a TCP socket, whose short result means the
    /// socket was drained. On the readiness backend the
    /// driver then remembers, per fd, that it is drained, and the next such
    /// read waits for the fd's next read edge instead of first trying a
    /// `recv` bound to fail with `EAGAIN` (tokio clears a stream's
    /// readiness after a short read for the same reason); any edge, a read
    /// that filled its buffer, a hangup or urgent data make reads try
    /// first again. io_uring ignores it: its recv goes out with the next
    /// enter, by when a reply has mostly come (`IORING_RECVSEND_POLL_FIRST`
    /// measured slower there). Do not use it on a datagram socket, where a
    /// short read drains nothing, nor on a Unix stream: its read stops
    /// early after a message that carried fds (`SCM_RIGHTS`), or at one
    /// whose credentials differ, with more data queued behind it, and a
    /// read that waited for an edge would then wait forever.
    #[must_use]
    pub fn poll_first(mut self) -> Recv<B> {
        self.poll_first = true;
        self
    }
}

// SAFETY: as for Read: the pointers go into the buffer's spare capacity.
unsafe impl<B: IoBufMut> OpCode for Recv<B> {
    type Output = BufResult<usize, B>;
    const CODE: u8 = opcode::Recv::CODE;

    fn direct_fd(&self) -> Option<RawFd> {
        Some(self.fd)
    }

    fn is_empty_read(&self) -> bool {
        self.buf.spare_len() == 0
    }

    fn uring_entry(&mut self) -> squeue::Entry {
        let len = clamp_len(self.buf.spare_len());
        opcode::Recv::new(types::Fd(self.fd), self.buf.spare_ptr(), len)
            .flags(self.flags)
            .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Io(self.fd, Interest::Read)
    }

    fn poll_first(&self) -> bool {
        self.poll_first
    }

    fn drains(&self, n: u32) -> bool {
        // The syscall wrote into the spare capacity; the buffer's length
        // moves only in `complete`, so this is the length asked for.
        self.poll_first && n > 0 && (n as usize) < clamp_len(self.buf.spare_len()) as usize
    }

    fn syscall(&mut self) -> Syscall {
        Syscall::Recv {
            fd: self.fd,
            ptr: self.buf.spare_ptr(),
            len: clamp_len(self.buf.spare_len()) as usize,
            flags: self.flags,
        }
    }

    fn complete(self, completion: Completion) -> BufResult<usize, B> {
        complete_append(self.buf, completion)
    }
}
