//! Buffer impls for [`bytes::Bytes`] and [`bytes::BytesMut`] (feature
//! `bytes`).

use bytes::{Bytes, BytesMut};

use crate::{IoBuf, IoBufMut};

// SAFETY: a `Bytes` points into a shared heap allocation or `'static` memory;
// moving the handle moves neither, and the bytes are immutable while any handle
// exists. All `len()` bytes are initialized; the capacity reported is `len()`.
unsafe impl IoBuf for Bytes {
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

// SAFETY: a `BytesMut` owns a view of a heap allocation (its own or a shared
// one, of which it uniquely owns this range), which a move does not move and
// which only `&mut` methods reallocate; `as_ptr()` addresses `capacity()`
// bytes, of which the first `len() <= capacity()` are initialized.
unsafe impl IoBuf for BytesMut {
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

// SAFETY: `as_mut_ptr()` is the same address as `as_ptr()`, and the view's
// `capacity()` bytes are uniquely owned and writable (they are what
// `spare_capacity_mut` hands out past `len()`); `set_buf_init` is
// `BytesMut::set_len`, after which `len()` returns exactly the new length.
unsafe impl IoBufMut for BytesMut {
    fn as_buf_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }

    unsafe fn set_buf_init(&mut self, len: usize) {
        // SAFETY: `BytesMut::set_len` requires `len <= capacity()` and bytes
        // `0..len` initialized: exactly the caller's two obligations.
        unsafe { self.set_len(len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_is_fully_initialized() {
        let b = Bytes::from_static(b"static");
        assert_eq!((b.buf_len(), b.buf_capacity()), (6, 6));
        assert_eq!(b.as_buf_ptr(), b.as_ptr());
        let s = Bytes::from(b"0123456".to_vec()).slice(2..5);
        assert_eq!((s.buf_len(), s.buf_capacity()), (3, 3));
        assert_eq!(s.as_buf_ptr(), s.as_ptr());
    }

    #[test]
    fn bytes_mut_reads_append_into_spare_capacity() {
        let mut b = BytesMut::with_capacity(16);
        b.extend_from_slice(b"ab");
        let cap = b.capacity();
        assert_eq!((b.buf_len(), b.buf_capacity()), (2, cap));
        assert_eq!(b.spare_len(), cap - 2);
        let ptr = b.as_buf_mut_ptr();
        assert_eq!(b.spare_ptr(), ptr.wrapping_add(2));
        // SAFETY: the spare part is writable for `cap - 2 >= 3` bytes.
        unsafe { b.spare_ptr().copy_from_nonoverlapping(b"cde".as_ptr(), 3) };
        // SAFETY: bytes 0..2 were initialized and 2..5 were just written.
        unsafe { b.set_buf_init(5) };
        assert_eq!(&b[..], b"abcde");
        assert_eq!(b.as_ptr(), ptr.cast_const(), "no reallocation");
    }

    #[test]
    fn split_bytes_mut_keeps_its_own_capacity() {
        let mut whole = BytesMut::with_capacity(32);
        whole.extend_from_slice(b"head");
        let head = whole.split();
        assert_eq!(head.buf_len(), 4);
        assert_eq!(head.buf_capacity(), head.capacity());
        assert_eq!(whole.buf_len(), 0);
        assert_eq!(whole.spare_len(), whole.capacity());
        assert_eq!(whole.as_buf_ptr(), head.as_buf_ptr().wrapping_add(4));
    }
}
