//! `IORING_OP_ASYNC_CANCEL` with `IORING_ASYNC_CANCEL_FD | _ALL`: cancel
//! every op that names an fd.

use std::io;
use std::os::fd::RawFd;

use io_uring::types::{CancelBuilder, Fd};
use io_uring::{opcode, squeue};

use super::{Completion, OpCode, Readiness};

/// Cancels every op of this ring that names `fd` and completes with how
/// many it cancelled (`Ok(0)` if none). An fd's owner uses it before it
/// lets the fd go to another ring or closes it and needs no op of its own
/// to act on the file afterwards (a listener whose port must be free at
/// once, a stream handed to another core): the cancelled ops' completions
/// follow, and a cancelled op has released the file by the time its
/// completion is reaped.
///
/// Ops already running in the kernel's workers cannot be cancelled and
/// are not counted (`EALREADY` for one op); socket reads, writes and
/// accepts waiting for readiness always can be.
///
/// # Kernel support
///
/// `IORING_ASYNC_CANCEL_FD` and `IORING_ASYNC_CANCEL_ALL`, Linux 5.19.
/// An older kernel refuses the flags with `EINVAL`. On readiness it
/// completes at once with 0: releasing or closing the fd through the
/// driver already fails every op waiting on it.
#[derive(Debug)]
pub struct CancelFd {
    fd: RawFd,
}

impl CancelFd {
    /// A cancel of every op that names `fd`.
    pub fn new(fd: RawFd) -> CancelFd {
        CancelFd { fd }
    }
}

// SAFETY: no pointers.
unsafe impl OpCode for CancelFd {
    type Output = io::Result<u32>;
    const CODE: u8 = opcode::AsyncCancel2::CODE;

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::AsyncCancel2::new(CancelBuilder::fd(Fd(self.fd)).all()).build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Immediate
    }

    fn complete(self, completion: Completion) -> io::Result<u32> {
        match completion.result {
            // Nothing named the fd.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(0),
            other => other,
        }
    }
}
