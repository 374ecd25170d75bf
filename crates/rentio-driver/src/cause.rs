//! Why io_uring could not start: a pure classifier with unit tests.

use std::fmt;
use std::io;

/// Why the io_uring backend is unavailable.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UringUnavailable {
    /// `io_uring_setup` failed with `EPERM` while the sysctl allows it: a
    /// seccomp filter (a container's default profile) forbids it.
    Seccomp,
    /// The sysctl `kernel.io_uring_disabled` forbids it (1: only for members
    /// of `kernel.io_uring_group`; 2: for everyone).
    SysctlDisabled(u32),
    /// `ENOSYS`: the kernel lacks io_uring, or a seccomp filter answers
    /// `ENOSYS`.
    NotImplemented,
    /// `ENOMEM`: the ring could not be allocated or locked (`RLIMIT_MEMLOCK`
    /// on kernels before 5.12).
    OutOfMemory,
    /// The kernel lacks a feature the driver needs.
    MissingFeature(&'static str),
    /// Another error from `io_uring_setup`.
    Other(i32),
}

impl UringUnavailable {
    /// Classifies a failed `io_uring_setup`, given its `errno` and the value
    /// of `/proc/sys/kernel/io_uring_disabled` (if readable).
    pub fn classify(errno: i32, io_uring_disabled: Option<u32>) -> UringUnavailable {
        match errno {
            libc::EPERM => match io_uring_disabled {
                Some(v) if v > 0 => UringUnavailable::SysctlDisabled(v),
                _ => UringUnavailable::Seccomp,
            },
            libc::ENOSYS => UringUnavailable::NotImplemented,
            libc::ENOMEM => UringUnavailable::OutOfMemory,
            other => UringUnavailable::Other(other),
        }
    }

    /// The `io::ErrorKind` this cause maps to.
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            UringUnavailable::Seccomp | UringUnavailable::SysctlDisabled(_) => {
                io::ErrorKind::PermissionDenied
            }
            UringUnavailable::NotImplemented | UringUnavailable::MissingFeature(_) => {
                io::ErrorKind::Unsupported
            }
            UringUnavailable::OutOfMemory => io::ErrorKind::OutOfMemory,
            UringUnavailable::Other(_) => io::ErrorKind::Other,
        }
    }

    /// This cause as an `io::Error` (`self` is its source).
    pub fn into_error(self) -> io::Error {
        io::Error::new(self.kind(), self)
    }

    /// Reads `kernel.io_uring_disabled`; `None` if the kernel has no such
    /// sysctl (before 6.6) or it cannot be read.
    pub fn read_sysctl() -> Option<u32> {
        std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

impl fmt::Display for UringUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UringUnavailable::Seccomp => f.write_str(
                "io_uring is forbidden (EPERM from io_uring_setup): a seccomp filter, such as a container's default profile, blocks it; allow io_uring_setup, io_uring_enter and io_uring_register in the profile to use it",
            ),
            UringUnavailable::SysctlDisabled(1) => f.write_str(
                "io_uring is disabled by sysctl kernel.io_uring_disabled=1 for processes outside kernel.io_uring_group; add this process's group to kernel.io_uring_group, or set kernel.io_uring_disabled=0",
            ),
            UringUnavailable::SysctlDisabled(v) => {
                write!(
                    f,
                    "io_uring is disabled by sysctl kernel.io_uring_disabled={v}; set kernel.io_uring_disabled=0 to use it"
                )
            }
            UringUnavailable::NotImplemented => f.write_str(
                "io_uring is not available (ENOSYS from io_uring_setup): the kernel lacks it or a seccomp filter hides it",
            ),
            UringUnavailable::OutOfMemory => f.write_str(
                "io_uring ring could not be allocated (ENOMEM): raise RLIMIT_MEMLOCK (ulimit -l) or use fewer entries",
            ),
            UringUnavailable::MissingFeature(what) => {
                write!(f, "io_uring lacks a feature rentio needs: {what}")
            }
            UringUnavailable::Other(errno) => write!(
                f,
                "io_uring_setup failed: {}",
                io::Error::from_raw_os_error(*errno)
            ),
        }
    }
}

impl std::error::Error for UringUnavailable {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eperm_is_seccomp_unless_the_sysctl_says_otherwise() {
        assert_eq!(
            UringUnavailable::classify(libc::EPERM, Some(0)),
            UringUnavailable::Seccomp
        );
        assert_eq!(
            UringUnavailable::classify(libc::EPERM, None),
            UringUnavailable::Seccomp
        );
        assert_eq!(
            UringUnavailable::classify(libc::EPERM, Some(2)),
            UringUnavailable::SysctlDisabled(2)
        );
        assert_eq!(
            UringUnavailable::classify(libc::EPERM, Some(1)),
            UringUnavailable::SysctlDisabled(1)
        );
    }

    #[test]
    fn other_errnos() {
        assert_eq!(
            UringUnavailable::classify(libc::ENOSYS, Some(0)),
            UringUnavailable::NotImplemented
        );
        assert_eq!(
            UringUnavailable::classify(libc::ENOMEM, None),
            UringUnavailable::OutOfMemory
        );
        assert_eq!(
            UringUnavailable::classify(libc::EFAULT, None),
            UringUnavailable::Other(libc::EFAULT)
        );
    }

    #[test]
    fn messages_name_the_cause_and_kinds_fit() {
        let e = UringUnavailable::Seccomp.into_error();
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        assert!(e.to_string().contains("seccomp"));
        assert!(
            UringUnavailable::SysctlDisabled(2)
                .to_string()
                .contains("io_uring_disabled=2")
        );
        assert!(
            UringUnavailable::OutOfMemory
                .to_string()
                .contains("MEMLOCK")
        );
        assert_eq!(
            UringUnavailable::NotImplemented.kind(),
            io::ErrorKind::Unsupported
        );
        assert!(
            UringUnavailable::NotImplemented
                .to_string()
                .contains("ENOSYS")
        );
    }
}
