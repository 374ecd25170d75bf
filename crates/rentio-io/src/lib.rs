#![doc = include_str!("../README.md")]

mod advance;
mod buf_read;
mod buf_reader;
mod buf_writer;
mod copy;
mod error;
mod impls;
mod lines;
mod mem;
mod read_ext;
mod traits;
mod write_ext;

pub use rentio_buf as buf;

pub use buf_read::{AsyncBufRead, AsyncBufReadExt};
pub use buf_reader::BufReader;
pub use buf_writer::BufWriter;
pub use copy::copy;
pub use lines::Lines;
pub use read_ext::AsyncReadRentExt;
pub use traits::{AsyncReadRent, AsyncReadRentAt, AsyncWriteRent, AsyncWriteRentAt};
pub use write_ext::AsyncWriteRentExt;
