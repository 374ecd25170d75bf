//! [`KernelBox`]: heap memory the kernel or a pool thread works on through
//! a raw pointer while the op that owns it moves.
//!
//! A `Box<T>` asserts, each time it is moved, that it is the only way to
//! its value (under Rust's aliasing model a move retags it as unique). An
//! op moves while in flight: into a `Box<dyn ErasedOp>` when its future is
//! dropped, into the driver's tables when it is pushed, after a pool job
//! already holds pointers into it. Were its `sockaddr`, `msghdr` or
//! `statx` in a `Box`, each move would claim sole access to memory the
//! kernel or a pool thread may be writing through a pointer made earlier.
//! A `KernelBox` holds the allocation as a raw pointer instead: moving it
//! copies a pointer and asserts nothing, and the memory is freed by hand
//! when the box drops (which the driver only lets happen after the op's
//! last completion, invariant 1).

use std::ptr::NonNull;

/// A heap allocation reached only through raw pointers while an op is in
/// flight (see the module docs). Moving it never invalidates a pointer
/// made from [`as_ptr`](KernelBox::as_ptr).
pub(crate) struct KernelBox<T: ?Sized> {
    ptr: NonNull<T>,
}

impl<T> KernelBox<T> {
    /// Moves `value` to the heap.
    pub(crate) fn new(value: T) -> KernelBox<T> {
        KernelBox::from_box(Box::new(value))
    }
}

impl<T: ?Sized> KernelBox<T> {
    /// Takes over a boxed value.
    pub(crate) fn from_box(value: Box<T>) -> KernelBox<T> {
        KernelBox {
            ptr: NonNull::from(Box::leak(value)),
        }
    }

    /// A pointer to the value, for the kernel or a pool thread; it stays
    /// valid however the box moves, until the box drops.
    pub(crate) fn as_ptr(&self) -> *mut T {
        self.ptr.as_ptr()
    }

    /// The value.
    ///
    /// # Safety
    ///
    /// - Nothing else reads or writes the value meanwhile: the op is not
    ///   in flight (not yet pushed, or its completion is in).
    pub(crate) unsafe fn get(&self) -> &T {
        // SAFETY: the pointer came from a live `Box` that only `drop`
        // frees; the caller guarantees no kernel or pool access meanwhile.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T: ?Sized> Drop for KernelBox<T> {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::leak` and is freed only here,
        // once; the driver drops an op only after its last completion.
        drop(unsafe { Box::from_raw(self.ptr.as_ptr()) });
    }
}

// SAFETY: a `KernelBox<T>` owns its `T` as a `Box<T>` does; sending it to
// another thread sends the `T`.
unsafe impl<T: ?Sized + Send> Send for KernelBox<T> {}

// SAFETY: as for `Send`: shared access gives only `&T` (`get`).
unsafe impl<T: ?Sized + Sync> Sync for KernelBox<T> {}

impl<T: ?Sized> std::fmt::Debug for KernelBox<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the value: the kernel may be writing it.
        f.debug_struct("KernelBox").field("ptr", &self.ptr).finish()
    }
}
