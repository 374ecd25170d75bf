//! The driver's face of direct descriptors (`Builder::direct_descriptors`):
//! registering an fd in the ring's table.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use super::{BackendImpl, Driver};

impl Driver {
    /// Registers `fd` in the ring's table of direct descriptors (see
    /// [`Builder::direct_descriptors`](crate::Builder::direct_descriptors)):
    /// from now on the ops that can ([`OpCode::direct_fd`](crate::OpCode::direct_fd):
    /// reads, writes, sends, receives, polls, shutdown) name its slot
    /// (`IOSQE_FIXED_FILE`) and the kernel skips the fd lookup.
    ///
    /// Returns `false`, and nothing changes, where there is no table (the
    /// readiness backend, a ring built without `direct_descriptors`, a
    /// kernel before 5.19) or it is full. Registering an fd twice is a
    /// no-op.
    ///
    /// The fd must be let go of through this driver
    /// ([`close`](Driver::close), [`release_fd`](Driver::release_fd) or a
    /// [`Close`](crate::op::Close) op), as rentio's sockets and files do:
    /// that takes it out of the table. An fd closed any other way stays
    /// registered: its file stays open, and ops on a new fd that reuses
    /// the number go to the old file.
    ///
    /// # Errors
    ///
    /// The kernel's refusal of the update (`IORING_REGISTER_FILES_UPDATE`),
    /// for example `EBADF`.
    pub fn register_direct(&self, fd: BorrowedFd<'_>) -> io::Result<bool> {
        let Ok(mut core) = self.inner.core.try_borrow_mut() else {
            return Err(io::Error::other(
                "rentio-driver: register_direct inside a batch (the driver is borrowed)",
            ));
        };
        match &mut core.backend {
            BackendImpl::Uring(uring) => uring.register_direct(fd.as_raw_fd()),
            BackendImpl::Poll(_) => Ok(false),
        }
    }

    /// Whether `fd` is registered as a direct descriptor.
    pub fn is_direct(&self, fd: BorrowedFd<'_>) -> bool {
        match &self.inner.core.borrow().backend {
            BackendImpl::Uring(uring) => uring.direct_slot(fd.as_raw_fd()).is_some(),
            BackendImpl::Poll(_) => false,
        }
    }

    /// SQEs that named a direct descriptor in place of an fd so far.
    pub fn direct_sqes(&self) -> u64 {
        match &self.inner.core.borrow().backend {
            BackendImpl::Uring(uring) => uring.direct_sqes(),
            BackendImpl::Poll(_) => 0,
        }
    }

    /// This driver's id: unique among the drivers of the process, never
    /// reused (for a resource registered with one ring, such as a
    /// [`FixedBufPool`](crate::FixedBufPool), to know its ring).
    pub(crate) fn id(&self) -> u64 {
        self.inner.id
    }

    /// Whether the ring is restricted (`Builder::restrict_opcodes`): it
    /// refuses register operations.
    pub(crate) fn is_restricted(&self) -> bool {
        match &self.inner.core.borrow().backend {
            BackendImpl::Uring(uring) => uring.restricted,
            BackendImpl::Poll(_) => false,
        }
    }
}
