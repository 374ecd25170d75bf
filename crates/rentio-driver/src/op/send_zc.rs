//! `IORING_OP_SEND_ZC`: send without copying the buffer; the kernel hands
//! it back only with a second, notification completion.

use std::io;
use std::os::fd::RawFd;
use std::task::{Context, Poll};

use io_uring::{opcode, squeue, types};
use rentio_buf::IoBuf;

use super::{Completion, OpCode, Readiness};

/// `IORING_CQE_F_NOTIF`: the notification that the kernel is done with
/// the buffer.
const CQE_F_NOTIF: u32 = 1 << 3;

/// A zero-copy send of `buf` on a connected socket. It completes twice:
/// first with the count sent (and `IORING_CQE_F_MORE`), then, once the
/// network stack no longer needs the pages (the data is acknowledged, or
/// dropped), with a notification; the buffer is the owner's again only
/// then. [`Driver::send_zc`](crate::Driver::send_zc) runs it as a
/// [`ZcSend`] future over a multishot slot, and a dropped one keeps its
/// buffer in the driver until the notification.
///
/// Worth it for large sends (tens of KiB and up); small ones cost more
/// than a copy.
///
/// # Kernel support
///
/// `IORING_OP_SEND_ZC`, Linux 6.0 (check
/// [`Driver::is_supported`](crate::Driver::is_supported) with
/// `SendZc::CODE`). It has no readiness form (refused with
/// `Unsupported`): send with [`Send`](crate::op::Send) there.
#[derive(Debug)]
pub struct SendZc<T> {
    fd: RawFd,
    buf: T,
}

impl<T: IoBuf> SendZc<T> {
    /// A zero-copy send of `buf`'s initialized bytes on `fd`.
    pub fn new(fd: RawFd, buf: T) -> SendZc<T> {
        SendZc { fd, buf }
    }
}

// SAFETY: the SQE points into `buf`, an `IoBuf` whose memory stays put
// when the op moves; the op (and so `buf`) lives until the final CQE, the
// notification (a multishot slot is freed only after a completion
// without `F_MORE`).
unsafe impl<T: IoBuf> OpCode for SendZc<T> {
    type Output = io::Result<usize>;
    const CODE: u8 = opcode::SendZc::CODE;

    fn direct_fd(&self) -> Option<RawFd> {
        Some(self.fd)
    }

    fn is_multishot(&self) -> bool {
        true
    }

    fn uring_entry(&mut self) -> squeue::Entry {
        let len = u32::try_from(self.buf.buf_len()).unwrap_or(u32::MAX);
        opcode::SendZc::new(types::Fd(self.fd), self.buf.as_buf_ptr(), len)
            .flags(libc::MSG_NOSIGNAL)
            .build()
    }

    fn readiness(&self) -> Readiness {
        // Refused before this is used (only a poll is multishot there).
        Readiness::Immediate
    }

    fn complete(self, completion: Completion) -> io::Result<usize> {
        completion.result.map(|n| n as usize)
    }
}

/// A [`SendZc`] in flight ([`Driver::send_zc`](crate::Driver::send_zc)):
/// resolves, after the notification, to the count sent and the buffer.
///
/// # Cancel safety
///
/// Dropping it cancels the send (some bytes may have gone); the driver
/// keeps the buffer until the kernel's notification, then drops it.
#[derive(Debug)]
pub struct ZcSend<T: IoBuf> {
    multi: crate::Multi<SendZc<T>>,
    result: Option<io::Result<usize>>,
}

impl<T: IoBuf> ZcSend<T> {
    pub(crate) fn new(multi: crate::Multi<SendZc<T>>) -> ZcSend<T> {
        ZcSend {
            multi,
            result: None,
        }
    }

    /// Asks the kernel to stop the send. The future still resolves: with
    /// the count sent before the cancel took effect (or `ECANCELED`),
    /// and the buffer once the kernel's notification says it let go. A
    /// send not polled yet never starts: it resolves to `ECANCELED` and
    /// its buffer at once.
    ///
    /// # Errors
    ///
    /// Only if the cancel request cannot be pushed (try again later).
    pub fn cancel(&mut self) -> io::Result<()> {
        if self.multi.key().is_none() && self.result.is_none() {
            self.result = Some(Err(io::Error::from_raw_os_error(libc::ECANCELED)));
        }
        self.multi.cancel()
    }
}

impl<T: IoBuf> std::future::Future for ZcSend<T> {
    type Output = rentio_buf::BufResult<usize, T>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match this.multi.poll_next(cx) {
                Poll::Ready(Some(completion)) => {
                    // The send's own completion (the count, or an error,
                    // including a refusal to push); the notification, if
                    // the kernel took pages, follows.
                    if completion.flags & CQE_F_NOTIF == 0 && this.result.is_none() {
                        this.result = Some(completion.result.map(|n| n as usize));
                    }
                }
                Poll::Ready(None) => {
                    let Some(op) = this.multi.take_finished() else {
                        panic!("rentio-driver: a ZcSend polled after it completed")
                    };
                    let result = this.result.take().unwrap_or_else(|| {
                        // Only a kernel that posts the notification before
                        // the send's own completion (some 6.1 release
                        // candidates) gets here.
                        Err(io::Error::other(
                            "rentio-driver: send_zc ended without its count (the kernel \
                             posted the notification first); some bytes may have been sent",
                        ))
                    });
                    return Poll::Ready((result, op.buf));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
