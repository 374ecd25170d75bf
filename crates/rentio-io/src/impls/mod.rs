//! The rent traits for std types and the forwarding impls.
//!
//! The in-memory impls do their work when first polled and are ready at
//! once; they never return `Pending`.

mod cursor;
mod forward;
mod slice;
mod vec;
