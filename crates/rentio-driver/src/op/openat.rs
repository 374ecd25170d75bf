//! `IORING_OP_OPENAT`: openat(2) a path.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use io_uring::{opcode, squeue, types};

use super::{Completion, KernelBox, OpCode, Readiness};
use crate::sys::Syscall;

/// Opens a file (always `O_CLOEXEC`).
///
/// # Cancel safety
///
/// If dropped after the kernel opened the file, the driver closes it.
///
/// # Kernel support
///
/// `IORING_OP_OPENAT`, Linux 5.6. On readiness: the blocking pool.
#[derive(Debug)]
pub struct OpenAt {
    dirfd: RawFd,
    path: KernelBox<CStr>,
    flags: i32,
    mode: u32,
}

impl OpenAt {
    /// Opens `path` relative to the working directory with `O_*` `flags`
    /// and `mode` (for `O_CREAT`).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the path holds a NUL byte.
    pub fn new(path: impl AsRef<Path>, flags: i32, mode: u32) -> io::Result<OpenAt> {
        OpenAt::at(libc::AT_FDCWD, path, flags, mode)
    }

    /// Opens `path` relative to the directory `dirfd`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the path holds a NUL byte.
    pub fn at(dirfd: RawFd, path: impl AsRef<Path>, flags: i32, mode: u32) -> io::Result<OpenAt> {
        Ok(OpenAt {
            dirfd,
            path: KernelBox::from_box(c_path(path.as_ref())?.into_boxed_c_str()),
            flags: flags | libc::O_CLOEXEC,
            mode,
        })
    }
}

pub(crate) fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

// SAFETY: the path is in a `KernelBox`: on the heap, and pointers to it
// stay valid when the op moves.
unsafe impl OpCode for OpenAt {
    type Output = io::Result<OwnedFd>;
    const CODE: u8 = opcode::OpenAt::CODE;
    const LATE_FDS: bool = true;
    const RETURNS_FD: bool = true;

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::OpenAt::new(types::Fd(self.dirfd), self.path.as_ptr().cast())
            .flags(self.flags)
            .mode(self.mode)
            .build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Blocking
    }

    fn syscall(&mut self) -> Syscall {
        Syscall::OpenAt {
            dirfd: self.dirfd,
            path: self.path.as_ptr().cast(),
            flags: self.flags,
            mode: self.mode,
        }
    }

    fn complete(self, completion: Completion) -> io::Result<OwnedFd> {
        let fd = completion.result?;
        // SAFETY: the kernel just opened this fd for us.
        Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
    }
}
