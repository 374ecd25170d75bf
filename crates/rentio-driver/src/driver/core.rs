//! The core's op dispatch: pushing an op to the ring, the readiness
//! backend or the blocking pool, and retrying readiness ops.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Duration;

use io_uring::opcode;
use io_uring::types::Timespec;

use super::{BackendImpl, Core, Push};
use crate::key::{AUX, Key};
use crate::op::{ErasedOp, Interest, KernelBox, OpCode, Readiness};
use crate::ops::Ops;
use crate::poll::{self, PollBackend, WaitKind};
use crate::slot::{Cqe, State};
use crate::sys;
use crate::uring::Uring;

impl Core {
    #[inline]
    pub(super) fn push<T: OpCode>(&mut self, data: &mut T, how: Push) -> io::Result<Key> {
        let pushed = self.push_inner(data, how);
        if pushed.is_err() {
            self.close_unpushed(data);
        }
        pushed
    }

    /// A `Close` op that could not be pushed still owns its fd: it is
    /// closed the driver's way (released first, after any pool job that
    /// names it), not by the op's `OwnedFd` when the op drops.
    pub(super) fn close_unpushed<T: OpCode>(&mut self, data: &mut T) {
        if let Some(fd) = data.take_owned_fd() {
            self.close(fd);
        }
    }

    #[inline]
    fn push_inner<T: OpCode>(&mut self, data: &mut T, how: Push) -> io::Result<Key> {
        let core = self;
        core.ops.check_poisoned()?;
        data.check()?;
        if data.is_multishot() != how.multi {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                if how.multi {
                    "rentio-driver: Driver::multi needs a multishot op"
                } else {
                    "rentio-driver: a multishot op runs through Driver::multi"
                },
            ));
        }
        let link_timeout = how.link_timeout;
        // A close of a registered fd first takes it out of the ring's
        // table (after the SQEs queued before are submitted), or the
        // table would keep the file open.
        if T::CODE == io_uring::opcode::Close::CODE
            && let Readiness::Close(fd) = data.readiness()
            && let BackendImpl::Uring(uring) = &mut core.backend
            && uring.direct_slot(fd).is_some()
        {
            uring.release_fd(&mut core.ops, fd);
            uring.release_direct(fd);
        }
        // A close of an fd that a pool job or a late ring op still names
        // waits for them (`run_close`), on the ring too.
        let close_waits = T::CODE == io_uring::opcode::Close::CODE
            && matches!(data.readiness(), Readiness::Close(fd) if core.pool_uses(fd));
        let on_ring = !close_waits
            && matches!(&core.backend, BackendImpl::Uring(uring) if uring.opcodes.contains(T::CODE));
        if let BackendImpl::Uring(uring) = &core.backend
            && let Some(allowed) = &uring.allowed
            && !allowed.contains(T::CODE)
        {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "rentio-driver: this ring is restricted (Builder::restrict_opcodes) and \
                     opcode {} is not in its list",
                    T::CODE
                ),
            ));
        }
        if how.multi
            && !on_ring
            && !matches!(
                data.readiness(),
                Readiness::Poll {
                    multishot: true,
                    ..
                }
            )
        {
            // Only a poll has a multishot form off the ring.
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "rentio-driver: this multishot op runs on io_uring only (it has no readiness form)",
            ));
        }
        let key = core.ops.insert::<T>(u8::from(on_ring), how.notify)?;
        if data.is_empty_read() {
            if let Some(slot) = core.ops.get_mut(key) {
                slot.pending = 0;
            }
            core.ops.complete(key, Cqe::new(0, 0), false, false);
            return Ok(key);
        }
        let pushed = match &mut core.backend {
            BackendImpl::Uring(uring) if on_ring => {
                let pushed = push_uring(uring, &mut core.ops, key, data, link_timeout);
                if T::LATE_FDS && pushed.is_ok() {
                    for fd in data.syscall().fds().into_iter().flatten() {
                        core.ring_fds.push((key.user_data(), fd));
                    }
                }
                pushed
            }
            BackendImpl::Uring(_) if T::SYSCALL_FALLBACK => core.push_fallback(key, data),
            BackendImpl::Uring(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "rentio-driver: this kernel's io_uring lacks opcode {}",
                    T::CODE
                ),
            )),
            BackendImpl::Poll(_) => core.push_poll(key, data, link_timeout),
        };
        match pushed {
            Ok(()) => Ok(key),
            Err(e) => {
                // Nothing reached the kernel or the pool: free the slot.
                core.ops.remove(key);
                Err(e)
            }
        }
    }
}

#[inline]
fn push_uring<T: OpCode>(
    uring: &mut Uring,
    ops: &mut Ops,
    key: Key,
    data: &mut T,
    link_timeout: Option<Duration>,
) -> io::Result<()> {
    if data.is_multishot()
        && let Some(slot) = ops.get_mut(key)
    {
        slot.set_multi(data.coalesces());
    }
    let direct = direct_slot(uring, data);
    let Some(timeout) = link_timeout else {
        uring.push_with(ops, || {
            with_direct(data.uring_entry().user_data(key.user_data()), direct)
        })?;
        data.pushed();
        if direct.is_some() {
            uring.note_direct_sqe();
        }
        return Ok(());
    };
    let entry = with_direct(data.uring_entry().user_data(key.user_data()), direct);
    let Some(slot) = ops.get_mut(key) else {
        unreachable!("the slot was inserted by push")
    };
    slot.pending = 2;
    let timespec: *const Timespec = slot
        .extra()
        .link_timeout
        .insert(KernelBox::new(crate::sys::timespec(timeout)))
        .as_ptr();
    let timeout_entry = opcode::LinkTimeout::new(timespec)
        .build()
        .user_data(key.user_data() | AUX);
    uring.push_linked(ops, &entry, &timeout_entry)?;
    data.pushed();
    if direct.is_some() {
        uring.note_direct_sqe();
    }
    Ok(())
}

/// The direct descriptor an op's SQE names in place of its fd, if the fd
/// is registered and the kernel takes the op's file at submission (an op
/// that looks its fd up late, in io-wq, keeps the number, which the
/// driver guards until its completion).
#[inline]
pub(super) fn direct_slot<T: OpCode>(uring: &Uring, data: &T) -> Option<u32> {
    if T::LATE_FDS {
        return None;
    }
    uring.direct_slot(data.direct_fd()?)
}

/// `entry`, naming `slot` if there is one.
#[inline(always)]
pub(super) fn with_direct(
    entry: io_uring::squeue::Entry,
    slot: Option<u32>,
) -> io_uring::squeue::Entry {
    match slot {
        Some(slot) => crate::uring::to_direct(entry, slot),
        None => entry,
    }
}

/// Readiness backend: the fd is ready again; retry the op's syscall.
fn retry_io<T: ErasedOp + ?Sized>(poll: &mut PollBackend, ops: &mut Ops, key: Key, data: &mut T) {
    let (Readiness::Io(fd, interest) | Readiness::IoOrBlocking(fd, interest)) = data.readiness()
    else {
        unreachable!("only Io ops are in the Ready state")
    };
    // SAFETY: the syscall points into `data`, which the caller holds
    // borrowed for the whole call.
    let result = unsafe { data.syscall().run() };
    if interest == Interest::Read {
        let drained = match &result {
            Ok(n) => data.drains(*n),
            Err(e) => data.waits_on(e),
        };
        poll.read_done(fd, drained);
    }
    match result {
        Err(e) if data.waits_on(&e) && poll.is_pollable(fd) => {
            ops.stats.would_block += 1;
            if let Some(slot) = ops.get_mut(key) {
                slot.state = State::Submitted;
            }
            poll.wait_on(ops, fd, interest, key, WaitKind::Retry);
        }
        result => ops.complete(key, Cqe::from_result(result), false, false),
    }
}

impl Core {
    pub(super) fn try_io<T: ErasedOp + ?Sized>(&mut self, key: Key, data: &mut T) {
        if let BackendImpl::Poll(poll) = &mut self.backend
            && self
                .ops
                .get_mut(key)
                .is_some_and(|slot| matches!(slot.state, State::Ready))
        {
            retry_io(poll, &mut self.ops, key, data);
        }
    }

    #[inline]
    pub(super) fn drain_pool(&mut self) -> usize {
        if !self.ring_fds.is_empty() {
            self.prune_ring_fds();
        }
        if !self.sink.has_results() {
            return 0;
        }
        self.drain_pool_slow()
    }

    /// Forgets the fds of ring ops that completed (see `OpCode::LATE_FDS`),
    /// and closes what waited for them. Runs each tick while such ops are
    /// in flight: a scan of a list as long as they are many.
    fn prune_ring_fds(&mut self) {
        let ops = &mut self.ops;
        let before = self.ring_fds.len();
        self.ring_fds.retain(|&(user_data, _)| {
            Key::from_user_data(user_data)
                .and_then(|(key, _)| ops.get_mut(key))
                .is_some_and(|slot| slot.pending > 0)
        });
        if self.ring_fds.len() != before {
            self.close_unused();
        }
    }

    /// Closes the deferred closes whose fd no pool job or late ring op
    /// names any more (the fds drop here).
    fn close_unused(&mut self) {
        if self.closing.is_empty() {
            return;
        }
        let (pool_fds, ring_fds) = (&self.pool_fds, &self.ring_fds);
        self.closing.retain(|fd| {
            let raw = fd.as_raw_fd();
            pool_fds.iter().chain(ring_fds).any(|&(_, f)| f == raw)
        });
    }

    #[cold]
    fn drain_pool_slow(&mut self) -> usize {
        self.sink.drain_into(&mut self.pool_results);
        let n = self.pool_results.len();
        for (user_data, result) in self.pool_results.drain(..) {
            // A job may use two fds (a rename between two directories).
            while let Some(at) = self.pool_fds.iter().position(|&(u, _)| u == user_data) {
                self.pool_fds.swap_remove(at);
            }
            if let Some((key, _)) = Key::from_user_data(user_data) {
                self.ops
                    .complete(key, Cqe::from_result(result), true, false);
            }
        }
        // Closes that waited for the pool: those whose fd nothing names
        // any more happen now.
        self.close_unused();
        n
    }

    /// Whether a blocking-pool job in flight acts on `fd`, or a ring op
    /// the kernel may look `fd` up for late (`OpCode::LATE_FDS`).
    pub(super) fn pool_uses(&self, fd: RawFd) -> bool {
        self.pool_fds
            .iter()
            .chain(&self.ring_fds)
            .any(|&(_, f)| f == fd)
    }

    /// Before `fd`'s owner closes it or hands it back (invariant 11): on
    /// io_uring, what is queued for it reaches the kernel (which then
    /// holds the file); on readiness it leaves the poller and its waiters
    /// fail. `false`: an SQ thread would not take the queued SQEs, and the
    /// fd must stay open.
    pub(super) fn release(&mut self, fd: RawFd) -> bool {
        match &mut self.backend {
            BackendImpl::Uring(uring) => {
                let released = uring.release_fd(&mut self.ops, fd);
                uring.release_direct(fd);
                released
            }
            BackendImpl::Poll(poll) => {
                poll.deregister(&mut self.ops, fd);
                true
            }
        }
    }

    /// Takes `fd` out of the ring's table of direct descriptors, if it is
    /// there, and nothing else.
    pub(super) fn forget_direct(&mut self, fd: RawFd) {
        if let BackendImpl::Uring(uring) = &mut self.backend {
            uring.release_direct(fd);
        }
    }

    /// Closes `fd` once nothing may act on its number: after
    /// [`release`](Core::release), and after the pool jobs that use it
    /// (the close waits in `closing` for those, without blocking).
    pub(super) fn close(&mut self, fd: OwnedFd) {
        let released = self.release(fd.as_raw_fd());
        self.close_released(fd, released);
    }

    /// [`close`](Core::close) after a release whose outcome is `released`.
    pub(super) fn close_released(&mut self, fd: OwnedFd, released: bool) {
        if !released {
            // Leaked, not closed: an SQE that names it is still queued.
            std::mem::forget(fd);
            return;
        }
        if self.pool_uses(fd.as_raw_fd()) {
            self.ops.stats.closes_deferred += 1;
            self.closing.push(fd);
        } else {
            drop(fd);
        }
    }

    /// io_uring without the op's opcode: run its syscall like the
    /// readiness backend would, on this thread or the pool.
    fn push_fallback<T: OpCode>(&mut self, key: Key, data: &mut T) -> io::Result<()> {
        match data.readiness() {
            Readiness::Immediate => {
                run_now(&mut self.ops, key, data);
                Ok(())
            }
            Readiness::Close(_) => {
                self.run_close(key, data);
                Ok(())
            }
            _ => self.run_blocking(key, data.syscall()),
        }
    }

    fn push_poll<T: OpCode>(
        &mut self,
        key: Key,
        data: &mut T,
        link_timeout: Option<Duration>,
    ) -> io::Result<()> {
        let BackendImpl::Poll(poll) = &mut self.backend else {
            unreachable!("push_poll on the readiness backend only")
        };
        let ops = &mut self.ops;
        match data.readiness() {
            Readiness::Io(fd, interest) => {
                let pollable = poll.ensure(fd)?;
                if pollable && interest == Interest::Read && data.poll_first() && !poll.may_read(fd)
                {
                    // Drained by the last read, and no edge since: wait for
                    // one rather than try a syscall bound to fail.
                    poll.wait_on(ops, fd, interest, key, WaitKind::Retry);
                } else {
                    set_state(ops, key, State::Ready);
                }
            }
            Readiness::IoOrBlocking(fd, _) => {
                if poll.ensure(fd)? {
                    set_state(ops, key, State::Ready);
                } else {
                    self.run_blocking(key, data.syscall())?;
                }
            }
            Readiness::Immediate => run_now(ops, key, data),
            Readiness::Close(_) => self.run_close(key, data),
            Readiness::Blocking => self.run_blocking(key, data.syscall())?,
            Readiness::Poll {
                fd,
                interest,
                multishot,
            } => {
                if !poll.ensure(fd)? {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "rentio-driver: this fd cannot be polled for readiness (a regular file?)",
                    ));
                }
                let kind = if multishot {
                    if let Some(slot) = ops.get_mut(key) {
                        slot.set_multi(data.coalesces());
                    }
                    WaitKind::PollMulti
                } else {
                    WaitKind::PollOnce
                };
                let now = poll::ready_now(fd, interest)?;
                match (now, multishot) {
                    (Some(events), false) => {
                        poll::finish(ops, key, Ok(events));
                    }
                    (Some(events), true) => {
                        if let Some(slot) = ops.get_mut(key) {
                            let action = slot.transition_to_completed(Cqe::new(
                                events as i32,
                                crate::op::CQE_F_MORE,
                            ));
                            ops.apply(key, action);
                        }
                        poll.wait_on(ops, fd, interest, key, kind);
                    }
                    (None, _) => poll.wait_on(ops, fd, interest, key, kind),
                }
            }
            Readiness::Timer(after) => poll.add_timer(after, key, false),
            Readiness::Cancel(user_data) => {
                let result = match Key::from_user_data(user_data) {
                    Some((target, _)) if ops.get_mut(target).is_some_and(|s| s.pending > 0) => {
                        Err(io::Error::from_raw_os_error(libc::EALREADY))
                    }
                    Some((target, _)) => {
                        if poll::finish(
                            ops,
                            target,
                            Err(io::Error::from_raw_os_error(libc::ECANCELED)),
                        ) {
                            Ok(0)
                        } else {
                            Err(io::Error::from_raw_os_error(libc::ENOENT))
                        }
                    }
                    None => Err(io::Error::from_raw_os_error(libc::ENOENT)),
                };
                ops.complete(key, Cqe::from_result(result), false, false);
            }
        }
        if let Some(timeout) = link_timeout
            && let BackendImpl::Poll(poll) = &mut self.backend
        {
            poll.add_timer(timeout, key, true);
        }
        Ok(())
    }
}

fn set_state(ops: &mut Ops, key: Key, state: State) {
    if let Some(slot) = ops.get_mut(key) {
        slot.state = state;
    }
}

impl Core {
    /// A `Close` op run by the driver (readiness, or a ring without the
    /// opcode): the fd is released first (queued SQEs submitted, the
    /// poller told), then closed now, reporting the close's error; while
    /// a blocking-pool job still names the fd (or the release could not
    /// empty the SQ), the driver takes the fd over instead and the op
    /// completes at once.
    fn run_close<T: OpCode>(&mut self, key: Key, data: &mut T) {
        let Readiness::Close(fd) = data.readiness() else {
            unreachable!("run_close runs Close ops only")
        };
        let released = self.release(fd);
        if released && !self.pool_uses(fd) {
            run_now(&mut self.ops, key, data);
            return;
        }
        if let Some(fd) = data.take_owned_fd() {
            self.close_released(fd, released);
        }
        self.ops
            .complete(key, Cqe::from_result(Ok(0)), false, false);
    }

    /// Sends an op's syscall to the blocking pool. The op stays in the
    /// slab, owing one completion, until the pool reports back; the fd it
    /// names is noted so that a close of that fd waits for the job.
    fn run_blocking(&mut self, key: Key, syscall: sys::Syscall) -> io::Result<()> {
        self.ops.stats.pool_jobs += 1;
        self.pool
            .run_syscall(syscall, key.user_data(), self.sink.clone())?;
        for fd in syscall.fds().into_iter().flatten() {
            self.pool_fds.push((key.user_data(), fd));
        }
        if let Some(slot) = self.ops.get_mut(key) {
            slot.pending += 1;
        }
        Ok(())
    }
}

fn run_now<T: OpCode>(ops: &mut Ops, key: Key, data: &mut T) {
    // SAFETY: the syscall points into `data`, borrowed for the call.
    let result = unsafe { data.syscall().run() };
    ops.complete(key, Cqe::from_result(result), false, false);
}
