//! Tasks: one allocation per spawn, a state word, wakers sound from any
//! thread.
//!
//! # Design
//!
//! A task is one heap allocation (`raw`): a *header* that any thread may
//! touch — the state word, a vtable, an `Arc` of the owning runtime's inbox,
//! the join handle's waker, the owned-list key: all `Send` data — followed
//! by the *stage*: the future while it runs, then its output. Only the
//! owner thread touches the stage while the future lives; once the task is
//! complete, whoever the state says owns the output (the owner, or the
//! `JoinHandle`) takes or drops it.
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
//! - *join handle dropped* (any thread): clear JOIN_HANDLE; if COMPLETE
//!   was already set, the handle drops the output. Exactly one side does.
//! - *abort* (any thread): set CANCELLED; if the task was neither complete
//!   nor cancelled, wake it so the owner drops the future.

pub(crate) mod join;
pub(crate) mod raw;
pub(crate) mod state;
pub(crate) mod waker;

pub use join::{JoinError, JoinHandle};
