//! `IORING_OP_RECVMSG`: recvmsg(2) with the sender's address (UDP).

use std::io;
use std::os::fd::RawFd;

use io_uring::{opcode, squeue, types};
use rentio_buf::IoVecBufMut;

use super::{Completion, Interest, OpCode, Readiness, spare_iovecs_of};
use crate::addr::SockAddr;
use crate::sys::Syscall;

/// Receives a message into the spare capacity of buffers, with the address
/// it came from.
///
/// # Kernel support
///
/// `IORING_OP_RECVMSG`, Linux 5.3. On readiness: `recvmsg` with
/// `MSG_DONTWAIT`, waiting for readability on `EAGAIN`.
pub struct RecvMsg<B> {
    fd: RawFd,
    bufs: B,
    msg: Box<MsgState>,
    flags: i32,
}

/// What the kernel reads and writes, boxed so it never moves: the header
/// points at the address and the iovecs next to it.
struct MsgState {
    hdr: libc::msghdr,
    addr: SockAddr,
    iovecs: Vec<libc::iovec>,
}

impl<B: IoVecBufMut> RecvMsg<B> {
    /// A receive into `bufs` (a `Vec<Vec<u8>>`, an array of buffers, …).
    pub fn new(fd: RawFd, mut bufs: B) -> RecvMsg<B> {
        let iovecs = spare_iovecs_of(&mut bufs);
        // SAFETY: msghdr is plain old data; zero is a valid empty header.
        let hdr: libc::msghdr = unsafe { std::mem::zeroed() };
        let mut msg = Box::new(MsgState {
            hdr,
            addr: SockAddr::empty(),
            iovecs,
        });
        let state = &mut *msg;
        state.hdr.msg_name = state.addr.as_mut_ptr().cast();
        state.hdr.msg_namelen = state.addr.len();
        state.hdr.msg_iov = state.iovecs.as_mut_ptr();
        state.hdr.msg_iovlen = state.iovecs.len();
        RecvMsg {
            fd,
            bufs,
            msg,
            flags: 0,
        }
    }
}

impl<B> std::fmt::Debug for RecvMsg<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvMsg")
            .field("fd", &self.fd)
            .finish_non_exhaustive()
    }
}

// SAFETY: the header, address and iovec array live in a Box (and the Vec's
// heap memory, never resized), so they stay put when the op moves; the
// iovecs point into the buffers' spare capacity.
unsafe impl<B: IoVecBufMut> OpCode for RecvMsg<B> {
    type Output = (io::Result<(usize, SockAddr)>, B);
    const CODE: u8 = opcode::RecvMsg::CODE;

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::RecvMsg::new(types::Fd(self.fd), &raw mut self.msg.hdr)
            .flags(self.flags as u32)
            .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Io(self.fd, Interest::Read)
    }

    fn syscall(&mut self) -> Syscall {
        Syscall::RecvMsg {
            fd: self.fd,
            msg: &raw mut self.msg.hdr,
            flags: self.flags,
        }
    }

    fn complete(mut self, completion: Completion) -> Self::Output {
        match completion.result {
            Ok(n) => {
                // SAFETY: the kernel filled `n` bytes of the spare parts in
                // order.
                unsafe { self.bufs.set_iovec_init(n as usize) };
                let addr =
                    SockAddr::from_raw(*self.msg.addr.as_storage(), self.msg.hdr.msg_namelen);
                (Ok((n as usize, addr)), self.bufs)
            }
            Err(e) => (Err(e), self.bufs),
        }
    }
}
