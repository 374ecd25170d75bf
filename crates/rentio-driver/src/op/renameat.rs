//! `IORING_OP_RENAMEAT`: renameat2(2).

use std::ffi::CStr;
use std::io;
use std::os::fd::RawFd;
use std::path::Path;

use io_uring::{opcode, squeue, types};

use super::openat::c_path;
use super::{Completion, KernelBox, OpCode, Readiness};
use crate::sys::Syscall;

/// Renames a file or directory, replacing what `to` named (unless
/// `RENAME_NOREPLACE` is in the flags).
///
/// # Kernel support
///
/// `IORING_OP_RENAMEAT`, Linux 5.11; the blocking pool where the ring
/// lacks it, and on readiness.
#[derive(Debug)]
pub struct RenameAt {
    from_dirfd: RawFd,
    from: KernelBox<CStr>,
    to_dirfd: RawFd,
    to: KernelBox<CStr>,
    flags: u32,
}

impl RenameAt {
    /// Renames `from` to `to` (both relative to the working directory).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if a path holds a NUL byte.
    pub fn new(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<RenameAt> {
        RenameAt::at(libc::AT_FDCWD, from, libc::AT_FDCWD, to, 0)
    }

    /// `renameat2(from_dirfd, from, to_dirfd, to, flags)`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if a path holds a NUL byte.
    pub fn at(
        from_dirfd: RawFd,
        from: impl AsRef<Path>,
        to_dirfd: RawFd,
        to: impl AsRef<Path>,
        flags: u32,
    ) -> io::Result<RenameAt> {
        Ok(RenameAt {
            from_dirfd,
            from: KernelBox::from_box(c_path(from.as_ref())?.into_boxed_c_str()),
            to_dirfd,
            to: KernelBox::from_box(c_path(to.as_ref())?.into_boxed_c_str()),
            flags,
        })
    }
}

// SAFETY: both paths are in `KernelBox`es: on the heap, and pointers to
// them stay valid when the op moves.
unsafe impl OpCode for RenameAt {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::RenameAt::CODE;
    const LATE_FDS: bool = true;
    const SYSCALL_FALLBACK: bool = true;

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::RenameAt::new(
            types::Fd(self.from_dirfd),
            self.from.as_ptr().cast(),
            types::Fd(self.to_dirfd),
            self.to.as_ptr().cast(),
        )
        .flags(self.flags)
        .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Blocking
    }

    fn syscall(&mut self) -> Syscall {
        Syscall::RenameAt {
            from_dirfd: self.from_dirfd,
            from: self.from.as_ptr().cast(),
            to_dirfd: self.to_dirfd,
            to: self.to.as_ptr().cast(),
            flags: self.flags,
        }
    }

    fn complete(self, completion: Completion) -> io::Result<()> {
        completion.result.map(drop)
    }
}
