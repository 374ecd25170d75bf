//! Byte slices: `&[u8]` is a reader that advances over itself; `[u8]`
//! (and through the forwarding impls `&mut [u8]` and `Box<[u8]>`) reads and
//! writes at positions.

use std::io;

use rentio_buf::{BufResult, IoBuf, IoBufMut, IoVecBufMut};

use crate::mem::{init_bytes, put_iovec_spare, put_spare};
use crate::{AsyncReadRent, AsyncReadRentAt, AsyncWriteRentAt};

impl AsyncReadRent for &[u8] {
    /// Copies the front of the slice into `buf`'s spare capacity and moves
    /// the slice past it; `Ok(0)` once the slice is empty.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: nothing happens until the future is polled, and the
    /// first poll completes it.
    async fn read<T: IoBufMut>(&mut self, mut buf: T) -> BufResult<usize, T> {
        let n = put_spare(&mut buf, self);
        *self = self.get(n..).unwrap_or_default();
        (Ok(n), buf)
    }

    /// Copies the front of the slice into the spare parts of `buf`'s
    /// buffers, in order, and moves the slice past it.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`read`](AsyncReadRent::read).
    async fn readv<T: IoVecBufMut>(&mut self, mut buf: T) -> BufResult<usize, T> {
        let n = put_iovec_spare(&mut buf, self);
        *self = self.get(n..).unwrap_or_default();
        (Ok(n), buf)
    }
}

impl AsyncReadRentAt for [u8] {
    /// Copies bytes from `pos` on into `buf`'s spare capacity; `Ok(0)` at or
    /// past the end.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: nothing happens until the future is polled, and the
    /// first poll completes it.
    async fn read_at<T: IoBufMut>(&mut self, buf: T, pos: u64) -> BufResult<usize, T> {
        read_at(self, buf, pos)
    }
}

impl AsyncReadRentAt for &[u8] {
    /// Copies bytes from `pos` on into `buf`'s spare capacity; `Ok(0)` at or
    /// past the end. The slice does not move.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as for `[u8]`.
    async fn read_at<T: IoBufMut>(&mut self, buf: T, pos: u64) -> BufResult<usize, T> {
        read_at(self, buf, pos)
    }
}

impl AsyncWriteRentAt for [u8] {
    /// Overwrites the bytes from `pos` on with as much of `buf` as fits; a
    /// slice does not grow, so the count is short near the end and `Ok(0)`
    /// at or past it.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: nothing happens until the future is polled, and the
    /// first poll completes it.
    async fn write_at<T: IoBuf>(&mut self, buf: T, pos: u64) -> BufResult<usize, T> {
        let dst = usize::try_from(pos)
            .ok()
            .and_then(|pos| self.get_mut(pos..))
            .unwrap_or_default();
        let src = init_bytes(&buf);
        let n = src.len().min(dst.len());
        dst[..n].copy_from_slice(&src[..n]);
        (Ok(n), buf)
    }
}

/// Copies `src[pos..]` into `buf`'s spare capacity.
pub(super) fn read_at<T: IoBufMut>(src: &[u8], mut buf: T, pos: u64) -> BufResult<usize, T> {
    let src = usize::try_from(pos)
        .ok()
        .and_then(|pos| src.get(pos..))
        .unwrap_or_default();
    let n = put_spare(&mut buf, src);
    (Ok::<_, io::Error>(n), buf)
}
