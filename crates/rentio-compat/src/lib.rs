#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod copy;
#[cfg(feature = "hyper")]
pub mod hyper;
mod poll_io;

pub use copy::{Compat, DEFAULT_CAPACITY};
pub use poll_io::{IntoPollIo, PollIo, PollStream, TcpStreamPoll, UnixStreamPoll, tokio_io};
