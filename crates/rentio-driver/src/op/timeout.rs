//! `IORING_OP_TIMEOUT`: completes after a duration.

use std::io;
use std::time::Duration;

use io_uring::types::Timespec;
use io_uring::{opcode, squeue};

use super::{Completion, KernelBox, OpCode, Readiness};

/// Completes after `duration`. Expiry (`ETIME` from the kernel) is
/// success; a cancelled timeout is an `ECANCELED` error.
///
/// # Kernel support
///
/// `IORING_OP_TIMEOUT`, Linux 5.4. On readiness: the driver's timer heap.
#[derive(Debug)]
pub struct Timeout {
    duration: Duration,
    timespec: KernelBox<Timespec>,
}

impl Timeout {
    /// A timeout of `duration`.
    pub fn new(duration: Duration) -> Timeout {
        Timeout {
            duration,
            timespec: KernelBox::new(crate::sys::timespec(duration)),
        }
    }
}

// SAFETY: the timespec is in a `KernelBox`, so it stays put, and a pointer
// to it stays valid, when the op moves.
unsafe impl OpCode for Timeout {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::Timeout::CODE;

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::Timeout::new(self.timespec.as_ptr().cast_const()).build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Timer(self.duration)
    }

    fn complete(self, completion: Completion) -> io::Result<()> {
        match completion.result {
            Err(e) if e.raw_os_error() == Some(libc::ETIME) => Ok(()),
            other => other.map(drop),
        }
    }
}
