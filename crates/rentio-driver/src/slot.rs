//! The op lifecycle: one slab slot per op in flight.
//!
//! ```text
//!  push ──► Submitted ──CQE──► Completed ──take──► (freed)
//!              │  ▲
//!              │  └── Ready  (readiness backend: fd ready, poll the op again)
//!              │
//!              └── owner dropped ──► Dropped (resources parked) ──last CQE──► (freed)
//! ```
//!
//! A waiting owner's waker sits beside the state. A multishot op lives in
//! `Multi`, queueing completions until one arrives without
//! `IORING_CQE_F_MORE`. A slot is freed only when the kernel owes it no
//! more CQEs (`pending == 0`) *and* its owner has taken the result or gone;
//! until then a dropped op's resources stay parked here.
//!
//! The state itself is `Copy` and what needs dropping (the waker, the rare
//! extras) sits in `Option`s beside it, so moving between states never runs
//! drop glue on the hot path.

use std::collections::VecDeque;
use std::task::Waker;

use io_uring::types::Timespec;

use crate::op::{CQE_F_MORE, Completion, ErasedOp, KernelBox};

/// A completion as the kernel reports it: `res` (negative errno on error)
/// and `flags`. Kept raw in the slab so a slot stays small, and in one
/// `u64` so that it is written and read back with one store and one load
/// (two 4-byte stores read as 8 bytes stall on store forwarding).
#[derive(Clone, Copy)]
pub(crate) struct Cqe(u64);

impl Cqe {
    #[inline]
    pub(crate) fn new(res: i32, flags: u32) -> Cqe {
        Cqe((u64::from(flags) << 32) | u64::from(res as u32))
    }

    /// From its one-word form: `res` in the low half, `flags` in the high.
    #[inline(always)]
    pub(crate) fn from_word(word: u64) -> Cqe {
        Cqe(word)
    }

    /// The result: a count or value, or a negative errno.
    #[inline]
    pub(crate) fn res(self) -> i32 {
        self.0 as u32 as i32
    }

    /// `IORING_CQE_F_*`.
    #[inline]
    pub(crate) fn flags(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// A syscall's result in CQE form. Every error here comes from the
    /// kernel, so it has an errno; anything else becomes `EIO`.
    pub(crate) fn from_result(result: std::io::Result<u32>) -> Cqe {
        let res = match result {
            Ok(n) => i32::try_from(n).unwrap_or(i32::MAX),
            Err(e) => -e.raw_os_error().unwrap_or(libc::EIO),
        };
        Cqe::new(res, 0)
    }

    #[inline]
    pub(crate) fn into_completion(self) -> Completion {
        Completion::from_cqe(self.res(), self.flags())
    }
}

impl std::fmt::Debug for Cqe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cqe")
            .field("res", &self.res())
            .field("flags", &self.flags())
            .finish()
    }
}

/// Where an op stands.
#[derive(Clone, Copy, Debug)]
pub(crate) enum State {
    /// In flight (or waiting for readiness); a waker may sit beside it.
    Submitted,
    /// Readiness backend only: the fd became ready, poll the op again.
    Ready,
    /// The result is in; the owner has not taken it.
    Completed(Cqe),
    /// A multishot op: completions queue up in the extras.
    Multi,
    /// The owner is gone; its resources wait in the extras for the last CQE.
    Dropped,
}

/// What few ops need: boxed, so a slot stays small.
#[derive(Default)]
pub(crate) struct Extra {
    /// The timespec of the op's `LINK_TIMEOUT`, which the kernel reads
    /// when it takes the SQE (an SQ thread may do so while the slab grows
    /// and moves this `Extra`): in a `KernelBox`, which a move never
    /// re-asserts unique access to.
    pub(crate) link_timeout: Option<KernelBox<Timespec>>,
    pub(crate) multi: Option<MultiState>,
}

/// A multishot op's queue of completions.
#[derive(Default)]
pub(crate) struct MultiState {
    pub(crate) queue: VecDeque<Cqe>,
    pub(crate) finished: bool,
    /// Merge a completion into the last one queued (see
    /// `OpCode::coalesces`).
    pub(crate) coalesce: bool,
}

/// One op in the slab.
pub(crate) struct Slot {
    /// The op's generation; 0 marks a vacant slot.
    pub(crate) generation: u32,
    /// Next vacant slot, while this one is vacant.
    pub(crate) next_free: u32,
    /// CQEs the kernel (or the blocking pool) still owes this op.
    pub(crate) pending: u8,
    /// A non-negative result is an fd to close if nobody takes it.
    pub(crate) returns_fd: bool,
    /// Pushed through the low-level face: progress without a waker puts
    /// the key on a ready list.
    pub(crate) notify: Notify,
    pub(crate) state: State,
    pub(crate) waker: Option<Waker>,
    /// The waker this slot's op was last woken with, kept (never woken)
    /// so that the next op in the slot, most often the same task's next
    /// op, can take it instead of cloning its own: a task waker's clone
    /// and drop are an atomic read-modify-write each. Each wake in the
    /// slot replaces it, so it keeps at most one waker (for a task, its
    /// allocation) per slot alive, until the slot's next wake.
    pub(crate) spare: Option<Waker>,
    /// The op itself while the driver holds it: an owned op's (pushed with
    /// `Driver::push`), or a dropped op's parked resources.
    pub(crate) data: Option<Box<dyn ErasedOp>>,
    pub(crate) extra: Option<Box<Extra>>,
}

/// Where a low-level op's progress is reported.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Notify {
    /// Through its waker only (an `Op` future, a `Multi`).
    #[default]
    Waker,
    /// On `Ops::ready`: an `Op` handle pushed with `submit`.
    Handle,
    /// An op the driver owns, pushed with `Driver::push`: once finished it
    /// moves to `Ops::finished` (readiness: when its fd is ready, its key
    /// goes on `Ops::owned` so `completions` runs its syscall).
    Owned,
}

impl Slot {
    #[inline]
    pub(crate) fn new(generation: u32, returns_fd: bool, pending: u8, notify: Notify) -> Slot {
        Slot {
            generation,
            next_free: 0,
            pending,
            returns_fd,
            notify,
            state: State::Submitted,
            waker: None,
            spare: None,
            data: None,
            extra: None,
        }
    }

    pub(crate) fn extra(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    /// Turns the slot into a multishot one; `coalesce` merges completions
    /// queued unseen (see `OpCode::coalesces`).
    pub(crate) fn set_multi(&mut self, coalesce: bool) {
        self.state = State::Multi;
        self.extra().multi = Some(MultiState {
            coalesce,
            ..MultiState::default()
        });
    }

    pub(crate) fn multi(&mut self) -> Option<&mut MultiState> {
        match self.state {
            State::Multi => self.extra.as_mut()?.multi.as_mut(),
            _ => None,
        }
    }

    /// Whether the slot can be freed: nothing owed and no owner.
    #[inline]
    pub(crate) fn is_finished(&self) -> bool {
        self.pending == 0 && matches!(self.state, State::Dropped)
    }

    /// Records a completion and says what to do about it.
    #[inline]
    pub(crate) fn transition_to_completed(&mut self, cqe: Cqe) -> CompleteAction {
        match self.state {
            State::Submitted | State::Ready => {
                self.state = State::Completed(cqe);
                match self.waker.take() {
                    Some(waker) => CompleteAction::Wake(waker),
                    None => self.notify_action(),
                }
            }
            State::Multi => {
                if let Some(multi) = self.multi() {
                    let more = cqe.flags() & CQE_F_MORE != 0;
                    multi.finished |= !more;
                    match multi.queue.back_mut() {
                        // Two readiness edges unseen say no more than one.
                        Some(last)
                            if multi.coalesce
                                && more
                                && last.flags() & CQE_F_MORE != 0
                                && last.res() >= 0
                                && cqe.res() >= 0 =>
                        {
                            *last = Cqe::new(last.res() | cqe.res(), last.flags());
                        }
                        _ => multi.queue.push_back(cqe),
                    }
                }
                // Keep the waker: more completions will come for it.
                match &self.waker {
                    Some(waker) => CompleteAction::Wake(waker.clone()),
                    None => self.notify_action(),
                }
            }
            State::Dropped if self.returns_fd && cqe.res() >= 0 => {
                CompleteAction::CloseFd(cqe.res())
            }
            State::Dropped | State::Completed(_) => CompleteAction::Nothing,
        }
    }

    #[inline]
    fn notify_action(&self) -> CompleteAction {
        match self.notify {
            Notify::Waker => CompleteAction::Nothing,
            Notify::Handle => CompleteAction::Notify,
            Notify::Owned => CompleteAction::NotifyOwned,
        }
    }

    /// Readiness backend: the fd is ready; the owner should try again.
    pub(crate) fn transition_to_ready(&mut self) -> CompleteAction {
        match self.state {
            State::Submitted | State::Ready => {
                self.state = State::Ready;
                match self.waker.take() {
                    Some(waker) => CompleteAction::Wake(waker),
                    None => self.notify_action(),
                }
            }
            _ => CompleteAction::Nothing,
        }
    }

    /// Stores the owner's waker unless an equivalent one is there.
    #[inline]
    pub(crate) fn set_waker(&mut self, waker: &Waker) {
        if matches!(self.state, State::Completed(_) | State::Dropped) {
            return;
        }
        match &self.waker {
            Some(w) if w.will_wake(waker) => {}
            _ => {
                self.waker = match self.spare.take() {
                    Some(spare) if spare.will_wake(waker) => Some(spare),
                    spare => {
                        // Put back: a spare is dropped when the slot's next
                        // wake replaces it (outside the driver's borrow,
                        // see `Slots::keep_spare`) or with the driver.
                        self.spare = spare;
                        Some(waker.clone())
                    }
                };
            }
        }
    }
}

/// What the driver does after a slot changed.
#[must_use]
pub(crate) enum CompleteAction {
    /// Wake the owner's task.
    Wake(Waker),
    /// An `Op` handle with no waker: put the key on the ready list.
    Notify,
    /// An owned op made progress: finished, it moves to `Ops::finished`;
    /// ready (readiness backend), its key goes on `Ops::owned`.
    NotifyOwned,
    /// A dropped op produced an fd: close it.
    CloseFd(i32),
    /// Nothing to do.
    Nothing,
}
