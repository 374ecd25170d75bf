//! The task state word: flag bits and a reference count in one atomic.
//!
//! Every transition is one read-modify-write, so a waker on another thread
//! and the owner never disagree about who queues, who polls and who owns
//! the output. See `task/mod.rs` for the meaning of each bit.

use crate::loom::{AtomicUsize, Ordering};

/// Queued (locally or in the owner's inbox), or asked to requeue while
/// running. At most one queue entry exists per task.
pub(crate) const SCHEDULED: usize = 1 << 0;
/// Being polled by the owner.
pub(crate) const RUNNING: usize = 1 << 1;
/// The future is gone: its output (or the panic, or the cancellation) is
/// stored, or was already consumed.
pub(crate) const COMPLETE: usize = 1 << 2;
/// `abort()` was called (or the runtime is shutting down).
pub(crate) const CANCELLED: usize = 1 << 3;
/// A `JoinHandle` exists: the output is kept for it.
pub(crate) const JOIN_HANDLE: usize = 1 << 4;
/// The join handle stored a waker in the header: completion must wake it.
pub(crate) const JOIN_WAKER: usize = 1 << 5;
/// One reference.
pub(crate) const REF_ONE: usize = 1 << 6;
const _: () = assert!(JOIN_WAKER < REF_ONE);
const REF_MASK: usize = !(REF_ONE - 1);

/// The state word.
pub(crate) struct State(AtomicUsize);

/// What a waker must do after marking the task scheduled.
#[must_use]
pub(crate) enum TransitionToScheduled {
    /// Push the task to a queue; the transition took a reference for it.
    Push,
    /// Nothing: queued already, running (the runner requeues it), or done.
    Nothing,
}

/// What the runner does with a task it popped.
#[must_use]
pub(crate) enum TransitionToRunning {
    /// Poll it.
    Poll,
    /// Drop its future: it was cancelled.
    Cancel,
    /// It is complete already: just drop the queue's reference.
    Done,
}

/// What the runner does after a poll returned `Pending`.
#[must_use]
pub(crate) enum TransitionToIdle {
    /// Woken while running: requeue it with the queue's reference.
    Requeue,
    /// Drop the queue's reference; a waker will queue it again.
    Idle,
}

impl State {
    /// A new task: scheduled once, with references for the queue entry,
    /// the owned list and the join handle.
    #[inline]
    pub(crate) fn new() -> State {
        State(AtomicUsize::new(SCHEDULED | JOIN_HANDLE | (3 * REF_ONE)))
    }

    #[inline]
    pub(crate) fn load(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }

    #[inline]
    pub(crate) fn transition_to_scheduled(&self) -> TransitionToScheduled {
        let mut cur = self.0.load(Ordering::Acquire);
        loop {
            let next = if cur & (COMPLETE | SCHEDULED) != 0 {
                return TransitionToScheduled::Nothing;
            } else if cur & RUNNING != 0 {
                cur | SCHEDULED
            } else {
                (cur | SCHEDULED) + REF_ONE
            };
            match self
                .0
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) if cur & RUNNING != 0 => return TransitionToScheduled::Nothing,
                Ok(_) => return TransitionToScheduled::Push,
                Err(actual) => cur = actual,
            }
        }
    }

    #[inline]
    pub(crate) fn transition_to_running(&self) -> TransitionToRunning {
        let mut cur = self.0.load(Ordering::Acquire);
        loop {
            if cur & COMPLETE != 0 {
                return TransitionToRunning::Done;
            }
            let next = (cur & !SCHEDULED) | RUNNING;
            match self
                .0
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) if cur & CANCELLED != 0 => return TransitionToRunning::Cancel,
                Ok(_) => return TransitionToRunning::Poll,
                Err(actual) => cur = actual,
            }
        }
    }

    #[inline]
    pub(crate) fn transition_to_idle(&self) -> TransitionToIdle {
        let prev = self.0.fetch_and(!RUNNING, Ordering::AcqRel);
        if prev & SCHEDULED != 0 {
            TransitionToIdle::Requeue
        } else {
            TransitionToIdle::Idle
        }
    }

    /// Marks the task complete (the output is stored). Returns the state
    /// before: `JOIN_HANDLE` says whether a join handle still wants the
    /// output (if not, the caller drops it); `JOIN_WAKER` whether its waker
    /// must be woken.
    #[inline]
    pub(crate) fn transition_to_complete(&self) -> usize {
        let prev = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                Some((s | COMPLETE) & !(RUNNING | SCHEDULED))
            });
        match prev {
            Ok(p) | Err(p) => p,
        }
    }

    /// Marks the task complete, as [`State::transition_to_complete`], and
    /// when nothing else is owed to it (a join handle wants the output and
    /// has stored no waker to wake) drops the runner's `n` references in
    /// the same read-modify-write. Returns the state before; the
    /// references were dropped exactly when `prev & (JOIN_HANDLE |
    /// JOIN_WAKER) == JOIN_HANDLE` (the join handle's own reference keeps
    /// the task alive).
    #[inline]
    pub(crate) fn transition_to_complete_and_release(&self, n: usize) -> usize {
        let mut cur = self.0.load(Ordering::Acquire);
        loop {
            let mut next = (cur | COMPLETE) & !(RUNNING | SCHEDULED);
            if cur & (JOIN_HANDLE | JOIN_WAKER) == JOIN_HANDLE {
                debug_assert!(cur & REF_MASK > n * REF_ONE, "the join handle's reference");
                next -= n * REF_ONE;
            }
            match self
                .0
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return cur,
                Err(actual) => cur = actual,
            }
        }
    }

    /// The join handle stored a waker in the header (`JOIN_WAKER` was
    /// clear, so the field was its alone) and publishes it for completion
    /// to wake. `Err(state)` if the task completed first: the field stays
    /// the handle's, and the handle takes the output instead.
    #[inline]
    pub(crate) fn set_join_waker(&self) -> Result<usize, usize> {
        let mut cur = self.0.load(Ordering::Acquire);
        loop {
            if cur & COMPLETE != 0 {
                return Err(cur);
            }
            debug_assert!(cur & JOIN_WAKER == 0, "the join waker is published twice");
            match self.0.compare_exchange_weak(
                cur,
                cur | JOIN_WAKER,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(cur),
                Err(actual) => cur = actual,
            }
        }
    }

    /// The join handle takes its published waker back to replace it.
    /// `Err(state)` if the task completed first: completion then owns
    /// reading the field (it wakes the waker and hands the field back).
    #[inline]
    pub(crate) fn unset_join_waker(&self) -> Result<usize, usize> {
        let mut cur = self.0.load(Ordering::Acquire);
        loop {
            if cur & COMPLETE != 0 {
                return Err(cur);
            }
            debug_assert!(cur & JOIN_WAKER != 0, "no join waker to take back");
            match self.0.compare_exchange_weak(
                cur,
                cur & !JOIN_WAKER,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(cur),
                Err(actual) => cur = actual,
            }
        }
    }

    /// Completion woke the published join waker and hands the field back.
    /// Returns the state before: without `JOIN_HANDLE` the handle is gone
    /// and the caller drops the waker.
    #[inline]
    pub(crate) fn unset_join_waker_after_complete(&self) -> usize {
        let prev = self.0.fetch_and(!JOIN_WAKER, Ordering::AcqRel);
        debug_assert!(prev & (COMPLETE | JOIN_WAKER) == COMPLETE | JOIN_WAKER);
        prev
    }

    /// Asks for cancellation; `true` if the task must be scheduled so the
    /// owner sees it (it was neither complete nor cancelled).
    #[inline]
    pub(crate) fn transition_to_cancelled(&self) -> bool {
        let prev = self.0.fetch_or(CANCELLED, Ordering::AcqRel);
        prev & (COMPLETE | CANCELLED) == 0
    }

    /// The join handle is gone without taking the output: clears
    /// `JOIN_HANDLE`, and `JOIN_WAKER` too unless the task is complete
    /// (completion owns reading a published waker). Returns the state
    /// before: with `COMPLETE` the output is the handle's to drop; the
    /// join waker field is the handle's to drop unless both `COMPLETE` and
    /// `JOIN_WAKER` were set.
    #[inline]
    pub(crate) fn drop_join_handle(&self) -> usize {
        let mut cur = self.0.load(Ordering::Acquire);
        loop {
            let mut next = cur & !JOIN_HANDLE;
            if cur & COMPLETE == 0 {
                next &= !JOIN_WAKER;
            }
            match self
                .0
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return cur,
                Err(actual) => cur = actual,
            }
        }
    }

    /// The join handle goes, its output already taken: clears
    /// `JOIN_HANDLE` and drops the handle's reference in one
    /// read-modify-write. `true` if that was the last reference.
    #[inline]
    pub(crate) fn drop_join_handle_and_ref(&self) -> bool {
        // JOIN_HANDLE is set for as long as the handle lives, so
        // subtracting it clears the bit without borrowing.
        let prev = self.0.fetch_sub(JOIN_HANDLE + REF_ONE, Ordering::AcqRel);
        debug_assert!(prev & JOIN_HANDLE != 0, "no join handle to drop");
        debug_assert!(prev & REF_MASK >= REF_ONE, "task reference count underflow");
        prev & REF_MASK == REF_ONE
    }

    #[inline]
    pub(crate) fn ref_inc(&self) {
        let prev = self.0.fetch_add(REF_ONE, Ordering::Relaxed);
        if prev & REF_MASK == REF_MASK {
            std::process::abort();
        }
    }

    /// Drops `n` references; `true` if they were the last.
    #[inline]
    pub(crate) fn ref_dec_n(&self, n: usize) -> bool {
        let prev = self.0.fetch_sub(n * REF_ONE, Ordering::AcqRel);
        debug_assert!(
            prev & REF_MASK >= n * REF_ONE,
            "task reference count underflow"
        );
        prev & REF_MASK == n * REF_ONE
    }

    /// Drops a reference; `true` if it was the last.
    #[inline]
    pub(crate) fn ref_dec(&self) -> bool {
        let prev = self.0.fetch_sub(REF_ONE, Ordering::AcqRel);
        debug_assert!(prev & REF_MASK >= REF_ONE, "task reference count underflow");
        prev & REF_MASK == REF_ONE
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_new_task_is_scheduled_with_three_references() {
        let s = State::new();
        assert!(matches!(
            s.transition_to_scheduled(),
            TransitionToScheduled::Nothing
        ));
        assert!(matches!(
            s.transition_to_running(),
            TransitionToRunning::Poll
        ));
        // A wake while running asks for a requeue without a new reference.
        assert!(matches!(
            s.transition_to_scheduled(),
            TransitionToScheduled::Nothing
        ));
        assert!(matches!(s.transition_to_idle(), TransitionToIdle::Requeue));
        assert!(matches!(
            s.transition_to_running(),
            TransitionToRunning::Poll
        ));
        assert!(matches!(s.transition_to_idle(), TransitionToIdle::Idle));
        // Idle: a wake takes a reference and pushes.
        assert!(matches!(
            s.transition_to_scheduled(),
            TransitionToScheduled::Push
        ));
        assert_eq!(s.load() & REF_MASK, 4 * REF_ONE);
    }

    #[test]
    fn output_ownership_goes_to_exactly_one_side() {
        // Handle dropped first: the owner drops the output.
        let s = State::new();
        assert_eq!(s.drop_join_handle() & COMPLETE, 0);
        assert_eq!(s.transition_to_complete() & JOIN_HANDLE, 0);
        // Completed first: the handle drops it.
        let s = State::new();
        assert_ne!(s.transition_to_complete() & JOIN_HANDLE, 0);
        assert_ne!(s.drop_join_handle() & COMPLETE, 0);
    }

    #[test]
    fn cancel_schedules_once_and_never_after_completion() {
        let s = State::new();
        assert!(s.transition_to_cancelled());
        assert!(!s.transition_to_cancelled());
        assert!(matches!(
            s.transition_to_running(),
            TransitionToRunning::Cancel
        ));
        let s = State::new();
        let _ = s.transition_to_complete();
        assert!(!s.transition_to_cancelled());
        assert!(matches!(
            s.transition_to_running(),
            TransitionToRunning::Done
        ));
    }

    #[test]
    fn a_taken_join_handle_lets_go_of_its_bit_and_reference_at_once() {
        let s = State::new();
        assert!(!s.drop_join_handle_and_ref(), "two references remain");
        assert_eq!(s.load() & JOIN_HANDLE, 0, "the bit is cleared");
        assert_eq!(s.load() & SCHEDULED, SCHEDULED, "other bits untouched");
        assert!(!s.ref_dec());
        assert!(s.ref_dec(), "the third reference was the last");
    }

    #[test]
    fn completion_releases_the_runner_only_when_nothing_is_owed() {
        // A join handle waiting with no waker: released in the same step.
        let s = State::new();
        assert!(matches!(
            s.transition_to_running(),
            TransitionToRunning::Poll
        ));
        let prev = s.transition_to_complete_and_release(2);
        assert_eq!(prev & (JOIN_HANDLE | JOIN_WAKER), JOIN_HANDLE);
        assert_ne!(s.load() & COMPLETE, 0);
        assert_eq!(s.load() & (RUNNING | SCHEDULED), 0);
        assert!(s.ref_dec(), "only the join handle's reference is left");

        // A stored join waker must be woken first: nothing is released.
        let s = State::new();
        assert!(matches!(
            s.transition_to_running(),
            TransitionToRunning::Poll
        ));
        assert!(s.set_join_waker().is_ok());
        let prev = s.transition_to_complete_and_release(2);
        assert_ne!(prev & JOIN_WAKER, 0);
        assert!(!s.ref_dec_n(2), "the join handle still holds one");
        assert!(s.ref_dec());

        // No join handle: the output must be dropped first.
        let s = State::new();
        assert!(!s.drop_join_handle_and_ref());
        assert!(matches!(
            s.transition_to_running(),
            TransitionToRunning::Poll
        ));
        let prev = s.transition_to_complete_and_release(2);
        assert_eq!(prev & JOIN_HANDLE, 0);
        assert!(s.ref_dec_n(2), "the runner's two were the last");
    }

    #[test]
    fn the_join_waker_field_has_one_owner_at_a_time() {
        // Published before completion: completion wakes it and hands it
        // back; the handle can no longer take it back itself.
        let s = State::new();
        assert!(s.set_join_waker().is_ok());
        assert!(s.unset_join_waker().is_ok(), "taken back to replace it");
        assert!(s.set_join_waker().is_ok());
        let prev = s.transition_to_complete();
        assert_ne!(prev & JOIN_WAKER, 0, "completion wakes it");
        assert!(s.unset_join_waker().is_err(), "complete: not the handle's");
        assert!(s.set_join_waker().is_err());
        let prev = s.unset_join_waker_after_complete();
        assert_ne!(prev & JOIN_HANDLE, 0, "handed back to the live handle");
        assert_eq!(s.load() & JOIN_WAKER, 0);

        // A handle dropped before completion takes its waker back with it.
        let s = State::new();
        assert!(s.set_join_waker().is_ok());
        let prev = s.drop_join_handle();
        assert_eq!(prev & COMPLETE, 0);
        assert_eq!(s.load() & (JOIN_HANDLE | JOIN_WAKER), 0);

        // Dropped after completion, while completion still holds the
        // waker: the bit stays, and completion drops the waker.
        let s = State::new();
        assert!(s.set_join_waker().is_ok());
        let _ = s.transition_to_complete();
        let prev = s.drop_join_handle();
        assert_ne!(prev & (COMPLETE | JOIN_WAKER), 0);
        assert_ne!(s.load() & JOIN_WAKER, 0);
        assert_eq!(s.unset_join_waker_after_complete() & JOIN_HANDLE, 0);
    }
}
