//! The thread's current runtime: where `spawn` puts tasks and where a wake
//! from the owning runtime goes.

use std::cell::RefCell;
use std::rc::Rc;

use crate::scheduler::Shared;
use crate::task::raw::TaskRef;

thread_local! {
    static CURRENT: RefCell<Option<Rc<Shared>>> = const { RefCell::new(None) };
}

/// Restores the previous runtime context when dropped.
pub(crate) struct EnterGuard {
    previous: Option<Rc<Shared>>,
}

/// Makes `shared` the current runtime of this thread.
pub(crate) fn enter(shared: Rc<Shared>) -> EnterGuard {
    let previous = CURRENT.with(|c| c.borrow_mut().replace(shared));
    EnterGuard { previous }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // `try_with`: this may run while the thread's locals are torn down.
        let old = CURRENT.try_with(|c| std::mem::replace(&mut *c.borrow_mut(), previous));
        drop(old);
    }
}

/// Runs `f` with the current runtime, if any, without cloning its handle.
pub(crate) fn with_current<R>(f: impl FnOnce(&Shared) -> R) -> Option<R> {
    CURRENT
        .try_with(|c| c.borrow().as_deref().map(f))
        .ok()
        .flatten()
}

/// The current runtime, if any.
pub(crate) fn current() -> Option<Rc<Shared>> {
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}

/// Queues a woken task: locally if its runtime is the current one on this
/// thread, else through its runtime's inbox.
pub(crate) fn push(task: TaskRef) {
    let id = task.header().remote.id;
    let local = CURRENT
        .try_with(|c| match &*c.borrow() {
            Some(shared) if shared.id == id => Some(shared.clone()),
            _ => None,
        })
        .ok()
        .flatten();
    match local {
        Some(shared) => shared.push_local(task),
        None => {
            let remote = task.header().remote.clone();
            remote.push(task);
        }
    }
}
