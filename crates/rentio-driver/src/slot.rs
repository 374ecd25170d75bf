//! The op lifecycle: one slab slot per op in flight.
//!
//! ```text
//!  push ──► Submitted ──poll──► Waiting(waker) ──CQE──► Completed ──take──► (freed)
//!              │  ▲                  │                                   
//!              │  └──── Ready ◄──────┘  (readiness backend: fd ready, poll again)
//!              │
//!              └── future dropped ──► Dropped(resources) ──final CQE──► (freed)
//! ```
//!
//! A multishot op lives in `Multi`, queueing completions until one arrives
//! without `IORING_CQE_F_MORE`. A slot is freed only when the kernel owes it
//! no more CQEs (`pending == 0`) *and* its owner has taken the result or
//! gone; until then the resources of a dropped op stay here.

use std::any::Any;
use std::collections::VecDeque;
use std::task::Waker;

use io_uring::types::Timespec;

use crate::op::Completion;

/// A completion as the kernel reports it: `res` (negative errno on error)
/// and `flags`. Kept raw in the slab so a slot stays small.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cqe {
    pub(crate) res: i32,
    pub(crate) flags: u32,
}

impl Cqe {
    /// A syscall's result in CQE form. Every error here comes from the
    /// kernel, so it has an errno; anything else becomes `EIO`.
    pub(crate) fn from_result(result: std::io::Result<u32>) -> Cqe {
        let res = match result {
            Ok(n) => i32::try_from(n).unwrap_or(i32::MAX),
            Err(e) => -e.raw_os_error().unwrap_or(libc::EIO),
        };
        Cqe { res, flags: 0 }
    }

    pub(crate) fn into_completion(self) -> Completion {
        Completion::from_cqe(self.res, self.flags)
    }
}

/// A multishot op's queue of completions.
pub(crate) struct MultiState {
    pub(crate) queue: VecDeque<Cqe>,
    pub(crate) waker: Option<Waker>,
    pub(crate) finished: bool,
}

/// Where an op stands.
pub(crate) enum State {
    /// Pushed; nobody waits with a waker (yet).
    Submitted,
    /// Pushed; the owner waits with this waker.
    Waiting(Waker),
    /// Readiness backend only: the fd became ready, poll the op again.
    Ready,
    /// The result is in; the owner has not taken it.
    Completed(Cqe),
    /// A multishot op: completions queue up until the last one (boxed:
    /// rare, and it would triple the size of every slot).
    Multi(Box<MultiState>),
    /// The owner is gone; the op's resources wait for its last CQE.
    Dropped(Option<Box<dyn Any>>),
}

/// One op in the slab.
pub(crate) struct Slot {
    pub(crate) generation: u32,
    pub(crate) state: State,
    /// CQEs the kernel still owes this op (0 on the readiness backend unless
    /// the blocking pool holds it).
    pub(crate) pending: u8,
    /// A non-negative result is an fd to close if nobody takes it.
    pub(crate) returns_fd: bool,
    /// The timespec of the op's `LINK_TIMEOUT`, boxed so it never moves.
    pub(crate) link_timeout: Option<Box<Timespec>>,
}

impl Slot {
    pub(crate) fn new(generation: u32, returns_fd: bool) -> Slot {
        Slot {
            generation,
            state: State::Submitted,
            pending: 0,
            returns_fd,
            link_timeout: None,
        }
    }

    /// Whether the slot can be freed: nothing owed by the kernel and no
    /// owner waiting for it.
    #[inline]
    pub(crate) fn is_finished(&self) -> bool {
        self.pending == 0 && matches!(self.state, State::Dropped(_))
    }

    /// Records a completion; returns the waker to wake, if any.
    ///
    /// For a dropped op the completion is discarded, except that a late fd
    /// is handed back for closing.
    #[inline]
    pub(crate) fn transition_to_completed(&mut self, completion: Cqe) -> CompleteAction {
        match &mut self.state {
            State::Multi(multi) => {
                if completion.flags & crate::op::CQE_F_MORE == 0 {
                    multi.finished = true;
                }
                multi.queue.push_back(completion);
                // Keep the waker: more completions will come for it.
                match &multi.waker {
                    Some(w) => CompleteAction::Wake(w.clone()),
                    None => CompleteAction::Notify,
                }
            }
            State::Dropped(_) if self.returns_fd && completion.res >= 0 => {
                CompleteAction::CloseFd(completion.res)
            }
            State::Dropped(_) => CompleteAction::Nothing,
            State::Completed(_) => CompleteAction::Nothing,
            State::Submitted | State::Ready => {
                self.state = State::Completed(completion);
                CompleteAction::Notify
            }
            State::Waiting(_) => {
                let State::Waiting(waker) =
                    std::mem::replace(&mut self.state, State::Completed(completion))
                else {
                    unreachable!("matched Waiting above")
                };
                CompleteAction::Wake(waker)
            }
        }
    }

    /// Readiness backend: the fd is ready; the owner should try again.
    pub(crate) fn transition_to_ready(&mut self) -> CompleteAction {
        match std::mem::replace(&mut self.state, State::Ready) {
            State::Waiting(waker) => CompleteAction::Wake(waker),
            State::Submitted | State::Ready => CompleteAction::Notify,
            other => {
                self.state = other;
                CompleteAction::Nothing
            }
        }
    }
}

/// What the driver does after a slot changed.
#[must_use]
pub(crate) enum CompleteAction {
    /// Wake the owner's task.
    Wake(Waker),
    /// The owner has no waker: put the key on the ready list.
    Notify,
    /// A dropped op produced an fd: close it.
    CloseFd(i32),
    /// Nothing to do.
    Nothing,
}

/// Stores `waker` in `slot` unless an equivalent one is there.
pub(crate) fn set_waker(state: &mut State, waker: &Waker) {
    match state {
        State::Waiting(w) if w.will_wake(waker) => {}
        State::Multi(multi) => match &multi.waker {
            Some(w) if w.will_wake(waker) => {}
            _ => multi.waker = Some(waker.clone()),
        },
        State::Submitted | State::Waiting(_) | State::Ready => {
            *state = State::Waiting(waker.clone());
        }
        State::Completed(_) | State::Dropped(_) => {}
    }
}
