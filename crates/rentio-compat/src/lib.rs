#![doc = include_str!("../README.md")]
// Two unsafe spots: poll-io reads into tokio's uninitialized `ReadBuf`
// (`PollIo::poll_read_buf`), as tokio's own sockets do, and the copy
// path reuses its op futures' allocation (`reuse`).
#![deny(unsafe_code)]

mod copy;
#[cfg(feature = "hyper")]
pub mod hyper;
mod poll_io;
mod reuse;

pub use copy::{Compat, DEFAULT_CAPACITY};
pub use poll_io::{
    IntoPollIo, PollIo, PollReadHalf, PollStream, PollWriteHalf, ReuniteError, TcpStreamPoll,
    UnixStreamPoll, tokio_io,
};
