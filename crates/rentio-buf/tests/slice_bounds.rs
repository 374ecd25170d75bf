//! Property tests: the geometry of `Slice`/`SliceMut` (pointer, length,
//! capacity), `SliceMut::set_buf_init`, and `set_iovec_init` over random
//! buffers, each checked against a simple model.

use std::ops::Bound;

use proptest::prelude::*;
use rentio_buf::{IoBuf, IoBufMut, IoVecBuf, IoVecBufMut};

/// A `Vec` with at least `cap` capacity whose first `init` bytes are
/// `0, 1, 2, ...` (wrapping).
fn vec_with(cap: usize, init: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(cap);
    v.extend((0..init).map(|i| i as u8));
    v
}

/// The model of a view's initialized length.
fn model_len(inner_len: usize, begin: usize, end: usize) -> usize {
    inner_len.clamp(begin, end) - begin
}

/// `(cap, init, begin, end)` with `init <= cap` and `begin <= end <= cap`.
fn geometry() -> impl Strategy<Value = (usize, usize, usize, usize)> {
    (0usize..64).prop_flat_map(|cap| {
        (Just(cap), 0..=cap, 0..=cap, 0..=cap).prop_map(|(cap, init, a, b)| {
            let (begin, end) = if a <= b { (a, b) } else { (b, a) };
            (cap, init, begin, end)
        })
    })
}

/// Every way to spell `begin..end` as `RangeBounds`, with `full_cap` being the
/// capacity an unbounded end resolves to.
fn spellings(begin: usize, end: usize, full_cap: usize) -> Vec<(Bound<usize>, Bound<usize>)> {
    let mut out = vec![(Bound::Included(begin), Bound::Excluded(end))];
    if begin > 0 {
        out.push((Bound::Excluded(begin - 1), Bound::Excluded(end)));
    }
    if begin == 0 {
        out.push((Bound::Unbounded, Bound::Excluded(end)));
    }
    if end > 0 {
        out.push((Bound::Included(begin), Bound::Included(end - 1)));
    }
    if end == full_cap {
        out.push((Bound::Included(begin), Bound::Unbounded));
    }
    out
}

proptest! {
    #[test]
    fn slice_geometry_matches_model((cap, init, begin, end) in geometry()) {
        let v = vec_with(cap, init);
        let full = v.capacity();
        for range in spellings(begin, end, full) {
            let v = vec_with(cap, init);
            let base = v.as_ptr();
            let s = v.slice(range);
            prop_assert_eq!((s.begin(), s.end()), (begin, end));
            prop_assert_eq!(s.as_buf_ptr(), base.wrapping_add(begin));
            prop_assert_eq!(s.buf_capacity(), end - begin);
            let len = model_len(init, begin, end);
            prop_assert_eq!(s.buf_len(), len);
            let want: Vec<u8> = (begin..begin + len).map(|i| i as u8).collect();
            prop_assert_eq!(&s[..], &want[..]);
            let v = s.into_inner();
            prop_assert_eq!(v.len(), init);
            prop_assert_eq!(v.as_ptr(), base);
        }
    }

    #[test]
    fn slice_mut_geometry_matches_model((cap, init, begin, end) in geometry()) {
        let mut v = vec_with(cap, init);
        let base = v.as_mut_ptr();
        let mut s = v.slice_mut(begin..end);
        let len = model_len(init, begin, end);
        prop_assert_eq!(s.as_buf_ptr(), base.cast_const().wrapping_add(begin));
        prop_assert_eq!(s.as_buf_mut_ptr(), base.wrapping_add(begin));
        prop_assert_eq!(s.buf_capacity(), end - begin);
        prop_assert_eq!(s.buf_len(), len);
        prop_assert_eq!(s.spare_len(), end - begin - len);
        prop_assert_eq!(s.spare_ptr(), base.wrapping_add(begin + len));
        prop_assert_eq!(s[..].len(), len);
        prop_assert_eq!(std::ops::DerefMut::deref_mut(&mut s).len(), len);
    }

    #[test]
    fn nested_slices_compose((cap, init, begin, end) in geometry(), a in 0usize..64, b in 0usize..64) {
        let outer = vec_with(cap, init).slice(begin..end);
        let width = end - begin;
        let (a, b) = (a.min(width), b.min(width));
        let (ib, ie) = if a <= b { (a, b) } else { (b, a) };
        let base = outer.get_ref().as_ptr();
        let inner = outer.slice(ib..ie);
        prop_assert_eq!(inner.as_buf_ptr(), base.wrapping_add(begin + ib));
        prop_assert_eq!(inner.buf_capacity(), ie - ib);
        prop_assert_eq!(inner.buf_len(), model_len(init, begin + ib, begin + ie));
    }

    #[test]
    fn views_clamp_to_a_shrunk_inner_buffer(
        (cap, init, begin, end) in geometry(),
        keep in 0usize..64,
    ) {
        let mut s = vec_with(cap, init).slice_mut(begin..end);
        s.get_mut().truncate(keep);
        s.get_mut().shrink_to_fit();
        let inner_len = s.get_ref().len();
        let new_cap = s.get_ref().capacity();
        let base = s.get_mut().as_mut_ptr();
        // Model: the range is clamped to the new capacity.
        let e = end.min(new_cap);
        let b = begin.min(e);
        let len = model_len(inner_len, b, e);
        prop_assert_eq!(s.as_buf_mut_ptr(), base.wrapping_add(b));
        prop_assert_eq!(s.buf_capacity(), e - b);
        prop_assert_eq!(s.buf_len(), len);
        prop_assert_eq!(s.spare_len(), e - b - len);
        prop_assert_eq!(s[..].len(), len);
        // Filling the whole (clamped) spare part stays inside the buffer.
        let spare = s.spare_len();
        // SAFETY: the spare tail is writable for `spare` bytes.
        unsafe { s.spare_ptr().write_bytes(0x55, spare) };
        // SAFETY: `len + spare == e - b`, the view's capacity; view bytes
        // `0..len` were initialized and `len..len + spare` were just written.
        unsafe { s.set_buf_init(len + spare) };
        prop_assert_eq!(s.buf_len(), e - b);
        prop_assert_eq!(s.get_ref().len(), inner_len.max(e));

        let mut r = vec_with(cap, init).slice(begin..end);
        r.get_mut().truncate(keep);
        r.get_mut().shrink_to_fit();
        let new_cap = r.get_ref().capacity();
        let e = end.min(new_cap);
        let b = begin.min(e);
        prop_assert_eq!(r.as_buf_ptr(), r.get_ref().as_ptr().wrapping_add(b));
        prop_assert_eq!(r.buf_capacity(), e - b);
        prop_assert_eq!(r.buf_len(), model_len(r.get_ref().len(), b, e));
    }

    #[test]
    fn slice_mut_set_buf_init_matches_model(
        (cap, init, begin, end) in geometry(),
        pick in 0usize..64,
    ) {
        let width = end - begin;
        let n = pick % (width + 1);
        let mut s = vec_with(cap, init).slice_mut(begin..end);
        let len = s.buf_len();
        // Initialize view bytes `len..n` (if any) the way a read would.
        if n > len {
            let fill = n - len;
            // SAFETY: the spare tail is writable for `width - len >= fill`.
            unsafe { s.spare_ptr().write_bytes(0xAA, fill) };
        }
        // SAFETY: `n <= width`; view bytes `0..len` were initialized and
        // `len..n` were just written.
        unsafe { s.set_buf_init(n) };

        // Model: the inner length becomes max(init, begin + n), never less;
        // the gap `init..begin` is zero-filled if the length grew past it.
        let new_inner = init.max(begin + n);
        prop_assert!(s.buf_len() >= n);
        prop_assert_eq!(s.buf_len(), model_len(new_inner, begin, end));
        let v = s.into_inner();
        prop_assert_eq!(v.len(), new_inner);
        for (i, &byte) in v.iter().enumerate() {
            let want = if i < init {
                i as u8
            } else if i < begin {
                0
            } else {
                0xAA
            };
            prop_assert_eq!(byte, want, "byte {}", i);
        }
    }

    #[test]
    fn set_iovec_init_matches_model(
        shapes in prop::collection::vec((0usize..16, 0usize..16), 0..6),
        pick in 0usize..256,
    ) {
        let mut bufs: Vec<Vec<u8>> = shapes
            .iter()
            .map(|&(init, spare)| {
                let mut v = vec_with(init + spare, init);
                v.shrink_to(init + spare);
                v
            })
            .collect();
        let inits: Vec<usize> = bufs.iter().map(Vec::len).collect();
        let spares: Vec<usize> = bufs.iter().map(|b| b.capacity() - b.len()).collect();
        let total_spare: usize = spares.iter().sum();
        let n = pick % (total_spare + 1);

        // Write `n` bytes into the spare tails in order, as readv would.
        let mut left = n;
        for (i, &spare) in spares.iter().enumerate() {
            let (ptr, len) = bufs.iovec_spare_at(i).expect("index in range");
            prop_assert_eq!(len, spare);
            prop_assert_eq!(ptr.cast_const(), bufs[i].as_ptr().wrapping_add(inits[i]));
            let k = left.min(len);
            // SAFETY: the spare tail is writable for `len >= k` bytes.
            unsafe { ptr.write_bytes(0xEE, k) };
            left -= k;
        }
        prop_assert!(bufs.iovec_spare_at(spares.len()).is_none());
        // SAFETY: `n <= total_spare`, and the first `n` spare bytes, in
        // order, were just written.
        unsafe { bufs.set_iovec_init(n) };

        // Model: greedy, in order.
        let mut left = n;
        for (i, buf) in bufs.iter().enumerate() {
            let k = left.min(spares[i]);
            left -= k;
            prop_assert_eq!(buf.len(), inits[i] + k, "buffer {}", i);
            prop_assert!(buf[inits[i]..].iter().all(|&b| b == 0xEE));
            prop_assert_eq!(bufs.iovec_at(i), Some((buf.as_ptr(), inits[i] + k)));
        }
        prop_assert_eq!(bufs.total_len(), inits.iter().sum::<usize>() + n);
    }
}

#[test]
#[should_panic(expected = "out of range")]
fn slice_past_capacity_panics() {
    let v = vec![0u8; 4];
    let _ = v.slice(2..5);
}

#[test]
#[should_panic(expected = "out of range")]
fn slice_mut_past_capacity_panics() {
    let v = Vec::<u8>::new();
    let _ = v.slice_mut(1..);
}

#[test]
#[should_panic(expected = "starts at 3 but ends at 2")]
fn reversed_slice_panics() {
    let _ = "hello".slice((Bound::Included(3), Bound::Excluded(2)));
}

#[test]
fn empty_slice_at_capacity_is_fine() {
    let v = vec![1u8, 2, 3];
    let s = v.slice(3..);
    assert_eq!((s.buf_len(), s.buf_capacity()), (0, 0));
    assert!(s.is_empty());
}
