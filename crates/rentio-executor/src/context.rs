//! The thread's current runtime: where `spawn` puts tasks and where a wake
//! from the owning runtime goes.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::remote::TaskRefPool;
use crate::scheduler::Shared;
use crate::task::raw::TaskRef;

thread_local! {
    static CURRENT: RefCell<Option<Rc<Shared>>> = const { RefCell::new(None) };
    /// The `Shared` in `CURRENT`, as a plain pointer for the hot paths
    /// (spawn, a local wake, a task freed): a const local without a
    /// destructor is one load, with no lazy-init or borrow check. It is
    /// set and cleared together with `CURRENT`, whose `Rc` keeps it alive.
    static SHARED: Cell<*const Shared> = const { Cell::new(std::ptr::null()) };
    static DRIVER: RefCell<Option<rentio_driver::Driver>> = const { RefCell::new(None) };
}

/// Restores the previous runtime context when dropped.
pub(crate) struct EnterGuard {
    previous: Option<Rc<Shared>>,
    previous_driver: Option<rentio_driver::Driver>,
}

/// Makes `shared` (with its IO driver) the current runtime of this thread.
pub(crate) fn enter(shared: Rc<Shared>, driver: &rentio_driver::Driver) -> EnterGuard {
    let ptr = Rc::as_ptr(&shared);
    let previous = CURRENT.with(|c| c.borrow_mut().replace(shared));
    SHARED.set(ptr);
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
        let ptr = previous.as_ref().map_or(std::ptr::null(), Rc::as_ptr);
        let old = CURRENT.try_with(|c| std::mem::replace(&mut *c.borrow_mut(), previous));
        SHARED.set(ptr);
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
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&Shared) -> R) -> Option<R> {
    let shared = SHARED.get();
    // SAFETY: a non-null pointer is the `Shared` whose `Rc` is in
    // `CURRENT`. `f` may enter another runtime, but the guard of that keeps
    // this `Rc` until it puts it back, so the `Shared` outlives `f`.
    (!shared.is_null()).then(|| f(unsafe { &*shared }))
}

/// Runs `f` on the current runtime's task reference pool (owner thread,
/// runtime alive), if there is one.
#[inline]
pub(crate) fn with_task_ref_pool<R>(f: impl FnOnce(&TaskRefPool) -> R) -> Option<R> {
    with_current(|shared| f(&shared.task_refs))
}

/// The current runtime, if any.
pub(crate) fn current() -> Option<Rc<Shared>> {
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}

/// Queues a woken task: locally if its runtime is the current one on this
/// thread, else through its runtime's inbox.
pub(crate) fn push(task: TaskRef) {
    let id = task.header().remote.id;
    let mut task = Some(task);
    with_current(|shared| {
        if shared.id == id
            && let Some(task) = task.take()
        {
            shared.push_local(task);
        }
    });
    if let Some(task) = task {
        // The push may drop the task (closed inbox), and its reference to
        // the inbox with it.
        let remote = task.header().remote.to_arc();
        remote.push(task);
    }
}
