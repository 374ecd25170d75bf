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

/// The finished ops of one `completions` call: those before `next` have
/// been handed out (an empty `Finished` is left in their place).
pub(super) struct Handing<'a> {
    pub(super) driver: &'a Driver,
    pub(super) list: Vec<Finished>,
    pub(super) next: usize,
}

impl Drop for Handing<'_> {
    fn drop(&mut self) {
        let Ok(mut core) = self.driver.inner.core.try_borrow_mut() else {
            return;
        };
        let finished = &mut core.ops.finished;
        if self.next < self.list.len() {
            // `f` panicked: what it did not get goes first next time.
            self.list.drain(..self.next);
            self.list.append(finished);
            std::mem::swap(finished, &mut self.list);
        } else if finished.is_empty() {
            // Give the list's allocation back for the next call.
            // SAFETY: every element was handed out and replaced by
            // `Finished::EMPTY`, which owns nothing: forgetting them leaks
            // nothing, and a length of 0 is always valid.
            unsafe { self.list.set_len(0) };
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
    /// A placeholder that owns nothing.
    pub(super) const EMPTY: Finished = Finished {
        key: Key::NONE,
        data: None,
        cqe: Cqe::ZERO,
    };

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
