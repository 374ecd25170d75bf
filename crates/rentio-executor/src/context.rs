//! The thread's current runtime: where `spawn` puts tasks and where a wake
//! from the owning runtime goes.

use std::cell::RefCell;
use std::rc::Rc;

use crate::remote::TaskRefPool;
use crate::scheduler::Shared;
use crate::task::raw::TaskRef;

thread_local! {
    static CURRENT: RefCell<Option<Rc<Shared>>> = const { RefCell::new(None) };
    static DRIVER: RefCell<Option<rentio_driver::Driver>> = const { RefCell::new(None) };
}

/// Restores the previous runtime context when dropped.
pub(crate) struct EnterGuard {
    previous: Option<Rc<Shared>>,
    previous_driver: Option<rentio_driver::Driver>,
}

/// Makes `shared` (with its IO driver) the current runtime of this thread.
pub(crate) fn enter(shared: Rc<Shared>, driver: &rentio_driver::Driver) -> EnterGuard {
    let previous = CURRENT.with(|c| c.borrow_mut().replace(shared));
    let previous_driver = DRIVER.with(|d| d.borrow_mut().replace(driver.clone()));
    EnterGuard {
        previous,
        previous_driver,
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let previous_driver = self.previous_driver.take();
        // `try_with`: this may run while the thread's locals are torn down.
        let old = CURRENT.try_with(|c| std::mem::replace(&mut *c.borrow_mut(), previous));
        drop(old);
        let old = DRIVER.try_with(|d| std::mem::replace(&mut *d.borrow_mut(), previous_driver));
        drop(old);
    }
}

/// The IO driver of the runtime current on this thread.
///
/// # Errors
///
/// Outside a runtime (`Runtime::block_on` or one of its tasks).
pub fn current_driver() -> std::io::Result<rentio_driver::Driver> {
    DRIVER
        .try_with(|d| d.borrow().clone())
        .ok()
        .flatten()
        .ok_or_else(|| {
            std::io::Error::other(
                "rentio: no runtime on this thread (use IO inside Runtime::block_on or a task)",
            )
        })
}

/// Runs `f` with the current runtime, if any, without cloning its handle.
pub(crate) fn with_current<R>(f: impl FnOnce(&Shared) -> R) -> Option<R> {
    CURRENT
        .try_with(|c| c.borrow().as_deref().map(f))
        .ok()
        .flatten()
}

/// The current runtime, if any.
/// Runs `f` on the current runtime's task reference pool (owner thread,
/// runtime alive), if there is one.
#[inline]
pub(crate) fn with_task_ref_pool<R>(f: impl FnOnce(&TaskRefPool) -> R) -> Option<R> {
    CURRENT
        .try_with(|c| {
            let current = c.try_borrow().ok()?;
            current.as_deref().map(|shared| f(&shared.task_refs))
        })
        .ok()
        .flatten()
}

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
            // The push may drop the task (closed inbox), and its reference
            // to the inbox with it.
            let remote = task.header().remote.to_arc();
            remote.push(task);
        }
    }
}
