//! Letting go of an fd through the driver (invariant 11; the rule is in
//! the module docs of `driver`): [`Driver::close`], [`Driver::release_fd`],
//! the closes deferred while a batch holds the core, and the fd of a
//! `Close` op that never reached the kernel.

use std::os::fd::{AsRawFd, OwnedFd};

use super::Driver;
use crate::op::OpCode;

impl Driver {
    /// Closes `fd` once no op can act on its number any more (invariant
    /// 11): on io_uring, SQEs still queued in this tick are submitted
    /// first (each then holds the file it names, so none can land on a
    /// new file that reuses the number); on readiness the fd leaves the
    /// poller and the ops waiting on it fail with `EBADF`; a blocking-pool
    /// job still using the fd delays the close until it reports back.
    /// Inside a [`Batch`](super::Batch), the close waits for the batch to end. Errors of
    /// the close are dropped, as `OwnedFd`'s drop does.
    ///
    /// The close waits for no completion: it returns once the queued SQEs
    /// are submitted (microseconds; it gives up after a second on a ring
    /// that takes none, and then points them at fd `-1`). One difference
    /// between the backends stays: ops the kernel already holds on
    /// io_uring run on against the old file (which stays open until they
    /// finish, or are cancelled), where readiness fails them with `EBADF`.
    /// Cancel such ops ([`Driver::cancel`]) before the close to end them
    /// the same way on both.
    pub fn close(&self, fd: OwnedFd) {
        match self.inner.core.try_borrow_mut() {
            Ok(mut core) => {
                core.close(fd);
                self.settle(core);
            }
            // A batch (or the driver's own code) holds the core: closing
            // now would skip the release, so the close waits for the
            // borrow to end.
            Err(_) => self.inner.deferred_closes.borrow_mut().push(fd),
        }
    }

    /// Hands `fd` back from the driver, for an owner that gives it away
    /// as a raw or std fd (`into_raw_fd`, `into_std`): what
    /// [`close`](Driver::close) does before it closes (queued SQEs
    /// submitted, the fd out of the poller, the ops waiting on it failed
    /// with `EBADF`), without the close. Afterwards no op of this driver
    /// acts on the number it returns.
    ///
    /// Most often that is `fd` itself. If the number cannot be let go of
    /// yet (a blocking-pool job still names it, the SQ thread has not
    /// taken the SQEs that name it, or a [`Batch`](super::Batch) holds the driver), the
    /// caller gets a duplicate (`F_DUPFD_CLOEXEC`, the same open file) and
    /// the driver closes the original once nothing names it (or, on a ring
    /// whose SQ thread takes nothing, keeps it open for good). It never
    /// waits for the pool and never panics; on io_uring it waits for the
    /// kernel to take the queued SQEs, which takes microseconds (at most
    /// a second on a stuck ring). A process out of fds for the duplicate
    /// gets the number itself back, with a `tracing` warning.
    pub fn release_fd(&self, fd: OwnedFd) -> OwnedFd {
        let raw = fd.as_raw_fd();
        let Ok(mut core) = self.inner.core.try_borrow_mut() else {
            // A batch holds the core: the release happens when it ends.
            return match fd.try_clone() {
                Ok(copy) => {
                    self.inner.deferred_closes.borrow_mut().push(fd);
                    copy
                }
                // Out of fds: nothing better than the number itself (the
                // batch's SQEs reach the kernel when it ends, and its
                // direct descriptor, if any, leaves the table then).
                Err(e) => {
                    tracing::warn!(
                        target: "rentio_driver",
                        fd = raw,
                        "rentio-driver: cannot duplicate an fd released inside a batch ({e}); \
                         handing back the number itself"
                    );
                    self.inner.deferred_releases.borrow_mut().push(raw);
                    fd
                }
            };
        };
        let released = core.release(raw);
        let fd = if released && !core.pool_uses(raw) {
            fd
        } else {
            match fd.try_clone() {
                Ok(copy) => {
                    // Parked until the pool is done with it, or (its SQEs
                    // still queued on a stuck ring) kept open for good.
                    core.close_released(fd, released);
                    copy
                }
                Err(e) => {
                    tracing::warn!(
                        target: "rentio_driver",
                        fd = raw,
                        "rentio-driver: cannot duplicate a released fd ({e}); \
                         handing back the number a pool job or a queued SQE still names"
                    );
                    fd
                }
            }
        };
        self.settle(core);
        fd
    }

    /// Closes what [`close`](Driver::close) deferred while the core was
    /// borrowed.
    #[inline]
    pub(super) fn run_deferred_closes(&self) {
        if !self.inner.deferred_releases.borrow().is_empty()
            && let Ok(mut core) = self.inner.core.try_borrow_mut()
        {
            // Only the direct descriptor: the number is its caller's now
            // (it may already name a new file), so the poller and the
            // queued SQEs are left alone.
            let raws = std::mem::take(&mut *self.inner.deferred_releases.borrow_mut());
            for raw in raws {
                core.forget_direct(raw);
            }
            self.settle(core);
        }
        if self.inner.deferred_closes.borrow().is_empty() {
            return;
        }
        let fds = std::mem::take(&mut *self.inner.deferred_closes.borrow_mut());
        for fd in fds {
            self.close(fd);
        }
    }

    /// An op dropped before it was pushed: a `Close` still owns its fd,
    /// which is closed the driver's way ([`Driver::close`]: released first,
    /// deferred inside a batch or behind a pool job).
    pub(crate) fn forget_unpushed<T: OpCode>(&self, data: &mut T) {
        if let Some(fd) = data.take_owned_fd() {
            self.close(fd);
        }
    }
}
