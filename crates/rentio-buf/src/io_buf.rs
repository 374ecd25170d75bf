//! [`IoBuf`]: a buffer whose initialized bytes the kernel may read from.

use std::ops::RangeBounds;

use crate::slice::{Slice, range_to_bounds};

/// An owned buffer that can be handed to the kernel as the source of a write.
///
/// The buffer has `buf_capacity()` bytes of memory, of which the first
/// `buf_len()` are initialized. A write sends the initialized bytes
/// `0..buf_len()`.
///
/// The memory must not move while the value is moved: an IO operation takes the
/// buffer by value, stores it somewhere (possibly moving it), and the kernel
/// keeps reading through the pointer it got before the move. That is why only
/// heap and `'static` memory qualify, and why the trait requires `'static`:
/// a borrowed buffer could be freed while the kernel still uses it if the
/// operation's future were leaked.
///
/// # Safety
///
/// An implementor guarantees:
///
/// - `as_buf_ptr()` points to `buf_capacity()` bytes of memory that stays
///   valid, and at the same address, for as long as the value is alive and is
///   not accessed through `&mut` (moving the value must not move the memory:
///   heap or `'static` memory only). For a zero capacity the pointer may be
///   dangling, but never null.
/// - The first `buf_len()` bytes are initialized, and
///   `buf_len() <= buf_capacity()`.
/// - Without an access through `&mut`, successive calls return the same
///   values.
///
/// # Examples
///
/// ```
/// use rentio_buf::IoBuf;
///
/// let mut v = Vec::with_capacity(16);
/// v.extend_from_slice(b"abc");
/// assert_eq!(v.buf_len(), 3);
/// assert!(v.buf_capacity() >= 16);
/// assert_eq!(v.as_buf_ptr(), v.as_ptr());
/// ```
pub unsafe trait IoBuf: 'static {
    /// Returns a pointer to the start of the buffer's memory.
    fn as_buf_ptr(&self) -> *const u8;

    /// Returns the number of initialized bytes: what a write sends.
    fn buf_len(&self) -> usize;

    /// Returns the total number of bytes of the buffer's memory, initialized
    /// or not.
    fn buf_capacity(&self) -> usize;

    /// Returns an owned view of the byte range `range` of the buffer's
    /// *capacity* (not only of its initialized part).
    ///
    /// The view's initialized length is the part of the range that is
    /// initialized in the whole buffer; see [`Slice`].
    ///
    /// # Panics
    ///
    /// Panics if the range starts after it ends, or ends after
    /// [`buf_capacity()`](IoBuf::buf_capacity).
    ///
    /// # Examples
    ///
    /// ```
    /// use rentio_buf::IoBuf;
    ///
    /// let s = b"hello world".to_vec().slice(6..);
    /// assert_eq!(&s[..], b"world");
    /// assert_eq!(s.begin(), 6);
    /// ```
    #[track_caller]
    fn slice(self, range: impl RangeBounds<usize>) -> Slice<Self>
    where
        Self: Sized,
    {
        let (begin, end) = range_to_bounds(range, self.buf_capacity());
        Slice::new(self, begin, end)
    }
}
