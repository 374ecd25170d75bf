//! The op table: a slab of [`Slot`]s with the free list threaded through
//! vacant slots.
//!
//! The `slab` crate would do, but the driver's hot path inserts and frees a
//! slot per op: here a vacant slot is marked by generation 0 (never a live
//! generation), so a lookup checks the key's generation in one compare, and
//! freeing a slot clears its two `Option`s in place instead of moving the
//! whole entry out and dropping it.

use std::task::Waker;

use crate::op::ErasedOp;
use crate::slot::{Extra, Notify, Slot, State};

const NONE: u32 = u32::MAX;

pub(crate) struct Slots {
    entries: Vec<Slot>,
    /// Head of the free list (an index into `entries`), or `NONE`.
    free: u32,
    len: usize,
}

impl Slots {
    pub(crate) fn with_capacity(capacity: usize) -> Slots {
        Slots {
            entries: Vec::with_capacity(capacity),
            free: NONE,
            len: 0,
        }
    }

    /// Live slots.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Stores a new `Submitted` slot (`generation` is not 0) and returns
    /// its index.
    #[inline]
    pub(crate) fn insert(
        &mut self,
        generation: u32,
        returns_fd: bool,
        pending: u8,
        notify: Notify,
    ) -> usize {
        debug_assert_ne!(generation, 0);
        self.len += 1;
        if self.free != NONE {
            let index = self.free as usize;
            let entry = &mut self.entries[index];
            self.free = entry.next_free;
            // A vacant slot holds no waker, data or extras (`remove` cleared
            // them): only the plain fields change, written in place. (Building
            // a whole `Slot` and moving it in stalls on store forwarding.)
            entry.generation = generation;
            entry.pending = pending;
            entry.returns_fd = returns_fd;
            entry.notify = notify;
            entry.state = State::Submitted;
            index
        } else {
            self.entries
                .push(Slot::new(generation, returns_fd, pending, notify));
            self.entries.len() - 1
        }
    }

    /// [`insert`](Slots::insert) for an owned one-shot op (one CQE owed),
    /// with its data; returns the index and where the data is.
    #[inline]
    pub(crate) fn insert_owned(
        &mut self,
        generation: u32,
        returns_fd: bool,
        data: Box<dyn ErasedOp>,
    ) -> (usize, *mut dyn ErasedOp) {
        let index = self.insert(generation, returns_fd, 1, Notify::Owned);
        let slot = &mut self.entries[index];
        debug_assert!(slot.data.is_none(), "a vacant slot holds no data");
        slot.fast = true;
        // SAFETY: writing a valid `Option` over a valid one. A vacant slot
        // holds no data (`remove` and `vacate` took it out), so nothing is
        // lost by not dropping the old value; were that ever broken, the
        // old box would leak, never be freed twice.
        unsafe { std::ptr::write(&mut slot.data, Some(data)) };
        let data: *mut dyn ErasedOp = match &mut slot.data {
            Some(data) => &mut **data,
            None => unreachable!("written just above"),
        };
        (index, data)
    }

    /// The live slot at `index` with this generation.
    #[inline]
    pub(crate) fn get_mut(&mut self, index: usize, generation: u32) -> Option<&mut Slot> {
        let slot = self
            .entries
            .get_mut(index)
            .filter(|slot| slot.generation == generation && generation != 0)?;
        // Whoever looks the slot up may change it: off the fast path.
        slot.fast = false;
        Some(slot)
    }

    /// The live slot at `index` with this generation, for the CQE path
    /// (`Ops::complete_last`) alone: unlike [`get_mut`](Slots::get_mut) it
    /// leaves `fast` as it is, so the caller must free a `fast` slot with
    /// [`take_fast`](Slots::take_fast) or leave it untouched.
    #[inline]
    pub(crate) fn get_raw(&mut self, index: usize, generation: u32) -> Option<&mut Slot> {
        self.entries
            .get_mut(index)
            .filter(|slot| slot.generation == generation && generation != 0)
    }

    /// Frees the live `fast` slot at `index` (an owned one-shot op
    /// untouched since its push) and returns its op.
    ///
    /// # Panics
    ///
    /// If the slot is not live and `fast` (a driver bug).
    #[inline]
    pub(crate) fn take_fast(&mut self, index: usize) -> Box<dyn ErasedOp> {
        let slot = &mut self.entries[index];
        assert!(
            slot.fast && slot.generation != 0,
            "take_fast on a slow slot"
        );
        debug_assert!(slot.pending == 1 && slot.notify == Notify::Owned);
        debug_assert!(matches!(slot.state, State::Submitted));
        debug_assert!(slot.waker.is_none() && slot.extra.is_none());
        let Some(data) = slot.data.take() else {
            unreachable!("a fast slot holds its op")
        };
        slot.fast = false;
        slot.pending = 0;
        slot.generation = 0;
        slot.next_free = self.free;
        self.free = index as u32;
        self.len -= 1;
        data
    }

    /// [`take_fast`](Slots::take_fast) if the live slot at `index` with
    /// this generation is `fast`.
    #[cfg(test)]
    fn take_owned(&mut self, index: usize, generation: u32) -> Option<Box<dyn ErasedOp>> {
        let fast = self.get_raw(index, generation)?.fast;
        fast.then(|| self.take_fast(index))
    }

    /// Frees the live slot at `index`, returning what it still held.
    #[inline]
    pub(crate) fn remove(
        &mut self,
        index: usize,
    ) -> (Option<Box<dyn ErasedOp>>, Option<Box<Extra>>) {
        let slot = &mut self.entries[index];
        debug_assert_ne!(slot.generation, 0, "freeing a vacant slot");
        slot.generation = 0;
        slot.fast = false;
        slot.waker = None;
        slot.next_free = self.free;
        self.free = index as u32;
        self.len -= 1;
        (slot.data.take(), slot.extra.take())
    }

    /// Frees the live slot at `index` whose waker, data and extras are
    /// already out (the owned-op fast path): only the free list changes.
    #[inline]
    pub(crate) fn vacate(&mut self, index: usize) {
        if let Some(slot) = self.entries.get_mut(index) {
            debug_assert!(slot.generation != 0 && slot.waker.is_none());
            debug_assert!(slot.data.is_none() && slot.extra.is_none());
            slot.generation = 0;
            slot.fast = false;
            slot.next_free = self.free;
            self.free = index as u32;
            self.len -= 1;
        }
    }

    /// Keeps `waker`, which the op at `index` was just woken with, as that
    /// slot's spare (see [`Slot::spare`]), whether the op is still there,
    /// taken, or replaced; returns the spare it replaces, for the caller
    /// to drop once the driver's borrow is over.
    #[inline]
    pub(crate) fn keep_spare(&mut self, index: usize, waker: Waker) -> Option<Waker> {
        match self.entries.get_mut(index) {
            Some(slot) => slot.spare.replace(waker),
            None => Some(waker),
        }
    }

    /// Live slots with their indices.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &Slot)> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.generation != 0)
    }

    /// Live slots, mutably.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Slot> + '_ {
        self.entries.iter_mut().filter_map(|slot| {
            if slot.generation == 0 {
                return None;
            }
            // As in `get_mut`.
            slot.fast = false;
            Some(slot)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_slots_are_reused_and_stale_generations_miss() {
        let mut slots = Slots::with_capacity(2);
        let a = slots.insert(1, false, 0, Notify::Waker);
        let b = slots.insert(2, false, 0, Notify::Waker);
        assert_eq!(slots.len(), 2);
        assert!(slots.get_mut(a, 1).is_some());
        assert!(slots.get_mut(a, 2).is_none(), "wrong generation");
        assert!(matches!(slots.remove(a), (None, None)));
        assert!(slots.get_mut(a, 1).is_none(), "freed");
        assert!(slots.get_mut(a, 0).is_none(), "generation 0 never matches");
        let c = slots.insert(3, false, 0, Notify::Waker);
        assert_eq!(c, a, "the freed index is reused");
        assert!(
            slots.get_mut(c, 1).is_none(),
            "the old key misses the new op"
        );
        assert!(slots.get_mut(c, 3).is_some());
        assert_eq!(slots.iter().map(|(i, _)| i).collect::<Vec<_>>(), vec![a, b]);
    }

    #[test]
    fn only_an_untouched_owned_op_takes_the_fast_path() {
        let mut slots = Slots::with_capacity(4);
        let (a, _) = slots.insert_owned(1, false, Box::new(crate::op::Nop));
        assert!(slots.take_owned(a, 2).is_none(), "wrong generation");
        assert!(slots.take_owned(a, 1).is_some());
        assert_eq!(slots.len(), 0, "taken means freed");
        assert!(slots.take_owned(a, 1).is_none(), "a freed slot misses");
        assert!(slots.take_owned(a, 0).is_none(), "generation 0 misses");

        // Any lookup (a cancel, a waker, extras) sends the op the long way.
        let (b, _) = slots.insert_owned(2, false, Box::new(crate::op::Nop));
        assert!(slots.get_mut(b, 2).is_some());
        assert!(slots.take_owned(b, 2).is_none());
        let (c, _) = slots.insert_owned(3, false, Box::new(crate::op::Nop));
        assert_eq!(slots.iter_mut().count(), 2);
        assert!(slots.take_owned(c, 3).is_none());

        // An op inserted the ordinary way never takes it, even in a slot
        // an owned op used before.
        assert!(matches!(slots.remove(b), (Some(_), None)));
        let d = slots.insert(4, false, 1, Notify::Owned);
        assert_eq!(d, b, "the freed index is reused");
        assert!(slots.take_owned(d, 4).is_none());
    }
}
