//! Op keys and the `user_data` encoding.
//!
//! A key is a slab index plus a generation. Both travel in an SQE's
//! `user_data`, so a late CQE can never be taken for the op that reused the
//! slot. The layout of the 64 bits:
//!
//! | bits  | meaning                                                        |
//! |-------|----------------------------------------------------------------|
//! | 63    | reserved: the value is one of the named constants below        |
//! | 62    | auxiliary CQE of the op (its `LINK_TIMEOUT`), not its result   |
//! | 32–61 | generation (30 bits, never 0)                                  |
//! | 31    | the op is in the lean table of owned ops, not the slab         |
//! | 0–30  | index in the slab (or the lean table)                          |
//!
//! Each table compares the whole upper half (bits 32–63) with the
//! generation it stored, so a reserved or auxiliary `user_data` matches no
//! live entry. Neither table grows past [`MAX_INDEX`] entries, so a key of
//! the lean table, read as a slab index, is out of the slab's range.

/// Bit 63: the `user_data` is a reserved constant, not an op key.
pub(crate) const RESERVED: u64 = 1 << 63;
/// The `user_data` of every `AsyncCancel` the driver pushes on its own.
pub(crate) const CANCEL_USER_DATA: u64 = RESERVED | 1;
/// The `user_data` of the unparker's `PollAdd` on its eventfd.
pub(crate) const UNPARK_USER_DATA: u64 = RESERVED | 2;
/// Bit 62: the CQE is an op's auxiliary completion (its linked timeout).
pub(crate) const AUX: u64 = 1 << 62;
/// Bit 31: the op is in the lean table (see `crate::lean`).
pub(crate) const LEAN: u64 = 1 << 31;
/// The most entries the slab, or the lean table, holds: indices stay
/// below [`LEAN`].
pub(crate) const MAX_INDEX: usize = (1 << 31) - 1;
const GEN_MASK: u32 = (1 << 30) - 1;

/// Identifies one op in a driver: a slab index and a generation.
///
/// Keys are cheap to copy and compare. A key outlives its op harmlessly:
/// once the op is finished, the driver answers for that key as for an unknown
/// one.
// One `u64` (the `user_data` layout above, without the flag bits): moved
// with one store and one load on the hot path.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key(u64);

impl Key {
    pub(crate) fn new(index: usize, generation: u32) -> Key {
        debug_assert!(index <= u32::MAX as usize);
        debug_assert!(generation <= GEN_MASK, "generations wrap at GEN_MASK");
        Key((u64::from(generation) << 32) | (index as u32 as u64))
    }

    /// The key whose `user_data` this is (no reserved or `AUX` bit set).
    #[inline]
    pub(crate) fn from_raw(user_data: u64) -> Key {
        debug_assert_eq!(user_data & (RESERVED | AUX), 0);
        Key(user_data)
    }

    /// The `user_data` carried by this op's SQE.
    #[inline]
    pub fn user_data(self) -> u64 {
        self.0
    }

    /// Decodes a `user_data` produced by [`Key::user_data`]: `None` for a
    /// reserved value; the flag says whether the CQE is auxiliary.
    #[inline]
    pub(crate) fn from_user_data(user_data: u64) -> Option<(Key, bool)> {
        if user_data & RESERVED != 0 {
            return None;
        }
        Some((Key(user_data & !AUX), user_data & AUX != 0))
    }

    #[inline]
    pub(crate) fn slab_index(self) -> usize {
        self.0 as u32 as usize
    }

    /// The generation (never 0 for a live op).
    #[inline]
    pub(crate) fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("index", &self.slab_index())
            .field("generation", &self.generation())
            .finish()
    }
}

/// Advances a generation counter, skipping 0 so that a zeroed `user_data`
/// never names a live op.
pub(crate) fn next_generation(current: u32) -> u32 {
    if current >= GEN_MASK { 1 } else { current + 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_data_round_trips_and_never_looks_reserved() {
        for (index, generation) in [(0, 1), (7, GEN_MASK), (MAX_INDEX - 1, 12345)] {
            let key = Key::new(index, generation);
            let ud = key.user_data();
            assert_eq!(ud & RESERVED, 0);
            assert_eq!(Key::from_user_data(ud), Some((key, false)));
            assert_eq!(Key::from_user_data(ud | AUX), Some((key, true)));
            let lean = Key::new(index | LEAN as usize, generation);
            assert_eq!(lean.user_data() & !LEAN, ud, "the lean bit is bit 31");
            assert_eq!(Key::from_user_data(lean.user_data()), Some((lean, false)));
        }
        assert_eq!(Key::from_user_data(CANCEL_USER_DATA), None);
        assert_eq!(Key::from_user_data(UNPARK_USER_DATA), None);
    }

    #[test]
    fn generation_skips_zero() {
        assert_eq!(next_generation(GEN_MASK), 1);
        assert_eq!(next_generation(1), 2);
    }
}
