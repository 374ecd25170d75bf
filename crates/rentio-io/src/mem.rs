//! Safe views of rented buffers and copies into their spare tails.
//!
//! The buffer traits describe memory with raw pointers, because the kernel is
//! their main user. The in-memory readers and writers, [`BufReader`] and
//! [`BufWriter`] copy bytes themselves; this module is the one place where
//! those pointers become slices or copy targets.
//!
//! [`BufReader`]: crate::BufReader
//! [`BufWriter`]: crate::BufWriter

use rentio_buf::{IoBuf, IoBufMut, IoVecBuf, IoVecBufMut};

/// Returns the initialized bytes of `buf`: what a write of it sends.
pub(crate) fn init_bytes<B: IoBuf + ?Sized>(buf: &B) -> &[u8] {
    let len = buf.buf_len();
    if len == 0 {
        return &[];
    }
    // SAFETY: `IoBuf` guarantees that `as_buf_ptr()` is non-null and points
    // to `buf_len()` initialized bytes that stay valid while `buf` is not
    // accessed through `&mut`, which the shared borrow of `buf` for the
    // returned lifetime rules out; `u8` needs no alignment.
    unsafe { std::slice::from_raw_parts(buf.as_buf_ptr(), len) }
}

/// Returns the initialized bytes of buffer `i` of `bufs`, or an empty slice
/// if there is no such buffer.
pub(crate) fn iovec_bytes<V: IoVecBuf + ?Sized>(bufs: &V, i: usize) -> &[u8] {
    let Some((ptr, len)) = bufs.iovec_at(i) else {
        return &[];
    };
    if len == 0 {
        return &[];
    }
    // SAFETY: `IoVecBuf` guarantees that `iovec_at(i)` points to `len`
    // initialized, non-null bytes that stay valid while `bufs` is not accessed
    // through `&mut`, which the shared borrow of `bufs` rules out.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

/// Copies as much of `src` as fits into the spare tail of `buf`, marks it
/// initialized, and returns the count copied.
pub(crate) fn put_spare<B: IoBufMut + ?Sized>(buf: &mut B, src: &[u8]) -> usize {
    let n = src.len().min(buf.spare_len());
    if n == 0 {
        return 0;
    }
    let len = buf.buf_len();
    // SAFETY: the spare tail at `spare_ptr()` is writable for
    // `spare_len() >= n` bytes, and `src` holds at least `n`. They do not
    // overlap: the spare tail is uninitialized memory owned by `buf`, which no
    // `&[u8]` (all of whose bytes are initialized) can cover.
    unsafe { buf.spare_ptr().copy_from_nonoverlapping(src.as_ptr(), n) };
    // SAFETY: `len + n <= len + spare_len() = buf_capacity()`; bytes `0..len`
    // were initialized and `len..len + n` were just written.
    unsafe { buf.set_buf_init(len + n) };
    n
}

/// Returns the sum of the spare lengths of `bufs`: the most a vectored read
/// can fill.
pub(crate) fn iovec_spare_len<V: IoVecBufMut + ?Sized>(bufs: &mut V) -> usize {
    (0..bufs.iovec_count())
        .filter_map(|i| bufs.iovec_spare_at(i))
        .fold(0, |sum, (_, len)| sum.saturating_add(len))
}

/// Copies as much of `src` as fits into the spare tails of `bufs`, in order,
/// marks it initialized, and returns the count copied.
pub(crate) fn put_iovec_spare<V: IoVecBufMut + ?Sized>(bufs: &mut V, src: &[u8]) -> usize {
    let mut n = 0;
    for i in 0..bufs.iovec_count() {
        let Some(rest) = src.get(n..).filter(|rest| !rest.is_empty()) else {
            break;
        };
        let Some((ptr, spare)) = bufs.iovec_spare_at(i) else {
            break;
        };
        let k = spare.min(rest.len());
        if k == 0 {
            continue;
        }
        // SAFETY: buffer `i`'s spare tail is writable for `spare >= k` bytes
        // and `rest` holds at least `k`; they do not overlap, as in
        // `put_spare`.
        unsafe { ptr.copy_from_nonoverlapping(rest.as_ptr(), k) };
        n += k;
    }
    if n > 0 {
        // SAFETY: `n` is at most the sum of the spare lengths (each step took
        // at most one buffer's spare length), and the first `n` spare bytes,
        // buffer 0's tail first, were just written.
        unsafe { bufs.set_iovec_init(n) };
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_spare_appends_and_stops_at_capacity() {
        let mut v = Vec::with_capacity(4);
        v.push(b'a');
        let spare = v.spare_len();
        let n = put_spare(&mut v, b"bcdefghijklmnopqrstuvwxyz");
        assert_eq!(n, spare);
        assert_eq!(&v[..2], b"ab");
        assert_eq!(v.spare_len(), 0);
        assert_eq!(put_spare(&mut v, b"more"), 0);
    }

    #[test]
    fn init_bytes_sees_only_the_init_part() {
        let mut v = Vec::with_capacity(16);
        v.extend_from_slice(b"xyz");
        assert_eq!(init_bytes(&v), b"xyz");
        assert_eq!(init_bytes(&Vec::new()), b"");
    }

    #[test]
    fn put_iovec_spare_fills_in_order_skipping_full_buffers() {
        let mut full = b"full".to_vec();
        full.shrink_to_fit();
        let mut bufs = vec![full, Vec::new(), Vec::with_capacity(2)];
        let spare = iovec_spare_len(&mut bufs);
        let src = vec![7u8; spare + 3];
        assert_eq!(put_iovec_spare(&mut bufs, &src), spare);
        assert_eq!(bufs[0], b"full");
        assert_eq!(bufs[2].len(), bufs[2].capacity());
        assert_eq!(iovec_bytes(&bufs, 0), b"full");
        assert_eq!(iovec_bytes(&bufs, 9), b"");
        assert_eq!(iovec_spare_len(&mut bufs), 0);
    }
}
