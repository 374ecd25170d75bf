//! `IORING_OP_RECV` with `IORING_RECV_MULTISHOT` and buffer select: one
//! SQE receives again and again into buffers the kernel picks from a
//! [`BufRing`].

use std::io;
use std::os::fd::RawFd;
use std::task::{Context, Poll};

use io_uring::{opcode, squeue, types};

use super::{Completion, OpCode, Readiness};
use crate::{BufRing, RingBuf};

/// `IORING_CQE_F_BUFFER`: the completion names a buffer (its id in the
/// top 16 bits of the flags).
const CQE_F_BUFFER: u32 = 1 << 0;

/// Receives on a stream socket into `ring`'s buffers, one completion per
/// arrival (a filled [`RingBuf`]), through a [`Multi`](crate::Multi)
/// stream ([`Multi::poll_recv`]), until the end of stream, an error or a
/// cancel. `ENOBUFS` (every buffer is out) ends the stream too; no data is
/// lost (it waits in the socket): start a new one once buffers are back
/// ([`BufRing::wait_returned`]).
///
/// The op holds a clone of the ring, so the buffers outlive it.
///
/// # Cancel safety
///
/// A completion the owner has not taken when it drops the stream takes
/// its buffer (and data) with it: the buffer is not returned to the ring.
/// An owner that must not lose them cancels ([`Multi::cancel`]) and takes
/// every completion until the stream ends.
///
/// [`Multi::cancel`]: crate::Multi::cancel
/// [`Multi::poll_recv`]: crate::Multi::poll_recv
///
/// # Kernel support
///
/// `IORING_RECV_MULTISHOT` with a provided buffer ring, Linux 6.0
/// ([`Feature::BufRing`](crate::Feature::BufRing)). A ring that is a
/// user-space pool (readiness, an older kernel) is refused with
/// `InvalidInput`: receive into its buffers ([`BufRing::take`]) with plain
/// `Recv`s instead.
#[derive(Debug)]
pub struct RecvMulti {
    fd: RawFd,
    ring: BufRing,
}

impl RecvMulti {
    /// A multishot receive on `fd` into `ring`'s buffers.
    pub fn new(fd: RawFd, ring: &BufRing) -> RecvMulti {
        RecvMulti {
            fd,
            ring: ring.clone(),
        }
    }

    /// A completion as the data received: `Some(buffer)`, `None` at the
    /// end of stream, or the error.
    fn take(ring: &BufRing, completion: Completion) -> io::Result<Option<RingBuf>> {
        // Whatever the result, a buffer the completion names is ours now.
        let buf = if completion.flags & CQE_F_BUFFER != 0 {
            let bid = (completion.flags >> 16) as u16;
            if bid >= ring.count() {
                return Err(io::Error::other(format!(
                    "rentio-driver: a receive named buffer {bid} of a ring of {}",
                    ring.count()
                )));
            }
            let n = *completion.result.as_ref().unwrap_or(&0);
            // SAFETY: the kernel handed buffer `bid` out with this
            // completion, of `n` bytes; group ids are unique among live
            // rings, so it is this ring's (the op names its group); a
            // completion is taken once.
            Some(unsafe { ring.filled(bid, n) })
        } else {
            None
        };
        match completion.result {
            Err(e) => {
                if e.raw_os_error() == Some(libc::ENOBUFS) {
                    ring.note_exhausted();
                }
                Err(e)
            }
            // Zero bytes: the end of stream (a buffer, if any, goes back).
            Ok(0) => Ok(None),
            Ok(_) => Ok(buf),
        }
    }
}

// SAFETY: the SQE carries no pointer; the buffers the kernel writes are
// the ring's, registered, and kept alive by the clone the op holds.
unsafe impl OpCode for RecvMulti {
    type Output = io::Result<Option<RingBuf>>;
    const CODE: u8 = opcode::RecvMulti::CODE;

    fn direct_fd(&self) -> Option<RawFd> {
        Some(self.fd)
    }

    fn is_multishot(&self) -> bool {
        true
    }

    fn check(&self) -> io::Result<()> {
        if self.ring.is_registered() {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "rentio-driver: a multishot receive needs a registered buffer ring (this one is a user-space pool: use Recv with BufRing::take)",
            ))
        }
    }

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::RecvMulti::new(types::Fd(self.fd), self.ring.group()).build()
    }

    fn readiness(&self) -> Readiness {
        // Refused before this is used (only a poll is multishot there).
        Readiness::Immediate
    }

    fn complete(self, completion: Completion) -> Self::Output {
        RecvMulti::take(&self.ring, completion)
    }
}

impl crate::Multi<RecvMulti> {
    /// The next arrival: `Some(Ok(Some(buffer)))` with data, `Some(Ok(None))`
    /// at the end of stream, `Some(Err(e))` (`ENOBUFS` when every buffer
    /// is out), and `Ready(None)` once the stream has ended.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Option<RingBuf>>>> {
        let Some(ring) = self.data_ref().map(|op| op.ring.clone()) else {
            return Poll::Ready(None);
        };
        self.poll_next(cx)
            .map(|next| next.map(|c| RecvMulti::take(&ring, c)))
    }
}
