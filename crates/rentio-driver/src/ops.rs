//! The slab of ops and the bookkeeping both backends share.

use std::io;
use std::task::{Poll, Waker};

use crate::driver::FinishedList;
use crate::key::{Key, LEAN, next_generation};
use crate::lean::Lean;
use crate::op::{ErasedOp, OpCode};
use crate::slot::Cqe;
use crate::slot::{CompleteAction, Notify, Slot, State};
use crate::slots::Slots;
use crate::sys;

/// Counters that show which paths ran. Cheap to copy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// `io_uring_enter` calls (or poller waits).
    pub enters: u64,
    /// SQEs the kernel took through `io_uring_enter` (0 on readiness, and
    /// on an SQPOLL ring, whose SQ thread takes them).
    pub sqes_submitted: u64,
    /// Times the CQ overflowed and the driver flushed the kernel's backlog.
    pub cq_overflow_flushes: u64,
    /// Late fds (from a dropped accept, open or socket) the driver closed.
    pub late_fds_closed: u64,
    /// `AsyncCancel`s pushed for dropped or cancelled ops.
    pub cancels_pushed: u64,
    /// Ops whose resources were leaked on purpose at drop, because the
    /// kernel (or a pool thread) might still use them.
    pub leaked_at_drop: u64,
    /// Times the submission queue was full and the driver submitted early.
    pub sq_full_submits: u64,
    /// Ops sent to the blocking pool.
    pub pool_jobs: u64,
    /// Times the driver blocked waiting (parked).
    pub parks: u64,
    /// Readiness backend: syscalls that found their fd not ready
    /// (`EAGAIN`), after which the op waited for an edge.
    pub would_block: u64,
    /// Queued SQEs pointed at fd `-1` because their fd was released while
    /// the kernel would not take them (see [`Driver::release_fd`]).
    ///
    /// [`Driver::release_fd`]: crate::Driver::release_fd
    pub sqes_retargeted: u64,
    /// Closes that waited for blocking-pool jobs using the fd to finish.
    pub closes_deferred: u64,
}

/// The ops in flight and what the driver owes their owners.
pub(crate) struct Ops {
    pub(crate) slab: Slots,
    /// Owned one-shot ops on io_uring (see `crate::lean`).
    pub(crate) lean: Lean,
    generation: u32,
    /// Keys of `Op` handles pushed with `submit` that made progress (see
    /// `Driver::take_ready`).
    pub(crate) ready: Vec<Key>,
    /// Keys of owned ops whose fd became ready (readiness backend): their
    /// syscall runs in `Driver::completions`.
    pub(crate) owned: Vec<Key>,
    /// Owned ops that finished, out of the slab already, in the order they
    /// finished: what `Driver::completions` hands out.
    pub(crate) finished: FinishedList,
    /// The three lists' total length when the last tick ended: more than that
    /// means news the caller has not seen, so the next tick must not park.
    pub(crate) ready_seen: usize,
    /// Wakers to wake, and resources and wakers to drop, once the driver's
    /// borrow ends: a waker or a `Drop` impl may call back into the driver.
    pub(crate) wake: Vec<(Key, Waker)>,
    pub(crate) graveyard: Vec<Box<dyn ErasedOp>>,
    pub(crate) dead_wakers: Vec<Waker>,
    /// Set when any of the three lists above got an entry.
    pub(crate) dirty: bool,
    pub(crate) stats: Stats,
    /// Set when the kernel dropped a CQE (`EBADR`): results are lost, so
    /// every later call fails.
    pub(crate) poisoned: bool,
}

impl Ops {
    pub(crate) fn new(capacity: usize) -> Ops {
        Ops {
            slab: Slots::with_capacity(capacity),
            lean: Lean::new(),
            generation: 0,
            ready: Vec::new(),
            owned: Vec::new(),
            finished: FinishedList::new(),
            ready_seen: 0,
            wake: Vec::new(),
            graveyard: Vec::new(),
            dead_wakers: Vec::new(),
            dirty: false,
            stats: Stats::default(),
            poisoned: false,
        }
    }

    /// Whether keys arrived on the ready list since the last tick ended.
    pub(crate) fn has_news(&self) -> bool {
        self.news() > self.ready_seen
    }

    /// Marks the ready lists as seen by the caller (a tick ended).
    pub(crate) fn mark_seen(&mut self) {
        self.ready_seen = self.news();
    }

    /// Entries on the three ready lists.
    #[inline]
    pub(crate) fn news(&self) -> usize {
        self.ready.len() + self.owned.len() + self.finished.len()
    }

    #[inline]
    pub(crate) fn check_poisoned(&self) -> io::Result<()> {
        if self.poisoned {
            Err(poisoned())
        } else {
            Ok(())
        }
    }

    /// A new slot in `Submitted` state.
    ///
    /// # Errors
    ///
    /// When the slab is full.
    #[inline]
    pub(crate) fn insert<T: OpCode>(&mut self, pending: u8, notify: Notify) -> io::Result<Key> {
        self.generation = next_generation(self.generation);
        let Some(index) = self
            .slab
            .insert(self.generation, T::RETURNS_FD, pending, notify)
        else {
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                "rentio-driver: 2 billion ops in flight; the slab is full",
            ));
        };
        Ok(Key::new(index, self.generation))
    }

    /// An owned one-shot op into the lean table; returns its key and
    /// where the op is.
    ///
    /// # Errors
    ///
    /// When the table is full; the op is then dropped once the driver's
    /// borrow ends.
    #[inline]
    pub(crate) fn insert_lean(
        &mut self,
        data: Box<dyn ErasedOp>,
    ) -> io::Result<(Key, std::ptr::NonNull<dyn ErasedOp>)> {
        self.generation = next_generation(self.generation);
        self.lean.insert(self.generation, data).map_err(|data| {
            self.bury(data);
            io::Error::new(
                io::ErrorKind::OutOfMemory,
                "rentio-driver: 2 billion owned ops in flight; the table is full",
            )
        })
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut Slot> {
        self.slab.get_mut(key.slab_index(), key.generation())
    }

    /// Frees a slot (or a lean entry); its parked resources go to the
    /// graveyard.
    #[inline]
    pub(crate) fn remove(&mut self, key: Key) {
        if key.user_data() & LEAN != 0 {
            if let Some(data) = self.lean.remove(key) {
                self.bury(data);
            }
        } else if self.get_mut(key).is_some() {
            self.remove_at(key.slab_index());
        }
    }

    /// Frees the slot at `index`, which the caller has just looked up.
    #[inline]
    fn remove_at(&mut self, index: usize) {
        if let (Some(data), _) = self.slab.remove(index) {
            self.bury(data);
        }
    }

    /// The op's resources are dropped once the driver's borrow ends.
    #[cold]
    pub(crate) fn bury(&mut self, data: Box<dyn ErasedOp>) {
        self.graveyard.push(data);
        self.dirty = true;
    }

    /// The common cases of an op's last CQE, inline and in one lookup:
    /// an owned one-shot op straight out of the lean table onto the
    /// finished list with the CQE in hand; any other one-shot op's result
    /// into its slot, waking its owner. `user_data` is taken raw: with the
    /// reserved or `AUX` bit set, its generation half matches no live
    /// generation, so it misses. Returns whether the CQE was handled; if
    /// not, nothing changed and [`Ops::complete`] takes it.
    #[inline(always)]
    pub(crate) fn complete_last(&mut self, user_data: u64, cqe: Cqe) -> bool {
        let index = user_data as u32 as usize;
        let upper = (user_data >> 32) as u32;
        if user_data & LEAN != 0 {
            let Some(data) = self.lean.take(user_data as u32, upper) else {
                // Stale or not ours: nothing to do, and nothing else will.
                return true;
            };
            // Written in place, from registers.
            self.finished.push(Key::from_raw(user_data), data, cqe);
            return true;
        }
        let Some(slot) = self.slab.get_mut(index, upper) else {
            return false;
        };
        let key = Key::from_raw(user_data);
        if slot.pending != 1 || !matches!(slot.state, State::Submitted) {
            return false;
        }
        slot.pending = 0;
        slot.state = State::Completed(cqe);
        if let Some(waker) = slot.waker.take() {
            self.wake.push((key, waker));
            self.dirty = true;
            return true;
        }
        match slot.notify {
            Notify::Handle => self.ready.push(key),
            // An owned op with extras goes the long way; one whose data is
            // out (being pushed, or running its syscall) moves when the data
            // is back.
            Notify::Owned => self.finish_owned(key),
            Notify::Waker => {}
        }
        true
    }

    /// Applies a completion (a CQE, a pool result, a readiness result).
    ///
    /// `last` says the kernel owes no more CQEs for this completion's
    /// source; `aux` marks a linked timeout's CQE, which only counts.
    #[inline(never)]
    pub(crate) fn complete(&mut self, key: Key, completion: Cqe, last: bool, aux: bool) {
        let Some(slot) = self.slab.get_mut(key.slab_index(), key.generation()) else {
            return;
        };
        if last {
            slot.pending = slot.pending.saturating_sub(1);
        }
        let action = if aux {
            CompleteAction::Nothing
        } else {
            slot.transition_to_completed(completion)
        };
        let finished = slot.is_finished();
        match action {
            CompleteAction::Nothing => {}
            CompleteAction::NotifyOwned => self.finish_owned(key),
            action => self.apply(key, action),
        }
        if finished {
            self.remove_at(key.slab_index());
        }
    }

    #[inline]
    pub(crate) fn apply(&mut self, key: Key, action: CompleteAction) {
        match action {
            CompleteAction::Wake(waker) => {
                self.wake.push((key, waker));
                self.dirty = true;
            }
            CompleteAction::Notify => self.ready.push(key),
            CompleteAction::NotifyOwned => self.owned.push(key),
            CompleteAction::CloseFd(fd) => {
                sys::close_fd(fd);
                self.stats.late_fds_closed += 1;
            }
            CompleteAction::Nothing => {}
        }
    }

    /// Takes a finished result for the owner; `None` while still pending.
    #[cfg(test)]
    pub(crate) fn take(&mut self, key: Key) -> Option<crate::op::Completion> {
        match self.poll_slot(key, None)? {
            Poll::Ready(cqe) => Some(cqe.into_completion()),
            Poll::Pending => None,
        }
    }

    /// An `Op`'s poll, in one lookup: takes the result if the op finished
    /// (freeing the slot once the kernel owes it nothing more), or stores
    /// `waker` to be woken when it does. `None`: no such op.
    #[inline]
    pub(crate) fn poll_slot(&mut self, key: Key, waker: Option<&Waker>) -> Option<Poll<Cqe>> {
        let slot = self.get_mut(key)?;
        let State::Completed(cqe) = slot.state else {
            if let Some(waker) = waker {
                slot.set_waker(waker);
            }
            return Some(Poll::Pending);
        };
        if slot.pending == 0 {
            if slot.data.is_none() && slot.extra.is_none() && slot.waker.is_none() {
                // The common case (an `Op`'s result): nothing to drop.
                self.slab.vacate(key.slab_index());
            } else {
                self.remove_at(key.slab_index());
            }
        } else {
            // The kernel still owes a CQE (the linked timeout's).
            slot.state = State::Dropped;
        }
        Some(Poll::Ready(cqe))
    }

    /// Makes room for `n` more entries on the `finished` list before a
    /// reap (see [`FinishedList::reserve`]).
    #[inline]
    pub(crate) fn reserve(&mut self, n: usize) {
        self.finished.reserve(n);
    }

    /// Moves a finished owned op out of the slab onto the `finished` list.
    /// Does nothing while the op is in flight, or while its data is out
    /// of the slot (a readiness op running its syscall, an op being
    /// pushed): the caller moves it once the data is back.
    #[inline]
    pub(crate) fn finish_owned(&mut self, key: Key) {
        if let Some((data, cqe)) = self.take_owned(key) {
            self.finished.push(key, data, cqe);
        }
    }

    /// Takes an owned op with its result once it has finished; `None`
    /// while it is in flight (or if the key is stale).
    #[inline]
    pub(crate) fn take_owned(&mut self, key: Key) -> Option<(Box<dyn ErasedOp>, Cqe)> {
        let slot = self.get_mut(key)?;
        let State::Completed(cqe) = slot.state else {
            return None;
        };
        let data = slot.data.take()?;
        if slot.pending == 0 {
            // The data is out; what is left (the extras) holds no resources.
            let _ = self.slab.remove(key.slab_index());
        } else {
            // The kernel still owes a CQE (the linked timeout's).
            slot.state = State::Dropped;
        }
        Some((data, cqe))
    }

    /// The owner is gone. Returns `true` if the slot still waits for the
    /// kernel (the resources must then be parked with [`Ops::park`]).
    pub(crate) fn abandon(&mut self, key: Key) -> bool {
        let Some(slot) = self.get_mut(key) else {
            return false;
        };
        let old = std::mem::replace(&mut slot.state, State::Dropped);
        let waker = slot.waker.take();
        if let Some(waker) = waker {
            self.dead_wakers.push(waker);
            self.dirty = true;
        }
        let Some(slot) = self.get_mut(key) else {
            return false;
        };
        let mut late = Vec::new();
        match old {
            // Completed but never taken: nobody else will close this fd.
            State::Completed(cqe) => late.push(cqe),
            State::Multi => {
                if let Some(multi) = slot.extra.as_mut().and_then(|e| e.multi.take()) {
                    late.extend(multi.queue);
                }
            }
            _ => {}
        }
        let (returns_fd, pending) = (slot.returns_fd, slot.pending);
        if returns_fd {
            for cqe in late.into_iter().filter(|c| c.res() >= 0) {
                sys::close_fd(cqe.res());
                self.stats.late_fds_closed += 1;
            }
        }
        if pending == 0 {
            self.remove(key);
            false
        } else {
            true
        }
    }

    /// Parks a dropped op's resources in its slot until the last CQE.
    pub(crate) fn park(&mut self, key: Key, resources: Box<dyn ErasedOp>) {
        match self.get_mut(key) {
            Some(slot) => slot.data = Some(resources),
            None => self.bury(resources),
        }
    }

    /// Keys of ops the kernel (or the pool) still owes a completion.
    pub(crate) fn in_flight(&self) -> impl Iterator<Item = Key> + '_ {
        self.slab
            .iter()
            .filter(|(_, slot)| slot.pending > 0)
            .map(|(index, slot)| Key::new(index, slot.generation))
            .chain(self.lean.keys())
    }

    /// Ops in the slab and the lean table.
    pub(crate) fn len(&self) -> usize {
        self.slab.len() + self.lean.len()
    }

    /// Leaks every slot the kernel may still use: called before the ring
    /// closes, when waiting longer is not an option.
    pub(crate) fn leak_in_flight(&mut self) {
        self.stats.leaked_at_drop += self.lean.leak_all();
        for slot in self.slab.iter_mut() {
            // A finished op nobody took: an fd it produced is closed.
            if let State::Completed(cqe) = slot.state
                && slot.returns_fd
                && cqe.res() >= 0
                && slot.data.is_some()
            {
                sys::close_fd(cqe.res());
                slot.state = State::Dropped;
            }
            if slot.pending > 0 {
                self.stats.leaked_at_drop += 1;
                slot.state = State::Dropped;
                std::mem::forget(slot.data.take());
                std::mem::forget(slot.extra.take());
            }
        }
    }
}

#[cold]
fn poisoned() -> io::Error {
    io::Error::other(
        "rentio-driver: the kernel dropped a completion (EBADR); the driver is poisoned",
    )
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::op::Nop;
    use crate::op::testing::Tracked;

    #[derive(Clone, Debug)]
    enum Event {
        /// A CQE: `more` keeps a multishot op going; `aux` is a linked
        /// timeout's CQE.
        Cqe {
            more: bool,
            aux: bool,
            res: i32,
        },
        Take,
        Abandon,
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            (any::<bool>(), any::<bool>(), -5i32..5).prop_map(|(more, aux, res)| Event::Cqe {
                more,
                aux,
                res
            }),
            Just(Event::Take),
            Just(Event::Abandon),
        ]
    }

    proptest! {
        /// Against a model: a slot lives exactly while the kernel owes it a
        /// CQE or its owner has not taken the result or gone; a result is
        /// taken at most once; parked resources are freed only with the slot.
        #[test]
        fn lifecycle_matches_the_model(pending in 1u8..3, multishot in any::<bool>(), events in proptest::collection::vec(event(), 0..12)) {
            let mut ops = Ops::new(4);
            let key = ops.insert::<Nop>(pending, Notify::Waker).unwrap();
            if multishot {
                ops.get_mut(key).unwrap().set_multi(false);
            }
            let mut owed = pending;
            let mut owner = true;
            let mut result: Option<i32> = None;
            let mut taken = false;
            let mut parked_dropped = std::rc::Rc::new(());
            for e in events {
                match e {
                    Event::Cqe { more, aux, res } => {
                        if owed == 0 { continue; }
                        let more = more && multishot && !aux;
                        let flags = if more { crate::op::CQE_F_MORE } else { 0 };
                        ops.complete(key, Cqe::new(res, flags), !more, aux);
                        if !more { owed -= 1; }
                        if !aux && owner && !multishot && result.is_none() && !taken { result = Some(res); }
                    }
                    Event::Take => {
                        let got = ops.take(key);
                        if owner && !multishot && !taken && result.is_some() {
                            let got = got.expect("a completed result can be taken");
                            prop_assert_eq!(got.result.is_err(), result.unwrap() < 0);
                            taken = true;
                        } else {
                            prop_assert!(got.is_none());
                        }
                    }
                    Event::Abandon => {
                        if !owner || taken { continue; }
                        owner = false;
                        if ops.abandon(key) {
                            ops.park(key, Box::new(Tracked {
                                _count: parked_dropped.clone(),
                            }));
                        }
                    }
                }
                let alive = owed > 0 || (owner && !taken);
                prop_assert_eq!(ops.get_mut(key).is_some(), alive, "owed {} owner {} taken {}", owed, owner, taken);
                let graves = std::mem::take(&mut ops.graveyard);
                drop(graves);
                ops.dead_wakers.clear();
                if alive && !owner {
                    prop_assert_eq!(std::rc::Rc::strong_count(&parked_dropped), 2, "parked resources freed early");
                }
            }
            let _ = &mut parked_dropped;
        }
    }
}
