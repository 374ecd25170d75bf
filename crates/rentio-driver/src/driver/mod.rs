//! The driver: one per thread, owning a ring (or a poller), the op slab and
//! a handle on the blocking pool.
//!
//! Two faces share it. The low-level one, for custom event loops: push ops
//! the driver keeps ([`Driver::push`]), run a tick with a timeout
//! ([`Driver::poll`]), take each finished op back with its result, by key
//! ([`Driver::completions`]), or cancel one ([`Driver::cancel`]). (An op can
//! also stay in the caller's hands as an [`Op`] handle: [`Driver::submit`],
//! [`Driver::take_ready`], [`Op::try_complete`].) The future face, for
//! runtimes: an [`Op`] is a `Future` that stores its task's waker in its
//! slot, so an executor needs nothing more than to call [`Driver::poll`]
//! when it runs out of work.
//!
//! # Who owns an fd number, and until when an op may use it
//!
//! The value holding an fd's `OwnedFd` (a socket, a file, a `Close` op)
//! owns its number; every other op only names it, and may act on it only
//! while the owner holds it. Once an SQE is submitted the kernel holds a
//! reference to the file, so that op is safe past the close; a queued SQE,
//! a readiness op and a blocking-pool job hold nothing but the number,
//! which the kernel hands to the next file the moment it is closed. So an
//! owner lets go only through the driver ([`Driver::close`],
//! [`Driver::release_fd`]), which first:
//! - on io_uring, submits every queued SQE, looping until the SQ is empty
//!   (if the kernel will not take them, those naming the fd are pointed at
//!   fd `-1` and fail with `EBADF`);
//! - on readiness, removes the fd from the poller and completes the ops
//!   waiting on it, or woken and not yet retried, with `EBADF`;
//! - waits for blocking-pool jobs that name the fd (a close is parked in
//!   `Core::closing` until they report back; `release_fd` hands back a
//!   duplicate and parks the original the same way);
//! - inside a [`Batch`], which holds the core, defers the close to the
//!   batch's end.

use std::cell::RefCell;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::Duration;

use crate::builder::{Backend, BackendChoice, Builder, SetupFlags};
use crate::cause::UringUnavailable;
use crate::future::{Multi, Op};
use crate::key::Key;
use crate::op::{Completion, ErasedOp, OpCode};
use crate::ops::{Ops, Stats};
use crate::poll::{self, PollBackend};
use crate::pool::{Pool, Sink};
use crate::slot::Notify;
use crate::unpark::{ParkState, Unparker};
use crate::uring::Uring;

mod caps;
mod core;
mod direct;
mod fd;
mod owned;

pub(crate) use owned::FinishedList;
use owned::run_ready_owned;
pub use owned::{Batch, Finished};

/// A dropped op's resources, if it still had them.
type Parked = Option<Box<dyn ErasedOp>>;

/// How long dropping a driver waits for the kernel to give back ops in
/// flight before it leaks them (invariant 3).
const SHUTDOWN_BUDGET: Duration = Duration::from_secs(1);

/// A per-thread IO driver. `!Send`: it belongs to the thread that built it.
///
/// Cloning gives another handle on the same driver.
#[derive(Clone)]
pub struct Driver {
    inner: Rc<Inner>,
}

struct Inner {
    core: RefCell<Core>,
    /// How long the drop waits for the kernel to give back ops in flight.
    shutdown_budget: std::cell::Cell<Duration>,
    /// Ops dropped while `core` was borrowed, handled at the next tick.
    deferred: RefCell<Vec<(Key, Parked)>>,
    /// Fds closed while `core` was borrowed (inside a [`Batch`]): closed
    /// when the borrow ends, after their release (invariant 11).
    deferred_closes: RefCell<Vec<OwnedFd>>,
    /// Fds handed back by `release_fd` inside a batch without a release
    /// (no fd left for a duplicate): their direct descriptors are
    /// forgotten when the batch ends.
    deferred_releases: RefCell<Vec<RawFd>>,
    park: Arc<ParkState>,
    backend: Backend,
    fallback: Option<String>,
    flags: SetupFlags,
    pool: Pool,
    /// The `Feature` bits this driver offers (none on readiness).
    features: std::cell::Cell<u32>,
    /// Unique among the drivers of the process, for ever (`Driver::id`).
    id: u64,
}

struct Core {
    backend: BackendImpl,
    ops: Ops,
    sink: Arc<Sink>,
    pool: Pool,
    pool_results: Vec<(u64, io::Result<u32>)>,
    /// Blocking-pool jobs in flight that act on an fd: their `user_data`
    /// and the fd, so that a close of the fd waits for them.
    pool_fds: Vec<(u64, RawFd)>,
    /// Fds whose close waits for pool jobs that act on them.
    closing: Vec<OwnedFd>,
    /// Ring ops in flight whose fds the kernel may look up late, in its
    /// io-wq workers (`OpCode::LATE_FDS`): as `pool_fds`, until their
    /// completion.
    ring_fds: Vec<(u64, RawFd)>,
}

enum BackendImpl {
    Uring(Box<Uring>),
    Poll(PollBackend),
}

impl Driver {
    /// A driver with the default configuration (see [`Builder::new`]).
    ///
    /// # Errors
    ///
    /// As [`Builder::build`].
    pub fn new() -> io::Result<Driver> {
        Builder::new().build()
    }

    /// A builder to configure a driver.
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) fn from_builder(builder: &Builder, choice: BackendChoice) -> io::Result<Driver> {
        let pool = builder
            .pool
            .clone()
            .unwrap_or_else(|| Pool::new(builder.pool_config));
        match choice {
            BackendChoice::Poll => Driver::with_poll(builder, pool, None),
            BackendChoice::Uring => {
                Driver::with_uring(builder, pool).map_err(UringUnavailable::into_error)
            }
            BackendChoice::Auto => match Driver::with_uring(builder, pool.clone()) {
                Ok(driver) => match driver.missing_required_opcode() {
                    None => Ok(driver),
                    Some(name) => {
                        drop(driver);
                        let why = format!("io_uring lacks the {name} opcode");
                        Driver::with_poll(builder, pool, Some(why))
                    }
                },
                Err(cause) => Driver::with_poll(builder, pool, Some(cause.to_string())),
            },
        }
    }

    fn with_uring(builder: &Builder, pool: Pool) -> Result<Driver, UringUnavailable> {
        let park = ParkState::with_eventfd()
            .map_err(|e| UringUnavailable::Other(e.raw_os_error().unwrap_or(0)))?;
        let park = Arc::new(park);
        let uring = Uring::new(builder, park.clone())?;
        let flags = uring.flags;
        let driver = Driver::assemble(
            BackendImpl::Uring(Box::new(uring)),
            park,
            Backend::Uring,
            None,
            flags,
            pool,
        );
        let mut masked = builder.masked_features.clone();
        if builder.restricted.is_some() {
            // A restricted ring refuses register operations: no buffer
            // ring can be registered with it.
            masked.push(crate::Feature::BufRing);
        }
        driver.inner.features.set(crate::feature::probe(&masked));
        Ok(driver)
    }

    fn with_poll(builder: &Builder, pool: Pool, fallback: Option<String>) -> io::Result<Driver> {
        let (backend, park) = PollBackend::new(builder.reactor)?;
        if let Some(why) = &fallback {
            warn_fallback(why);
        }
        Ok(Driver::assemble(
            BackendImpl::Poll(backend),
            park,
            Backend::Poll,
            fallback,
            SetupFlags::EMPTY,
            pool,
        ))
    }

    fn assemble(
        backend: BackendImpl,
        park: Arc<ParkState>,
        kind: Backend,
        fallback: Option<String>,
        flags: SetupFlags,
        pool: Pool,
    ) -> Driver {
        let sink = Arc::new(Sink::new(Unparker::new(park.clone())));
        Driver {
            inner: Rc::new(Inner {
                core: RefCell::new(Core {
                    backend,
                    ops: Ops::new(256),
                    sink,
                    pool: pool.clone(),
                    pool_results: Vec::new(),
                    pool_fds: Vec::new(),
                    closing: Vec::new(),
                    ring_fds: Vec::new(),
                }),
                deferred: RefCell::new(Vec::new()),
                deferred_closes: RefCell::new(Vec::new()),
                deferred_releases: RefCell::new(Vec::new()),
                shutdown_budget: std::cell::Cell::new(SHUTDOWN_BUDGET),
                park,
                backend: kind,
                fallback,
                flags,
                pool,
                features: std::cell::Cell::new(0),
                id: {
                    static NEXT: std::sync::atomic::AtomicU64 =
                        std::sync::atomic::AtomicU64::new(1);
                    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                },
            }),
        }
    }

    /// Whether `other` is a handle on this same driver.
    pub fn same_as(&self, other: &Driver) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }

    /// Starts a zero-copy send (see [`SendZc`](crate::op::SendZc)).
    pub fn send_zc<T: rentio_buf::IoBuf>(&self, op: crate::op::SendZc<T>) -> crate::op::ZcSend<T> {
        crate::op::ZcSend::new(self.multi(op))
    }

    /// How long dropping the driver waits (at most) for the kernel to give
    /// back ops still in flight before it leaks them and closes the ring
    /// (default 1 s).
    pub fn set_shutdown_timeout(&self, timeout: Duration) {
        self.inner.shutdown_budget.set(timeout);
    }

    /// A handle that wakes this driver from any thread.
    pub fn unparker(&self) -> Unparker {
        Unparker::new(self.inner.park.clone())
    }

    /// The blocking pool this driver uses.
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// Counters of the paths the driver has run.
    pub fn stats(&self) -> Stats {
        self.inner.core.borrow().ops.stats
    }

    /// Ops the driver tracks: in flight, or completed and not yet taken
    /// (owned ops that finished, queued for `completions`, are not
    /// counted). Counting the owned ops in flight scans their table: for
    /// tests and diagnostics, not a hot path.
    pub fn ops_in_slab(&self) -> usize {
        self.inner.core.borrow().ops.len()
    }

    /// Deadlines the readiness backend keeps (timeouts and link timeouts,
    /// including some whose op already finished, until the next sweep);
    /// 0 on io_uring, where the kernel keeps them.
    pub fn readiness_timers(&self) -> usize {
        match &self.inner.core.borrow().backend {
            BackendImpl::Poll(poll) => poll.timers(),
            BackendImpl::Uring(_) => 0,
        }
    }

    /// A lazy op: nothing reaches the kernel until it is first polled.
    pub fn op<T: OpCode>(&self, op: T) -> Op<T> {
        Op::new(self.clone(), op)
    }

    /// An op pushed now (low-level face). Its key appears in
    /// [`take_ready`](Driver::take_ready) when it can make progress.
    ///
    /// # Errors
    ///
    /// A poisoned driver, an opcode the ring lacks with no fallback
    /// (`Unsupported`), or a failure to reach the blocking pool.
    pub fn submit<T: OpCode>(&self, op: T) -> io::Result<Op<T>> {
        let mut op = Op::new(self.clone(), op);
        op.submit()?;
        Ok(op)
    }

    /// Pushes `op` for the driver to keep (low-level face): when it
    /// finishes, [`completions`](Driver::completions) hands it back with its
    /// result under the returned key. Nothing is allocated for an op of
    /// zero size; any other op is boxed once.
    ///
    /// # Cancel safety
    ///
    /// The driver owns the op, so nothing is lost: [`Driver::cancel`] ends
    /// it early (with `ECANCELED` unless it finished first) and it still
    /// comes back through `completions`. Ops never taken are dropped with
    /// the driver, after the kernel is done with them (or leaked if it
    /// never is).
    ///
    /// # Errors
    ///
    /// As [`Driver::submit`]; a multishot op must use [`Driver::multi`].
    /// On error the op is dropped: nothing reached the kernel.
    #[inline]
    pub fn push<T: OpCode>(&self, op: T) -> io::Result<Key> {
        let mut core = self.inner.core.borrow_mut();
        let result = core.push_owned(op);
        self.settle(core);
        result
    }

    /// A batch of [`push`](Driver::push)es under one borrow of the driver:
    /// taking the borrow and settling after it (running the wakers and
    /// dropping what the pushes freed) are paid once per batch, not per
    /// push. Wakers woken and resources freed meanwhile (a full SQ is
    /// submitted and reaped to make room) wait until the batch drops.
    ///
    /// # Panics
    ///
    /// The batch holds the driver: any other call on the driver (through
    /// any handle) while the batch lives panics, as a second
    /// `RefCell::borrow_mut` does. Push, then drop the batch.
    pub fn batch(&self) -> Batch<'_> {
        Batch {
            driver: self,
            core: std::mem::ManuallyDrop::new(self.inner.core.borrow_mut()),
        }
    }

    /// Hands back every op pushed with [`Driver::push`] that finished
    /// since the last call, in the order they finished: `f` gets each as a
    /// [`Finished`], which turns back into the op's output. Readiness ops
    /// whose fd became ready run their syscall here first. `f` may push new
    /// ops or cancel others; those show up in a later call. If `f` panics,
    /// the ops it has not had yet stay queued, in order, for the next call.
    pub fn completions(&self, mut f: impl FnMut(Finished)) {
        let mut core = self.inner.core.borrow_mut();
        if !core.ops.owned.is_empty() {
            run_ready_owned(&mut core);
        }
        // The owned list is taken; what is left of the news the last tick
        // saw is on the other lists (a `ready_seen` above that would hide
        // the next news, and `poll` would park on it).
        let ops = &mut core.ops;
        ops.ready_seen = ops.ready_seen.min(ops.ready.len() + ops.owned.len());
        // Those owed now, and no more: ops that finish while `f` runs wait
        // for the next call, so a callback that keeps pushing ops that
        // finish at once cannot keep this call going.
        let owed = ops.finished.len();
        self.settle(core);
        // One op at a time, with no borrow held while `f` runs: it may
        // push, cancel, or panic, and what it has not had stays queued.
        // (Taking one frees nothing and wakes nobody: nothing to settle.)
        for _ in 0..owed {
            // A statement of its own: the borrow ends with it.
            let next = self.inner.core.borrow_mut().ops.finished.take_next();
            let Some(finished) = next else {
                // A `completions` inside `f` handed out the rest.
                break;
            };
            f(finished);
        }
        // What finished meanwhile is news the caller has not seen, even if
        // `f` ended a tick (which marks what is queued as seen).
        let mut core = self.inner.core.borrow_mut();
        let ops = &mut core.ops;
        ops.ready_seen = ops.ready_seen.min(ops.ready.len() + ops.owned.len());
        ops.finished.empty_if_all_handed();
    }

    /// A multishot op, as a stream of completions (see [`Multi`]).
    pub fn multi<T: OpCode>(&self, op: T) -> Multi<T> {
        Multi::new(self.clone(), op)
    }

    /// One tick: submits queued SQEs in one enter, reaps completions, runs
    /// their wakers, and — unless `timeout` is zero or something is already
    /// done — parks until a completion, an unpark, or the timeout.
    ///
    /// # Errors
    ///
    /// A poisoned driver, or a failed `io_uring_enter`/`epoll_wait` other
    /// than an interruption.
    pub fn poll(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.run_deferred_drops();
        self.run_deferred_closes();
        let mut core = self.inner.core.borrow_mut();
        let c = &mut *core;
        let timeout = if c.drain_pool() > 0 {
            Some(Duration::ZERO)
        } else {
            timeout
        };
        let result = match &mut c.backend {
            BackendImpl::Uring(uring) => uring.poll(&mut c.ops, timeout),
            BackendImpl::Poll(poll) => poll.poll(&mut c.ops, timeout),
        };
        c.drain_pool();
        c.ops.mark_seen();
        self.settle(core);
        result
    }

    /// Ends a borrow of the core: wakes the wakers and drops what the step
    /// freed only once the borrow is released, since a waker or a `Drop`
    /// impl may call back into the driver.
    #[inline]
    fn settle(&self, core: std::cell::RefMut<'_, Core>) {
        if core.ops.dirty {
            self.settle_slow(core);
        }
    }

    #[cold]
    fn settle_slow(&self, mut core: std::cell::RefMut<'_, Core>) {
        let ops = &mut core.ops;
        ops.dirty = false;
        let mut wake = std::mem::take(&mut ops.wake);
        let graveyard = std::mem::take(&mut ops.graveyard);
        let dead = std::mem::take(&mut ops.dead_wakers);
        drop(core);
        for (_, waker) in &wake {
            waker.wake_by_ref();
        }
        drop(graveyard);
        drop(dead);
        // Each waker goes back to its slot as the spare the task's next op
        // there takes instead of a clone (see `Slot::spare`); the spare it
        // replaces is dropped after the borrow, like any waker.
        let mut left = Vec::new();
        match self.inner.core.try_borrow_mut() {
            Ok(mut core) => {
                for (key, waker) in wake.drain(..) {
                    if let Some(waker) = core.ops.slab.keep_spare(key.slab_index(), waker) {
                        left.push(waker);
                    }
                }
                // Give the list's allocation back for the next tick.
                if core.ops.wake.is_empty() {
                    core.ops.wake = wake;
                }
            }
            Err(_) => left.extend(wake.drain(..).map(|(_, waker)| waker)),
        }
        drop(left);
    }

    /// Ops dropped while the driver was borrowed (from a waker's or a
    /// resource's `Drop`) are handled now.
    #[inline]
    fn run_deferred_drops(&self) {
        if self.inner.deferred.borrow().is_empty() {
            return;
        }
        loop {
            let next = self.inner.deferred.borrow_mut().pop();
            match next {
                Some((key, data)) => self.drop_op(key, data),
                None => return,
            }
        }
    }

    /// Moves into `out` the keys of ops pushed with [`Driver::submit`] (or
    /// [`Op::submit`]) that made progress since the last call: a key there
    /// means [`Op::try_complete`] may now succeed. Ops driven as futures wake
    /// their tasks instead and never appear here. While keys wait here
    /// unseen, [`poll`](Driver::poll) does not park.
    pub fn take_ready(&self, out: &mut Vec<Key>) {
        let mut core = self.inner.core.borrow_mut();
        out.append(&mut core.ops.ready);
        core.ops.ready_seen = core
            .ops
            .ready_seen
            .min(core.ops.owned.len() + core.ops.finished.len());
    }

    /// Asks the kernel to cancel the op; its owner then sees `ECANCELED`
    /// (or the result, if it finished first).
    ///
    /// # Errors
    ///
    /// Only if the cancel request cannot be pushed.
    pub fn cancel(&self, key: Key) -> io::Result<()> {
        let mut core = self.inner.core.borrow_mut();
        let c = &mut *core;
        let result = match &mut c.backend {
            BackendImpl::Uring(uring) => {
                if c.ops.lean.contains(key)
                    || c.ops.get_mut(key).is_some_and(|slot| slot.pending > 0)
                {
                    uring.push_cancel(&mut c.ops, key)
                } else {
                    Ok(())
                }
            }
            BackendImpl::Poll(_) => {
                poll::finish(
                    &mut c.ops,
                    key,
                    Err(io::Error::from_raw_os_error(libc::ECANCELED)),
                );
                Ok(())
            }
        };
        self.settle(core);
        result
    }

    #[inline]
    pub(crate) fn push_op<T: OpCode>(&self, data: &mut T, how: Push) -> io::Result<Key> {
        let mut core = self.inner.core.borrow_mut();
        let result = core.push(data, how);
        self.settle(core);
        result
    }
}

impl Driver {
    /// Readiness backend: runs the op's syscall if its fd is ready (or it
    /// was just pushed); the result stays in the slot.
    pub(crate) fn try_io<T: OpCode>(&self, key: Key, data: &mut T) {
        if self.inner.backend == Backend::Poll {
            let mut core = self.inner.core.borrow_mut();
            core.try_io(key, data);
        }
    }

    /// An `Op`'s first poll: pushes it and polls it under one borrow.
    #[inline]
    pub(crate) fn push_and_poll_op<T: OpCode>(
        &self,
        data: &mut T,
        how: Push,
        waker: Option<&Waker>,
    ) -> io::Result<(Key, Poll<Completion>)> {
        let mut core = self.inner.core.borrow_mut();
        let c = &mut *core;
        let key = match c.push(data, how) {
            Ok(key) => key,
            Err(e) => {
                self.settle(core);
                return Err(e);
            }
        };
        let result = self.poll_in(c, key, data, waker);
        self.settle(core);
        Ok((key, result))
    }

    /// An op's poll inside a borrow of the core: on readiness its syscall
    /// first, then the result or the waker (see [`Ops::poll_slot`]).
    #[inline]
    fn poll_in<T: OpCode>(
        &self,
        c: &mut Core,
        key: Key,
        data: &mut T,
        waker: Option<&Waker>,
    ) -> Poll<Completion> {
        if self.inner.backend == Backend::Poll {
            c.try_io(key, data);
        }
        match c.ops.poll_slot(key, waker) {
            Some(Poll::Ready(cqe)) => Poll::Ready(cqe.into_completion()),
            Some(Poll::Pending) => Poll::Pending,
            None => Poll::Ready(Completion::from_result(Err(io::Error::other(
                "rentio-driver: op missing from the slab",
            )))),
        }
    }

    #[inline]
    pub(crate) fn poll_op<T: OpCode>(
        &self,
        key: Key,
        data: &mut T,
        waker: Option<&Waker>,
    ) -> Poll<Completion> {
        let mut core = self.inner.core.borrow_mut();
        let c = &mut *core;
        let result = self.poll_in(c, key, data, waker);
        self.settle(core);
        result
    }

    pub(crate) fn poll_multi(&self, key: Key, waker: Option<&Waker>) -> Poll<Option<Completion>> {
        let mut core = self.inner.core.borrow_mut();
        let Some(slot) = core.ops.get_mut(key) else {
            return Poll::Ready(None);
        };
        let result = match slot.multi() {
            Some(multi) => match multi.queue.pop_front() {
                Some(completion) => Poll::Ready(Some(completion.into_completion())),
                None if multi.finished => {
                    core.ops.remove(key);
                    Poll::Ready(None)
                }
                None => {
                    if let Some(waker) = waker {
                        slot.set_waker(waker);
                    }
                    Poll::Pending
                }
            },
            None => Poll::Ready(None),
        };
        self.settle(core);
        result
    }

    /// The owner of an op is gone: park its resources until the kernel is
    /// done with them, and ask the kernel to cancel it.
    pub(crate) fn drop_op(&self, key: Key, data: Parked) {
        let Ok(mut core) = self.inner.core.try_borrow_mut() else {
            // Dropped from inside the driver (a waker's or a resource's
            // drop): handle it at the next tick, keeping the data alive.
            self.inner.deferred.borrow_mut().push((key, data));
            return;
        };
        let c = &mut *core;
        if c.ops.abandon(key) {
            if let Some(data) = data {
                c.ops.park(key, data);
            }
            if let BackendImpl::Uring(uring) = &mut c.backend {
                let _ = uring.push_cancel(&mut c.ops, key);
            }
        } else if let Some(data) = data {
            c.ops.graveyard.push(data);
            c.ops.dirty = true;
        }
        self.settle(core);
    }
}

/// Says once per process, as a `tracing` warning, why `Auto` fell back
/// to readiness (the reason stays on [`Driver::fallback_reason`]). Every
/// driver of a process falls back for the same reason, so one line says
/// it; a subscriber (for example `tracing_subscriber::fmt::init()`) shows
/// it.
fn warn_fallback(why: &str) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        tracing::warn!(
            target: "rentio_driver",
            reason = why,
            "rentio: io_uring is unavailable ({why}); using the readiness backend"
        );
    });
}

/// How an op is pushed.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Push {
    pub(crate) link_timeout: Option<Duration>,
    /// Where progress without a waker is reported.
    pub(crate) notify: Notify,
    /// Through [`Driver::multi`].
    pub(crate) multi: bool,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("backend", &self.inner.backend)
            .field("setup_flags", &self.inner.flags)
            .field("fallback", &self.inner.fallback)
            .finish_non_exhaustive()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Ops dropped re-entrantly and never handled: their data may be
        // in the kernel's hands, so it is leaked, never freed.
        std::mem::forget(std::mem::take(self.deferred.get_mut()));
        let core = self.core.get_mut();
        let deferred = std::mem::take(self.deferred_closes.get_mut());
        if !deferred.is_empty() {
            // One flush for all of them.
            let released = match &mut core.backend {
                BackendImpl::Uring(uring) => uring.submit_queued(&mut core.ops).is_ok(),
                BackendImpl::Poll(_) => true,
            };
            for fd in deferred {
                let released = released && core.release(fd.as_raw_fd());
                core.close_released(fd, released);
            }
        }
        if let BackendImpl::Uring(uring) = &mut core.backend {
            uring.cancel_all(&mut core.ops);
        }
        let deadline = std::time::Instant::now() + self.shutdown_budget.get();
        while core.ops.in_flight().next().is_some() && !core.ops.poisoned {
            let now = std::time::Instant::now();
            if now >= deadline {
                break;
            }
            let wait = (deadline - now).min(Duration::from_millis(10));
            match &mut core.backend {
                BackendImpl::Uring(uring) => {
                    if uring.wait(&mut core.ops, wait).is_err() {
                        break;
                    }
                }
                BackendImpl::Poll(_) => std::thread::sleep(Duration::from_millis(1)),
            }
            core.drain_pool();
        }
        // Jobs that reported back meanwhile free their fds' closes.
        core.drain_pool();
        core.ops.leak_in_flight();
        // A pool job that never reported back may still use its number:
        // that fd is leaked, the others close.
        for fd in std::mem::take(&mut core.closing) {
            if core.pool_uses(fd.as_raw_fd()) {
                std::mem::forget(fd);
            }
        }
        // Wakers and resources freed along the way go now, before the ring
        // closes (they hold no kernel memory).
        core.ops.wake.clear();
        core.ops.dead_wakers.clear();
        core.ops.graveyard.clear();
    }
}
