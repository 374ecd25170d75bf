//! Raw syscalls for the readiness backend and the blocking pool.
//!
//! An op describes the syscall it stands for as a [`Syscall`]: plain data
//! (fds, raw pointers into memory the op owns, lengths), so that the same
//! description runs on the driver thread (a non-blocking attempt) or on a
//! blocking-pool thread, which never touches the op itself. The readiness
//! backend and the pool both end here, so the `errno` to `io::Error`
//! conversion lives in one place, like the CQE conversion of the ring.
//!
//! `libc` is used rather than `rustix` for these few calls because the ops
//! already hold `libc` types for the ring (`iovec`, `msghdr`, `sockaddr`)
//! and raw pointers into memory the kernel may leave uninitialized; `rustix`
//! wants Rust slices here, which would assert initialization we cannot give.

use std::io;
use std::os::fd::RawFd;

/// One syscall, described by value: what an op does on the readiness
/// backend or the blocking pool. Each variant mirrors the syscall of the
/// same name (`Read` with an offset is `pread`, and so on).
///
/// Pointers in a `Syscall` point into memory owned by the op that produced
/// it (its buffer's heap memory or a `Box`), which the driver keeps alive
/// until the syscall has returned.
#[derive(Debug, Clone, Copy)]
#[allow(missing_docs)]
#[non_exhaustive]
pub enum Syscall {
    Nop,
    Read {
        fd: RawFd,
        ptr: *mut u8,
        len: usize,
        offset: Option<u64>,
    },
    Write {
        fd: RawFd,
        ptr: *const u8,
        len: usize,
        offset: Option<u64>,
    },
    Readv {
        fd: RawFd,
        iov: *const libc::iovec,
        count: usize,
        offset: Option<u64>,
    },
    Writev {
        fd: RawFd,
        iov: *const libc::iovec,
        count: usize,
        offset: Option<u64>,
    },
    Recv {
        fd: RawFd,
        ptr: *mut u8,
        len: usize,
        flags: i32,
    },
    Send {
        fd: RawFd,
        ptr: *const u8,
        len: usize,
        flags: i32,
    },
    RecvMsg {
        fd: RawFd,
        msg: *mut libc::msghdr,
        flags: i32,
    },
    SendMsg {
        fd: RawFd,
        msg: *const libc::msghdr,
        flags: i32,
    },
    Accept {
        fd: RawFd,
        addr: *mut libc::sockaddr,
        len: *mut libc::socklen_t,
        flags: i32,
    },
    Connect {
        fd: RawFd,
        addr: *const libc::sockaddr,
        len: libc::socklen_t,
    },
    /// Reads `SO_ERROR`: the second half of a non-blocking connect.
    SocketError {
        fd: RawFd,
    },
    Socket {
        domain: i32,
        ty: i32,
        protocol: i32,
    },
    Shutdown {
        fd: RawFd,
        how: i32,
    },
    Close {
        fd: RawFd,
    },
    OpenAt {
        dirfd: RawFd,
        path: *const libc::c_char,
        flags: i32,
        mode: u32,
    },
    Statx {
        dirfd: RawFd,
        path: *const libc::c_char,
        flags: i32,
        mask: u32,
        out: *mut libc::statx,
    },
    Fsync {
        fd: RawFd,
        data_only: bool,
    },
    UnlinkAt {
        dirfd: RawFd,
        path: *const libc::c_char,
        flags: i32,
    },
    RenameAt {
        from_dirfd: RawFd,
        from: *const libc::c_char,
        to_dirfd: RawFd,
        to: *const libc::c_char,
        flags: u32,
    },
    MkdirAt {
        dirfd: RawFd,
        path: *const libc::c_char,
        mode: u32,
    },
    SymlinkAt {
        target: *const libc::c_char,
        link_dirfd: RawFd,
        link: *const libc::c_char,
    },
    LinkAt {
        original_dirfd: RawFd,
        original: *const libc::c_char,
        link_dirfd: RawFd,
        link: *const libc::c_char,
        flags: i32,
    },
    Fallocate {
        fd: RawFd,
        mode: i32,
        offset: u64,
        len: u64,
    },
    Ftruncate {
        fd: RawFd,
        len: u64,
    },
    Fadvise {
        fd: RawFd,
        offset: u64,
        len: u64,
        advice: i32,
    },
    SyncFileRange {
        fd: RawFd,
        offset: u64,
        len: u64,
        flags: u32,
    },
    Splice {
        fd_in: RawFd,
        off_in: Option<u64>,
        fd_out: RawFd,
        off_out: Option<u64>,
        len: usize,
        flags: u32,
    },
    /// `tee(2)`: duplicates bytes from one pipe into another.
    Tee {
        fd_in: RawFd,
        fd_out: RawFd,
        len: usize,
        flags: u32,
    },
}

// SAFETY: a `Syscall` is plain data. Its pointers are dereferenced only by
// `run`, whose caller guarantees (its `# Safety`) that the memory they point
// at is alive and not accessed by anyone else while the call runs; which
// thread runs the call does not matter to the kernel.
unsafe impl Send for Syscall {}

impl Syscall {
    /// The fds the syscall acts on (an `*at` call's directory fds only
    /// when they are real fds, not `AT_FDCWD`): the numbers the driver
    /// must keep from being closed and reused while a pool thread runs
    /// the call (invariant 11).
    pub fn fds(&self) -> [Option<RawFd>; 2] {
        let real = |fd: RawFd| (fd >= 0).then_some(fd);
        let (a, b) = match *self {
            Syscall::RenameAt {
                from_dirfd: a,
                to_dirfd: b,
                ..
            }
            | Syscall::LinkAt {
                original_dirfd: a,
                link_dirfd: b,
                ..
            }
            | Syscall::Splice {
                fd_in: a,
                fd_out: b,
                ..
            }
            | Syscall::Tee {
                fd_in: a,
                fd_out: b,
                ..
            } => (a, b),
            _ => return [self.fd(), None],
        };
        [real(a), real(b)]
    }

    /// The one fd a single-fd syscall acts on (see [`fds`](Self::fds)).
    fn fd(&self) -> Option<RawFd> {
        let fd = match *self {
            Syscall::Nop
            | Syscall::Socket { .. }
            | Syscall::RenameAt { .. }
            | Syscall::LinkAt { .. }
            | Syscall::Splice { .. }
            | Syscall::Tee { .. } => return None,
            Syscall::Read { fd, .. }
            | Syscall::Write { fd, .. }
            | Syscall::Readv { fd, .. }
            | Syscall::Writev { fd, .. }
            | Syscall::Recv { fd, .. }
            | Syscall::Send { fd, .. }
            | Syscall::RecvMsg { fd, .. }
            | Syscall::SendMsg { fd, .. }
            | Syscall::Accept { fd, .. }
            | Syscall::Connect { fd, .. }
            | Syscall::SocketError { fd }
            | Syscall::Shutdown { fd, .. }
            | Syscall::Close { fd }
            | Syscall::Fsync { fd, .. }
            | Syscall::Fallocate { fd, .. }
            | Syscall::Ftruncate { fd, .. }
            | Syscall::Fadvise { fd, .. }
            | Syscall::SyncFileRange { fd, .. } => fd,
            Syscall::OpenAt { dirfd, .. }
            | Syscall::Statx { dirfd, .. }
            | Syscall::UnlinkAt { dirfd, .. }
            | Syscall::MkdirAt { dirfd, .. }
            | Syscall::SymlinkAt {
                link_dirfd: dirfd, ..
            } => dirfd,
        };
        (fd >= 0).then_some(fd)
    }

    /// Runs the syscall; a non-negative result is returned as `u32`
    /// (transfer lengths are clamped to `MAX_RW_COUNT`, 2 GiB less a page,
    /// by the ops).
    ///
    /// # Safety
    ///
    /// - Every pointer in `self` points to live memory of the described
    ///   length that nothing else reads or writes until this returns.
    pub unsafe fn run(self) -> io::Result<u32> {
        let ret: isize = match self {
            Syscall::Nop => 0,
            Syscall::Read {
                fd,
                ptr,
                len,
                offset: None,
            } => {
                // SAFETY: `run`'s contract: live, exclusive pointers (a bad fd is EBADF).
                unsafe { libc::read(fd, ptr.cast(), len) }
            }
            Syscall::Read {
                fd,
                ptr,
                len,
                offset: Some(off),
            } => {
                // SAFETY: `run`'s contract: live, exclusive pointers (a bad fd is EBADF).
                unsafe { libc::pread(fd, ptr.cast(), len, off as libc::off_t) }
            }
            Syscall::Write {
                fd,
                ptr,
                len,
                offset: None,
            } => {
                // SAFETY: `run`'s contract: live, exclusive pointers (a bad fd is EBADF).
                unsafe { libc::write(fd, ptr.cast(), len) }
            }
            Syscall::Write {
                fd,
                ptr,
                len,
                offset: Some(off),
            } => {
                // SAFETY: `run`'s contract: live, exclusive pointers (a bad fd is EBADF).
                unsafe { libc::pwrite(fd, ptr.cast(), len, off as libc::off_t) }
            }
            Syscall::Readv {
                fd,
                iov,
                count,
                offset: None,
            } => {
                // SAFETY: `run`'s contract: the iovecs and the memory they
                // point at are live and untouched by anyone else.
                unsafe { libc::readv(fd, iov, count as i32) }
            }
            Syscall::Readv {
                fd,
                iov,
                count,
                offset: Some(off),
            } => {
                // SAFETY: as above.
                unsafe { libc::preadv(fd, iov, count as i32, off as libc::off_t) }
            }
            Syscall::Writev {
                fd,
                iov,
                count,
                offset: None,
            } => {
                // SAFETY: as for Readv.
                unsafe { libc::writev(fd, iov, count as i32) }
            }
            Syscall::Writev {
                fd,
                iov,
                count,
                offset: Some(off),
            } => {
                // SAFETY: as for Readv.
                unsafe { libc::pwritev(fd, iov, count as i32, off as libc::off_t) }
            }
            Syscall::Recv {
                fd,
                ptr,
                len,
                flags,
            } => {
                // SAFETY: `run`'s contract: live, exclusive pointers (a bad fd is EBADF).
                unsafe { libc::recv(fd, ptr.cast(), len, flags | libc::MSG_DONTWAIT) }
            }
            Syscall::Send {
                fd,
                ptr,
                len,
                flags,
            } => {
                // SAFETY: `run`'s contract: live, exclusive pointers (a bad fd is EBADF).
                unsafe { libc::send(fd, ptr.cast(), len, flags | libc::MSG_DONTWAIT) }
            }
            Syscall::RecvMsg { fd, msg, flags } => {
                // SAFETY: `run`'s contract: live, exclusive pointers (a bad fd is EBADF).
                unsafe { libc::recvmsg(fd, msg, flags | libc::MSG_DONTWAIT) }
            }
            Syscall::SendMsg { fd, msg, flags } => {
                // SAFETY: `run`'s contract: live, exclusive pointers (a bad fd is EBADF).
                unsafe { libc::sendmsg(fd, msg, flags | libc::MSG_DONTWAIT) }
            }
            Syscall::Accept {
                fd,
                addr,
                len,
                flags,
            } => {
                // SAFETY: `run`'s contract: live, exclusive pointers (a bad fd is EBADF).
                (unsafe { libc::accept4(fd, addr, len, flags) }) as isize
            }
            Syscall::Connect { fd, addr, len } => {
                // SAFETY: `run`'s contract: live, exclusive pointers (a bad fd is EBADF).
                (unsafe { libc::connect(fd, addr, len) }) as isize
            }
            Syscall::SocketError { fd } => return socket_error(fd),
            Syscall::Socket {
                domain,
                ty,
                protocol,
            } => {
                // SAFETY: `run`'s contract: live, exclusive pointers (a bad fd is EBADF).
                (unsafe { libc::socket(domain, ty, protocol) }) as isize
            }
            Syscall::Shutdown { fd, how } => {
                // SAFETY: `run`'s contract: live, exclusive pointers (a bad fd is EBADF).
                (unsafe { libc::shutdown(fd, how) }) as isize
            }
            Syscall::Close { fd } => {
                // SAFETY: `run`'s contract: live, exclusive pointers (a bad fd is EBADF).
                (unsafe { libc::close(fd) }) as isize
            }
            Syscall::OpenAt {
                dirfd,
                path,
                flags,
                mode,
            } => {
                // SAFETY: `run`'s contract: live, exclusive pointers (a bad fd is EBADF).
                (unsafe { libc::openat(dirfd, path, flags, mode) }) as isize
            }
            Syscall::Statx {
                dirfd,
                path,
                flags,
                mask,
                out,
            } => {
                // SAFETY: `run`'s contract: live, exclusive pointers (a bad fd is EBADF).
                (unsafe { libc::statx(dirfd, path, flags, mask, out) }) as isize
            }
            Syscall::Fsync {
                fd,
                data_only: false,
            } => {
                // SAFETY: `run`'s contract: live, exclusive pointers (a bad fd is EBADF).
                (unsafe { libc::fsync(fd) }) as isize
            }
            Syscall::Fsync {
                fd,
                data_only: true,
            } => {
                // SAFETY: `run`'s contract: live, exclusive pointers (a bad fd is EBADF).
                (unsafe { libc::fdatasync(fd) }) as isize
            }
            Syscall::UnlinkAt { dirfd, path, flags } => {
                // SAFETY: `run`'s contract: a live NUL-terminated path.
                (unsafe { libc::unlinkat(dirfd, path, flags) }) as isize
            }
            Syscall::RenameAt {
                from_dirfd,
                from,
                to_dirfd,
                to,
                flags,
            } => {
                // SAFETY: `run`'s contract: live NUL-terminated paths.
                (unsafe { libc::renameat2(from_dirfd, from, to_dirfd, to, flags) }) as isize
            }
            Syscall::MkdirAt { dirfd, path, mode } => {
                // SAFETY: `run`'s contract: a live NUL-terminated path.
                (unsafe { libc::mkdirat(dirfd, path, mode) }) as isize
            }
            Syscall::SymlinkAt {
                target,
                link_dirfd,
                link,
            } => {
                // SAFETY: `run`'s contract: live NUL-terminated paths.
                (unsafe { libc::symlinkat(target, link_dirfd, link) }) as isize
            }
            Syscall::LinkAt {
                original_dirfd,
                original,
                link_dirfd,
                link,
                flags,
            } => {
                // SAFETY: `run`'s contract: live NUL-terminated paths.
                (unsafe { libc::linkat(original_dirfd, original, link_dirfd, link, flags) })
                    as isize
            }
            Syscall::Fallocate {
                fd,
                mode,
                offset,
                len,
            } => {
                // SAFETY: plain syscall on integers (a bad fd is EBADF).
                (unsafe { libc::fallocate64(fd, mode, offset as i64, len as i64) }) as isize
            }
            Syscall::Ftruncate { fd, len } => {
                // SAFETY: plain syscall on integers (a bad fd is EBADF).
                (unsafe { libc::ftruncate64(fd, len as i64) }) as isize
            }
            Syscall::Fadvise {
                fd,
                offset,
                len,
                advice,
            } => {
                // SAFETY: plain syscall on integers (a bad fd is EBADF).
                let err = unsafe { libc::posix_fadvise64(fd, offset as i64, len as i64, advice) };
                // It returns the error number instead of setting errno.
                if err != 0 {
                    return Err(io::Error::from_raw_os_error(err));
                }
                0
            }
            Syscall::SyncFileRange {
                fd,
                offset,
                len,
                flags,
            } => {
                // SAFETY: plain syscall on integers (a bad fd is EBADF).
                (unsafe { libc::sync_file_range(fd, offset as i64, len as i64, flags) }) as isize
            }
            Syscall::Splice {
                fd_in,
                off_in,
                fd_out,
                off_out,
                len,
                flags,
            } => {
                let mut off_in = off_in.map(|off| off.min(i64::MAX as u64) as libc::loff_t);
                let mut off_out = off_out.map(|off| off.min(i64::MAX as u64) as libc::loff_t);
                let ptr = |off: &mut Option<libc::loff_t>| {
                    off.as_mut()
                        .map_or(std::ptr::null_mut(), std::ptr::from_mut)
                };
                let (pin, pout) = (ptr(&mut off_in), ptr(&mut off_out));
                // SAFETY: the offsets are locals that outlive the call
                // (or null for "the fd's own position").
                (unsafe { libc::splice(fd_in, pin, fd_out, pout, len, flags) }) as isize
            }
            Syscall::Tee {
                fd_in,
                fd_out,
                len,
                flags,
            } => {
                // SAFETY: no pointers.
                (unsafe { libc::tee(fd_in, fd_out, len, flags) }) as isize
            }
        };
        cvt(ret)
    }
}

/// Converts a syscall's return value: negative means `errno`.
pub(crate) fn cvt(ret: isize) -> io::Result<u32> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(u32::try_from(ret).unwrap_or(u32::MAX))
    }
}

/// Reads and clears a socket's pending error (`SO_ERROR`).
fn socket_error(fd: RawFd) -> io::Result<u32> {
    let mut err: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `err` and `len` are live locals of the sizes the call expects.
    let ret = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&raw mut err).cast(),
            &mut len,
        )
    };
    cvt(ret as isize)?;
    if err == 0 {
        Ok(0)
    } else {
        Err(io::Error::from_raw_os_error(err))
    }
}

/// The most one transfer moves: the kernel's `MAX_RW_COUNT`
/// (`INT_MAX` rounded down to a page), which `read(2)`, `write(2)` and
/// their kin cap every count at.
pub(crate) const MAX_RW_COUNT: u32 = (i32::MAX as u32) & !4095;

/// Clamps a buffer length to what one transfer moves ([`MAX_RW_COUNT`]),
/// on both backends alike. A syscall caps the count itself, but io_uring
/// refuses a socket transfer over `INT_MAX` with `EINVAL`, so the ring
/// must never be asked for more; a longer buffer gives a short count,
/// which callers already handle.
pub(crate) fn clamp_len(len: usize) -> u32 {
    u32::try_from(len).map_or(MAX_RW_COUNT, |len| len.min(MAX_RW_COUNT))
}

/// Sets `O_NONBLOCK` on `fd`, for the readiness backend.
pub(crate) fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl with F_GETFL takes no pointer.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    cvt(flags as isize)?;
    if flags & libc::O_NONBLOCK == 0 {
        // SAFETY: fcntl with F_SETFL takes an integer argument, no pointer.
        let ret = unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) };
        cvt(ret as isize)?;
    }
    Ok(())
}

/// Closes an fd the driver owns and nobody else will see (a late result).
pub(crate) fn close_fd(fd: RawFd) {
    // SAFETY: the caller owns `fd` (a late accept/open/socket result that no
    // op will hand out); closing it once is exactly what it needs.
    let _ = unsafe { libc::close(fd) };
}

/// Longer waits are as good as forever. About 30 years: the kernel adds a
/// wait to the current time in nanoseconds (`ktime_t`, at most about 292
/// years), and a longer one would overflow into a deadline in the past.
const FOREVER: std::time::Duration = std::time::Duration::from_secs(30 * 365 * 24 * 3600);

/// A kernel timespec for `d` (clamped to [`FOREVER`]), as an SQE points
/// to it.
pub(crate) fn timespec(d: std::time::Duration) -> io_uring::types::Timespec {
    io_uring::types::Timespec::from(d.min(FOREVER))
}

/// [`timespec`] as `io_uring_enter`'s `EXT_ARG` points to it.
pub(crate) fn kernel_timespec(d: std::time::Duration) -> rustix::io_uring::Timespec {
    let d = d.min(FOREVER);
    rustix::io_uring::Timespec {
        // Within `i64`: at most `FOREVER`'s seconds.
        tv_sec: d.as_secs() as i64,
        tv_nsec: i64::from(d.subsec_nanos()),
    }
}
