//! The lean table: owned one-shot ops on io_uring, the common case of
//! [`Driver::push`](crate::Driver::push), kept apart from the slab.
//!
//! Such an op needs nothing a [`Slot`](crate::slot::Slot) carries beside
//! the op itself: no waker, no state (its one CQE is its result), no
//! extras, no count of CQEs owed. An entry is the op and a generation, 24
//! bytes, so pushing one and taking it back at its CQE write and read a
//! few words instead of a whole slot. Keys of this table carry
//! [`LEAN`](crate::key::LEAN) in their index half: a key of the slab never
//! names an entry here, nor the reverse.
//!
//! An op that needs more (a cancel asked for it, the driver shuts down)
//! stays here: a cancel only pushes an `AsyncCancel` naming the key, and
//! the op comes back, cancelled or not, at its one CQE like any other.

use std::ptr::NonNull;

use crate::key::{Key, LEAN, MAX_INDEX};
use crate::op::ErasedOp;

const NONE: u32 = u32::MAX;
/// The generation of a vacant entry: above every generation a key carries
/// (30 bits), so no `user_data` matches it.
const VACANT: u32 = u32::MAX;

pub(crate) struct Lean {
    entries: Vec<Entry>,
    /// Head of the free list (an index into `entries`), or `NONE`.
    free: u32,
}

struct Entry {
    /// The op's generation; `VACANT` while vacant.
    generation: u32,
    /// Next vacant entry, while this one is vacant.
    next_free: u32,
    /// The op, while it is in flight: a `Box` turned into its pointer
    /// (`Box::leak`), so that the SQE can be built through the pointer
    /// while the entry holds it. An entry dropped with an op in it leaks
    /// the op: the kernel may still use it.
    data: Option<NonNull<dyn ErasedOp>>,
}

impl Lean {
    pub(crate) fn new() -> Lean {
        Lean {
            entries: Vec::new(),
            free: NONE,
        }
    }

    /// Stores `data` under `generation` (not 0); returns its key and where
    /// the op is.
    ///
    /// # Errors
    ///
    /// `data` comes back when the table already holds `MAX_INDEX` entries.
    #[inline]
    pub(crate) fn insert(
        &mut self,
        generation: u32,
        data: Box<dyn ErasedOp>,
    ) -> Result<(Key, NonNull<dyn ErasedOp>), Box<dyn ErasedOp>> {
        debug_assert!(generation != 0);
        let (index, entry) = if self.free != NONE {
            let index = self.free as usize;
            let entry = &mut self.entries[index];
            debug_assert!(entry.data.is_none(), "a vacant entry holds no op");
            self.free = entry.next_free;
            (index, entry)
        } else if self.entries.len() < MAX_INDEX {
            self.grow()
        } else {
            return Err(data);
        };
        let data = NonNull::from(Box::leak(data));
        entry.generation = generation;
        entry.data = Some(data);
        Ok((Key::new(index | LEAN as usize, generation), data))
    }

    /// A new vacant entry at the end, for the caller to fill.
    #[cold]
    fn grow(&mut self) -> (usize, &mut Entry) {
        let index = self.entries.len();
        self.entries.push(Entry {
            generation: VACANT,
            next_free: NONE,
            data: None,
        });
        (index, &mut self.entries[index])
    }

    /// Takes the op of the live entry that `lower` and `upper` (the halves
    /// of a `user_data` with [`LEAN`] set) name, and frees the entry;
    /// `None`, changing nothing, if there is none.
    #[inline(always)]
    pub(crate) fn take(&mut self, lower: u32, upper: u32) -> Option<Box<dyn ErasedOp>> {
        let index = (lower & !(LEAN as u32)) as usize;
        let entry = self.entries.get_mut(index)?;
        if entry.generation != upper {
            return None;
        }
        // A live entry holds its op; a vacant one (an `upper` of `VACANT`)
        // holds none, and stays as it is.
        let data = entry.data.take()?;
        entry.generation = VACANT;
        entry.next_free = self.free;
        self.free = index as u32;
        // SAFETY: the pointer came from `Box::leak` in `insert`, and the
        // entry gave it up just above, so the box is rebuilt once; the
        // kernel is done with the op (its CQE is in) or never saw it.
        Some(unsafe { Box::from_raw(data.as_ptr()) })
    }

    /// Takes the op under `key` out, freeing its entry.
    #[inline]
    pub(crate) fn remove(&mut self, key: Key) -> Option<Box<dyn ErasedOp>> {
        let user_data = key.user_data();
        if user_data & LEAN == 0 {
            return None;
        }
        self.take(user_data as u32, key.generation())
    }

    /// Whether `key` names a live entry.
    pub(crate) fn contains(&self, key: Key) -> bool {
        let user_data = key.user_data();
        let index = (user_data as u32 & !(LEAN as u32)) as usize;
        user_data & LEAN != 0
            && self
                .entries
                .get(index)
                .is_some_and(|entry| entry.generation == key.generation())
    }

    /// Keys of the live entries: ops in flight.
    pub(crate) fn keys(&self) -> impl Iterator<Item = Key> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, entry)| entry.generation != VACANT)
            .map(|(index, entry)| Key::new(index | LEAN as usize, entry.generation))
    }

    /// Live entries (a scan: for counts and tests, not the hot path).
    pub(crate) fn len(&self) -> usize {
        self.keys().count()
    }

    /// Leaks the op of every live entry (the ring closes while the kernel
    /// may still use them); returns how many.
    pub(crate) fn leak_all(&mut self) -> u64 {
        let mut leaked = 0;
        for entry in &mut self.entries {
            if entry.generation != VACANT {
                // Dropping the pointer leaks the op.
                entry.data = None;
                entry.generation = VACANT;
                leaked += 1;
            }
        }
        self.entries.clear();
        self.free = NONE;
        leaked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::Nop;

    #[test]
    fn entries_are_reused_and_stale_generations_miss() {
        let mut lean = Lean::new();
        let (a, _) = lean.insert(1, Box::new(Nop)).ok().unwrap();
        let (b, _) = lean.insert(2, Box::new(Nop)).ok().unwrap();
        assert_eq!(lean.len(), 2);
        assert!(lean.contains(a) && lean.contains(b));
        assert!(a.user_data() & LEAN != 0, "lean keys carry the bit");
        let lower = a.user_data() as u32;
        assert!(lean.take(lower, 2).is_none(), "wrong generation");
        assert!(lean.take(lower, 0).is_none(), "generation 0");
        let slab_key = Key::new(a.slab_index() & MAX_INDEX, a.generation());
        assert!(!lean.contains(slab_key), "a slab key names no entry");
        assert!(lean.remove(slab_key).is_none());
        assert!(lean.take(lower, a.generation()).is_some());
        assert!(!lean.contains(a));
        assert!(lean.take(lower, a.generation()).is_none(), "taken once");
        assert!(lean.take(lower, VACANT).is_none(), "a vacant entry");
        let (c, _) = lean.insert(3, Box::new(Nop)).ok().unwrap();
        assert_eq!(c.slab_index(), a.slab_index(), "the freed index is reused");
        assert!(lean.remove(a).is_none(), "the old key misses the new op");
        assert!(
            lean.take(99 | LEAN as u32, c.generation()).is_none(),
            "out of range"
        );
        assert_eq!(lean.keys().collect::<Vec<_>>(), vec![c, b]);
        assert!(lean.remove(c).is_some());
        assert_eq!(lean.leak_all(), 1);
        assert_eq!(lean.len(), 0);
    }
}
