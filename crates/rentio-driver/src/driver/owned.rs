//! The owned-op face's hand-back: [`Finished`], and the pieces of
//! [`Driver::completions`](super::Driver::completions) that run outside its
//! borrow of the core.

use super::{Core, Driver};
use crate::key::Key;
use crate::op::{ErasedOp, OpCode};
use crate::slot::Cqe;

/// Readiness backend: owned ops whose fd became ready run their syscall;
/// those that finish move to the `finished` list.
pub(super) fn run_ready_owned(core: &mut Core) {
    let keys = std::mem::take(&mut core.ops.owned);
    for &key in &keys {
        if let Some(slot) = core.ops.get_mut(key)
            && let Some(mut data) = slot.data.take()
        {
            core.try_io(key, &mut *data);
            if let Some(slot) = core.ops.get_mut(key) {
                slot.data = Some(data);
            }
            core.ops.finish_owned(key);
        }
    }
    if core.ops.owned.is_empty() {
        let mut keys = keys;
        keys.clear();
        core.ops.owned = keys;
    }
}

/// The finished ops of one `completions` call. While they are handed out
/// the list's length is 0 and its elements `next..len` are the ones still
/// owed to the caller (those before `next` were moved out), so a panic in
/// the callback neither loses nor drops twice.
pub(super) struct Handing<'a> {
    pub(super) driver: &'a Driver,
    pub(super) list: Vec<Finished>,
    pub(super) len: usize,
    pub(super) next: usize,
}

impl Handing<'_> {
    /// The next op to hand out.
    #[inline]
    pub(super) fn next(&mut self) -> Option<Finished> {
        if self.next == self.len {
            return None;
        }
        // SAFETY: `next < len`, and elements `next..len` are initialized
        // and owned by nobody else (the list's length is 0); `next` moves
        // past this one before anyone can see it again.
        let finished = unsafe { self.list.as_ptr().add(self.next).read() };
        self.next += 1;
        Some(finished)
    }
}

impl Drop for Handing<'_> {
    fn drop(&mut self) {
        let rest = self.len - self.next;
        if rest > 0 {
            // `f` panicked: what it did not get moves to the front.
            // SAFETY: elements `next..len` are initialized and within the
            // allocation; `copy` allows the overlap; after it, elements
            // `0..rest` are those, each owned once.
            unsafe {
                let base = self.list.as_mut_ptr();
                std::ptr::copy(base.add(self.next), base, rest);
                self.list.set_len(rest);
            }
        }
        // If the core is borrowed, the list drops what it still holds.
        let Ok(mut core) = self.driver.inner.core.try_borrow_mut() else {
            return;
        };
        let finished = &mut core.ops.finished;
        if !self.list.is_empty() {
            // ... and goes first next time.
            self.list.append(finished);
            std::mem::swap(finished, &mut self.list);
        } else if finished.is_empty() {
            // Give the list's allocation back for the next call.
            std::mem::swap(finished, &mut self.list);
        }
    }
}

/// An op pushed with [`Driver::push`] that finished, handed back by
/// [`Driver::completions`]. Dropped without [`output`](Finished::output),
/// the op's resources are freed, and an fd it produced (accept, open,
/// socket) is closed.
pub struct Finished {
    // 32 bytes with no padding: moved whole on the hot path.
    pub(crate) key: Key,
    pub(crate) data: Option<Box<dyn ErasedOp>>,
    pub(crate) cqe: Cqe,
}

impl Finished {
    /// The key [`Driver::push`] returned for this op.
    pub fn key(&self) -> Key {
        self.key
    }

    /// The kernel's raw result: a count or value, or a negative errno.
    pub fn raw_result(&self) -> i32 {
        self.cqe.res()
    }

    /// Whether the op is a `T`.
    pub fn is<T: OpCode>(&self) -> bool {
        self.data.as_deref().is_some_and(|data| {
            let data: &dyn std::any::Any = data;
            data.is::<T>()
        })
    }

    /// The op's output (its result and resources), if it is a `T`;
    /// otherwise `self` comes back unchanged.
    ///
    /// # Errors
    ///
    /// `self`, when the op is not a `T`.
    pub fn output<T: OpCode>(mut self) -> Result<T::Output, Finished> {
        match self.data.take() {
            Some(data) if (&*data as &dyn std::any::Any).is::<T>() => {
                let raw = Box::into_raw(data).cast::<T>();
                // SAFETY: the box holds a `T` (checked just above), so this
                // is the cast `Box::<dyn Any>::downcast` makes; the box came
                // from `Box::new(T)` in `Driver::push`.
                let op = unsafe { Box::from_raw(raw) };
                let completion = self.cqe.into_completion();
                // Nothing left to drop: the data is out.
                std::mem::forget(self);
                Ok(op.complete(completion))
            }
            data => {
                self.data = data;
                Err(self)
            }
        }
    }
}

impl Drop for Finished {
    fn drop(&mut self) {
        // Not taken: an fd the kernel made for it is closed, not leaked.
        if self.cqe.res() >= 0
            && let Some(data) = &self.data
            && data.returns_fd()
        {
            crate::sys::close_fd(self.cqe.res());
        }
    }
}

impl std::fmt::Debug for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Finished")
            .field("key", &self.key)
            .field("res", &self.cqe.res())
            .finish_non_exhaustive()
    }
}

// `Finished` is moved whole on the hot path: keep it four words.
const _: () = assert!(std::mem::size_of::<Finished>() == 32);
