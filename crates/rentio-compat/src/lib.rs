#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod copy;

pub use copy::{Compat, DEFAULT_CAPACITY};
