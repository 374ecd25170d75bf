//! What a driver runs on and what its ring can do: the backend, why it
//! fell back, the setup flags, the kernel's features and opcodes.

use super::{BackendImpl, Driver};
use crate::{Backend, SetupFlags};

impl Driver {
    /// The backend this driver runs on.
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// Why `Auto` fell back to readiness, if it did.
    pub fn fallback_reason(&self) -> Option<&str> {
        self.inner.fallback.as_deref()
    }

    /// The io_uring setup flags the kernel accepted (empty on readiness).
    pub fn setup_flags(&self) -> SetupFlags {
        self.inner.flags
    }

    /// Whether the ring's fd is registered with this thread
    /// (`IORING_REGISTER_RING_FDS`, Linux 5.18), so that an enter skips
    /// the fd lookup; `false` on the readiness backend or an older kernel.
    pub fn ring_fd_registered(&self) -> bool {
        match &self.inner.core.borrow().backend {
            BackendImpl::Uring(uring) => uring.ring_fd_registered(),
            BackendImpl::Poll(_) => false,
        }
    }

    /// A duplicate of the ring's fd (for a register call that must outlive
    /// the driver's borrow, as a buffer ring's unregister); `None` on
    /// readiness.
    pub(crate) fn ring_fd_dup(&self) -> Option<std::os::fd::OwnedFd> {
        match &self.inner.core.borrow().backend {
            BackendImpl::Uring(uring) => uring.ring_fd_dup(),
            BackendImpl::Poll(_) => None,
        }
    }

    /// Whether the ring has `feature` (from the kernel version, after
    /// the builder's masks); `false` on the readiness backend.
    pub fn supports(&self, feature: crate::Feature) -> bool {
        self.inner.features.get() & feature.bit() != 0
    }

    /// Whether the ring supports `opcode` (after the builder's masks and,
    /// on a restricted ring, its list); `false` on the readiness backend.
    pub fn is_supported(&self, opcode: u8) -> bool {
        match &self.inner.core.borrow().backend {
            // A restricted ring supports only the opcodes it allows.
            BackendImpl::Uring(uring) => {
                uring.opcodes.contains(opcode)
                    && uring.allowed.as_ref().is_none_or(|a| a.contains(opcode))
            }
            BackendImpl::Poll(_) => false,
        }
    }

    pub(super) fn missing_required_opcode(&self) -> Option<&'static str> {
        match &self.inner.core.borrow().backend {
            BackendImpl::Uring(uring) => uring.opcodes.missing_required(),
            BackendImpl::Poll(_) => None,
        }
    }
}
