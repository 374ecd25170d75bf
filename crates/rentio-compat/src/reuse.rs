//! A boxed future whose allocation the next future of the same type
//! reuses: the copy path's ops run one after another, each a future of one
//! type, so after the first op no op allocates.

#![allow(unsafe_code)]

use std::alloc::Layout;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A pinned, boxed future that [`set`](ReusableBox::set) replaces in place
/// when the new future has the old one's layout.
pub(crate) struct ReusableBox<T> {
    future: Pin<Box<dyn Future<Output = T>>>,
}

impl<T> ReusableBox<T> {
    pub(crate) fn new<F: Future<Output = T> + 'static>(future: F) -> ReusableBox<T> {
        ReusableBox {
            future: Box::pin(future),
        }
    }

    /// Drops the future held and puts `future` in its place: in the same
    /// allocation if the layouts match, else in a new one.
    pub(crate) fn set<F: Future<Output = T> + 'static>(&mut self, future: F)
    where
        T: 'static,
    {
        let layout = Layout::new::<F>();
        if layout.size() == 0 || Layout::for_value(&*self.future) != layout {
            self.future = Box::pin(future);
            return;
        }
        // A zero-sized stand-in (no allocation) holds the place meanwhile.
        let old = std::mem::replace(&mut self.future, Box::pin(std::future::pending()));
        // SAFETY: the value is dropped in place below and never moved, so
        // the pinning promise holds.
        let raw: *mut dyn Future<Output = T> =
            Box::into_raw(unsafe { Pin::into_inner_unchecked(old) });
        // Should the old future's drop panic, the allocation is freed (and
        // the stand-in stays: the caller's state is lost either way).
        let dealloc = Dealloc(raw.cast::<u8>(), layout);
        // SAFETY: `raw` came from `Box::into_raw` just above: a live value
        // this function owns, dropped once here.
        unsafe { std::ptr::drop_in_place(raw) };
        std::mem::forget(dealloc);
        let raw = raw.cast::<F>();
        // SAFETY: the allocation has `F`'s layout (checked above, and not
        // zero-sized) and holds no live value since the drop.
        unsafe { raw.write(future) };
        // SAFETY: `raw` is a global-allocator allocation of `F`'s layout,
        // the layout `Box<F>` frees with, holding a live `F` that nothing
        // else owns; it is pinned from here on.
        self.future = unsafe { Pin::new_unchecked(Box::<F>::from_raw(raw)) };
    }

    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<T> {
        self.future.as_mut().poll(cx)
    }
}

/// Frees an allocation whose value was dropped (or is being dropped).
struct Dealloc(*mut u8, Layout);

impl Drop for Dealloc {
    fn drop(&mut self) {
        // SAFETY: only made for an allocation of this layout from the
        // global allocator whose value is gone, and only dropped (instead
        // of forgotten) on a panic that left the allocation with no owner.
        unsafe { std::alloc::dealloc(self.0, self.1) };
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;
    use std::task::Waker;

    use super::*;

    fn poll_now<T>(b: &mut ReusableBox<T>) -> Poll<T> {
        b.poll(&mut Context::from_waker(Waker::noop()))
    }

    fn address<T>(b: &ReusableBox<T>) -> *const u8 {
        std::ptr::addr_of!(*b.future).cast::<u8>()
    }

    #[test]
    fn same_type_reuses_the_allocation_other_types_do_not() {
        async fn op(n: u64, tail: Vec<u8>) -> usize {
            n as usize + tail.len()
        }
        let mut b = ReusableBox::new(op(1, vec![0; 3]));
        assert_eq!(poll_now(&mut b), Poll::Ready(4));
        let before = address(&b);
        b.set(op(2, vec![0; 5]));
        assert_eq!(address(&b), before);
        assert_eq!(poll_now(&mut b), Poll::Ready(7));
        // A future of another layout, then a zero-sized one.
        b.set(async { [0u8; 512].len() });
        assert_eq!(poll_now(&mut b), Poll::Ready(512));
        b.set(std::future::ready(9));
        assert_eq!(poll_now(&mut b), Poll::Ready(9));
    }

    #[test]
    fn a_pending_future_is_dropped_in_place() {
        async fn hold(held: Rc<()>) -> usize {
            let _held = held;
            std::future::pending::<usize>().await
        }
        let (first, second) = (Rc::new(()), Rc::new(()));
        let mut b = ReusableBox::new(hold(first.clone()));
        assert!(poll_now(&mut b).is_pending());
        let before = address(&b);
        b.set(hold(second.clone()));
        assert_eq!(address(&b), before);
        assert_eq!(Rc::strong_count(&first), 1, "the old future was dropped");
        assert_eq!(Rc::strong_count(&second), 2);
        drop(b);
        assert_eq!(Rc::strong_count(&second), 1);
    }
}
