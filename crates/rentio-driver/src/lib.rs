#![doc = include_str!("../README.md")]

mod addr;
mod buf_ring;
mod builder;
mod cause;
pub mod coop;
mod driver;
mod feature;
mod fixed_buf;
mod future;
mod key;
mod lean;
pub mod op;
mod ops;
mod poll;
mod pool;
mod slot;
mod slots;
pub mod sys;
mod unpark;
mod uring;

pub use addr::SockAddr;
pub use buf_ring::{BufRing, MAX_BUFFERS, RingBuf};
pub use builder::{Backend, BackendChoice, Builder, SetupFlags, resolve_choice};
pub use cause::UringUnavailable;
pub use driver::{Batch, Driver, Finished};
pub use feature::Feature;
pub use fixed_buf::{FixedBuf, FixedBufPool, MAX_FIXED_BUFFERS};
pub use future::{Multi, Op};
pub use key::Key;
pub use op::{Completion, Interest, OpCode, Readiness};
pub use ops::Stats;
pub use poll::Reactor;
pub use pool::{Pool, PoolConfig};
pub use rentio_buf as buf;
pub use unpark::Unparker;
