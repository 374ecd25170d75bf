//! A hierarchical timer wheel: 6 levels of 64 slots at 1 ms resolution.
//!
//! Level `k` covers `64^(k+1)` ms in slots of `64^k` ms, relative to
//! `elapsed` (the last tick processed). A timer goes to the lowest level
//! whose slot boundaries separate it from `elapsed` (the highest 6-bit group
//! in which the two differ), so insert and cancel are O(1): a slab entry and
//! a doubly linked list per slot, with a 64-bit occupancy mask per level to
//! find the next busy slot. When a slot of a higher level comes due, its
//! timers cascade down; level 0 slots fire. Deadlines beyond the wheel's
//! reach (~2.2 years) are parked at its far end and re-inserted when that
//! comes due.

use std::task::Waker;

use slab::Slab;

const LEVELS: usize = 6;
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
/// The farthest tick a timer can be placed at, relative to `elapsed`.
const MAX_SPAN: u64 = (1 << (SLOT_BITS * LEVELS as u32)) - 1;
const NONE: u32 = u32::MAX;

/// Identifies a timer: a slab index and a generation, so a stale key never
/// cancels a later timer that reused the slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey {
    index: u32,
    generation: u32,
}

struct Entry {
    /// The real deadline (ticks).
    when: u64,
    /// Where it sits: level, slot, and its neighbours in that slot's list.
    level: u8,
    slot: u8,
    prev: u32,
    next: u32,
    generation: u32,
    waker: Option<Waker>,
}

#[derive(Clone, Copy)]
struct List {
    head: u32,
}

struct Level {
    occupied: u64,
    slots: [List; SLOTS],
}

/// The wheel.
pub(crate) struct Wheel {
    elapsed: u64,
    levels: [Level; LEVELS],
    entries: Slab<Entry>,
    generation: u32,
}

impl Wheel {
    pub(crate) fn new() -> Wheel {
        Wheel {
            elapsed: 0,
            levels: std::array::from_fn(|_| Level {
                occupied: 0,
                slots: [List { head: NONE }; SLOTS],
            }),
            entries: Slab::new(),
            generation: 0,
        }
    }

    /// Timers registered and not yet fired or cancelled.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The last tick processed.
    #[cfg(test)]
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Registers a timer for tick `when` (which must be after `elapsed`;
    /// an earlier one is due now and the caller should not wait for it).
    pub(crate) fn insert(&mut self, when: u64, waker: Waker) -> TimerKey {
        self.generation = self.generation.wrapping_add(1);
        let generation = self.generation;
        let index = self.entries.insert(Entry {
            when,
            level: 0,
            slot: 0,
            prev: NONE,
            next: NONE,
            generation,
            waker: Some(waker),
        }) as u32;
        self.link(index);
        TimerKey { index, generation }
    }

    /// Replaces a live timer's waker; `false` if the timer is gone.
    pub(crate) fn set_waker(&mut self, key: TimerKey, waker: &Waker) -> bool {
        match self.entry_mut(key) {
            Some(entry) => {
                match &entry.waker {
                    Some(w) if w.will_wake(waker) => {}
                    _ => entry.waker = Some(waker.clone()),
                }
                true
            }
            None => false,
        }
    }

    /// Cancels a timer; `false` if it had fired or was cancelled already.
    pub(crate) fn cancel(&mut self, key: TimerKey) -> bool {
        if self.entry_mut(key).is_none() {
            return false;
        }
        self.unlink(key.index);
        self.entries.remove(key.index as usize);
        true
    }

    /// The tick at which the next timer is due, if any.
    pub(crate) fn next_expiration(&self) -> Option<u64> {
        self.next_slot().map(|(_, _, deadline)| deadline)
    }

    /// Processes every slot due at or before `now`, appending the wakers of
    /// the timers that fired to `fired`. Returns how many fired.
    pub(crate) fn advance(&mut self, now: u64, fired: &mut Vec<Waker>) -> usize {
        let mut count = 0;
        while let Some((level, slot, deadline)) = self.next_slot() {
            if deadline > now {
                break;
            }
            self.elapsed = deadline;
            let mut index = self.levels[level].slots[slot].head;
            self.levels[level].slots[slot].head = NONE;
            self.levels[level].occupied &= !(1 << slot);
            while index != NONE {
                let entry = &mut self.entries[index as usize];
                let next = entry.next;
                if entry.when <= self.elapsed {
                    let entry = self.entries.remove(index as usize);
                    if let Some(waker) = entry.waker {
                        fired.push(waker);
                    }
                    count += 1;
                } else {
                    // Cascade to a lower level (or, for a timer beyond the
                    // wheel's reach, park it at the far end again).
                    self.link(index);
                }
                index = next;
            }
        }
        self.elapsed = self.elapsed.max(now);
        count
    }

    fn entry_mut(&mut self, key: TimerKey) -> Option<&mut Entry> {
        self.entries
            .get_mut(key.index as usize)
            .filter(|e| e.generation == key.generation)
    }

    /// Puts entry `index` in the slot its deadline calls for.
    fn link(&mut self, index: u32) {
        let when = self.entries[index as usize].when;
        // Saturating: at the last tick there is no later one, and a timer
        // for it fires at that tick.
        let when = when.clamp(
            self.elapsed.saturating_add(1),
            self.elapsed.saturating_add(MAX_SPAN),
        );
        let level = level_for(self.elapsed, when);
        let slot = ((when >> (level as u32 * SLOT_BITS)) % SLOTS as u64) as usize;
        let head = self.levels[level].slots[slot].head;
        {
            let entry = &mut self.entries[index as usize];
            entry.level = level as u8;
            entry.slot = slot as u8;
            entry.prev = NONE;
            entry.next = head;
        }
        if head != NONE {
            self.entries[head as usize].prev = index;
        }
        self.levels[level].slots[slot].head = index;
        self.levels[level].occupied |= 1 << slot;
    }

    fn unlink(&mut self, index: u32) {
        let (level, slot, prev, next) = {
            let e = &self.entries[index as usize];
            (e.level as usize, e.slot as usize, e.prev, e.next)
        };
        if prev != NONE {
            self.entries[prev as usize].next = next;
        } else {
            self.levels[level].slots[slot].head = next;
        }
        if next != NONE {
            self.entries[next as usize].prev = prev;
        }
        if self.levels[level].slots[slot].head == NONE {
            self.levels[level].occupied &= !(1 << slot);
        }
    }

    /// The first busy slot in time order: `(level, slot, deadline)`.
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        let now = self.elapsed;
        for (level, lvl) in self.levels.iter().enumerate() {
            if lvl.occupied == 0 {
                continue;
            }
            let shift = level as u32 * SLOT_BITS;
            let slot_range = 1u64 << shift;
            let level_range = slot_range << SLOT_BITS;
            let now_slot = ((now >> shift) % SLOTS as u64) as u32;
            let rotated = lvl.occupied.rotate_right(now_slot);
            let slot = ((rotated.trailing_zeros() + now_slot) % SLOTS as u32) as usize;
            let level_start = now & !(level_range - 1);
            // No overflow: the sum stays below `level_start + level_range`,
            // that is at most `now | (level_range - 1)`.
            let mut deadline = level_start + slot as u64 * slot_range;
            if deadline <= now {
                // Only the top level wraps (a far deadline parked at its
                // end): that slot belongs to the level's next turn, which
                // at the end of the tick range is its last tick.
                deadline = deadline.saturating_add(level_range);
            }
            return Some((level, slot, deadline));
        }
        None
    }
}

/// The level for a deadline `when` (> `elapsed`): the highest 6-bit group
/// in which the two differ.
fn level_for(elapsed: u64, when: u64) -> usize {
    let masked = ((elapsed ^ when) | (SLOTS as u64 - 1)).min(MAX_SPAN - 1);
    let significant = 63 - masked.leading_zeros();
    (significant / SLOT_BITS) as usize
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::task::Wake;

    use proptest::prelude::*;

    use super::*;

    /// A waker that records the id of the timer it belongs to.
    struct Record(u64, Arc<std::sync::Mutex<Vec<u64>>>);

    impl Wake for Record {
        fn wake(self: Arc<Self>) {
            self.1.lock().unwrap().push(self.0);
        }
    }

    fn waker(id: u64, log: &Arc<std::sync::Mutex<Vec<u64>>>) -> Waker {
        Waker::from(Arc::new(Record(id, log.clone())))
    }

    #[test]
    fn fires_in_order_across_levels() {
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut wheel = Wheel::new();
        for (id, when) in [(1, 5u64), (2, 70), (3, 5000), (4, 300_000), (5, 1)] {
            wheel.insert(when, waker(id, &log));
        }
        let mut fired = Vec::new();
        let mut ticks = 0u64;
        while let Some(next) = wheel.next_expiration() {
            wheel.advance(next, &mut fired);
            for w in fired.drain(..) {
                w.wake();
                ticks = next;
            }
        }
        assert_eq!(*log.lock().unwrap(), vec![5, 1, 2, 3, 4]);
        assert_eq!(ticks, 300_000);
        assert_eq!(wheel.len(), 0);
    }

    #[test]
    fn a_stale_key_cancels_nothing() {
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut wheel = Wheel::new();
        let a = wheel.insert(10, waker(1, &log));
        assert!(wheel.cancel(a));
        let b = wheel.insert(10, waker(2, &log));
        assert!(!wheel.cancel(a), "a's key must not reach b");
        assert!(wheel.set_waker(b, &waker(3, &log)));
        let mut fired = Vec::new();
        wheel.advance(10, &mut fired);
        assert_eq!(fired.len(), 1);
    }

    #[test]
    fn deadlines_beyond_the_wheel_are_kept() {
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut wheel = Wheel::new();
        let far = MAX_SPAN * 3 + 17;
        wheel.insert(far, waker(1, &log));
        let mut fired = Vec::new();
        let mut steps = 0;
        while let Some(next) = wheel.next_expiration() {
            wheel.advance(next, &mut fired);
            steps += 1;
            assert!(steps < 100, "no progress");
        }
        assert_eq!(fired.len(), 1);
        assert_eq!(wheel.elapsed(), far);
    }

    #[test]
    fn the_last_ticks_saturate_instead_of_overflowing() {
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut wheel = Wheel::new();
        let mut fired = Vec::new();
        wheel.advance(u64::MAX - 10, &mut fired);
        wheel.insert(u64::MAX - 5, waker(1, &log));
        wheel.insert(u64::MAX, waker(2, &log));
        let mut steps = 0;
        while let Some(next) = wheel.next_expiration() {
            wheel.advance(next, &mut fired);
            steps += 1;
            assert!(steps < 100, "no progress");
        }
        assert_eq!(fired.len(), 2);
        assert_eq!(wheel.elapsed(), u64::MAX);
        // At the last tick, a timer for it (or "later") is due at once.
        wheel.insert(u64::MAX, waker(3, &log));
        assert_eq!(wheel.next_expiration(), Some(u64::MAX));
        wheel.advance(u64::MAX, &mut fired);
        assert_eq!((fired.len(), wheel.len()), (3, 0));
    }

    proptest! {
        /// Against a model (a sorted map): random timers, random cancels,
        /// random advances; the same timers fire at the same ticks.
        #[test]
        fn matches_a_simple_model(
            ops in proptest::collection::vec((0u64..200_000, any::<bool>(), 0u64..50_000), 1..60)
        ) {
            let log = Arc::new(std::sync::Mutex::new(Vec::new()));
            let mut wheel = Wheel::new();
            let mut model: BTreeMap<(u64, u64), ()> = BTreeMap::new();
            let mut keys = Vec::new();
            let now = AtomicU64::new(0);
            let mut fired = Vec::new();
            for (id, (delay, cancel_one, step)) in ops.into_iter().enumerate() {
                let id = id as u64;
                let cur = now.load(Ordering::Relaxed);
                let when = cur + 1 + delay;
                let key = wheel.insert(when, waker(id, &log));
                model.insert((when, id), ());
                keys.push((key, when, id));
                if cancel_one && keys.len() > 1 {
                    let (k, w, i) = keys.remove(keys.len() / 2);
                    let live = model.remove(&(w, i)).is_some();
                    prop_assert_eq!(wheel.cancel(k), live);
                }
                let target = cur + step;
                wheel.advance(target, &mut fired);
                for w in fired.drain(..) { w.wake(); }
                now.store(target, Ordering::Relaxed);
                let due: Vec<_> = model.range(..=(target, u64::MAX)).map(|(k, _)| *k).collect();
                let mut expect: Vec<u64> = Vec::new();
                for k in due { model.remove(&k); expect.push(k.1); }
                let mut got = std::mem::take(&mut *log.lock().unwrap());
                got.sort_unstable();
                expect.sort_unstable();
                prop_assert_eq!(got, expect);
                prop_assert_eq!(wheel.len(), model.len());
                // Nothing due later than the model says is pending early.
                if let (Some(next), Some(((first, _), _))) = (wheel.next_expiration(), model.iter().next()) {
                    prop_assert!(next <= *first, "next {} first {}", next, first);
                }
            }
        }
    }
}
