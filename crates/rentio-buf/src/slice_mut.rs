//! [`SliceMut`]: an owned, writable view of a byte range of an [`IoBufMut`].

use std::ops::{Deref, DerefMut};

use crate::slice::{clamped_bounds, view_len};
use crate::{IoBuf, IoBufMut};

/// An owned, writable view of the byte range `begin..end` of a buffer's
/// *capacity*.
///
/// Made by [`IoBufMut::slice_mut`]. It is an [`IoBuf`] with the same geometry
/// as a [`Slice`](crate::Slice) (pointer `inner + begin`, capacity
/// `end - begin`, length `clamp(inner.buf_len(), begin, end) - begin`), and an
/// [`IoBufMut`] whose spare part is the uninitialized part of the range, so a
/// read appends to the initialized bytes of the range like it does on a whole
/// buffer.
///
/// # `set_buf_init`
///
/// [`set_buf_init(n)`](IoBufMut::set_buf_init) on the view never shrinks the
/// inner buffer: it sets the inner initialized length to
/// `max(inner.buf_len(), begin + n)`. If the inner buffer was initialized only
/// up to some point before `begin`, the gap up to `begin` is zero-filled first,
/// because a buffer's initialized part is always a prefix. Afterwards the
/// view's `buf_len()` is at least `n` (more if the inner buffer was already
/// initialized past `begin + n`).
///
/// If the inner buffer's capacity shrinks below `end` through
/// [`get_mut`](SliceMut::get_mut), the view is clamped to the new capacity: no
/// method of a `SliceMut` panics.
///
/// # Examples
///
/// ```
/// use rentio_buf::{IoBuf, IoBufMut};
///
/// let mut s = Vec::with_capacity(8).slice_mut(2..6);
/// assert_eq!(s.spare_len(), 4);
/// // What the driver does after the kernel wrote 2 bytes into the spare part:
/// // SAFETY: the spare part is writable for 4 bytes.
/// unsafe { s.spare_ptr().copy_from_nonoverlapping(b"hi".as_ptr(), 2) };
/// // SAFETY: bytes 0..2 of the view were just written.
/// unsafe { s.set_buf_init(2) };
/// assert_eq!(&s[..], b"hi");
/// let v = s.into_inner();
/// assert_eq!(v, b"\0\0hi"); // the gap before the range was zero-filled
/// ```
#[derive(Debug)]
pub struct SliceMut<T> {
    buf: T,
    begin: usize,
    end: usize,
}

impl<T: IoBufMut> SliceMut<T> {
    /// Makes a view; the caller has checked `begin <= end <= capacity`.
    pub(crate) fn new(buf: T, begin: usize, end: usize) -> Self {
        Self { buf, begin, end }
    }

    /// Returns the start of the range, as given to [`IoBufMut::slice_mut`].
    pub fn begin(&self) -> usize {
        self.begin
    }

    /// Returns the end (exclusive) of the range, as given to
    /// [`IoBufMut::slice_mut`].
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

// SAFETY: as for `Slice`: `clamped_bounds` keeps `begin <= end <= inner
// capacity`, so `inner + begin` addresses `end - begin` bytes inside the inner
// buffer's memory, valid and stable like it; the first `buf_len()` bytes lie
// below the inner initialized length, and `buf_len() <= end - begin`.
unsafe impl<T: IoBufMut> IoBuf for SliceMut<T> {
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

// SAFETY: `as_buf_mut_ptr` is the inner buffer's writable pointer (the same
// address as its `as_buf_ptr`) plus the same clamped `begin` as `as_buf_ptr`,
// so it is the same address, writable for `end - begin` bytes inside the inner
// buffer. `set_buf_init(n)` makes the inner length at least `begin + n`, so
// `buf_len()` is at least `n` afterwards, as documented on the type.
unsafe impl<T: IoBufMut> IoBufMut for SliceMut<T> {
    fn as_buf_mut_ptr(&mut self) -> *mut u8 {
        let (begin, _) = clamped_bounds(&self.buf, self.begin, self.end);
        self.buf.as_buf_mut_ptr().wrapping_add(begin)
    }

    /// Marks bytes `0..len` of the view initialized, growing (never shrinking)
    /// the inner buffer's initialized length to `begin + len`; see the type's
    /// docs.
    ///
    /// # Safety
    ///
    /// - `len <= self.buf_capacity()`.
    /// - Bytes `0..len` of the view (inner bytes `begin..begin + len`) are
    ///   initialized.
    unsafe fn set_buf_init(&mut self, len: usize) {
        let (begin, end) = clamped_bounds(&self.buf, self.begin, self.end);
        debug_assert!(len <= end - begin, "set_buf_init past the view's end");
        let inner_len = self.buf.buf_len();
        let new_len = begin.saturating_add(len);
        if new_len <= inner_len {
            return;
        }
        if inner_len < begin {
            let gap = self.buf.as_buf_mut_ptr().wrapping_add(inner_len);
            // SAFETY: `inner_len < begin <= inner capacity`, and the inner
            // buffer is writable for its whole capacity (`IoBufMut`), so
            // `inner_len..begin` is writable; `u8` needs no alignment.
            unsafe { gap.write_bytes(0, begin - inner_len) };
        }
        // SAFETY: `new_len = begin + len <= end <= inner capacity` by the
        // caller's first obligation; inner bytes `0..inner_len` were
        // initialized, `inner_len..begin` (if any) were just zeroed and
        // `begin..new_len` are initialized by the caller's second obligation.
        unsafe { self.buf.set_buf_init(new_len) };
    }
}

impl<T: IoBufMut> Deref for SliceMut<T> {
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

impl<T: IoBufMut> DerefMut for SliceMut<T> {
    fn deref_mut(&mut self) -> &mut [u8] {
        let len = self.buf_len();
        if len == 0 {
            return &mut [];
        }
        // SAFETY: by the `IoBufMut` impl above, `as_buf_mut_ptr()` is non-null
        // and points to `len` initialized, writable bytes, reachable only
        // through `self`, which is borrowed exclusively for the result's
        // lifetime; `u8` needs no alignment.
        unsafe { std::slice::from_raw_parts_mut(self.as_buf_mut_ptr(), len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_into_a_view_appends_after_its_init_part() {
        let mut v = Vec::with_capacity(10);
        v.extend_from_slice(b"abcd");
        let ptr = v.as_ptr();
        let mut s = v.slice_mut(2..8);
        assert_eq!(s.buf_len(), 2);
        assert_eq!(s.spare_len(), 4);
        assert_eq!(s.spare_ptr().cast_const(), ptr.wrapping_add(4));
        // SAFETY: the spare part is writable for 4 >= 3 bytes.
        unsafe { s.spare_ptr().copy_from_nonoverlapping(b"xyz".as_ptr(), 3) };
        // SAFETY: view bytes 0..2 were initialized, 2..5 were just written.
        unsafe { s.set_buf_init(5) };
        assert_eq!(&*s, b"cdxyz");
        assert_eq!(s.into_inner(), b"abcdxyz");
    }

    #[test]
    fn set_buf_init_never_shrinks_the_inner_buffer() {
        let mut s = b"0123456789".to_vec().slice_mut(2..6);
        assert_eq!(s.buf_len(), 4);
        // SAFETY: view bytes 0..1 are initialized.
        unsafe { s.set_buf_init(1) };
        assert_eq!(s.buf_len(), 4);
        assert_eq!(s.get_ref().len(), 10);
    }

    #[test]
    fn set_buf_init_zero_fills_the_gap_before_the_view() {
        let mut v = Vec::with_capacity(10);
        v.push(7);
        let mut s = v.slice_mut(4..);
        // SAFETY: the view is writable for at least 6 bytes.
        unsafe { s.spare_ptr().write(9) };
        // SAFETY: view byte 0 was just written.
        unsafe { s.set_buf_init(1) };
        assert_eq!(s.into_inner(), [7, 0, 0, 0, 9]);
    }

    #[test]
    fn deref_mut_edits_the_init_part() {
        let mut s = b"abcdef".to_vec().slice_mut(1..4);
        s.copy_from_slice(b"XYZ");
        assert_eq!(s.into_inner(), b"aXYZef");
    }

    #[test]
    fn view_clamps_when_inner_capacity_shrinks() {
        let mut s = b"0123456789".to_vec().slice_mut(4..8);
        s.get_mut().truncate(6);
        s.get_mut().shrink_to_fit();
        assert_eq!(s.get_ref().capacity(), 6);
        assert_eq!(s.buf_capacity(), 2);
        assert_eq!(s.buf_len(), 2);
        assert_eq!(&s[..], b"45");
        s.get_mut().clear();
        s.get_mut().shrink_to_fit();
        assert_eq!(s.buf_capacity(), 0);
        assert_eq!(s.spare_len(), 0);
        assert!(s.is_empty());
        assert!(s.deref_mut().is_empty());
        // SAFETY: 0 <= capacity 0 and no bytes are claimed.
        unsafe { s.set_buf_init(0) };
        assert!(s.get_ref().is_empty());
    }
}
