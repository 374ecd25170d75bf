//! [`AlignedBuf`]: a heap buffer at an aligned address, for `O_DIRECT`.

use std::alloc::Layout;
use std::fmt;
use std::ptr::NonNull;

use crate::{IoBuf, IoBufMut};

/// A fixed-capacity heap buffer whose memory starts at a multiple of
/// `align` (a power of two): what `O_DIRECT` reads and writes need, with
/// the length and file offset aligned too (512 bytes, or the file
/// system's logical block size; 4096 fits every common one).
///
/// Like a `Vec<u8>` with a fixed capacity: reads append to its
/// initialized part (`clear` it to reuse it), writes send that part.
///
/// # Examples
///
/// ```
/// use rentio_buf::{AlignedBuf, IoBuf};
///
/// let mut buf = AlignedBuf::zeroed(8192, 4096);
/// assert_eq!(buf.as_buf_ptr() as usize % 4096, 0);
/// assert_eq!(buf.len(), 8192);
/// buf.as_mut_slice()[..5].copy_from_slice(b"block");
/// buf.clear();
/// assert_eq!(buf.buf_capacity(), 8192);
/// ```
pub struct AlignedBuf {
    ptr: NonNull<u8>,
    /// The allocation's (at least 1 byte, so a capacity of 0 allocates).
    layout: Layout,
    capacity: usize,
    len: usize,
}

// SAFETY: the buffer owns its memory outright, as a `Vec<u8>` does.
unsafe impl Send for AlignedBuf {}
// SAFETY: `&AlignedBuf` only reads.
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    /// An empty buffer of `capacity` bytes at a multiple of `align`.
    ///
    /// # Panics
    ///
    /// If `align` is not a power of two, or the size overflows (as `Vec`
    /// panics on a capacity overflow); aborts if the allocation fails.
    pub fn with_capacity(capacity: usize, align: usize) -> AlignedBuf {
        let layout = match Layout::from_size_align(capacity.max(1), align) {
            Ok(layout) => layout,
            Err(e) => panic!("AlignedBuf: capacity {capacity}, align {align}: {e}"),
        };
        // SAFETY: the layout's size is at least 1.
        let ptr = unsafe { std::alloc::alloc(layout) };
        let Some(ptr) = NonNull::new(ptr) else {
            std::alloc::handle_alloc_error(layout)
        };
        AlignedBuf {
            ptr,
            layout,
            capacity,
            len: 0,
        }
    }

    /// A full buffer of `len` zero bytes at a multiple of `align`.
    ///
    /// # Panics
    ///
    /// As [`with_capacity`](AlignedBuf::with_capacity).
    pub fn zeroed(len: usize, align: usize) -> AlignedBuf {
        let mut buf = AlignedBuf::with_capacity(len, align);
        // SAFETY: the allocation holds at least `len` bytes.
        unsafe { buf.ptr.as_ptr().write_bytes(0, len) };
        buf.len = len;
        buf
    }

    /// The alignment of the memory.
    pub fn align(&self) -> usize {
        self.layout.align()
    }

    /// The initialized bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// No initialized bytes?
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Forgets the contents (the memory stays).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// The initialized bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: the first `len` bytes are initialized.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The initialized bytes, to change.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: the first `len` bytes are initialized; `&mut self` is
        // exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// Appends `bytes` as far as the capacity allows; returns how many
    /// were taken.
    pub fn extend_from_slice(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(self.capacity - self.len);
        // SAFETY: `n` bytes fit after `len`; the regions cannot overlap
        // (`bytes` is borrowed while `self` is borrowed mutably).
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.ptr.as_ptr().add(self.len), n);
        }
        self.len += n;
        n
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: allocated in `with_capacity` with this layout.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) };
    }
}

impl fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlignedBuf")
            .field("len", &self.len)
            .field("capacity", &self.capacity)
            .field("align", &self.layout.align())
            .finish()
    }
}

impl std::ops::Deref for AlignedBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

// SAFETY: heap memory of `layout.size() >= capacity` bytes that does not
// move with the value; the first `len` bytes are initialized; `len <=
// capacity`.
unsafe impl IoBuf for AlignedBuf {
    fn as_buf_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }

    fn buf_len(&self) -> usize {
        self.len
    }

    fn buf_capacity(&self) -> usize {
        self.capacity
    }
}

// SAFETY: the same memory, writable; `set_buf_init` sets `len` exactly.
unsafe impl IoBufMut for AlignedBuf {
    fn as_buf_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    unsafe fn set_buf_init(&mut self, len: usize) {
        self.len = len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_appends_and_clears() {
        for align in [512, 4096, 65536] {
            let mut buf = AlignedBuf::with_capacity(10_000, align);
            assert_eq!(buf.as_buf_ptr() as usize % align, 0);
            assert_eq!(buf.extend_from_slice(b"hello"), 5);
            assert_eq!(&*buf, b"hello");
            assert_eq!(buf.spare_len(), 10_000 - 5);
            buf.clear();
            assert!(buf.is_empty());
            assert_eq!(buf.extend_from_slice(&vec![1; 20_000]), 10_000);
            assert_eq!(buf.spare_len(), 0);
        }
        let zero = AlignedBuf::zeroed(0, 4096);
        assert_eq!(zero.len(), 0);
        assert_eq!(zero.buf_capacity(), 0);
        assert_eq!(zero.as_buf_ptr() as usize % 4096, 0);
    }
}
