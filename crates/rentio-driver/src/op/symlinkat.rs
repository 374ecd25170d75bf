//! `IORING_OP_SYMLINKAT`: symlinkat(2).

use std::ffi::CStr;
use std::io;
use std::os::fd::RawFd;
use std::path::Path;

use io_uring::{opcode, squeue, types};

use super::openat::c_path;
use super::{Completion, KernelBox, OpCode, Readiness};
use crate::sys::Syscall;

/// Makes `link` a symbolic link holding `target` (which need not exist).
///
/// # Kernel support
///
/// `IORING_OP_SYMLINKAT`, Linux 5.15; the blocking pool where the ring
/// lacks it, and on readiness.
#[derive(Debug)]
pub struct SymlinkAt {
    target: KernelBox<CStr>,
    link_dirfd: RawFd,
    link: KernelBox<CStr>,
}

impl SymlinkAt {
    /// Makes `link` (relative to the working directory) point at
    /// `target`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if a path holds a NUL byte.
    pub fn new(target: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<SymlinkAt> {
        SymlinkAt::at(target, libc::AT_FDCWD, link)
    }

    /// `symlinkat(target, link_dirfd, link)`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if a path holds a NUL byte.
    pub fn at(
        target: impl AsRef<Path>,
        link_dirfd: RawFd,
        link: impl AsRef<Path>,
    ) -> io::Result<SymlinkAt> {
        Ok(SymlinkAt {
            target: KernelBox::from_box(c_path(target.as_ref())?.into_boxed_c_str()),
            link_dirfd,
            link: KernelBox::from_box(c_path(link.as_ref())?.into_boxed_c_str()),
        })
    }
}

// SAFETY: both paths are in `KernelBox`es: on the heap, and pointers to
// them stay valid when the op moves.
unsafe impl OpCode for SymlinkAt {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::SymlinkAt::CODE;
    const LATE_FDS: bool = true;
    const SYSCALL_FALLBACK: bool = true;

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::SymlinkAt::new(
            types::Fd(self.link_dirfd),
            self.target.as_ptr().cast(),
            self.link.as_ptr().cast(),
        )
        .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Blocking
    }

    fn syscall(&mut self) -> Syscall {
        Syscall::SymlinkAt {
            target: self.target.as_ptr().cast(),
            link_dirfd: self.link_dirfd,
            link: self.link.as_ptr().cast(),
        }
    }

    fn complete(self, completion: Completion) -> io::Result<()> {
        completion.result.map(drop)
    }
}
