//! `IORING_OP_ACCEPT` with `IORING_ACCEPT_MULTISHOT`: one SQE accepts
//! connection after connection.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use io_uring::{opcode, squeue, types};

use super::{Completion, Interest, KernelBox, OpCode, Readiness};
use crate::addr::SockAddr;
use crate::sys::Syscall;

/// Accepts connections on a listening socket, one completion each (its
/// result the new socket's fd, `CLOEXEC | NONBLOCK`), through a
/// [`Multi`](crate::Multi) stream, until cancelled or a completion comes
/// without `IORING_CQE_F_MORE` (an error, or the kernel giving up): the
/// owner re-arms then. The peer's address is not reported (`getpeername`
/// gives it).
///
/// # Cancel safety
///
/// Completions the owner has not taken when it drops the stream are
/// closed by the driver (the connections are reset, never leaked). An
/// owner that must not lose one cancels ([`Multi::cancel`]) and takes
/// every completion until the stream ends.
///
/// [`Multi::cancel`]: crate::Multi::cancel
///
/// # Kernel support
///
/// `IORING_OP_ACCEPT` with `IORING_ACCEPT_MULTISHOT`, Linux 5.19
/// ([`Feature::MultishotAccept`](crate::Feature::MultishotAccept)); an
/// older kernel refuses it with `EINVAL`. It has no readiness form: there
/// the stream yields an `Unsupported` error, and a caller loops `accept4`
/// on readability instead (as `rentio-net`'s listeners do).
#[derive(Debug)]
pub struct AcceptMulti {
    fd: RawFd,
    /// For the readiness backend's `accept4` only.
    addr: KernelBox<SockAddr>,
}

impl AcceptMulti {
    /// A multishot accept on the listening socket `fd`.
    pub fn new(fd: RawFd) -> AcceptMulti {
        AcceptMulti {
            fd,
            addr: KernelBox::new(SockAddr::empty()),
        }
    }

    /// The new fd an accept completion carries.
    fn take_fd(completion: Completion) -> io::Result<OwnedFd> {
        let fd = completion.result?;
        // SAFETY: only called with this op's completions (below, and
        // `complete`): the kernel made this fd for the op's owner, and a
        // completion is handed out once.
        Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
    }
}

impl crate::Multi<AcceptMulti> {
    /// The next accepted connection; `Ready(None)` once the stream has
    /// ended (re-arm with a new one). An error (`EMFILE`, …) ends it too.
    pub fn poll_accept(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<io::Result<OwnedFd>>> {
        self.poll_next(cx)
            .map(|next| next.map(AcceptMulti::take_fd))
    }
}

// SAFETY: the SQE carries no pointer; the readiness syscall's address
// lives in a `KernelBox`, which stays put when the op moves.
unsafe impl OpCode for AcceptMulti {
    type Output = io::Result<OwnedFd>;
    const CODE: u8 = opcode::AcceptMulti::CODE;
    const RETURNS_FD: bool = true;

    fn is_multishot(&self) -> bool {
        true
    }

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::AcceptMulti::new(types::Fd(self.fd))
            .flags(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK)
            .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Io(self.fd, Interest::Read)
    }

    fn syscall(&mut self) -> Syscall {
        // SAFETY: the box holds a live `SockAddr` while `self` lives.
        let (addr, len) = unsafe { SockAddr::raw_parts(self.addr.as_ptr()) };
        Syscall::Accept {
            fd: self.fd,
            addr,
            len,
            flags: libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
        }
    }

    fn complete(self, completion: Completion) -> io::Result<OwnedFd> {
        AcceptMulti::take_fd(completion)
    }
}
