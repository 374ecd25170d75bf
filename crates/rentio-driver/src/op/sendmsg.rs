//! `IORING_OP_SENDMSG`: sendmsg(2) to an address (UDP).

use std::os::fd::RawFd;

use io_uring::{opcode, squeue, types};
use rentio_buf::{BufResult, IoVecBuf};

use super::writev::iovecs_of;
use super::{Completion, Interest, KernelBox, OpCode, Readiness};
use crate::addr::SockAddr;
use crate::sys::Syscall;

/// Sends the initialized parts of buffers as one message, to an address or
/// to the connected peer, always with `MSG_NOSIGNAL`.
///
/// # Kernel support
///
/// `IORING_OP_SENDMSG`, Linux 5.3. On readiness: `sendmsg` with
/// `MSG_DONTWAIT`, waiting for writability on `EAGAIN`.
pub struct SendMsg<B> {
    fd: RawFd,
    bufs: B,
    msg: KernelBox<MsgState>,
}

struct MsgState {
    hdr: libc::msghdr,
    addr: Option<SockAddr>,
    iovecs: Vec<libc::iovec>,
}

impl<B: IoVecBuf> SendMsg<B> {
    /// A message to `addr` (`None`: the connected peer).
    pub fn new(fd: RawFd, bufs: B, addr: Option<SockAddr>) -> SendMsg<B> {
        // SAFETY: msghdr is plain old data; zero is a valid empty header.
        let hdr: libc::msghdr = unsafe { std::mem::zeroed() };
        let msg = KernelBox::new(MsgState {
            hdr,
            addr,
            iovecs: iovecs_of(&bufs),
        });
        let state = msg.as_ptr();
        // SAFETY: `state` points to the live state just boxed, and nothing
        // else has a pointer to it yet; the address and the header's fields
        // are reached in place through it (the iovec array is the Vec's
        // heap memory, which never moves or resizes).
        unsafe {
            if let Some(addr) = &mut (*state).addr {
                let (name, namelen) = SockAddr::raw_parts(addr);
                (*state).hdr.msg_name = name.cast();
                (*state).hdr.msg_namelen = namelen.read();
            }
            (*state).hdr.msg_iov = (*state).iovecs.as_mut_ptr();
            (*state).hdr.msg_iovlen = (*state).iovecs.len();
        }
        SendMsg { fd, bufs, msg }
    }
}

impl<B> std::fmt::Debug for SendMsg<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendMsg")
            .field("fd", &self.fd)
            .finish_non_exhaustive()
    }
}

// SAFETY: the header, address and iovecs are in a `KernelBox` (or a
// never-resized Vec's heap memory), so pointers to them stay valid when the
// op moves; the iovecs point into the buffers' initialized parts.
unsafe impl<B: IoVecBuf> OpCode for SendMsg<B> {
    type Output = BufResult<usize, B>;
    const CODE: u8 = opcode::SendMsg::CODE;

    fn direct_fd(&self) -> Option<RawFd> {
        Some(self.fd)
    }

    fn check(&self) -> std::io::Result<()> {
        if self.bufs.iovec_count() > libc::UIO_MAXIOV as usize {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "a message cannot be split: more buffers than UIO_MAXIOV (1024)",
            ));
        }
        Ok(())
    }

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::SendMsg::new(types::Fd(self.fd), self.hdr())
            .flags(libc::MSG_NOSIGNAL as u32)
            .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Io(self.fd, Interest::Write)
    }

    fn syscall(&mut self) -> Syscall {
        Syscall::SendMsg {
            fd: self.fd,
            msg: self.hdr(),
            flags: libc::MSG_NOSIGNAL,
        }
    }

    fn complete(self, completion: Completion) -> BufResult<usize, B> {
        (completion.result.map(|n| n as usize), self.bufs)
    }
}

impl<B> SendMsg<B> {
    /// The header for the kernel, made without a reference.
    fn hdr(&self) -> *const libc::msghdr {
        // SAFETY: the box holds a live state while `self` lives; `&raw
        // const` makes no reference.
        unsafe { &raw const (*self.msg.as_ptr()).hdr }
    }
}
