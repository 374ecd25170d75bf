#![doc = include_str!("../README.md")]

mod aligned;
mod impls;
mod io_buf;
mod io_buf_mut;
mod io_vec;
mod slice;
mod slice_mut;

pub use aligned::AlignedBuf;
pub use io_buf::IoBuf;
pub use io_buf_mut::IoBufMut;
pub use io_vec::{IoVecBuf, IoVecBufMut};
pub use slice::Slice;
pub use slice_mut::SliceMut;

/// The result of a rented IO operation: the outcome and the buffer, given back
/// whether the operation succeeded or failed.
///
/// # Examples
///
/// ```
/// use rentio_buf::BufResult;
///
/// fn pretend_write(buf: Vec<u8>) -> BufResult<usize, Vec<u8>> {
///     let n = buf.len();
///     (Ok(n), buf)
/// }
///
/// # fn main() -> std::io::Result<()> {
/// let (res, buf) = pretend_write(b"hello".to_vec());
/// assert_eq!(res?, 5);
/// assert_eq!(buf, b"hello");
/// # Ok(())
/// # }
/// ```
pub type BufResult<T, B> = (std::io::Result<T>, B);
