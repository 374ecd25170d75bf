//! [`IoBufMut`]: a buffer the kernel may write into.

use std::ops::RangeBounds;

use crate::IoBuf;
use crate::slice::range_to_bounds;
use crate::slice_mut::SliceMut;

/// An owned buffer that can be handed to the kernel as the destination of a
/// read.
///
/// # Reads append
///
/// A read fills the buffer's *spare capacity*, the uninitialized tail
/// `buf_len()..buf_capacity()` (see [`spare_ptr`](IoBufMut::spare_ptr) and
/// [`spare_len`](IoBufMut::spare_len)); the driver then calls
/// [`set_buf_init(old_len + n)`](IoBufMut::set_buf_init). The bytes already in
/// the buffer are kept. This differs from monoio, where a read overwrites the
/// buffer from offset 0: to reuse a `Vec<u8>` for a fresh read, `clear()` it
/// first. A buffer without spare capacity reads 0 bytes.
///
/// Fixed-size, always-initialized buffers (`Box<[u8]>`, `Box<[u8; N]>`) have
/// no spare capacity, so they implement only [`IoBuf`]: read into a `Vec<u8>`
/// (or a `bytes::BytesMut`) instead.
///
/// # Safety
///
/// An implementor guarantees, in addition to the [`IoBuf`] obligations:
///
/// - `as_buf_mut_ptr()` returns the same address as `as_buf_ptr()`, and the
///   memory is writable for `buf_capacity()` bytes, with the same validity and
///   stability as in [`IoBuf`].
/// - After `set_buf_init(n)` (called with its obligations met), `buf_len()`
///   returns at least `n`; exactly `n` for a buffer that is not a view of
///   another ([`SliceMut`] never shrinks its inner buffer, so it may report
///   more).
///
/// # Examples
///
/// ```
/// use rentio_buf::{IoBuf, IoBufMut};
///
/// let mut v = Vec::with_capacity(8);
/// v.extend_from_slice(b"ab");
/// let spare = v.spare_len();
/// // What the driver does after the kernel wrote 1 byte into the spare part:
/// // SAFETY: the spare part is writable for `spare_len()` >= 1 bytes.
/// unsafe { v.spare_ptr().write(b'c') };
/// // SAFETY: bytes 0..2 were initialized and byte 2 was just written.
/// unsafe { v.set_buf_init(3) };
/// assert_eq!(v, b"abc");
/// assert_eq!(v.spare_len(), spare - 1);
/// ```
pub unsafe trait IoBufMut: IoBuf {
    /// Returns a writable pointer to the start of the buffer's memory.
    fn as_buf_mut_ptr(&mut self) -> *mut u8;

    /// Sets the initialized length to `len`, which may shrink or grow it.
    ///
    /// # Safety
    ///
    /// - `len <= self.buf_capacity()`.
    /// - Bytes `0..len` of the buffer are initialized.
    unsafe fn set_buf_init(&mut self, len: usize);

    /// Returns a pointer to the spare (uninitialized) tail of the buffer, where
    /// a read writes: `as_buf_mut_ptr() + buf_len()`.
    fn spare_ptr(&mut self) -> *mut u8 {
        let len = self.buf_len();
        self.as_buf_mut_ptr().wrapping_add(len)
    }

    /// Returns the length of the spare tail: `buf_capacity() - buf_len()`, the
    /// most a read can fill.
    fn spare_len(&self) -> usize {
        self.buf_capacity().saturating_sub(self.buf_len())
    }

    /// Returns an owned, writable view of the byte range `range` of the
    /// buffer's capacity.
    ///
    /// See [`SliceMut`] for how its initialized length relates to the buffer's.
    ///
    /// # Panics
    ///
    /// Panics if the range starts after it ends, or ends after
    /// [`buf_capacity()`](IoBuf::buf_capacity).
    ///
    /// # Examples
    ///
    /// ```
    /// use rentio_buf::{IoBuf, IoBufMut};
    ///
    /// let s = Vec::<u8>::with_capacity(8).slice_mut(2..6);
    /// assert_eq!(s.buf_capacity(), 4);
    /// assert_eq!(s.spare_len(), 4);
    /// ```
    #[track_caller]
    fn slice_mut(self, range: impl RangeBounds<usize>) -> SliceMut<Self>
    where
        Self: Sized,
    {
        let (begin, end) = range_to_bounds(range, self.buf_capacity());
        SliceMut::new(self, begin, end)
    }
}
