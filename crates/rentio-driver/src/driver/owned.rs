//! The owned-op face's hand-back: [`Finished`], and the pieces of
//! [`Driver::completions`](super::Driver::completions) that run outside its
//! borrow of the core.

use std::cell::RefMut;
use std::io;
use std::mem::ManuallyDrop;

use super::{BackendImpl, Core, Driver, Push};
use crate::key::Key;
use crate::op::{ErasedOp, OpCode};
use crate::slot::{Cqe, Notify, State};

impl Core {
    /// [`Driver::push`] inside a borrow of the core. On error the op is
    /// buried, so it drops only once the borrow ends.
    #[inline(always)]
    pub(super) fn push_owned<T: OpCode>(&mut self, op: T) -> io::Result<Key> {
        let c = self;
        // The common case: a one-shot op the ring has, into the lean table.
        let BackendImpl::Uring(uring) = &mut c.backend else {
            return c.push_owned_slow(op);
        };
        // Ops whose fds the driver tracks (late lookups, closes that may
        // wait) go the way that tracks them.
        let tracked = T::LATE_FDS || T::CODE == io_uring::opcode::Close::CODE;
        if tracked || !uring.opcodes.contains(T::CODE) || op.is_multishot() || op.is_empty_read() {
            return c.push_owned_slow(op);
        }
        if let Err(e) = c.ops.check_poisoned().and_then(|()| op.check()) {
            let mut op = op;
            c.close_unpushed(&mut op);
            c.ops.bury(Box::new(op));
            return Err(e);
        }
        // Into the lean table first: the SQE points into the box's heap
        // memory, and the table is where the box stays.
        let (key, data) = c.ops.insert_lean(Box::new(op))?;
        // SAFETY: `data` points at the `T` just boxed into the table, and
        // the reference ends before this borrow of the core does.
        // Meanwhile `push_with` may make room (enter and reap), but no CQE
        // can name this key before its SQE is published and a reap never
        // inserts, so nothing else touches the entry or the box.
        let op = unsafe { data.cast::<T>().as_mut() };
        let direct = super::core::direct_slot(uring, op);
        let pushed = uring.push_with(&mut c.ops, || {
            super::core::with_direct(op.uring_entry().user_data(key.user_data()), direct)
        });
        if let Err(e) = pushed {
            c.close_unpushed(op);
            c.ops.remove(key);
            return Err(e);
        }
        op.pushed();
        if direct.is_some() {
            uring.note_direct_sqe();
        }
        Ok(key)
    }

    /// [`push_owned`](Core::push_owned) for everything but the common case:
    /// the readiness backend, a fallback for an opcode the ring lacks,
    /// an empty read, or a multishot op (refused).
    #[inline(never)]
    fn push_owned_slow<T: OpCode>(&mut self, mut op: T) -> io::Result<Key> {
        let how = Push {
            notify: Notify::Owned,
            ..Push::default()
        };
        let key = match self.push(&mut op, how) {
            Ok(key) => key,
            Err(e) => {
                self.ops.bury(Box::new(op));
                return Err(e);
            }
        };
        // A readiness op tries its syscall at once.
        if matches!(self.backend, BackendImpl::Poll(_)) {
            self.try_io(key, &mut op);
        }
        match self.ops.get_mut(key) {
            Some(slot) => {
                let done = matches!(slot.state, State::Completed(_));
                slot.data = Some(Box::new(op));
                // Finished while being pushed (an immediate syscall).
                if done {
                    self.ops.finish_owned(key);
                }
            }
            None => self.ops.bury(Box::new(op)),
        }
        Ok(key)
    }
}

/// A batch of pushes under one borrow of the driver, from
/// [`Driver::batch`]. Dropping it ends the borrow.
pub struct Batch<'a> {
    pub(super) driver: &'a Driver,
    /// Taken once, in `drop`.
    pub(super) core: ManuallyDrop<RefMut<'a, Core>>,
}

impl Batch<'_> {
    /// [`Driver::push`] within the batch.
    ///
    /// # Cancel safety
    ///
    /// As [`Driver::push`]: the driver owns the op.
    ///
    /// # Errors
    ///
    /// As [`Driver::push`]. On error the op is dropped once the batch is.
    #[inline]
    pub fn push<T: OpCode>(&mut self, op: T) -> io::Result<Key> {
        self.core.push_owned(op)
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        // SAFETY: `core` is taken here only, once, and never used after.
        let core = unsafe { ManuallyDrop::take(&mut self.core) };
        self.driver.settle(core);
        // Closes asked for while the batch held the driver.
        self.driver.run_deferred_closes();
    }
}

impl std::fmt::Debug for Batch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch").finish_non_exhaustive()
    }
}

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

/// Owned ops that finished, in the order they did, owed to the caller of
/// [`Driver::completions`], which hands them out one at a time from the
/// front without moving the rest: elements `0..handed` of the list were
/// handed out (moved out, so their slots are dead bytes), `handed..len`
/// are owed. Once all are handed out the list is emptied, keeping its
/// allocation.
pub(crate) struct FinishedList {
    list: Vec<Finished>,
    handed: usize,
}

impl FinishedList {
    pub(crate) fn new() -> FinishedList {
        FinishedList {
            list: Vec::new(),
            handed: 0,
        }
    }

    /// Ops owed.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.list.len() - self.handed
    }

    /// Makes room for `n` more ops, so that [`push`](FinishedList::push)
    /// writes each in place: one built on the stack and copied (as
    /// `Vec::push` does around its grow call) is read back with 16-byte
    /// loads of 8-byte stores, which stall on store forwarding.
    #[inline]
    pub(crate) fn reserve(&mut self, n: usize) {
        if self.list.capacity() - self.list.len() < n {
            self.make_room(n);
        }
    }

    /// Room for `n` more: the dead slots of ops handed out go first (the
    /// owed ones move to the front), and the list grows only if that is
    /// not enough, so a list never emptied (its callback keeps queueing)
    /// stays as long as what it owes.
    #[cold]
    fn make_room(&mut self, n: usize) {
        if self.handed > 0 {
            let owed = self.len();
            // SAFETY: elements `handed..len` are initialized and within the
            // allocation; `copy` allows the overlap; after it, elements
            // `0..owed` are those, each owned once, and the dead slots past
            // them are not counted.
            unsafe {
                let base = self.list.as_mut_ptr();
                std::ptr::copy(base.add(self.handed), base, owed);
                self.list.set_len(owed);
            }
            self.handed = 0;
        }
        self.list.reserve(n);
    }

    /// Queues an op at the back, built in its slot from its parts (see
    /// [`reserve`](FinishedList::reserve)). A grow copies the dead slots
    /// too, as bytes; nothing drops them.
    #[inline(always)]
    pub(crate) fn push(&mut self, key: Key, data: Box<dyn ErasedOp>, cqe: Cqe) {
        let data = Some(data);
        let len = self.list.len();
        match self.list.spare_capacity_mut().first_mut() {
            Some(spare) => {
                spare.write(Finished { key, data, cqe });
                // SAFETY: the element at `len` was just initialized.
                unsafe { self.list.set_len(len + 1) };
            }
            None => {
                self.make_room(1);
                self.list.push(Finished { key, data, cqe });
            }
        }
    }

    /// Empties the list, keeping its allocation, once every op in it was
    /// handed out.
    #[inline]
    pub(crate) fn empty_if_all_handed(&mut self) {
        if self.handed == self.list.len() && self.handed != 0 {
            // SAFETY: every element was moved out; a length of 0 drops none
            // of them again.
            unsafe { self.list.set_len(0) };
            self.handed = 0;
        }
    }

    /// The op at the front, if one is owed; when none is, the list is
    /// emptied.
    #[inline]
    pub(crate) fn take_next(&mut self) -> Option<Finished> {
        if self.handed == self.list.len() {
            self.empty_if_all_handed();
            return None;
        }
        // SAFETY: `handed < len`: the element is initialized and owed, and
        // `handed` moves past it before anyone can see it again.
        let finished = unsafe { self.list.as_ptr().add(self.handed).read() };
        self.handed += 1;
        Some(finished)
    }
}

impl Drop for FinishedList {
    fn drop(&mut self) {
        let owed = self.len();
        // SAFETY: elements `handed..len` are initialized and owed; the
        // length goes to 0 first, so the `Vec` drops none of the elements,
        // and `drop_in_place` drops each of the owed ones once (going on
        // past one that panics).
        unsafe {
            let rest =
                std::ptr::slice_from_raw_parts_mut(self.list.as_mut_ptr().add(self.handed), owed);
            self.list.set_len(0);
            std::ptr::drop_in_place(rest);
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

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;
    use crate::op::testing::Tracked;

    fn push(list: &mut FinishedList, n: usize, count: &Rc<()>) {
        let op = Tracked {
            _count: count.clone(),
        };
        list.push(Key::new(n, 1), Box::new(op), Cqe::new(n as i32, 0));
    }

    /// Ops alive that were pushed with `count`.
    fn alive(count: &Rc<()>) -> usize {
        Rc::strong_count(count) - 1
    }

    #[test]
    fn ops_come_out_in_order_through_compaction_and_drop_once() {
        let count = Rc::new(());
        let mut list = FinishedList::new();
        for n in 0..3 {
            push(&mut list, n, &count);
        }
        let first = list.take_next().unwrap();
        assert_eq!(first.raw_result(), 0);
        drop(first);
        assert_eq!((list.len(), alive(&count)), (2, 2));
        // Room for many more: the handed-out slot is reclaimed, the owed
        // ones move to the front, in order.
        list.reserve(1000);
        for n in 3..6 {
            push(&mut list, n, &count);
        }
        let order: Vec<i32> = (0..3)
            .map(|_| list.take_next().unwrap().raw_result())
            .collect();
        assert_eq!(order, vec![1, 2, 3]);
        assert_eq!((list.len(), alive(&count)), (2, 2));
        // Dropped with two owed and four handed out: each op once.
        drop(list);
        assert_eq!(alive(&count), 0);
    }

    #[test]
    fn an_emptied_list_keeps_its_allocation() {
        let count = Rc::new(());
        let mut list = FinishedList::new();
        for n in 0..4 {
            push(&mut list, n, &count);
        }
        let capacity = list.list.capacity();
        while list.take_next().is_some() {}
        assert_eq!((list.len(), list.handed, list.list.len()), (0, 0, 0));
        assert_eq!(list.list.capacity(), capacity);
        assert_eq!(alive(&count), 0);
    }
}
