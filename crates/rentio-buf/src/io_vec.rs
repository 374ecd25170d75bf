//! [`IoVecBuf`] and [`IoVecBufMut`]: sequences of buffers for vectored IO
//! (`writev`/`readv`, `sendmsg`/`recvmsg`).

/// An owned sequence of buffers that can be handed to the kernel as the source
/// of a vectored write.
///
/// Buffer `i`'s initialized part, `iovec_at(i)`, becomes the `i`-th `iovec`.
/// The driver builds the `iovec` array itself (in memory that does not move);
/// this trait only describes the buffers.
///
/// # Safety
///
/// An implementor guarantees, for every `i < iovec_count()`:
///
/// - `iovec_at(i)` is `Some((ptr, len))` where `ptr` points to `len`
///   initialized bytes, non-null even when `len == 0`.
/// - That memory stays valid, and at the same address, for as long as the
///   value is alive and is not accessed through `&mut`, like an [`IoBuf`]'s
///   (moving the value must not move it).
/// - Without an access through `&mut`, successive calls return the same
///   values.
///
/// [`IoBuf`]: crate::IoBuf
///
/// # Examples
///
/// ```
/// use rentio_buf::IoVecBuf;
///
/// let bufs = vec![b"head".to_vec(), b"er".to_vec()];
/// assert_eq!(bufs.iovec_count(), 2);
/// assert_eq!(bufs.iovec_at(1).map(|(_, len)| len), Some(2));
/// assert_eq!(bufs.iovec_at(2), None);
/// assert_eq!(bufs.total_len(), 6);
/// ```
pub unsafe trait IoVecBuf: 'static {
    /// Returns the number of buffers.
    fn iovec_count(&self) -> usize;

    /// Returns the initialized part of buffer `i` as `(ptr, len)`, or `None` if
    /// `i >= iovec_count()`.
    fn iovec_at(&self, i: usize) -> Option<(*const u8, usize)>;

    /// Returns the sum of the initialized lengths of all buffers: what a
    /// vectored write sends (saturating at `usize::MAX`).
    fn total_len(&self) -> usize {
        (0..self.iovec_count())
            .filter_map(|i| self.iovec_at(i))
            .fold(0, |sum, (_, len)| sum.saturating_add(len))
    }
}

/// An owned sequence of buffers that can be handed to the kernel as the
/// destination of a vectored read.
///
/// Like [`IoBufMut`](crate::IoBufMut), a vectored read *appends*: the kernel
/// fills the spare (uninitialized) tail of buffer 0, then of buffer 1, and so
/// on; [`set_iovec_init`](IoVecBufMut::set_iovec_init) then advances each
/// buffer's initialized length. Buffers without spare capacity are skipped.
///
/// # Safety
///
/// An implementor guarantees, in addition to the [`IoVecBuf`] obligations,
/// for every `i < iovec_count()`:
///
/// - `iovec_spare_at(i)` is `Some((ptr, len))` where `ptr` (non-null) points
///   to `len` writable bytes directly after buffer `i`'s initialized part, with
///   the same validity and stability as in [`IoVecBuf`].
/// - `set_iovec_init(n)` marks the first `n` spare bytes, in the order above,
///   initialized: afterwards buffer `i`'s initialized length has grown by the
///   part of `n` that fell into its spare tail.
///
/// # Examples
///
/// ```
/// use rentio_buf::{IoVecBuf, IoVecBufMut};
///
/// let mut bufs = [Vec::with_capacity(2), Vec::with_capacity(4)];
/// // What the kernel does for a `readv` of `data`: fill the spare tails in
/// // order.
/// let data = b"abc";
/// let mut n = 0;
/// for i in 0..bufs.iovec_count() {
///     let (ptr, spare) = bufs.iovec_spare_at(i).ok_or("no such buffer")?;
///     let k = spare.min(data.len() - n);
///     // SAFETY: the spare tail is writable for `spare >= k` bytes, and
///     // `data[n..]` holds at least `k` bytes.
///     unsafe { ptr.copy_from_nonoverlapping(data[n..].as_ptr(), k) };
///     n += k;
/// }
/// // SAFETY: the first `n` spare bytes, in order, were just written.
/// unsafe { bufs.set_iovec_init(n) };
/// assert_eq!(bufs.total_len(), 3);
/// assert_eq!(bufs.concat(), b"abc");
/// # Ok::<(), &'static str>(())
/// ```
pub unsafe trait IoVecBufMut: IoVecBuf {
    /// Returns the spare (uninitialized) tail of buffer `i` as
    /// `(ptr, spare_len)`, or `None` if `i >= iovec_count()`.
    fn iovec_spare_at(&mut self, i: usize) -> Option<(*mut u8, usize)>;

    /// Marks the first `n` bytes of the spare tails, taken in order (buffer 0's
    /// spare tail first), initialized, advancing each buffer's initialized
    /// length.
    ///
    /// # Safety
    ///
    /// - `n` is at most the sum of the buffers' spare lengths.
    /// - Those `n` bytes were written (buffer 0's spare tail first, then
    ///   buffer 1's, and so on).
    unsafe fn set_iovec_init(&mut self, n: usize);
}
