//! [`Advance`]: an owned view of an [`IoVecBuf`] without its first `n` bytes,
//! so a vectored write can resume after a short write.

use rentio_buf::IoVecBuf;

/// An owned view of `inner` that skips the first `n` initialized bytes of
/// the sequence: whole buffers first, then the front of the next one.
///
/// The skip is worked out once, in [`new`](Advance::new); the view has no
/// `&mut` access to `inner`, so the inner buffers cannot change afterwards.
#[derive(Debug)]
pub(crate) struct Advance<T> {
    inner: T,
    /// Index of the first inner buffer the view shows.
    first: usize,
    /// Bytes skipped at the front of buffer `first`.
    skip: usize,
}

impl<T: IoVecBuf> Advance<T> {
    /// Makes a view of `inner` without its first `n` bytes; skipping more
    /// than the total length leaves an empty view.
    pub(crate) fn new(inner: T, n: usize) -> Self {
        let mut first = 0;
        let mut left = n;
        while let Some((_, len)) = inner.iovec_at(first) {
            if left < len {
                break;
            }
            left -= len;
            first += 1;
        }
        Self {
            inner,
            first,
            skip: left,
        }
    }

    /// Unwraps the whole inner sequence.
    pub(crate) fn into_inner(self) -> T {
        self.inner
    }
}

// SAFETY: every `iovec_at(i)` is inner buffer `first + i`'s, with buffer
// `first` trimmed at the front by `skip <= len` bytes (the `min` below), so the
// pointer stays inside (or one past the end of) that buffer's initialized
// part: non-null, with `len - skip` initialized bytes after it, and as stable
// as the inner buffer, which the view owns. `first` and `skip` never change,
// and the view never accesses `inner` through `&mut`, so successive calls
// return the same values.
unsafe impl<T: IoVecBuf> IoVecBuf for Advance<T> {
    fn iovec_count(&self) -> usize {
        self.inner.iovec_count().saturating_sub(self.first)
    }

    fn iovec_at(&self, i: usize) -> Option<(*const u8, usize)> {
        let (ptr, len) = self.inner.iovec_at(self.first.checked_add(i)?)?;
        if i > 0 {
            return Some((ptr, len));
        }
        let skip = self.skip.min(len);
        Some((ptr.wrapping_add(skip), len - skip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::iovec_bytes;

    fn parts<T: IoVecBuf>(v: &Advance<T>) -> Vec<Vec<u8>> {
        (0..v.iovec_count())
            .map(|i| iovec_bytes(v, i).to_vec())
            .collect()
    }

    #[test]
    fn skips_whole_buffers_then_a_prefix() {
        let bufs = vec![b"ab".to_vec(), Vec::new(), b"cde".to_vec(), b"f".to_vec()];
        assert_eq!(parts(&Advance::new(bufs.clone(), 0)).concat(), b"abcdef");
        let v = Advance::new(bufs.clone(), 3);
        assert_eq!(parts(&v), [b"de".to_vec(), b"f".to_vec()]);
        assert_eq!(v.total_len(), 3);
        let v = Advance::new(bufs.clone(), 2);
        assert_eq!(parts(&v), [b"cde".to_vec(), b"f".to_vec()]);
        let v = Advance::new(bufs.clone(), 6);
        assert_eq!(v.iovec_count(), 0);
        assert_eq!(v.iovec_at(0), None);
        let v = Advance::new(bufs.clone(), 60);
        assert_eq!(v.total_len(), 0);
        assert_eq!(v.into_inner(), bufs);
    }
}
