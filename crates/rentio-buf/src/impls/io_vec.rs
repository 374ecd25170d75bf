//! [`IoVecBuf`] and [`IoVecBufMut`] for `Vec<B>`, `[B; N]` and `Box<[B]>`.
//!
//! The element buffers keep their memory outside the container (an
//! [`IoBuf`] never keeps its bytes inline), so moving or reallocating the
//! container does not move what the `iovec`s point at.

use crate::{IoBuf, IoBufMut, IoVecBuf, IoVecBufMut};

// SAFETY: each element is an `IoBuf`, whose first `buf_len()` bytes at the
// non-null `as_buf_ptr()` are initialized and as stable as the element, which
// the `Vec` owns; the count is the `Vec`'s length.
unsafe impl<B: IoBuf> IoVecBuf for Vec<B> {
    fn iovec_count(&self) -> usize {
        self.len()
    }

    fn iovec_at(&self, i: usize) -> Option<(*const u8, usize)> {
        iovec_at(self, i)
    }
}

// SAFETY: as for `Vec<B>`: each element is an `IoBuf` owned by the array, and
// moving the array moves the elements but not their memory.
unsafe impl<B: IoBuf, const N: usize> IoVecBuf for [B; N] {
    fn iovec_count(&self) -> usize {
        N
    }

    fn iovec_at(&self, i: usize) -> Option<(*const u8, usize)> {
        iovec_at(self, i)
    }
}

// SAFETY: as for `Vec<B>`: each element is an `IoBuf` owned by the box.
unsafe impl<B: IoBuf> IoVecBuf for Box<[B]> {
    fn iovec_count(&self) -> usize {
        self.len()
    }

    fn iovec_at(&self, i: usize) -> Option<(*const u8, usize)> {
        iovec_at(self, i)
    }
}

// SAFETY: each element is an `IoBufMut`, whose spare tail at `spare_ptr()` is
// writable for `spare_len()` bytes directly after its initialized part;
// `set_iovec_init` hands each element, in order, the part of `n` that fits its
// spare tail, through `set_buf_init`.
unsafe impl<B: IoBufMut> IoVecBufMut for Vec<B> {
    fn iovec_spare_at(&mut self, i: usize) -> Option<(*mut u8, usize)> {
        iovec_spare_at(self, i)
    }

    unsafe fn set_iovec_init(&mut self, n: usize) {
        // SAFETY: the caller's obligations are `set_iovec_init`'s.
        unsafe { set_iovec_init(self, n) };
    }
}

// SAFETY: as for `Vec<B>`.
unsafe impl<B: IoBufMut, const N: usize> IoVecBufMut for [B; N] {
    fn iovec_spare_at(&mut self, i: usize) -> Option<(*mut u8, usize)> {
        iovec_spare_at(self, i)
    }

    unsafe fn set_iovec_init(&mut self, n: usize) {
        // SAFETY: the caller's obligations are `set_iovec_init`'s.
        unsafe { set_iovec_init(self, n) };
    }
}

// SAFETY: as for `Vec<B>`.
unsafe impl<B: IoBufMut> IoVecBufMut for Box<[B]> {
    fn iovec_spare_at(&mut self, i: usize) -> Option<(*mut u8, usize)> {
        iovec_spare_at(self, i)
    }

    unsafe fn set_iovec_init(&mut self, n: usize) {
        // SAFETY: the caller's obligations are `set_iovec_init`'s.
        unsafe { set_iovec_init(self, n) };
    }
}

/// Buffer `i`'s initialized part.
fn iovec_at<B: IoBuf>(bufs: &[B], i: usize) -> Option<(*const u8, usize)> {
    bufs.get(i).map(|b| (b.as_buf_ptr(), b.buf_len()))
}

/// Buffer `i`'s spare tail.
fn iovec_spare_at<B: IoBufMut>(bufs: &mut [B], i: usize) -> Option<(*mut u8, usize)> {
    bufs.get_mut(i).map(|b| {
        let len = b.spare_len();
        (b.spare_ptr(), len)
    })
}

/// Distributes `n` written bytes over the spare tails of `bufs`, in order.
///
/// # Safety
///
/// - `n` is at most the sum of the buffers' spare lengths.
/// - The first `n` spare bytes, in order, were written.
unsafe fn set_iovec_init<B: IoBufMut>(bufs: &mut [B], n: usize) {
    let mut left = n;
    for buf in bufs {
        if left == 0 {
            break;
        }
        let len = buf.buf_len();
        let filled = left.min(buf.spare_len());
        if filled == 0 {
            continue;
        }
        left -= filled;
        // SAFETY: `len + filled <= len + spare_len() = buf_capacity()`; bytes
        // `0..len` were initialized and `len..len + filled` are the part of
        // the `n` written spare bytes that fell into this buffer (the caller's
        // second obligation).
        unsafe { buf.set_buf_init(len + filled) };
    }
    debug_assert_eq!(left, 0, "set_iovec_init past the total spare length");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iovec_at_reports_init_parts_and_none_past_the_end() {
        let bufs: [&'static [u8]; 2] = [b"ab", b""];
        assert_eq!(bufs.iovec_count(), 2);
        assert_eq!(bufs.iovec_at(0), Some((bufs[0].as_ptr(), 2)));
        assert_eq!(bufs.iovec_at(1).map(|(_, len)| len), Some(0));
        assert_eq!(bufs.iovec_at(2), None);
        assert_eq!(bufs.total_len(), 2);
    }

    #[test]
    fn boxed_slice_of_buffers_is_vectored() {
        let bufs: Box<[String]> = vec!["x".to_owned(), "yz".to_owned()].into_boxed_slice();
        assert_eq!(bufs.iovec_count(), 2);
        assert_eq!(bufs.total_len(), 3);
    }

    #[test]
    fn set_iovec_init_fills_in_order_and_skips_full_buffers() {
        let mut full = b"full".to_vec();
        full.shrink_to_fit();
        let mut a = Vec::with_capacity(3);
        a.push(b'a');
        let mut bufs = vec![full, a, Vec::with_capacity(8)];
        let spare1 = bufs[1].spare_len();
        assert_eq!(bufs.iovec_spare_at(0).map(|(_, len)| len), Some(0));
        assert_eq!(bufs.iovec_spare_at(3), None);
        let n = spare1 + 2;
        for (i, want) in [(1, spare1), (2, 2)] {
            let (ptr, len) = bufs.iovec_spare_at(i).expect("buffer exists");
            assert!(len >= want);
            // SAFETY: buffer `i`'s spare tail is writable for `len >= want`.
            unsafe { ptr.write_bytes(b'0' + i as u8, want) };
        }
        // SAFETY: the first `n` spare bytes, in order, were just written.
        unsafe { bufs.set_iovec_init(n) };
        assert_eq!(bufs[0], b"full");
        assert_eq!(bufs[1].len(), 1 + spare1);
        assert_eq!(bufs[1].spare_len(), 0);
        assert_eq!(bufs[2], b"22");
        assert_eq!(bufs.total_len(), 4 + 1 + spare1 + 2);
    }

    #[test]
    fn set_iovec_init_zero_changes_nothing() {
        let mut bufs = [Vec::<u8>::with_capacity(4), Vec::with_capacity(4)];
        // SAFETY: zero bytes are claimed.
        unsafe { bufs.set_iovec_init(0) };
        assert_eq!(bufs.total_len(), 0);
    }

    #[test]
    fn vectored_slices_read_into_ranges() {
        let mut bufs = vec![Vec::<u8>::with_capacity(8).slice_mut(4..6)];
        let (ptr, len) = bufs.iovec_spare_at(0).expect("buffer exists");
        assert_eq!(len, 2);
        // SAFETY: the spare tail is writable for 2 bytes.
        unsafe { ptr.write_bytes(7, 2) };
        // SAFETY: those 2 spare bytes were just written.
        unsafe { bufs.set_iovec_init(2) };
        assert_eq!(&bufs[0][..], [7, 7]);
    }
}
