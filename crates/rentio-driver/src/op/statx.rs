//! `IORING_OP_STATX`: statx(2) a path or an fd.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::RawFd;
use std::path::Path;

use io_uring::{opcode, squeue, types};

use super::openat::c_path;
use super::{Completion, KernelBox, OpCode, Readiness};
use crate::sys::Syscall;

/// File metadata (`struct statx`) of a path or an open fd.
///
/// # Kernel support
///
/// `IORING_OP_STATX`, Linux 5.6. On readiness: the blocking pool.
pub struct Statx {
    dirfd: RawFd,
    path: KernelBox<CStr>,
    flags: i32,
    mask: u32,
    out: KernelBox<libc::statx>,
}

impl Statx {
    /// Metadata of `path` (following symlinks): the basic fields, the
    /// birth time (`STATX_BTIME`, where the file system keeps one) and the
    /// `O_DIRECT` alignments (`STATX_DIOALIGN`, Linux 6.1).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the path holds a NUL byte.
    pub fn path(path: impl AsRef<Path>) -> io::Result<Statx> {
        Ok(Statx::new(libc::AT_FDCWD, c_path(path.as_ref())?, 0))
    }

    /// Metadata of the open fd.
    pub fn fd(fd: RawFd) -> Statx {
        Statx::new(fd, CString::default(), libc::AT_EMPTY_PATH)
    }

    /// Metadata of `path` itself, a symlink not followed.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the path holds a NUL byte.
    pub fn symlink(path: impl AsRef<Path>) -> io::Result<Statx> {
        Statx::at(libc::AT_FDCWD, path, libc::AT_SYMLINK_NOFOLLOW)
    }

    /// `statx(dirfd, path, flags, …)`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the path holds a NUL byte.
    pub fn at(dirfd: RawFd, path: impl AsRef<Path>, flags: i32) -> io::Result<Statx> {
        Ok(Statx::new(dirfd, c_path(path.as_ref())?, flags))
    }

    fn new(dirfd: RawFd, path: CString, flags: i32) -> Statx {
        Statx {
            dirfd,
            path: KernelBox::from_box(path.into_boxed_c_str()),
            flags,
            mask: libc::STATX_BASIC_STATS | libc::STATX_BTIME | libc::STATX_DIOALIGN,
            // SAFETY: statx is plain old data; zero is a valid value.
            out: KernelBox::new(unsafe { std::mem::zeroed() }),
        }
    }
}

impl std::fmt::Debug for Statx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Statx")
            .field("dirfd", &self.dirfd)
            .finish_non_exhaustive()
    }
}

// SAFETY: the path and the output are in `KernelBox`es: on the heap, and
// pointers to them stay valid when the op moves.
unsafe impl OpCode for Statx {
    type Output = io::Result<libc::statx>;
    const CODE: u8 = opcode::Statx::CODE;
    const LATE_FDS: bool = true;

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::Statx::new(
            types::Fd(self.dirfd),
            self.path.as_ptr().cast(),
            self.out.as_ptr().cast::<types::statx>(),
        )
        .flags(self.flags)
        .mask(self.mask)
        .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Blocking
    }

    fn syscall(&mut self) -> Syscall {
        Syscall::Statx {
            dirfd: self.dirfd,
            path: self.path.as_ptr().cast(),
            flags: self.flags,
            mask: self.mask,
            out: self.out.as_ptr(),
        }
    }

    fn complete(self, completion: Completion) -> io::Result<libc::statx> {
        completion.result?;
        // SAFETY: the op has completed: nothing writes the output now.
        Ok(*unsafe { self.out.get() })
    }
}
