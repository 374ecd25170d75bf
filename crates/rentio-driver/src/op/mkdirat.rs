//! `IORING_OP_MKDIRAT`: mkdirat(2).

use std::ffi::CStr;
use std::io;
use std::os::fd::RawFd;
use std::path::Path;

use io_uring::{opcode, squeue, types};

use super::openat::c_path;
use super::{Completion, KernelBox, OpCode, Readiness};
use crate::sys::Syscall;

/// Makes a directory.
///
/// # Kernel support
///
/// `IORING_OP_MKDIRAT`, Linux 5.15; the blocking pool where the ring
/// lacks it, and on readiness.
#[derive(Debug)]
pub struct MkdirAt {
    dirfd: RawFd,
    path: KernelBox<CStr>,
    mode: u32,
}

impl MkdirAt {
    /// Makes the directory `path` (relative to the working directory) with
    /// `mode` (less the umask).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the path holds a NUL byte.
    pub fn new(path: impl AsRef<Path>, mode: u32) -> io::Result<MkdirAt> {
        MkdirAt::at(libc::AT_FDCWD, path, mode)
    }

    /// `mkdirat(dirfd, path, mode)`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the path holds a NUL byte.
    pub fn at(dirfd: RawFd, path: impl AsRef<Path>, mode: u32) -> io::Result<MkdirAt> {
        Ok(MkdirAt {
            dirfd,
            path: KernelBox::from_box(c_path(path.as_ref())?.into_boxed_c_str()),
            mode,
        })
    }
}

// SAFETY: the path is in a `KernelBox`: on the heap, and pointers to it
// stay valid when the op moves.
unsafe impl OpCode for MkdirAt {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::MkDirAt::CODE;
    const LATE_FDS: bool = true;
    const SYSCALL_FALLBACK: bool = true;

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::MkDirAt::new(types::Fd(self.dirfd), self.path.as_ptr().cast())
            .mode(self.mode)
            .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Blocking
    }

    fn syscall(&mut self) -> Syscall {
        Syscall::MkdirAt {
            dirfd: self.dirfd,
            path: self.path.as_ptr().cast(),
            mode: self.mode,
        }
    }

    fn complete(self, completion: Completion) -> io::Result<()> {
        completion.result.map(drop)
    }
}
