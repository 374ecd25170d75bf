//! The io_uring backend: ring setup and probing, submission batching,
//! reaping, CQ overflow, and the unparker's eventfd watch.
//!
//! Pushing an SQE makes no syscall; [`Uring::poll`] enters once per tick.
//! With `DEFER_TASKRUN` the kernel posts completions only when this thread
//! enters with `IORING_ENTER_GETEVENTS`, so every enter carries it, and the
//! enter is skipped only when nothing can be pending: the SQ is empty and
//! neither `IORING_SQ_TASKRUN` nor `IORING_SQ_CQ_OVERFLOW` is set.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use io_uring::{opcode, squeue, types};
use rustix::io_uring::IoringFeatureFlags;

use crate::builder::{Builder, SetupFlags};
use crate::cause::UringUnavailable;
use crate::key::{CANCEL_USER_DATA, Key, UNPARK_USER_DATA};
use crate::ops::Ops;
use crate::unpark::ParkState;
use ring::{Ring, Setup};

mod direct;
mod probe;
mod restrict;
mod ring;

pub(crate) use direct::to_direct;

pub(crate) use probe::OpcodeSet;

const IORING_ENTER_GETEVENTS: u32 = 1 << 0;
const IORING_ENTER_SQ_WAKEUP: u32 = 1 << 1;
const IORING_ENTER_SQ_WAIT: u32 = 1 << 2;
const IORING_SQ_CQ_OVERFLOW: u32 = 1 << 1;
const IORING_SQ_TASKRUN: u32 = 1 << 2;
/// How long a flush keeps entering before it gives up (each try reaps and
/// yields, so an SQ thread or a full CQ has time to make room; either
/// takes microseconds unless the ring is stuck).
const SUBMIT_PATIENCE: Duration = Duration::from_secs(1);

/// The ring and what the driver learned when it set it up.
pub(crate) struct Uring {
    ring: Ring,
    pub(crate) flags: SetupFlags,
    pub(crate) opcodes: OpcodeSet,
    /// Hardened mode: the opcodes the ring was restricted to, unless
    /// pushes skip the check (tests).
    pub(crate) allowed: Option<OpcodeSet>,
    /// Created with `Builder::restrict_opcodes` (also the unchecked
    /// form, whose `allowed` is `None`): register operations are refused.
    pub(crate) restricted: bool,
    /// Direct descriptors (`Builder::direct_descriptors`), if the kernel
    /// took the table.
    direct: Option<direct::DirectTable>,
    park: Arc<ParkState>,
    unpark_armed: bool,
    /// Batched wake-ups (`Builder::batch_wakeups`), if asked for.
    batch: Option<Batch>,
    /// The kernel takes `min_wait_usec` (and the builder does not mask
    /// `Feature::MinTimeout`).
    min_timeout: bool,
}

/// A batched park's overall timeout when the caller gave none (the kernel
/// needs one for its minimum wait to end early).
const LONG_PARK: Duration = Duration::from_secs(3600);

/// Batched wake-ups: a park waits for `max_batch` completions, or
/// `max_wait` for any.
#[derive(Clone, Copy, Debug)]
struct Batch {
    max_batch: u32,
    max_wait: Duration,
}

/// `IORING_FEAT_MIN_TIMEOUT` (Linux 6.12): `min_wait_usec` in the
/// enter's argument.
const FEAT_MIN_TIMEOUT: IoringFeatureFlags = IoringFeatureFlags::from_bits_retain(1 << 15);

impl Uring {
    /// Sets up the ring, stepping the flags down on `EINVAL`.
    pub(crate) fn new(builder: &Builder, park: Arc<ParkState>) -> Result<Uring, UringUnavailable> {
        let mut last = UringUnavailable::Other(libc::EINVAL);
        for tier in SetupFlags::tiers(builder.sqpoll_idle.is_some()) {
            if tier.intersects(builder.masked_flags) {
                continue;
            }
            match setup(builder, tier) {
                Ok((ring, flags)) => return Uring::with_ring(ring, flags, builder, park),
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    last = UringUnavailable::Other(libc::EINVAL);
                }
                Err(e) => {
                    let errno = e.raw_os_error().unwrap_or(0);
                    return Err(UringUnavailable::classify(
                        errno,
                        UringUnavailable::read_sysctl(),
                    ));
                }
            }
        }
        Err(last)
    }

    fn with_ring(
        mut ring: Ring,
        flags: SetupFlags,
        builder: &Builder,
        park: Arc<ParkState>,
    ) -> Result<Uring, UringUnavailable> {
        if !ring.has_feature(IoringFeatureFlags::EXT_ARG) {
            return Err(UringUnavailable::MissingFeature(
                "IORING_FEAT_EXT_ARG (Linux 5.11) for waits with a timeout",
            ));
        }
        if !ring.has_feature(IoringFeatureFlags::NODROP) {
            return Err(UringUnavailable::MissingFeature(
                "IORING_FEAT_NODROP (Linux 5.5)",
            ));
        }
        let opcodes = match ring.probe() {
            Ok(probe) => OpcodeSet::from_probe(&probe, &builder.masked_opcodes),
            Err(_) => {
                return Err(UringUnavailable::MissingFeature(
                    "IORING_REGISTER_PROBE (Linux 5.6)",
                ));
            }
        };
        // Best effort: an enter through the registered index skips the fd
        // lookup (`fget`/`fput`) on every tick.
        ring.register_ring_fd();
        // Before any restriction: a restricted ring refuses registrations.
        // A kernel without sparse tables (Linux 5.19) gets none, and its
        // fds go by number.
        let has_direct = crate::feature::probe(&builder.masked_features)
            & crate::Feature::DirectDescriptors.bit()
            != 0;
        let direct = match builder.direct_descriptors {
            Some(slots) if slots > 0 && has_direct => ring
                .register_sparse_files(slots)
                .ok()
                .map(|()| direct::DirectTable::new(slots)),
            _ => None,
        };
        let mut allowed = None;
        if let Some(list) = &builder.restricted {
            // Opcodes the kernel does not know would make it refuse the
            // whole list.
            let known: Vec<u8> = list
                .iter()
                .copied()
                .filter(|&c| opcodes.contains(c))
                .collect();
            let mut set = OpcodeSet::from_list(&known);
            for own in [
                opcode::PollAdd::CODE,
                opcode::AsyncCancel::CODE,
                opcode::LinkTimeout::CODE,
            ] {
                set.insert(own);
            }
            if ring
                .restrict(&set, direct.is_some())
                .and_then(|()| ring.enable())
                .is_err()
            {
                return Err(UringUnavailable::MissingFeature(
                    "IORING_REGISTER_RESTRICTIONS (Linux 5.10) for the restricted ring",
                ));
            }
            allowed = (!builder.restricted_unchecked).then_some(set);
        }
        let min_timeout = ring.has_feature(FEAT_MIN_TIMEOUT)
            && !builder
                .masked_features
                .contains(&crate::Feature::MinTimeout);
        Ok(Uring {
            ring,
            flags,
            opcodes,
            allowed,
            restricted: builder.restricted.is_some(),
            direct,
            batch: builder.batch_wakeups.map(|(max_batch, max_wait)| Batch {
                max_batch,
                max_wait,
            }),
            min_timeout,
            park,
            unpark_armed: false,
        })
    }

    pub(crate) fn ring_fd_dup(&self) -> Option<std::os::fd::OwnedFd> {
        self.ring.fd_dup()
    }

    /// See [`Driver::ring_fd_registered`](crate::Driver::ring_fd_registered).
    pub(crate) fn ring_fd_registered(&self) -> bool {
        self.ring.ring_fd_registered()
    }

    /// Pushes one SQE; a full SQ is submitted first (and reaped if the
    /// kernel is busy). Makes no syscall when there is room.
    #[inline]
    pub(crate) fn push(&mut self, ops: &mut Ops, entry: &squeue::Entry) -> io::Result<()> {
        // SAFETY: the entry's pointers point into memory owned by an op in
        // the slab, which lives until its final CQE (OpCode's contract and
        // invariant 1); a full SQ refuses the push and nothing is queued.
        if unsafe { self.ring.push(entry) } {
            return Ok(());
        }
        self.reserve(ops, 1)?;
        // SAFETY: as above; `reserve` made room.
        if unsafe { self.ring.push(entry) } {
            Ok(())
        } else {
            Err(io::Error::other("rentio-driver: SQ full after reserve"))
        }
    }

    /// [`push`](Uring::push) of the entry `f` builds, called once, after
    /// there is room (so the SQE can be built in its slot).
    #[inline(always)]
    pub(crate) fn push_with(
        &mut self,
        ops: &mut Ops,
        f: impl FnOnce() -> squeue::Entry,
    ) -> io::Result<()> {
        if self.ring.sq_room() == 0 {
            // Room, or an error.
            self.reserve(ops, 1)?;
        }
        // SAFETY: as in `push`; there is room (seen just above or made by
        // `reserve`), and room only grows until this push.
        unsafe { self.ring.push_with_unchecked(f) };
        Ok(())
    }

    /// Pushes an op and its `LINK_TIMEOUT` so they reach the kernel in one
    /// enter: both SQ slots are reserved first.
    pub(crate) fn push_linked(
        &mut self,
        ops: &mut Ops,
        entry: &squeue::Entry,
        timeout: &squeue::Entry,
    ) -> io::Result<()> {
        self.reserve(ops, 2)?;
        let entries = [entry.clone().flags(squeue::Flags::IO_LINK), timeout.clone()];
        // SAFETY: as in `push`; the timeout's timespec is boxed in the op's
        // slot, which lives until both CQEs are reaped.
        if unsafe { self.ring.push_all(&entries) } {
            Ok(())
        } else {
            Err(io::Error::other("rentio-driver: SQ full after reserve"))
        }
    }

    /// Pushes an `AsyncCancel` for `key`'s op.
    pub(crate) fn push_cancel(&mut self, ops: &mut Ops, key: Key) -> io::Result<()> {
        let entry = opcode::AsyncCancel::new(key.user_data())
            .build()
            .user_data(CANCEL_USER_DATA);
        ops.stats.cancels_pushed += 1;
        self.push(ops, &entry)
    }

    fn reserve(&mut self, ops: &mut Ops, n: usize) -> io::Result<()> {
        for _ in 0..64 {
            if self.ring.sq_room() as usize >= n {
                return Ok(());
            }
            ops.stats.sq_full_submits += 1;
            if self.flags.contains(SetupFlags::SQPOLL) {
                // The SQ thread works through it: wait for room, waking the
                // thread first if it sleeps (it sleeps only on an empty SQ,
                // and would never make room otherwise).
                let wake = if self.ring.sq_need_wakeup() {
                    IORING_ENTER_SQ_WAKEUP
                } else {
                    0
                };
                let _ = self.ring.enter(0, 0, IORING_ENTER_SQ_WAIT | wake, None, 0);
            }
            self.enter(ops, 0, None)?;
            self.reap(ops)?;
        }
        Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            "rentio-driver: the submission queue stays full",
        ))
    }

    /// Submits every SQE queued so far (no wait for completions; the
    /// CQEs are reaped by the next tick), looping until the SQ is empty:
    /// an enter may take only some of them, or none (`EBUSY` while the CQ
    /// overflow backlog is full, `EAGAIN` when the kernel is short of
    /// memory, `EINTR`), and each try first reaps to make room. With an SQ
    /// thread, waits until the thread has taken them. Gives up after
    /// [`SUBMIT_PATIENCE`] (a ring that stuck: the caller then retargets
    /// or keeps the fd).
    pub(crate) fn submit_queued(&mut self, ops: &mut Ops) -> io::Result<()> {
        let mut deadline = None;
        loop {
            if self.ring.sq_pending() == 0 {
                return Ok(());
            }
            self.enter(ops, 0, None)?;
            if self.ring.sq_pending() == 0 {
                return Ok(());
            }
            let now = std::time::Instant::now();
            let deadline = *deadline.get_or_insert(now + SUBMIT_PATIENCE);
            if now >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "rentio-driver: the kernel did not take the queued SQEs",
                ));
            }
            // Room in the CQ: a kernel before 5.19 refuses to submit
            // (`EBUSY`), SQ thread or not, while its overflow list is full.
            self.reap(ops)?;
            std::thread::yield_now();
        }
    }

    /// Before `fd`'s owner closes it or hands it back (invariant 11):
    /// submits what is queued, so each SQE naming `fd` holds its file from
    /// here to its CQE. If the SQ cannot be emptied, the queued SQEs that
    /// name `fd` are pointed at `-1` instead and fail with `EBADF`.
    /// Returns `false` only if neither worked (an SQ thread that will not
    /// take them): the fd must then stay open.
    pub(crate) fn release_fd(&mut self, ops: &mut Ops, fd: RawFd) -> bool {
        if self.submit_queued(ops).is_ok() {
            return true;
        }
        if self.flags.contains(SetupFlags::SQPOLL) {
            return false;
        }
        ops.stats.sqes_retargeted += self.ring.retarget_queued(fd) as u64;
        true
    }

    /// One tick: submit what is queued, then, if `timeout` is not zero and
    /// nothing is ready, park until a completion, an unpark or the timeout.
    pub(crate) fn poll(&mut self, ops: &mut Ops, timeout: Option<Duration>) -> io::Result<()> {
        ops.check_poisoned()?;
        if !self.unpark_armed {
            self.arm_unpark(ops)?;
        }
        self.enter(ops, 0, None)?;
        let reaped = self.reap(ops)?;
        if reaped > 0 || timeout == Some(Duration::ZERO) || ops.has_news() {
            return Ok(());
        }
        if !self.park.try_park() {
            return Ok(());
        }
        ops.stats.parks += 1;
        let entered = match self.batch {
            Some(Batch {
                max_batch,
                max_wait,
            }) => self.enter_batch(ops, max_batch, max_wait, timeout),
            None => self.enter(ops, 1, timeout),
        };
        self.park.unparked();
        entered?;
        self.reap(ops)?;
        Ok(())
    }

    /// `io_uring_enter`, skipped when nothing can be pending and nobody
    /// waits. `EINTR`, `ETIME` and `EBUSY` are not errors here: the caller
    /// reaps and goes on.
    fn enter(
        &mut self,
        ops: &mut Ops,
        min_complete: u32,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        let to_submit = self.ring.sq_pending();
        let sq_flags = self.ring.sq_flags();
        let sqpoll = self.flags.contains(SetupFlags::SQPOLL);
        let need_wakeup = sqpoll && self.ring.sq_need_wakeup();
        let backlog = sq_flags & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW) != 0;
        if min_complete == 0 && !backlog && (to_submit == 0 || (sqpoll && !need_wakeup)) {
            return Ok(());
        }
        let mut flags = IORING_ENTER_GETEVENTS;
        if need_wakeup {
            flags |= IORING_ENTER_SQ_WAKEUP;
        }
        ops.stats.enters += 1;
        let timeout = timeout.filter(|_| min_complete > 0);
        let result = self.ring.enter(to_submit, min_complete, flags, timeout, 0);
        self.entered(ops, result)
    }

    /// An enter's outcome: the SQEs it submitted counted; `EINTR`,
    /// `ETIME`, `EBUSY` and `EAGAIN` are not errors (the caller reaps and
    /// goes on); `EBADR` (a dropped CQE) poisons the driver.
    fn entered(&mut self, ops: &mut Ops, result: io::Result<u32>) -> io::Result<()> {
        match result {
            Ok(submitted) => {
                ops.stats.sqes_submitted += u64::from(submitted);
                Ok(())
            }
            Err(e) => match e.raw_os_error() {
                Some(libc::EINTR | libc::ETIME | libc::EBUSY | libc::EAGAIN) => Ok(()),
                Some(libc::EBADR) => {
                    ops.poisoned = true;
                    ops.check_poisoned()
                }
                _ => Err(e),
            },
        }
    }

    /// A park that waits for `n` completions, or once `max_wait` has
    /// passed for any one, or the timeout (see `Builder::batch_wakeups`).
    fn enter_batch(
        &mut self,
        ops: &mut Ops,
        n: u32,
        max_wait: Duration,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        let to_submit = self.ring.sq_pending();
        ops.stats.enters += 1;
        // The kernel ends a minimum wait early only under an overall
        // timeout (with none it would return at `max_wait` with nothing):
        // a long one stands in for "none", and ends in a spurious wake.
        let overall = timeout.unwrap_or(LONG_PARK);
        let first = overall.min(max_wait);
        let result = if self.min_timeout {
            // One enter: after `min_wait_usec`, any completion ends it. A
            // deadline before `max_wait` cuts the minimum wait short (the
            // kernel looks at it only once that is over). Never 0 µs,
            // which would mean no minimum wait at all.
            let usec = u32::try_from(first.as_micros().max(1)).unwrap_or(u32::MAX);
            self.ring
                .enter(to_submit, n, IORING_ENTER_GETEVENTS, Some(overall), usec)
        } else {
            // Wait for the batch at most `max_wait`; if that timed out
            // with nothing come, wait for one as a plain park does.
            let result = self
                .ring
                .enter(to_submit, n, IORING_ENTER_GETEVENTS, Some(first), 0);
            let (head, tail) = self.ring.cq_window();
            match result {
                Err(e)
                    if e.raw_os_error() == Some(libc::ETIME)
                        && overall > max_wait
                        && head == tail =>
                {
                    ops.stats.enters += 1;
                    self.ring.enter(
                        self.ring.sq_pending(),
                        1,
                        IORING_ENTER_GETEVENTS,
                        Some(overall - max_wait),
                        0,
                    )
                }
                other => other,
            }
        };
        self.entered(ops, result)
    }

    /// Takes every CQE; while the kernel reports a CQ overflow backlog,
    /// flushes it with `GETEVENTS` and takes those too.
    fn reap(&mut self, ops: &mut Ops) -> io::Result<usize> {
        let mut reaped = 0;
        loop {
            let mut rearm = false;
            let (head, tail) = self.ring.cq_window();
            let n = tail.wrapping_sub(head);
            ops.reserve(n as usize);
            reaped += n as usize;
            let mut at = head;
            while at != tail {
                let (user_data, res) = self.ring.cqe_at(at);
                at = at.wrapping_add(1);
                let last = res.flags() & crate::op::CQE_F_MORE == 0;
                if last && ops.complete_last(user_data, res) {
                    continue;
                }
                // The long way may run a waker's `clone`; should it panic,
                // the CQEs up to this one are not reaped again.
                self.ring.consume_to(at);
                match Key::from_user_data(user_data) {
                    Some((key, aux)) => ops.complete(key, res, last, aux),
                    None if user_data == UNPARK_USER_DATA => {
                        self.park.drain();
                        rearm |= last;
                    }
                    None => debug_assert_eq!(user_data, CANCEL_USER_DATA),
                }
            }
            // Nothing above enters the ring; the slots go back at once.
            self.ring.release_cqes_to(tail);
            if rearm {
                self.unpark_armed = false;
                self.arm_unpark(ops)?;
            }
            let overflow = self.ring.sq_flags() & IORING_SQ_CQ_OVERFLOW != 0;
            if !overflow {
                return Ok(reaped);
            }
            ops.stats.cq_overflow_flushes += 1;
            self.enter(ops, 0, None)?;
            ops.check_poisoned()?;
        }
    }

    /// Watches the unparker's eventfd with a one-shot `PollAdd` (Linux
    /// 5.1), re-armed after each wake; wakes are rare, so the re-arm costs
    /// nothing on the hot path.
    fn arm_unpark(&mut self, ops: &mut Ops) -> io::Result<()> {
        let Some(fd) = self.park.eventfd() else {
            return Ok(());
        };
        let entry = opcode::PollAdd::new(types::Fd(fd.as_raw_fd()), libc::POLLIN as u32)
            .build()
            .user_data(UNPARK_USER_DATA);
        self.push(ops, &entry)?;
        self.unpark_armed = true;
        Ok(())
    }

    /// Shutdown (invariant 3), first step: ask the kernel to cancel every
    /// op in flight.
    pub(crate) fn cancel_all(&mut self, ops: &mut Ops) {
        let keys: Vec<Key> = ops.in_flight().collect();
        for key in keys {
            if self.push_cancel(ops, key).is_err() {
                break;
            }
        }
    }

    /// Shutdown, next steps: wait up to `timeout` for a completion and reap.
    pub(crate) fn wait(&mut self, ops: &mut Ops, timeout: Duration) -> io::Result<()> {
        self.enter(ops, 1, Some(timeout))?;
        self.reap(ops)?;
        Ok(())
    }
}

/// Sets up a ring with `flags`, and `NO_SQARRAY` where the kernel takes it
/// (unless masked); returns the ring and the flags it got.
fn setup(builder: &Builder, flags: SetupFlags) -> io::Result<(Ring, SetupFlags)> {
    if !builder.masked_flags.contains(SetupFlags::NO_SQARRAY) {
        let with = flags | SetupFlags::NO_SQARRAY;
        match setup_exactly(builder, with) {
            Ok(ring) => return Ok((ring, with)),
            // Older than 6.6: the rest of the tier may still be fine.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {}
            Err(e) => return Err(e),
        }
    }
    Ok((setup_exactly(builder, flags)?, flags))
}

fn setup_exactly(builder: &Builder, flags: SetupFlags) -> io::Result<Ring> {
    let sq_thread_idle = if flags.contains(SetupFlags::SQPOLL) {
        let idle = builder.sqpoll_idle.unwrap_or_default().as_millis();
        u32::try_from(idle).unwrap_or(u32::MAX)
    } else {
        0
    };
    // A restricted ring starts disabled: restrictions can be registered
    // only before it runs.
    let disabled = if builder.restricted.is_some() {
        rustix::io_uring::IoringSetupFlags::R_DISABLED.bits()
    } else {
        0
    };
    let ring = Ring::new(&Setup {
        entries: builder.entries,
        cq_entries: builder.cq_entries,
        flags: flags.bits() | disabled,
        sq_thread_idle,
    })?;
    ring.dontfork()?;
    Ok(ring)
}
