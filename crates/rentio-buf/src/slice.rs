//! [`Slice`]: an owned view of a byte range of an [`IoBuf`].

use std::ops::{Bound, Deref, RangeBounds};

use crate::IoBuf;

/// An owned view of the byte range `begin..end` of a buffer's *capacity*.
///
/// Made by [`IoBuf::slice`]. It is itself an [`IoBuf`]:
///
/// - its pointer is the inner buffer's pointer plus `begin`;
/// - its capacity is `end - begin`;
/// - its length is the initialized part of the range:
///   `clamp(inner.buf_len(), begin, end) - begin`.
///
/// It dereferences to its initialized bytes.
///
/// If the inner buffer's capacity shrinks below `end` through
/// [`get_mut`](Slice::get_mut) (say, `Vec::shrink_to_fit`), the view is
/// clamped to the new capacity: no method of a `Slice` panics.
///
/// # Examples
///
/// ```
/// use rentio_buf::IoBuf;
///
/// let mut v = Vec::with_capacity(10);
/// v.extend_from_slice(b"hello");
/// let s = v.slice(2..8);
/// assert_eq!(s.buf_capacity(), 6);
/// assert_eq!(s.buf_len(), 3); // bytes 2..5 are initialized
/// assert_eq!(&s[..], b"llo");
/// let v = s.into_inner();
/// assert_eq!(v, b"hello");
/// ```
#[derive(Debug)]
pub struct Slice<T> {
    buf: T,
    begin: usize,
    end: usize,
}

impl<T: IoBuf> Slice<T> {
    /// Makes a view; the caller has checked `begin <= end <= capacity`.
    pub(crate) fn new(buf: T, begin: usize, end: usize) -> Self {
        Self { buf, begin, end }
    }

    /// Returns the start of the range, as given to [`IoBuf::slice`].
    pub fn begin(&self) -> usize {
        self.begin
    }

    /// Returns the end (exclusive) of the range, as given to [`IoBuf::slice`].
    pub fn end(&self) -> usize {
        self.end
    }

    /// Returns a reference to the whole inner buffer.
    pub fn get_ref(&self) -> &T {
        &self.buf
    }

    /// Returns a mutable reference to the whole inner buffer.
    ///
    /// Changes to the inner buffer show through the view; if its capacity
    /// shrinks, the view is clamped to it.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.buf
    }

    /// Unwraps the whole inner buffer, dropping the view.
    pub fn into_inner(self) -> T {
        self.buf
    }
}

// SAFETY: `clamped_bounds` keeps `begin <= end <= inner capacity`, so the
// pointer `inner + begin` addresses `end - begin` bytes inside the inner
// buffer's memory, which has the inner buffer's validity and stability (the
// view owns the inner buffer, so it moves with it without moving the memory).
// The first `buf_len()` bytes are inner bytes `begin..min(inner_len, end)`,
// initialized because they lie below the inner buffer's initialized length,
// and `buf_len() <= end - begin` by the clamp.
unsafe impl<T: IoBuf> IoBuf for Slice<T> {
    fn as_buf_ptr(&self) -> *const u8 {
        let (begin, _) = clamped_bounds(&self.buf, self.begin, self.end);
        self.buf.as_buf_ptr().wrapping_add(begin)
    }

    fn buf_len(&self) -> usize {
        let (begin, end) = clamped_bounds(&self.buf, self.begin, self.end);
        view_len(self.buf.buf_len(), begin, end)
    }

    fn buf_capacity(&self) -> usize {
        let (begin, end) = clamped_bounds(&self.buf, self.begin, self.end);
        end - begin
    }
}

impl<T: IoBuf> Deref for Slice<T> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        let len = self.buf_len();
        if len == 0 {
            return &[];
        }
        // SAFETY: by the `IoBuf` impl above, `as_buf_ptr()` is non-null and
        // points to `len` initialized bytes that stay valid and unmodified
        // while `self` is borrowed shared; `u8` needs no alignment.
        unsafe { std::slice::from_raw_parts(self.as_buf_ptr(), len) }
    }
}

/// Returns the range `begin..end` clamped to `buf`'s current capacity, so that
/// `begin <= end <= buf.buf_capacity()` holds even if the capacity shrank.
pub(crate) fn clamped_bounds<T: IoBuf>(buf: &T, begin: usize, end: usize) -> (usize, usize) {
    let end = end.min(buf.buf_capacity());
    (begin.min(end), end)
}

/// Returns the initialized length of the view `begin..end` of a buffer with
/// `inner_len` initialized bytes: `clamp(inner_len, begin, end) - begin`.
pub(crate) fn view_len(inner_len: usize, begin: usize, end: usize) -> usize {
    inner_len.clamp(begin, end) - begin
}

/// Resolves `range` against a buffer of `capacity` bytes into `(begin, end)`.
///
/// # Panics
///
/// Panics if the range starts after it ends, ends after `capacity`, or has a
/// bound of `usize::MAX` that overflows when made exclusive.
#[track_caller]
pub(crate) fn range_to_bounds(range: impl RangeBounds<usize>, capacity: usize) -> (usize, usize) {
    let begin = match range.start_bound() {
        Bound::Included(&n) => n,
        Bound::Excluded(&n) => match n.checked_add(1) {
            Some(n) => n,
            None => panic!("attempted to slice a buffer from after usize::MAX"),
        },
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(&n) => match n.checked_add(1) {
            Some(n) => n,
            None => panic!("attempted to slice a buffer up to usize::MAX inclusive"),
        },
        Bound::Excluded(&n) => n,
        Bound::Unbounded => capacity,
    };
    assert!(
        begin <= capacity,
        "buffer slice start {begin} is out of range for a buffer of capacity {capacity}"
    );
    assert!(
        end <= capacity,
        "buffer slice end {end} is out of range for a buffer of capacity {capacity}"
    );
    assert!(
        begin <= end,
        "buffer slice starts at {begin} but ends at {end}"
    );
    (begin, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_resolve_every_range_kind() {
        assert_eq!(range_to_bounds(.., 10), (0, 10));
        assert_eq!(range_to_bounds(2.., 10), (2, 10));
        assert_eq!(range_to_bounds(..3, 10), (0, 3));
        assert_eq!(range_to_bounds(..=3, 10), (0, 4));
        assert_eq!(range_to_bounds(2..5, 10), (2, 5));
        assert_eq!(range_to_bounds(2..=9, 10), (2, 10));
        assert_eq!(range_to_bounds(10..10, 10), (10, 10));
        assert_eq!(
            range_to_bounds((Bound::Excluded(1), Bound::Excluded(4)), 10),
            (2, 4)
        );
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn bounds_end_past_capacity_panics() {
        range_to_bounds(0..11, 10);
    }

    #[test]
    #[should_panic(expected = "starts at 5 but ends at 4")]
    fn bounds_reversed_panics() {
        #[allow(clippy::reversed_empty_ranges)]
        range_to_bounds(5..4, 10);
    }

    #[test]
    #[should_panic(expected = "start 11 is out of range")]
    fn bounds_start_past_capacity_panics() {
        range_to_bounds(11.., 10);
    }

    #[test]
    #[should_panic(expected = "usize::MAX inclusive")]
    fn bounds_inclusive_max_panics() {
        range_to_bounds(..=usize::MAX, usize::MAX);
    }

    #[test]
    #[should_panic(expected = "after usize::MAX")]
    fn bounds_excluded_max_start_panics() {
        range_to_bounds((Bound::Excluded(usize::MAX), Bound::Unbounded), 10);
    }

    #[test]
    fn slice_views_the_capacity_not_only_the_init_part() {
        let mut v = Vec::with_capacity(10);
        v.extend_from_slice(b"abcd");
        let cap = v.capacity();
        let ptr = v.as_ptr();
        let s = v.slice(2..);
        assert_eq!(s.as_buf_ptr(), ptr.wrapping_add(2));
        assert_eq!(s.buf_capacity(), cap - 2);
        assert_eq!(s.buf_len(), 2);
        assert_eq!(&*s, b"cd");
        assert_eq!((s.begin(), s.end()), (2, cap));
    }

    #[test]
    fn slice_past_init_is_empty() {
        let mut v = Vec::with_capacity(10);
        v.extend_from_slice(b"ab");
        let s = v.slice(5..8);
        assert_eq!(s.buf_len(), 0);
        assert_eq!(s.buf_capacity(), 3);
        assert!(s.is_empty());
    }

    #[test]
    fn slice_of_slice_composes() {
        let s = b"0123456789".to_vec().slice(2..9).slice(1..4);
        assert_eq!(&*s, b"345");
        assert_eq!(s.get_ref().begin(), 2);
        assert_eq!(s.into_inner().into_inner(), b"0123456789");
    }

    #[test]
    fn slice_clamps_when_inner_capacity_shrinks() {
        let mut s = b"0123456789".to_vec().slice(4..8);
        s.get_mut().truncate(6);
        s.get_mut().shrink_to_fit();
        assert_eq!(s.get_ref().capacity(), 6);
        assert_eq!(s.buf_capacity(), 2);
        assert_eq!(s.buf_len(), 2);
        assert_eq!(&s[..], b"45");
        s.get_mut().clear();
        s.get_mut().shrink_to_fit();
        assert_eq!(s.buf_capacity(), 0);
        assert_eq!(s.buf_len(), 0);
        assert!(s.is_empty());
        assert_eq!((s.begin(), s.end()), (4, 8));
    }

    #[test]
    fn static_slices_can_be_sliced() {
        let s = "hello".slice(1..3);
        assert_eq!(&*s, b"el");
        let s = (&b"bytes"[..]).slice(..=0);
        assert_eq!(&*s, b"b");
    }
}
