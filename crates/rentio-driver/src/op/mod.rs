//! Op types: one file per io_uring opcode.
//!
//! Each op owns everything the kernel reads or writes for it (the rented
//! buffer, a boxed `sockaddr`, an `iovec` array, a path) and knows three
//! things: the SQE that stands for it on the ring ([`OpCode::uring_entry`]),
//! how the readiness backend runs it ([`OpCode::readiness`] and
//! [`OpCode::syscall`]), and how a completion turns back into a result and
//! the op's resources ([`OpCode::complete`]).
//!
//! Memory the kernel sees is never inline in the op: an op may move (into the
//! driver, when its future is dropped) while the kernel still works on it.

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

use io_uring::squeue;

use crate::sys::Syscall;

mod accept;
mod accept_multi;
mod cancel;
mod cancel_fd;
mod close;
mod connect;
mod fadvise;
mod fallocate;
mod fsync;
mod ftruncate;
mod kernel_box;
mod linkat;
mod mkdirat;
mod nop;
mod openat;
mod poll_add;
mod read;
mod read_fixed;
mod readv;
mod recv;
mod recv_multi;
mod recvmsg;
mod renameat;
mod send;
mod send_zc;
mod sendmsg;
mod shutdown;
mod socket;
mod splice;
mod statx;
mod symlinkat;
mod sync_file_range;
mod tee;
mod timeout;
mod unlinkat;
mod write;
mod write_fixed;
mod writev;

pub use accept::Accept;
pub use accept_multi::AcceptMulti;
pub use cancel::AsyncCancel;
pub use cancel_fd::CancelFd;
pub use close::Close;
pub use connect::Connect;
pub use fadvise::Fadvise;
pub use fallocate::Fallocate;
pub use fsync::Fsync;
pub use ftruncate::Ftruncate;
pub(crate) use kernel_box::KernelBox;
pub use linkat::LinkAt;
pub use mkdirat::MkdirAt;
pub use nop::Nop;
pub use openat::OpenAt;
pub use poll_add::{PollAdd, PollMulti};
pub use read::Read;
pub use read_fixed::ReadFixed;
pub use readv::Readv;
pub use recv::Recv;
pub use recv_multi::RecvMulti;
pub use recvmsg::RecvMsg;
pub use renameat::RenameAt;
pub use send::Send;
pub use send_zc::{SendZc, ZcSend};
pub use sendmsg::SendMsg;
pub use shutdown::Shutdown;
pub use socket::Socket;
pub use splice::Splice;
pub use statx::Statx;
pub use symlinkat::SymlinkAt;
pub use sync_file_range::SyncFileRange;
pub use tee::Tee;
pub use timeout::Timeout;
pub use unlinkat::UnlinkAt;
pub use write::Write;
pub use write_fixed::WriteFixed;
pub use writev::Writev;

/// `IORING_CQE_F_MORE`: more completions follow for a multishot op.
pub const CQE_F_MORE: u32 = 1 << 1;

/// What a completion carries: the result and the CQE flags.
#[derive(Debug)]
pub struct Completion {
    /// The op's result: a non-negative count or value, or the error.
    pub result: io::Result<u32>,
    /// The CQE's flags (`IORING_CQE_F_*`); 0 on the readiness backend.
    pub flags: u32,
}

impl Completion {
    /// Converts a CQE's `res` and `flags`; this is the one place where a
    /// negative `res` becomes an `io::Error`.
    pub(crate) fn from_cqe(res: i32, flags: u32) -> Completion {
        let result = if res < 0 {
            Err(io::Error::from_raw_os_error(-res))
        } else {
            Ok(res as u32)
        };
        Completion { result, flags }
    }

    pub(crate) fn from_result(result: io::Result<u32>) -> Completion {
        Completion { result, flags: 0 }
    }
}

/// Which readiness an op waits for on the readiness backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    /// Readable (or error, or hang-up).
    Read,
    /// Writable (or error).
    Write,
}

/// How the readiness backend runs an op.
#[derive(Clone, Copy, Debug)]
pub enum Readiness {
    /// Try [`OpCode::syscall`] at once; on `WouldBlock` (or `EINPROGRESS`)
    /// wait until the fd is ready for the interest and try again.
    Io(RawFd, Interest),
    /// Like `Io` when the fd can be polled (a socket, pipe, tty); a regular
    /// file cannot, and goes to the blocking pool instead.
    IoOrBlocking(RawFd, Interest),
    /// Run [`OpCode::syscall`] once on the driver thread: it does not block.
    Immediate,
    /// Run [`OpCode::syscall`] on the blocking pool.
    Blocking,
    /// Remove the fd from the poller, then run [`OpCode::syscall`] (the
    /// close) on the driver thread.
    Close(RawFd),
    /// Complete with the ready events when the fd is ready (no syscall);
    /// `multishot` keeps it armed.
    Poll {
        /// The fd to watch.
        fd: RawFd,
        /// Which readiness.
        interest: Interest,
        /// Whether it stays armed after the first event.
        multishot: bool,
    },
    /// Complete with `ETIME` after the duration.
    Timer(Duration),
    /// Cancel the op whose `user_data` this is.
    Cancel(u64),
}

/// An operation the driver can run on either backend.
///
/// # Safety
///
/// - Every pointer in the entry returned by [`uring_entry`](OpCode::uring_entry)
///   and in the [`Syscall`] returned by [`syscall`](OpCode::syscall) points to
///   memory owned by `self` that does not move when `self` moves (heap memory
///   or `'static`), and stays valid until `self` is dropped or consumed by
///   [`complete`](OpCode::complete).
/// - [`complete`](OpCode::complete) only trusts the kernel's count for what
///   it marks initialized (it never reads past the count).
///
/// The driver calls the other methods (all but `complete`) while it holds
/// its own state borrowed: they must not call into the driver, which would
/// panic as a second `RefCell::borrow_mut` does.
pub unsafe trait OpCode: 'static {
    /// What the op's future resolves to.
    type Output;

    /// The io_uring opcode (`io_uring::opcode::X::CODE`), for the probe.
    const CODE: u8;

    /// Whether a non-negative result is a new fd that the driver must close
    /// if nobody takes it (accept, open, socket).
    const RETURNS_FD: bool = false;

    /// Whether this op may run on the blocking pool or the driver thread
    /// when the ring lacks its opcode (masked or old kernel).
    const SYSCALL_FALLBACK: bool = false;

    /// Whether the kernel may look up the op's fds (those of its
    /// [`syscall`](OpCode::syscall)) only when one of its io-wq workers
    /// runs it, after submission: ops it always runs there (fsync,
    /// fallocate, ftruncate, sync_file_range, fadvise, splice, statx and
    /// the `*at` calls with a directory fd). The driver then keeps those
    /// numbers from being closed or handed back until the op's completion,
    /// as it does for a blocking-pool job (invariant 11). The fds are
    /// those [`syscall`](OpCode::syscall)'s `Syscall::fds` names: an op
    /// that sets this must implement `syscall`.
    const LATE_FDS: bool = false;

    /// The fd the op's SQE names in its `fd` field, the op's one target,
    /// if the kernel may take a direct descriptor in its place
    /// (`IOSQE_FIXED_FILE`): the driver then names the fd's slot when the
    /// fd is registered ([`Driver::register_direct`](crate::Driver::register_direct)).
    /// `None` (the default) keeps the fd.
    fn direct_fd(&self) -> Option<RawFd> {
        None
    }

    /// Whether the op is multishot (a [`Multi`](crate::Multi) stream).
    fn is_multishot(&self) -> bool {
        false
    }

    /// A multishot op whose completions say only "ready" (a poll): the
    /// driver merges those its owner has not taken yet into one (their
    /// event masks or-ed), so an owner that takes them late holds one
    /// queued completion, not one per edge.
    fn coalesces(&self) -> bool {
        false
    }

    /// Readiness backend: the op is a stream read that may wait for the
    /// fd's next read edge instead of trying its syscall first, when the
    /// driver knows the fd was drained since its last edge (see
    /// [`Recv::poll_first`]).
    fn poll_first(&self) -> bool {
        false
    }

    /// Readiness backend: whether a result of `n` says this read drained
    /// the fd (a stream read that came back short). `false` keeps the
    /// next read trying its syscall first.
    fn drains(&self, n: u32) -> bool {
        let _ = n;
        false
    }

    /// Checks the op before it is pushed: input the kernel would silently
    /// mishandle is an `InvalidInput` error here.
    fn check(&self) -> io::Result<()> {
        Ok(())
    }

    /// Readiness backend: whether `error` from the op's syscall means
    /// "wait for the fd, then try again" (`EAGAIN`, `EINPROGRESS`) rather
    /// than the op's result.
    fn waits_on(&self, error: &io::Error) -> bool {
        error.kind() == io::ErrorKind::WouldBlock || error.raw_os_error() == Some(libc::EINPROGRESS)
    }

    /// Called once the op's SQE is in the ring (io_uring): from here on
    /// the kernel owns what the op handed over (a `Close`'s fd).
    fn pushed(&mut self) {}

    /// An fd the op owns and is to close (a [`Close`] not yet pushed,
    /// which gives it up here). The driver takes it when the op will not
    /// reach the kernel (its push failed, it was dropped unpushed, or the
    /// driver closes it itself), to close it the driver's way: released
    /// first (invariant 11), never by the op's `OwnedFd` drop.
    fn take_owned_fd(&mut self) -> Option<std::os::fd::OwnedFd> {
        None
    }

    /// Whether the op has nothing to do and completes at once with 0,
    /// without a syscall: a read into a buffer with no spare capacity. (The
    /// kernel would block a zero-length `recv` on some sockets until data
    /// arrives; tokio's reads return at once too.)
    fn is_empty_read(&self) -> bool {
        false
    }

    /// The SQE for this op (its `user_data` is set by the driver).
    fn uring_entry(&mut self) -> squeue::Entry;

    /// How the readiness backend runs this op.
    fn readiness(&self) -> Readiness;

    /// The syscall this op stands for on the readiness backend.
    fn syscall(&mut self) -> Syscall {
        Syscall::Nop
    }

    /// Turns the completion back into the op's output.
    fn complete(self, completion: Completion) -> Self::Output;
}

/// An op with its type erased, as the driver holds it: parked after its
/// handle was dropped, or owned (pushed with [`Driver::push`](crate::Driver::push)).
/// The readiness backend retries an owned op's syscall through it.
pub(crate) trait ErasedOp: std::any::Any {
    fn readiness(&self) -> Readiness;
    fn syscall(&mut self) -> Syscall;
    /// [`OpCode::RETURNS_FD`].
    fn returns_fd(&self) -> bool;
    /// [`OpCode::waits_on`].
    fn waits_on(&self, error: &io::Error) -> bool;
    /// [`OpCode::drains`].
    fn drains(&self, n: u32) -> bool;
}

impl<T: OpCode> ErasedOp for T {
    fn readiness(&self) -> Readiness {
        OpCode::readiness(self)
    }

    fn returns_fd(&self) -> bool {
        T::RETURNS_FD
    }

    fn waits_on(&self, error: &io::Error) -> bool {
        OpCode::waits_on(self, error)
    }

    fn drains(&self, n: u32) -> bool {
        OpCode::drains(self, n)
    }

    fn syscall(&mut self) -> Syscall {
        OpCode::syscall(self)
    }
}

impl Readiness {
    /// A file-style op: at the current position it waits for readiness
    /// when the fd can be polled (else the pool); at an offset it is file IO
    /// and goes to the blocking pool.
    pub(crate) fn file(fd: RawFd, offset: Option<u64>, interest: Interest) -> Readiness {
        match offset {
            None => Readiness::IoOrBlocking(fd, interest),
            Some(_) => Readiness::Blocking,
        }
    }
}

/// Completes a read into `buf`'s spare capacity: marks the kernel's count
/// initialized (never more than the spare room) and hands the buffer back.
pub(crate) fn complete_append<B: rentio_buf::IoBufMut>(
    mut buf: B,
    completion: Completion,
) -> rentio_buf::BufResult<usize, B> {
    match completion.result {
        Ok(n) => {
            let n = (n as usize).min(buf.spare_len());
            let len = buf.buf_len() + n;
            // SAFETY: the kernel wrote `n` bytes right after the initialized
            // part, within the spare capacity (OpCode's second obligation).
            unsafe { buf.set_buf_init(len) };
            (Ok(n), buf)
        }
        Err(e) => (Err(e), buf),
    }
}

/// The iovecs of the spare parts of `bufs` (at most `UIO_MAXIOV`), for
/// vectored reads.
pub(crate) fn spare_iovecs_of<B: rentio_buf::IoVecBufMut>(bufs: &mut B) -> Vec<libc::iovec> {
    let count = bufs.iovec_count().min(libc::UIO_MAXIOV as usize);
    (0..count)
        .filter_map(|i| bufs.iovec_spare_at(i))
        .map(|(ptr, len)| libc::iovec {
            iov_base: ptr.cast(),
            iov_len: len,
        })
        .collect()
}

/// Ops for the driver's unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Completion, OpCode, Readiness};

    /// A NOP that holds a clone of an `Rc`: the count tells how many are
    /// alive, so a test sees when the driver drops one.
    pub(crate) struct Tracked {
        pub(crate) _count: std::rc::Rc<()>,
    }

    // SAFETY: a NOP's SQE carries no pointer.
    unsafe impl OpCode for Tracked {
        type Output = ();
        const CODE: u8 = io_uring::opcode::Nop::CODE;

        fn uring_entry(&mut self) -> io_uring::squeue::Entry {
            io_uring::opcode::Nop::new().build()
        }

        fn readiness(&self) -> Readiness {
            Readiness::Immediate
        }

        fn complete(self, _: Completion) {}
    }
}
