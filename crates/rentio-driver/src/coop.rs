//! Cooperative scheduling budget.
//!
//! An executor gives each task poll a budget ([`with_budget`]); every op
//! future polled within it spends one unit ([`poll_proceed`]). When the
//! budget runs out, ops answer `Pending` (after waking the task), so a task
//! whose IO is always ready — a hot connection on the readiness backend,
//! where a ready recv completes inside its first poll — still yields and
//! cannot starve the other tasks, IO or timers. Outside [`with_budget`]
//! (a custom event loop) nothing is limited.

use std::cell::Cell;
use std::task::{Context, Poll};

thread_local! {
    static BUDGET: Cell<Option<u16>> = const { Cell::new(None) };
}

/// The budget a task poll gets by default (tokio uses 128 too).
pub const DEFAULT_BUDGET: u16 = 128;

/// Runs `f` (one task poll) with `budget` units, restoring the previous
/// budget afterwards, even if `f` panics.
pub fn with_budget<R>(budget: u16, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<u16>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = BUDGET.try_with(|b| b.set(self.0));
        }
    }
    let previous = BUDGET.with(|b| b.replace(Some(budget)));
    let _restore = Restore(previous);
    f()
}

/// Gives the next task poll a fresh budget (`None`: unlimited). A cheaper
/// form of [`with_budget`] for an executor's run loop, which sets `None`
/// again when the loop ends.
#[inline]
pub fn set(budget: Option<u16>) {
    let _ = BUDGET.try_with(|b| b.set(budget));
}

/// Spends one unit of the current budget. `Pending` (with the task woken
/// to run again later) when the budget is spent.
#[inline]
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    let spent = BUDGET
        .try_with(|b| match b.get() {
            Some(0) => true,
            Some(n) => {
                b.set(Some(n - 1));
                false
            }
            None => false,
        })
        .unwrap_or(false);
    if spent {
        cx.waker().wake_by_ref();
        Poll::Pending
    } else {
        Poll::Ready(())
    }
}

/// The budget left in the current task poll (`None`: unlimited).
pub fn remaining() -> Option<u16> {
    BUDGET.try_with(Cell::get).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_runs_out_and_is_restored() {
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert_eq!(remaining(), None);
        with_budget(2, || {
            assert!(poll_proceed(&mut cx).is_ready());
            assert!(poll_proceed(&mut cx).is_ready());
            assert!(poll_proceed(&mut cx).is_pending());
            with_budget(1, || assert_eq!(remaining(), Some(1)));
            assert_eq!(remaining(), Some(0));
        });
        assert_eq!(remaining(), None);
        assert!(
            poll_proceed(&mut cx).is_ready(),
            "unlimited outside a task poll"
        );
    }
}
