//! The readiness backend: epoll in edge mode (through `rustix`, or the
//! portable `polling` crate: see [`Reactor`]), timers, and the blocking pool.
//!
//! An fd is registered once, the first time an op needs it, for both read
//! and write edges, and set `O_NONBLOCK`; it stays registered until a
//! `Close` op (or [`Driver::release_fd`](crate::Driver::release_fd), or
//! [`Driver::close`](crate::Driver::close)) removes it before the fd is
//! closed; ops still waiting on it then fail with `EBADF` (never retry).
//! An op tries its syscall first and waits only on `EAGAIN`: with
//! edge-triggered events an fd that reported `EAGAIN` is guaranteed a new
//! edge when it becomes ready again. The one
//! exception is a stream read (`OpCode::poll_first`) on an fd the driver
//! knows to be drained since its last edge (`EAGAIN`, or a stream read
//! that came back short): it waits for the next edge at once, as tokio
//! does after a short read. Each fd entry records that (`may_read`), and
//! anything that may leave data (an edge, a full read, another kind of
//! read, a hangup or urgent data) makes reads try first again.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::key::Key;
use crate::op::Interest;
use crate::ops::Ops;
use crate::slot::Cqe;
use crate::slot::State;
use crate::sys;
use crate::unpark::ParkState;

mod reactor;

pub use reactor::Reactor;
use reactor::{Ready, Source};

/// What an entry in an fd's wait list does when the fd is ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitKind {
    /// Poll the op again (it retries its syscall).
    Retry,
    /// Complete the op with the ready events.
    PollOnce,
    /// Queue a completion and keep waiting.
    PollMulti,
}

#[derive(Default)]
struct FdEntry {
    pollable: bool,
    /// The fd may hold something to read: set when it is registered, by a
    /// read edge, and by a read that may have left data; cleared by a read
    /// that drained it (`EAGAIN`, or a stream read that came back short:
    /// see `OpCode::drains`). While it is clear, a read hinted with
    /// `OpCode::poll_first` waits for the next edge instead of first
    /// trying its syscall.
    may_read: bool,
    /// A short read may no longer mean drained, for good (see
    /// `Ready::read_sticky`): hinted reads always try their syscall.
    read_sticky: bool,
    readers: Vec<(Key, WaitKind)>,
    writers: Vec<(Key, WaitKind)>,
    /// Ops woken to retry their syscall on this fd that may not have run
    /// it yet (`State::Ready`): if the fd is released first, they must
    /// fail rather than run the syscall on a number that may be reused.
    /// Keys of ops that have moved on are pruned as the list grows.
    woken: Vec<Key>,
}

/// Hashes an fd with one multiply (Fibonacci hashing). Fds are small
/// integers the kernel hands out, not input an attacker picks, and std's
/// default SipHash cost a fifth of the readiness backend's user-space
/// instructions: every op looks its fd up a few times.
#[derive(Default)]
struct FdHasher(u64);

impl Hasher for FdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(FIBONACCI);
        }
    }

    fn write_i32(&mut self, n: i32) {
        self.0 = u64::from(n as u32).wrapping_mul(FIBONACCI);
    }
}

/// 2^64 divided by the golden ratio: an odd multiplier that spreads
/// consecutive integers over the high bits and keeps the low bits distinct.
const FIBONACCI: u64 = 0x9E37_79B9_7F4A_7C15;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKind {
    /// A `Timeout` op: completes with `ETIME`.
    Expire,
    /// An op's linked timeout: cancels the op.
    Cancel,
}

/// The readiness backend's state.
pub(crate) struct PollBackend {
    source: Source,
    ready: Vec<Ready>,
    fds: HashMap<RawFd, FdEntry, BuildHasherDefault<FdHasher>>,
    timers: BinaryHeap<Reverse<(Instant, u64, TimerKind)>>,
    /// The heap size at which timers of ops that finished first (a read
    /// that beat its `read_timeout`) are swept out, so the heap tracks the
    /// ops in flight, not every deadline set in the last timeout period.
    compact_at: usize,
    park: Arc<ParkState>,
}

/// The smallest heap that is swept.
const COMPACT_MIN: usize = 64;

impl PollBackend {
    /// A backend on a new readiness source, and the park state its
    /// unparkers signal.
    pub(crate) fn new(kind: Reactor) -> io::Result<(PollBackend, Arc<ParkState>)> {
        let (source, park) = Source::new(kind)?;
        let backend = PollBackend {
            source,
            ready: Vec::new(),
            fds: HashMap::default(),
            timers: BinaryHeap::new(),
            compact_at: COMPACT_MIN,
            park: park.clone(),
        };
        Ok((backend, park))
    }

    /// Registers `fd` on first sight; returns whether it can be polled
    /// (a regular file cannot: epoll refuses it with `EPERM`).
    pub(crate) fn ensure(&mut self, fd: RawFd) -> io::Result<bool> {
        if let Some(entry) = self.fds.get(&fd) {
            return Ok(entry.pollable);
        }
        if fd < 0 {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        // SAFETY: the fd stays registered only while it is open: `Close`
        // and `deregister` delete it from the poller before it is closed
        // (invariant 1). An fd closed behind the driver's back is removed
        // from epoll by the kernel itself.
        let added = unsafe { self.source.add(fd) };
        let pollable = match added {
            Ok(()) => {
                sys::set_nonblocking(fd)?;
                true
            }
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => true,
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => false,
            Err(e) => return Err(e),
        };
        self.fds.insert(
            fd,
            FdEntry {
                pollable,
                // Whatever came before the registration is unknown.
                may_read: true,
                ..FdEntry::default()
            },
        );
        Ok(pollable)
    }

    /// Waits for `interest` on `fd` (already registered).
    pub(crate) fn wait_on(
        &mut self,
        ops: &mut Ops,
        fd: RawFd,
        interest: Interest,
        key: Key,
        kind: WaitKind,
    ) {
        let entry = self.fds.entry(fd).or_default();
        let waiters = match interest {
            Interest::Read => &mut entry.readers,
            Interest::Write => &mut entry.writers,
        };
        // Ops dropped or cancelled while waiting leave their entries until
        // the fd's next edge: on an idle fd, prune them before the list
        // doubles, so it stays bounded by the live waiters.
        if waiters.len() >= 8 && waiters.len() == waiters.capacity() {
            waiters.retain(|(k, _)| ops.get_mut(*k).is_some());
        }
        waiters.push((key, kind));
    }

    /// Removes `fd` from the poller before its owner closes it or hands it
    /// back (invariant 11), and fails every op still waiting on it (or
    /// woken and not yet retried) with `EBADF`: none of them may run its
    /// syscall again, since the number may soon name another file.
    pub(crate) fn deregister(&mut self, ops: &mut Ops, fd: RawFd) {
        if let Some(entry) = self.fds.remove(&fd) {
            if entry.pollable {
                // `fd` is still open here: deregister runs before the close.
                self.source.delete(fd);
            }
            let waiters = entry.readers.into_iter().chain(entry.writers);
            for key in waiters.map(|(key, _)| key).chain(entry.woken) {
                fail_released(ops, key);
            }
        }
    }

    /// Whether a read on `fd` must try its syscall first: the fd may hold
    /// something to read, or a short read may not have drained it.
    pub(crate) fn may_read(&self, fd: RawFd) -> bool {
        self.fds
            .get(&fd)
            .is_none_or(|entry| entry.may_read || entry.read_sticky)
    }

    /// A read syscall on `fd` returned, and `drained` says whether it left
    /// the fd empty (`EAGAIN`, or a stream read that came back short).
    pub(crate) fn read_done(&mut self, fd: RawFd, drained: bool) {
        if let Some(entry) = self.fds.get_mut(&fd) {
            entry.may_read = !drained;
        }
    }

    /// Whether `fd` is registered and can be polled.
    pub(crate) fn is_pollable(&self, fd: RawFd) -> bool {
        self.fds.get(&fd).is_some_and(|entry| entry.pollable)
    }

    pub(crate) fn add_timer(&mut self, after: Duration, key: Key, cancels: bool) {
        let deadline = Instant::now().checked_add(after).unwrap_or_else(far_future);
        let kind = if cancels {
            TimerKind::Cancel
        } else {
            TimerKind::Expire
        };
        self.timers.push(Reverse((deadline, key.user_data(), kind)));
    }

    /// One tick: reports pool results and expired timers, then waits for
    /// readiness (unless `timeout` is zero or something is already done).
    pub(crate) fn poll(&mut self, ops: &mut Ops, timeout: Option<Duration>) -> io::Result<()> {
        if self.timers.len() >= self.compact_at {
            self.compact_timers(ops);
        }
        let mut progressed = self.fire_timers(ops);
        progressed += usize::from(ops.has_news());
        let mut wait = if progressed > 0 {
            Some(Duration::ZERO)
        } else {
            timeout
        };
        if let Some(Reverse((deadline, _, _))) = self.timers.peek() {
            let until = deadline.saturating_duration_since(Instant::now());
            wait = Some(wait.map_or(until, |w| w.min(until)));
        }
        let parked = wait != Some(Duration::ZERO) && self.park.try_park();
        if parked {
            ops.stats.parks += 1;
        } else {
            wait = Some(Duration::ZERO);
        }
        ops.stats.enters += 1;
        let mut ready = std::mem::take(&mut self.ready);
        let waited = self.source.wait(&mut ready, wait);
        if parked {
            self.park.unparked();
        }
        waited?;
        for event in ready.drain(..) {
            let Some(entry) = self.fds.get_mut(&event.fd) else {
                continue;
            };
            if event.readable {
                entry.may_read = true;
                entry.read_sticky |= event.read_sticky;
                // `POLLRDHUP` tells a poll's owner that a short read may
                // no longer mean drained (see `Ready::read_sticky`).
                let events = if entry.read_sticky {
                    libc::POLLIN | libc::POLLRDHUP
                } else {
                    libc::POLLIN
                };
                wake_all(ops, &mut entry.readers, &mut entry.woken, events as u32);
            }
            if event.writable {
                wake_all(
                    ops,
                    &mut entry.writers,
                    &mut entry.woken,
                    libc::POLLOUT as u32,
                );
            }
        }
        self.ready = ready;
        self.fire_timers(ops);
        Ok(())
    }

    /// Drops the timers whose op is done or gone; the next sweep waits
    /// until the heap has doubled, so each timer is swept O(1) times.
    fn compact_timers(&mut self, ops: &mut Ops) {
        self.timers.retain(|Reverse((_, user_data, _))| {
            Key::from_user_data(*user_data).is_some_and(|(key, _)| {
                ops.get_mut(key).is_some_and(|slot| {
                    slot.pending == 0 && !matches!(slot.state, State::Completed(_) | State::Dropped)
                })
            })
        });
        self.compact_at = (2 * self.timers.len()).max(COMPACT_MIN);
    }

    /// Timers in the heap (tests and stats).
    pub(crate) fn timers(&self) -> usize {
        self.timers.len()
    }

    fn fire_timers(&mut self, ops: &mut Ops) -> usize {
        let now = Instant::now();
        let mut fired = 0;
        while let Some(Reverse((deadline, user_data, kind))) = self.timers.peek().copied() {
            if deadline > now {
                break;
            }
            self.timers.pop();
            let Some((key, _)) = Key::from_user_data(user_data) else {
                continue;
            };
            let errno = match kind {
                TimerKind::Expire => libc::ETIME,
                TimerKind::Cancel => libc::ECANCELED,
            };
            if finish(ops, key, Err(io::Error::from_raw_os_error(errno))) {
                fired += 1;
            }
        }
        fired
    }
}

/// Completes an op that nothing external holds (a waiter, a timer, a
/// cancel); `false` if it was already done or gone.
pub(crate) fn finish(ops: &mut Ops, key: Key, result: io::Result<u32>) -> bool {
    let Some(slot) = ops.get_mut(key) else {
        return false;
    };
    if slot.pending > 0 || matches!(slot.state, State::Completed(_) | State::Dropped) {
        return false;
    }
    ops.complete(key, Cqe::from_result(result), false, false);
    true
}

fn wake(ops: &mut Ops, key: Key, kind: WaitKind, events: u32) {
    match kind {
        WaitKind::Retry => {
            if let Some(slot) = ops.get_mut(key) {
                let action = slot.transition_to_ready();
                ops.apply(key, action);
            }
        }
        WaitKind::PollOnce => {
            finish(ops, key, Ok(events));
        }
        WaitKind::PollMulti => {
            if let Some(slot) = ops.get_mut(key)
                && slot.multi().is_some_and(|multi| !multi.finished)
            {
                let action =
                    slot.transition_to_completed(Cqe::new(events as i32, crate::op::CQE_F_MORE));
                ops.apply(key, action);
            }
        }
    }
}

/// Wakes a list of waiters; multishot ones whose op is still running stay.
/// Ops woken to retry go on `woken` until they have run their syscall.
fn wake_all(ops: &mut Ops, list: &mut Vec<(Key, WaitKind)>, woken: &mut Vec<Key>, events: u32) {
    if !woken.is_empty() {
        // Those that ran their syscall since have moved on.
        woken.retain(|&key| {
            ops.get_mut(key)
                .is_some_and(|slot| matches!(slot.state, State::Ready))
        });
    }
    let mut kept = 0;
    for i in 0..list.len() {
        let (key, kind) = list[i];
        wake(ops, key, kind, events);
        if kind == WaitKind::Retry {
            woken.push(key);
        }
        let live = kind == WaitKind::PollMulti
            && ops
                .get_mut(key)
                .and_then(|slot| slot.multi())
                .is_some_and(|multi| !multi.finished);
        if live {
            list[kept] = (key, kind);
            kept += 1;
        }
    }
    list.truncate(kept);
}

/// Ends an op whose fd was released while it waited: with `EBADF`, the
/// error a syscall on a closed fd gives, and never a retry. A multishot
/// poll ends too (a completion without `F_MORE`).
fn fail_released(ops: &mut Ops, key: Key) {
    let Some(slot) = ops.get_mut(key) else {
        return;
    };
    let cqe = Cqe::new(-libc::EBADF, 0);
    if slot.multi().is_some_and(|multi| !multi.finished) {
        let action = slot.transition_to_completed(cqe);
        ops.apply(key, action);
    } else if slot.pending == 0 && matches!(slot.state, State::Submitted | State::Ready) {
        ops.complete(key, cqe, false, false);
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86400 * 365 * 30)
}

/// Whether `fd` is ready for `interest` right now (a zero-timeout poll),
/// for poll ops, which have no syscall to try first.
pub(crate) fn ready_now(fd: RawFd, interest: Interest) -> io::Result<Option<u32>> {
    let events = match interest {
        Interest::Read => libc::POLLIN | libc::POLLRDHUP,
        Interest::Write => libc::POLLOUT,
    };
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one live pollfd, count 1, zero timeout.
    let n = unsafe { libc::poll(&mut pfd, 1, 0) };
    sys::cvt(n as isize)?;
    Ok((pfd.revents != 0).then_some(pfd.revents as u32))
}
