//! The driver's face of direct descriptors (`Builder::direct_descriptors`):
//! registering an fd in the ring's table.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use super::{BackendImpl, Driver};

impl Driver {
    /// Registers `fd` in the ring's table of direct descriptors (see
    /// [`Builder::direct_descriptors`](crate::Builder::direct_descriptors)):
    /// from now on the ops that can ([`OpCode::direct_fd`](crate::OpCode::direct_fd):
    /// reads, writes, sends, receives, polls) name its slot
    /// (`IOSQE_FIXED_FILE`) and the kernel skips the fd lookup.
    ///
    /// Returns `false`, and nothing changes, where there is no table (the
    /// readiness backend, a ring built without `direct_descriptors`, a
    /// kernel before 6.13) or it is full. Registering an fd twice is a
    /// no-op.
    ///
    /// rentio's sockets and files have a safe `register_direct` of their
    /// own, which is the way to use this.
    ///
    /// # Errors
    ///
    /// The kernel's refusal of the update (`IORING_REGISTER_FILES_UPDATE`),
    /// for example `EBADF`.
    ///
    /// # Safety
    ///
    /// The table maps the fd's *number* to its file. The caller lets go
    /// of `fd` only through this driver ([`close`](Driver::close),
    /// [`release_fd`](Driver::release_fd) or a [`Close`](crate::op::Close)
    /// op), which takes it out of the table, and never closes or reuses
    /// the number (`close(2)`, `dup2`) any other way while it is
    /// registered: an fd that left any other way would stay in the table,
    /// its file held open, and this driver's ops on a new fd with the
    /// same number would act on the old file.
    pub unsafe fn register_direct(&self, fd: BorrowedFd<'_>) -> io::Result<bool> {
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
