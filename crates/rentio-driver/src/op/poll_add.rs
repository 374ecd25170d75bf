//! `IORING_OP_POLL_ADD`: wait until an fd is readable or writable.

use std::io;
use std::os::fd::RawFd;

use io_uring::{opcode, squeue, types};

use super::{Completion, Interest, OpCode, Readiness};

/// A read poll also asks for `POLLRDHUP`: a caller that takes a short
/// stream read for "drained" must know when it may not be (the peer shut
/// down, and end of stream is right behind the data).
fn mask(interest: Interest) -> u32 {
    match interest {
        Interest::Read => (libc::POLLIN | libc::POLLRDHUP) as u32,
        Interest::Write => libc::POLLOUT as u32,
    }
}

/// Completes once with the ready events (`POLLIN`, `POLLOUT`, `POLLHUP`, …)
/// when the fd is ready for the interest.
///
/// # Kernel support
///
/// `IORING_OP_POLL_ADD`, Linux 5.1. On readiness: the poller.
#[derive(Debug)]
pub struct PollAdd {
    fd: RawFd,
    interest: Interest,
}

impl PollAdd {
    /// A one-shot poll of `fd`.
    pub fn new(fd: RawFd, interest: Interest) -> PollAdd {
        PollAdd { fd, interest }
    }
}

// SAFETY: no pointers.
unsafe impl OpCode for PollAdd {
    type Output = io::Result<u32>;
    const CODE: u8 = opcode::PollAdd::CODE;

    fn direct_fd(&self) -> Option<RawFd> {
        Some(self.fd)
    }

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::PollAdd::new(types::Fd(self.fd), mask(self.interest)).build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Poll {
            fd: self.fd,
            interest: self.interest,
            multishot: false,
        }
    }

    fn complete(self, completion: Completion) -> io::Result<u32> {
        completion.result
    }
}

/// A multishot poll: a completion per readiness edge, until cancelled;
/// edges that come while one is queued and not yet taken merge into it
/// (their events or-ed). Use it through [`Driver::multi`](crate::Driver::multi).
///
/// The events: `POLLIN` and `POLLRDHUP` for a read poll, `POLLOUT` for
/// a write poll, and `POLLHUP`, `POLLERR` (and on io_uring `POLLRDHUP`)
/// for either. On the readiness backend a read edge is `POLLIN`, with
/// `POLLRDHUP` once the peer shut down or the fd had an error or urgent
/// data (and on every edge with the portable `polling` reactor, which
/// cannot tell).
///
/// # Kernel support
///
/// `IORING_OP_POLL_ADD` with `IORING_POLL_ADD_MULTI`, Linux 5.13. On
/// readiness: an edge-triggered registration that stays armed.
#[derive(Debug)]
pub struct PollMulti {
    fd: RawFd,
    interest: Interest,
}

impl PollMulti {
    /// A multishot poll of `fd`.
    pub fn new(fd: RawFd, interest: Interest) -> PollMulti {
        PollMulti { fd, interest }
    }
}

// SAFETY: no pointers.
unsafe impl OpCode for PollMulti {
    type Output = io::Result<u32>;
    const CODE: u8 = opcode::PollAdd::CODE;

    fn direct_fd(&self) -> Option<RawFd> {
        Some(self.fd)
    }

    fn is_multishot(&self) -> bool {
        true
    }

    fn coalesces(&self) -> bool {
        true
    }

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::PollAdd::new(types::Fd(self.fd), mask(self.interest))
            .multi(true)
            .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Poll {
            fd: self.fd,
            interest: self.interest,
            multishot: true,
        }
    }

    fn complete(self, completion: Completion) -> io::Result<u32> {
        completion.result
    }
}
