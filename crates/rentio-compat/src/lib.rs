#![doc = include_str!("../README.md")]
// One unsafe spot: poll-io reads into tokio's uninitialized `ReadBuf`
// (`PollIo::poll_read`), as tokio's own sockets do.
#![deny(unsafe_code)]

mod copy;
#[cfg(feature = "hyper")]
pub mod hyper;
mod poll_io;

pub use copy::{Compat, DEFAULT_CAPACITY};
pub use poll_io::{
    IntoPollIo, PollIo, PollReadHalf, PollStream, PollWriteHalf, ReuniteError, TcpStreamPoll,
    UnixStreamPoll, tokio_io,
};
