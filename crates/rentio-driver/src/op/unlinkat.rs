//! `IORING_OP_UNLINKAT`: unlinkat(2), a file or (with `AT_REMOVEDIR`) an
//! empty directory.

use std::ffi::CStr;
use std::io;
use std::os::fd::RawFd;
use std::path::Path;

use io_uring::{opcode, squeue, types};

use super::openat::c_path;
use super::{Completion, KernelBox, OpCode, Readiness};
use crate::sys::Syscall;

/// Removes a file, or an empty directory.
///
/// # Kernel support
///
/// `IORING_OP_UNLINKAT`, Linux 5.11; the blocking pool where the ring
/// lacks it, and on readiness.
#[derive(Debug)]
pub struct UnlinkAt {
    dirfd: RawFd,
    path: KernelBox<CStr>,
    flags: i32,
}

impl UnlinkAt {
    /// Removes the file `path` (relative to the working directory).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the path holds a NUL byte.
    pub fn file(path: impl AsRef<Path>) -> io::Result<UnlinkAt> {
        UnlinkAt::at(libc::AT_FDCWD, path, 0)
    }

    /// Removes the empty directory `path`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the path holds a NUL byte.
    pub fn dir(path: impl AsRef<Path>) -> io::Result<UnlinkAt> {
        UnlinkAt::at(libc::AT_FDCWD, path, libc::AT_REMOVEDIR)
    }

    /// `unlinkat(dirfd, path, flags)`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the path holds a NUL byte.
    pub fn at(dirfd: RawFd, path: impl AsRef<Path>, flags: i32) -> io::Result<UnlinkAt> {
        Ok(UnlinkAt {
            dirfd,
            path: KernelBox::from_box(c_path(path.as_ref())?.into_boxed_c_str()),
            flags,
        })
    }
}

// SAFETY: the path is in a `KernelBox`: on the heap, and pointers to it
// stay valid when the op moves.
unsafe impl OpCode for UnlinkAt {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::UnlinkAt::CODE;
    const LATE_FDS: bool = true;
    const SYSCALL_FALLBACK: bool = true;

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::UnlinkAt::new(types::Fd(self.dirfd), self.path.as_ptr().cast())
            .flags(self.flags)
            .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Blocking
    }

    fn syscall(&mut self) -> Syscall {
        Syscall::UnlinkAt {
            dirfd: self.dirfd,
            path: self.path.as_ptr().cast(),
            flags: self.flags,
        }
    }

    fn complete(self, completion: Completion) -> io::Result<()> {
        completion.result.map(drop)
    }
}
