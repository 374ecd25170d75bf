//! Tasks: one allocation per spawn, a state word, wakers sound from any
//! thread.
//!
//! # Design
//!
//! A task is one heap allocation (`raw`): a *header* that any thread may
//! touch — the state word, a vtable, a counted reference to the owning
//! runtime's inbox (taken from the owner's stock, see
//! `remote::TaskRefPool`), the join handle's waker, the owned-list links:
//! all `Send` data — followed by the *stage*, a union of the future (while
//! it runs) and its output (once complete), which of the two being the
//! state's to say. Only the owner thread touches the stage while the
//! future lives; once the task is complete, whoever the state says owns the
//! output (the owner, or the `JoinHandle`) takes or drops it, once.
//!
//! References are counted in the state word. A new task starts with three:
//! its entry in the run queue, its entry in the owner's owned-task list,
//! and its `JoinHandle`. Every waker and every further queue entry holds
//! one more. The owned list lets go only after the owner dropped the
//! future (completion, cancellation or runtime shutdown), so the last
//! reference — which may be a waker dropped on any thread — never drops a
//! `!Send` future elsewhere: it frees a consumed stage and a `Send` header.
//!
//! # State bits (`state`)
//!
//! | bit         | meaning                                                     |
//! |-------------|-------------------------------------------------------------|
//! | SCHEDULED   | in a run queue or inbox (at most one entry), or asked to requeue while RUNNING |
//! | RUNNING     | the owner is polling it                                     |
//! | COMPLETE    | the future is gone; the output (or panic, or cancellation) is stored or consumed |
//! | CANCELLED   | `abort()` was called or the runtime shuts down              |
//! | JOIN_HANDLE | a `JoinHandle` exists and the output is kept for it         |
//! | JOIN_WAKER  | the join handle published its waker in the header (see below) |
//! | refcount    | the bits above bit 5                                        |
//!
//! # Transitions
//!
//! - *wake* (any thread): not SCHEDULED or COMPLETE → set SCHEDULED; if not
//!   RUNNING also take a reference and push the task: to the local run
//!   queue when the wake comes from the owning runtime (checked by runtime
//!   id, not by thread), else to the owner's inbox, which rings the
//!   driver's unparker (a no-op unless the owner is parked).
//! - *run* (owner): clear SCHEDULED, set RUNNING; poll (or, if CANCELLED,
//!   drop the future). `Pending`: clear RUNNING and requeue if a wake came
//!   during the poll. `Ready`: store the output, set COMPLETE; if no
//!   JOIN_HANDLE, drop the output at once; wake the join waker; leave the
//!   owned list.
//! - *join handle polled* (any thread, not COMPLETE): with JOIN_WAKER
//!   clear the waker field is the handle's: it stores its waker and sets
//!   JOIN_WAKER unless COMPLETE came first; to replace a published waker
//!   it clears the bit first (again unless COMPLETE). After COMPLETE the
//!   owner wakes a published waker, then clears the bit, handing the field
//!   back, or drops the waker if the handle is gone (tokio's protocol).
//!   Once it has the output the handle lets go of the task at once.
//! - *join handle dropped* (any thread): clear JOIN_HANDLE (and JOIN_WAKER
//!   too before COMPLETE); if COMPLETE was already set, the handle drops
//!   the output. Exactly one side does.
//! - *abort* (any thread): set CANCELLED; if the task was neither complete
//!   nor cancelled, wake it so the owner drops the future.

pub(crate) mod join;
pub(crate) mod raw;
pub(crate) mod state;
pub(crate) mod waker;

pub use join::{JoinError, JoinHandle};
