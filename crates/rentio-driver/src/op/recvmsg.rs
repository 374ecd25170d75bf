//! `IORING_OP_RECVMSG`: recvmsg(2) with the sender's address (UDP).

use std::io;
use std::os::fd::RawFd;

use io_uring::{opcode, squeue, types};
use rentio_buf::IoVecBufMut;

use super::{Completion, Interest, KernelBox, OpCode, Readiness, spare_iovecs_of};
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
    msg: KernelBox<MsgState>,
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
        let msg = KernelBox::new(MsgState {
            hdr,
            addr: SockAddr::empty(),
            iovecs,
        });
        let state = msg.as_ptr();
        // SAFETY: `state` points to the live state just boxed, and nothing
        // else has a pointer to it yet; `&raw mut` makes no reference.
        let (name, namelen) = unsafe { SockAddr::raw_parts(&raw mut (*state).addr) };
        // SAFETY: as above; the header's fields are plain data, written in
        // place through the pointer (the iovec array is the Vec's heap
        // memory, which never moves or resizes).
        unsafe {
            (*state).hdr.msg_name = name.cast();
            (*state).hdr.msg_namelen = namelen.read();
            (*state).hdr.msg_iov = (*state).iovecs.as_mut_ptr();
            (*state).hdr.msg_iovlen = (*state).iovecs.len();
        }
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

// SAFETY: the header, address and iovec array live in a `KernelBox` (and
// the Vec's heap memory, never resized), so they stay put, and pointers to
// them stay valid, when the op moves; the iovecs point into the buffers'
// spare capacity.
unsafe impl<B: IoVecBufMut> OpCode for RecvMsg<B> {
    type Output = (io::Result<(usize, SockAddr)>, B);
    const CODE: u8 = opcode::RecvMsg::CODE;

    fn direct_fd(&self) -> Option<RawFd> {
        Some(self.fd)
    }

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::RecvMsg::new(types::Fd(self.fd), self.hdr())
            .flags(self.flags as u32)
            .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Io(self.fd, Interest::Read)
    }

    fn syscall(&mut self) -> Syscall {
        Syscall::RecvMsg {
            fd: self.fd,
            msg: self.hdr(),
            flags: self.flags,
        }
    }

    fn complete(mut self, completion: Completion) -> Self::Output {
        match completion.result {
            Ok(n) => {
                // SAFETY: the kernel filled `n` bytes of the spare parts in
                // order.
                unsafe { self.bufs.set_iovec_init(n as usize) };
                // SAFETY: the op has completed: nothing writes the state.
                let state = unsafe { self.msg.get() };
                let addr = SockAddr::from_raw(*state.addr.as_storage(), state.hdr.msg_namelen);
                (Ok((n as usize, addr)), self.bufs)
            }
            Err(e) => (Err(e), self.bufs),
        }
    }
}

impl<B> RecvMsg<B> {
    /// The header for the kernel, made without a reference.
    fn hdr(&self) -> *mut libc::msghdr {
        // SAFETY: the box holds a live state while `self` lives; `&raw mut`
        // makes no reference.
        unsafe { &raw mut (*self.msg.as_ptr()).hdr }
    }
}
