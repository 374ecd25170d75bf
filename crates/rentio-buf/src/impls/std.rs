//! Buffer impls for std types: `Vec<u8>`, `String`, boxed slices and arrays,
//! and `'static` slices and strings.
//!
//! Each of these owns heap memory (or borrows `'static` memory) that does not
//! move when the value moves, which is what [`IoBuf`] requires. Only `Vec<u8>`
//! has spare capacity to read into, so only it implements [`IoBufMut`].

use crate::{IoBuf, IoBufMut};

// SAFETY: a `Vec`'s elements live in its heap allocation (or, with capacity 0,
// at a dangling non-null address), which a move of the `Vec` does not move and
// which only `&mut` methods reallocate; `as_ptr()` addresses `capacity()`
// bytes, of which the first `len() <= capacity()` are initialized.
unsafe impl IoBuf for Vec<u8> {
    fn as_buf_ptr(&self) -> *const u8 {
        self.as_ptr()
    }

    fn buf_len(&self) -> usize {
        self.len()
    }

    fn buf_capacity(&self) -> usize {
        self.capacity()
    }
}

// SAFETY: `as_mut_ptr()` is the same address as `as_ptr()` and the allocation
// is writable for `capacity()` bytes; `set_buf_init` is `Vec::set_len`, after
// which `len()` returns exactly the new length.
unsafe impl IoBufMut for Vec<u8> {
    fn as_buf_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }

    unsafe fn set_buf_init(&mut self, len: usize) {
        // SAFETY: `Vec::set_len` requires `len <= capacity()` and elements
        // `0..len` initialized: exactly the caller's two obligations.
        unsafe { self.set_len(len) };
    }
}

// SAFETY: a `String`'s bytes live in its heap allocation (an inner `Vec<u8>`),
// which a move does not move; `as_ptr()` addresses `capacity()` bytes, of
// which the first `len() <= capacity()` are initialized.
unsafe impl IoBuf for String {
    fn as_buf_ptr(&self) -> *const u8 {
        self.as_ptr()
    }

    fn buf_len(&self) -> usize {
        self.len()
    }

    fn buf_capacity(&self) -> usize {
        self.capacity()
    }
}

// SAFETY: a boxed slice's bytes live in its heap allocation (dangling and
// non-null when empty), which a move does not move; all `len()` of them are
// initialized, and the capacity reported is `len()`.
unsafe impl IoBuf for Box<[u8]> {
    fn as_buf_ptr(&self) -> *const u8 {
        self.as_ptr()
    }

    fn buf_len(&self) -> usize {
        self.len()
    }

    fn buf_capacity(&self) -> usize {
        self.len()
    }
}

// SAFETY: a boxed array's bytes live in its heap allocation (dangling and
// non-null when `N == 0`), which a move does not move; all `N` of them are
// initialized, and the capacity reported is `N`.
unsafe impl<const N: usize> IoBuf for Box<[u8; N]> {
    fn as_buf_ptr(&self) -> *const u8 {
        self.as_ptr()
    }

    fn buf_len(&self) -> usize {
        N
    }

    fn buf_capacity(&self) -> usize {
        N
    }
}

// SAFETY: the bytes are `'static`, so they never move or get freed, and all
// `len()` of them are initialized; the capacity reported is `len()`.
unsafe impl IoBuf for &'static [u8] {
    fn as_buf_ptr(&self) -> *const u8 {
        self.as_ptr()
    }

    fn buf_len(&self) -> usize {
        self.len()
    }

    fn buf_capacity(&self) -> usize {
        self.len()
    }
}

// SAFETY: the bytes are `'static`, so they never move or get freed, and all
// `len()` of them are initialized; the capacity reported is `len()`.
unsafe impl IoBuf for &'static str {
    fn as_buf_ptr(&self) -> *const u8 {
        self.as_ptr()
    }

    fn buf_len(&self) -> usize {
        self.len()
    }

    fn buf_capacity(&self) -> usize {
        self.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vec_reads_append_into_spare_capacity() {
        let mut v = Vec::with_capacity(10);
        v.extend_from_slice(b"abc");
        let cap = v.capacity();
        assert!(cap >= 10);
        assert_eq!(v.buf_len(), 3);
        assert_eq!(v.buf_capacity(), cap);
        assert_eq!(v.spare_len(), cap - 3);
        let ptr = v.as_buf_mut_ptr();
        assert_eq!(ptr.cast_const(), v.as_buf_ptr());
        assert_eq!(v.spare_ptr(), ptr.wrapping_add(3));
        // SAFETY: the spare part is writable for `cap - 3 >= 2` bytes.
        unsafe { v.spare_ptr().copy_from_nonoverlapping(b"de".as_ptr(), 2) };
        // SAFETY: bytes 0..3 were initialized and 3..5 were just written.
        unsafe { v.set_buf_init(5) };
        assert_eq!(v, b"abcde");
        assert_eq!(v.buf_len(), 5);
        assert_eq!(v.spare_len(), cap - 5);
        assert_eq!(v.as_ptr(), ptr.cast_const(), "no reallocation");
    }

    #[test]
    fn vec_set_buf_init_can_shrink() {
        let mut v = b"abcdef".to_vec();
        // SAFETY: 2 <= capacity and bytes 0..2 are initialized.
        unsafe { v.set_buf_init(2) };
        assert_eq!(v, b"ab");
        assert_eq!(v.buf_len(), 2);
    }

    #[test]
    fn full_vec_has_no_spare_and_empty_vec_has_no_memory() {
        let mut v = vec![1u8; 4];
        v.shrink_to_fit();
        assert_eq!(v.spare_len(), 0);
        let v = Vec::<u8>::new();
        assert_eq!((v.buf_len(), v.buf_capacity()), (0, 0));
        assert!(!v.as_buf_ptr().is_null());
    }

    #[test]
    fn vec_memory_survives_a_move() {
        let v = Vec::<u8>::with_capacity(32);
        let ptr = v.as_buf_ptr();
        let moved = Box::new(v);
        assert_eq!(moved.as_buf_ptr(), ptr);
    }

    #[test]
    fn string_is_len_of_capacity() {
        let mut s = String::with_capacity(16);
        s.push_str("héllo");
        assert_eq!(s.buf_len(), 6);
        assert_eq!(s.buf_capacity(), s.capacity());
        assert_eq!(s.as_buf_ptr(), s.as_ptr());
    }

    #[test]
    fn boxed_slices_and_arrays_are_fully_initialized() {
        let b: Box<[u8]> = vec![1, 2, 3].into_boxed_slice();
        assert_eq!((b.buf_len(), b.buf_capacity()), (3, 3));
        assert_eq!(b.as_buf_ptr(), b.as_ptr());
        let a = Box::new([0u8; 5]);
        assert_eq!((a.buf_len(), a.buf_capacity()), (5, 5));
        assert_eq!(a.as_buf_ptr(), a.as_ptr());
        let z = Box::new([0u8; 0]);
        assert_eq!((z.buf_len(), z.buf_capacity()), (0, 0));
        assert!(!z.as_buf_ptr().is_null());
    }

    #[test]
    fn static_slices_and_strs_are_fully_initialized() {
        let s: &'static str = "hey";
        assert_eq!((s.buf_len(), s.buf_capacity()), (3, 3));
        assert_eq!(s.as_buf_ptr(), s.as_ptr());
        let b: &'static [u8] = b"four";
        assert_eq!((b.buf_len(), b.buf_capacity()), (4, 4));
        assert_eq!(b.as_buf_ptr(), b.as_ptr());
    }
}
