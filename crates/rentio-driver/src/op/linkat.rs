//! `IORING_OP_LINKAT`: linkat(2), a hard link.

use std::ffi::CStr;
use std::io;
use std::os::fd::RawFd;
use std::path::Path;

use io_uring::{opcode, squeue, types};

use super::openat::c_path;
use super::{Completion, KernelBox, OpCode, Readiness};
use crate::sys::Syscall;

/// Makes `link` a new name for the file `original`.
///
/// # Kernel support
///
/// `IORING_OP_LINKAT`, Linux 5.15; the blocking pool where the ring lacks
/// it, and on readiness.
#[derive(Debug)]
pub struct LinkAt {
    original_dirfd: RawFd,
    original: KernelBox<CStr>,
    link_dirfd: RawFd,
    link: KernelBox<CStr>,
    flags: i32,
}

impl LinkAt {
    /// Links `link` to `original` (both relative to the working
    /// directory; a symlink `original` is not followed, as `link(2)`).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if a path holds a NUL byte.
    pub fn new(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<LinkAt> {
        LinkAt::at(libc::AT_FDCWD, original, libc::AT_FDCWD, link, 0)
    }

    /// `linkat(original_dirfd, original, link_dirfd, link, flags)`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if a path holds a NUL byte.
    pub fn at(
        original_dirfd: RawFd,
        original: impl AsRef<Path>,
        link_dirfd: RawFd,
        link: impl AsRef<Path>,
        flags: i32,
    ) -> io::Result<LinkAt> {
        Ok(LinkAt {
            original_dirfd,
            original: KernelBox::from_box(c_path(original.as_ref())?.into_boxed_c_str()),
            link_dirfd,
            link: KernelBox::from_box(c_path(link.as_ref())?.into_boxed_c_str()),
            flags,
        })
    }
}

// SAFETY: both paths are in `KernelBox`es: on the heap, and pointers to
// them stay valid when the op moves.
unsafe impl OpCode for LinkAt {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::LinkAt::CODE;
    const LATE_FDS: bool = true;
    const SYSCALL_FALLBACK: bool = true;

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::LinkAt::new(
            types::Fd(self.original_dirfd),
            self.original.as_ptr().cast(),
            types::Fd(self.link_dirfd),
            self.link.as_ptr().cast(),
        )
        .flags(self.flags)
        .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Blocking
    }

    fn syscall(&mut self) -> Syscall {
        Syscall::LinkAt {
            original_dirfd: self.original_dirfd,
            original: self.original.as_ptr().cast(),
            link_dirfd: self.link_dirfd,
            link: self.link.as_ptr().cast(),
            flags: self.flags,
        }
    }

    fn complete(self, completion: Completion) -> io::Result<()> {
        completion.result.map(drop)
    }
}
