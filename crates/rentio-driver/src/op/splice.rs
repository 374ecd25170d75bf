//! `IORING_OP_SPLICE`: splice(2), bytes between two fds one of which is a
//! pipe, without a copy through user space.

use std::io;
use std::os::fd::RawFd;

use io_uring::{opcode, squeue, types};

use super::{Completion, OpCode, Readiness};
use crate::sys::Syscall;

/// Moves up to `len` bytes from `fd_in` to `fd_out`; one of them must be a
/// pipe. An offset of `None` uses (and moves) the fd's own position, as a
/// pipe requires. The result is the count moved: 0 is end of input.
///
/// Lengths are cut to `u32::MAX` (the ring's field); a blocking pipe may
/// hold a pool thread until it is ready (use `SPLICE_F_NONBLOCK` for
/// `EAGAIN` instead).
///
/// # Kernel support
///
/// `IORING_OP_SPLICE`, Linux 5.7; the blocking pool where the ring lacks
/// it, and on readiness.
#[derive(Debug)]
pub struct Splice {
    fd_in: RawFd,
    off_in: Option<u64>,
    fd_out: RawFd,
    off_out: Option<u64>,
    len: u32,
    flags: u32,
}

impl Splice {
    /// `splice(fd_in, off_in, fd_out, off_out, len, flags)`.
    pub fn new(
        fd_in: RawFd,
        off_in: Option<u64>,
        fd_out: RawFd,
        off_out: Option<u64>,
        len: usize,
        flags: u32,
    ) -> Splice {
        Splice {
            fd_in,
            off_in,
            fd_out,
            off_out,
            len: u32::try_from(len).unwrap_or(u32::MAX),
            // The ring reads bit 31 as "fd_in is a registered file".
            flags: flags
                & (libc::SPLICE_F_MOVE
                    | libc::SPLICE_F_NONBLOCK
                    | libc::SPLICE_F_MORE
                    | libc::SPLICE_F_GIFT),
        }
    }
}

/// The ring's "no offset": -1. An offset past `i64::MAX` (which the
/// ring would read as -1, or as negative) is cut to `i64::MAX`, where the
/// kernel says `EINVAL` or end of file as `splice(2)` would.
fn ring_offset(off: Option<u64>) -> i64 {
    off.map_or(-1, |off| off.min(i64::MAX as u64) as i64)
}

// SAFETY: no pointers.
unsafe impl OpCode for Splice {
    type Output = io::Result<usize>;
    const CODE: u8 = opcode::Splice::CODE;
    const LATE_FDS: bool = true;
    const SYSCALL_FALLBACK: bool = true;

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::Splice::new(
            types::Fd(self.fd_in),
            ring_offset(self.off_in),
            types::Fd(self.fd_out),
            ring_offset(self.off_out),
            self.len,
        )
        .flags(self.flags)
        .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Blocking
    }

    fn syscall(&mut self) -> Syscall {
        Syscall::Splice {
            fd_in: self.fd_in,
            off_in: self.off_in,
            fd_out: self.fd_out,
            off_out: self.off_out,
            len: self.len as usize,
            flags: self.flags,
        }
    }

    fn complete(self, completion: Completion) -> io::Result<usize> {
        completion.result.map(|n| n as usize)
    }
}
