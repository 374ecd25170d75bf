//! `IORING_OP_CLOSE`: close(2) an fd the op owns.

use std::io;
use std::os::fd::{IntoRawFd, OwnedFd, RawFd};

use io_uring::{opcode, squeue, types};

use super::{Completion, OpCode, Readiness};
use crate::sys::Syscall;

/// Closes an fd. The op takes ownership: if it is dropped before it is
/// pushed (or the push fails), the driver takes the fd back and closes it
/// with [`Driver::close`](crate::Driver::close) (released first).
/// Pushing it again after that fails with `EBADF`: it has no fd left.
///
/// # Kernel support
///
/// `IORING_OP_CLOSE`, Linux 5.6; else (and on readiness, after removing the
/// fd from the poller) the syscall on the driver thread.
#[derive(Debug)]
pub struct Close {
    fd: Option<OwnedFd>,
    raw: RawFd,
}

impl Close {
    /// A close of `fd`.
    pub fn new(fd: OwnedFd) -> Close {
        use std::os::fd::AsRawFd;
        let raw = fd.as_raw_fd();
        Close { fd: Some(fd), raw }
    }

    /// From here on the kernel owns the fd.
    fn release(&mut self) -> RawFd {
        self.fd.take().map_or(self.raw, IntoRawFd::into_raw_fd)
    }
}

// SAFETY: no pointers.
unsafe impl OpCode for Close {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::Close::CODE;
    const SYSCALL_FALLBACK: bool = true;

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::Close::new(types::Fd(self.raw)).build()
    }

    fn pushed(&mut self) {
        // The SQE is in the ring: the kernel closes the fd now.
        self.release();
    }

    fn check(&self) -> io::Result<()> {
        if self.fd.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "rentio-driver: this Close gave its fd back to the driver already",
            ));
        }
        Ok(())
    }

    fn take_owned_fd(&mut self) -> Option<OwnedFd> {
        // Nothing may name the number after this: a later push of this op
        // (its check refuses it) or its syscall gets -1.
        self.raw = -1;
        self.fd.take()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Close(self.raw)
    }

    fn syscall(&mut self) -> Syscall {
        Syscall::Close { fd: self.release() }
    }

    fn complete(self, completion: Completion) -> io::Result<()> {
        completion.result.map(drop)
    }
}
