//! `Vec<u8>`: a writer that appends, and a file-like store for positional
//! reads and writes.

use std::future::Future;
use std::io;

use rentio_buf::{BufResult, IoBuf, IoBufMut, IoVecBuf};

use crate::mem::{init_bytes, iovec_bytes};
use crate::{AsyncReadRentAt, AsyncWriteRent, AsyncWriteRentAt};

impl AsyncWriteRent for Vec<u8> {
    /// Appends all of `buf`'s initialized bytes.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: nothing happens until the future is polled, and the
    /// first poll completes it.
    async fn write<T: IoBuf>(&mut self, buf: T) -> BufResult<usize, T> {
        let bytes = init_bytes(&buf);
        self.extend_from_slice(bytes);
        (Ok(bytes.len()), buf)
    }

    /// Appends the initialized bytes of every buffer in `buf`, in order.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`write`](AsyncWriteRent::write).
    async fn writev<T: IoVecBuf>(&mut self, buf: T) -> BufResult<usize, T> {
        let n = buf.total_len();
        self.reserve(n);
        for i in 0..buf.iovec_count() {
            self.extend_from_slice(iovec_bytes(&buf, i));
        }
        (Ok(n), buf)
    }

    /// Does nothing.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    fn flush(&mut self) -> impl Future<Output = io::Result<()>> {
        std::future::ready(Ok(()))
    }

    /// Does nothing; later writes still append.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    fn shutdown(&mut self) -> impl Future<Output = io::Result<()>> {
        std::future::ready(Ok(()))
    }
}

impl AsyncReadRentAt for Vec<u8> {
    /// Copies bytes from `pos` on into `buf`'s spare capacity; `Ok(0)` at or
    /// past the end.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: nothing happens until the future is polled, and the
    /// first poll completes it.
    async fn read_at<T: IoBufMut>(&mut self, buf: T, pos: u64) -> BufResult<usize, T> {
        super::slice::read_at(self, buf, pos)
    }
}

impl AsyncWriteRentAt for Vec<u8> {
    /// Writes all of `buf`'s initialized bytes at `pos`, overwriting and
    /// growing the `Vec` as needed; a `pos` past the end zero-fills the gap,
    /// like a file.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `pos` plus the length does not fit in a `usize`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: nothing happens until the future is polled, and the
    /// first poll completes it.
    async fn write_at<T: IoBuf>(&mut self, buf: T, pos: u64) -> BufResult<usize, T> {
        let res = write_at(self, init_bytes(&buf), pos);
        (res, buf)
    }
}

/// Writes `src` at `pos` in `dst`, zero-filling any gap before it.
fn write_at(dst: &mut Vec<u8>, src: &[u8], pos: u64) -> io::Result<usize> {
    let start = usize::try_from(pos).map_err(|_| past_usize())?;
    let end = start.checked_add(src.len()).ok_or_else(past_usize)?;
    if dst.len() < start {
        dst.resize(start, 0);
    }
    let overlap = end.min(dst.len());
    let (head, tail) = src.split_at(overlap - start);
    dst[start..overlap].copy_from_slice(head);
    dst.extend_from_slice(tail);
    Ok(src.len())
}

/// A position past what a `Vec` can address.
fn past_usize() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "write position past the addressable range of a Vec",
    )
}
