//! The op table: a slab of [`Slot`]s with the free list threaded through
//! vacant slots.
//!
//! The `slab` crate would do, but the driver's hot path inserts and frees a
//! slot per op: here a vacant slot is marked by generation 0 (never a live
//! generation), so a lookup checks the key's generation in one compare, and
//! freeing a slot clears its two `Option`s in place instead of moving the
//! whole entry out and dropping it.

use std::task::Waker;

use crate::key::MAX_INDEX;
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
    /// its index; `None` when the slab already holds `MAX_INDEX` slots.
    #[inline]
    pub(crate) fn insert(
        &mut self,
        generation: u32,
        returns_fd: bool,
        pending: u8,
        notify: Notify,
    ) -> Option<usize> {
        debug_assert_ne!(generation, 0);
        if self.free == NONE && self.entries.len() >= MAX_INDEX {
            return None;
        }
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
            Some(index)
        } else {
            self.entries
                .push(Slot::new(generation, returns_fd, pending, notify));
            Some(self.entries.len() - 1)
        }
    }

    /// The live slot at `index` with this generation.
    #[inline]
    pub(crate) fn get_mut(&mut self, index: usize, generation: u32) -> Option<&mut Slot> {
        let slot = self
            .entries
            .get_mut(index)
            .filter(|slot| slot.generation == generation && generation != 0)?;
        Some(slot)
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
        slot.waker = None;
        slot.next_free = self.free;
        self.free = index as u32;
        self.len -= 1;
        (slot.data.take(), slot.extra.take())
    }

    /// Frees the live slot at `index` whose waker, data and extras are
    /// already out (an `Op`'s result taken): only the free list changes.
    #[inline]
    pub(crate) fn vacate(&mut self, index: usize) {
        if let Some(slot) = self.entries.get_mut(index) {
            debug_assert!(slot.generation != 0 && slot.waker.is_none());
            debug_assert!(slot.data.is_none() && slot.extra.is_none());
            slot.generation = 0;
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
        self.entries.iter_mut().filter(|slot| slot.generation != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_slots_are_reused_and_stale_generations_miss() {
        let mut slots = Slots::with_capacity(2);
        let a = slots.insert(1, false, 0, Notify::Waker).unwrap();
        let b = slots.insert(2, false, 0, Notify::Waker).unwrap();
        assert_eq!(slots.len(), 2);
        assert!(slots.get_mut(a, 1).is_some());
        assert!(slots.get_mut(a, 2).is_none(), "wrong generation");
        assert!(matches!(slots.remove(a), (None, None)));
        assert!(slots.get_mut(a, 1).is_none(), "freed");
        assert!(slots.get_mut(a, 0).is_none(), "generation 0 never matches");
        let c = slots.insert(3, false, 0, Notify::Waker).unwrap();
        assert_eq!(c, a, "the freed index is reused");
        assert!(
            slots.get_mut(c, 1).is_none(),
            "the old key misses the new op"
        );
        assert!(slots.get_mut(c, 3).is_some());
        assert_eq!(slots.iter().map(|(i, _)| i).collect::<Vec<_>>(), vec![a, b]);
    }
}
