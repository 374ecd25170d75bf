//! `std::io::Cursor`: reads from any `AsRef<[u8]>`, writes to `Vec<u8>`s and
//! slices, at the cursor's position, with std's semantics.

use std::future::Future;
use std::io::{self, Cursor, Write};

use rentio_buf::{BufResult, IoBuf, IoBufMut, IoVecBuf, IoVecBufMut};

use crate::mem::{init_bytes, iovec_bytes, put_iovec_spare, put_spare};
use crate::{AsyncReadRent, AsyncWriteRent};

impl<A: AsRef<[u8]>> AsyncReadRent for Cursor<A> {
    /// Copies bytes from the cursor's position on into `buf`'s spare
    /// capacity and advances the position; `Ok(0)` at or past the end.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: nothing happens until the future is polled, and the
    /// first poll completes it.
    async fn read<T: IoBufMut>(&mut self, mut buf: T) -> BufResult<usize, T> {
        let n = put_spare(&mut buf, remaining(self));
        advance(self, n);
        (Ok(n), buf)
    }

    /// Copies bytes from the cursor's position on into the spare parts of
    /// `buf`'s buffers, in order, and advances the position.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`read`](AsyncReadRent::read).
    async fn readv<T: IoVecBufMut>(&mut self, mut buf: T) -> BufResult<usize, T> {
        let n = put_iovec_spare(&mut buf, remaining(self));
        advance(self, n);
        (Ok(n), buf)
    }
}

/// Implements [`AsyncWriteRent`] for cursors that std's [`Write`] supports,
/// by calling it.
macro_rules! cursor_write {
    ($($inner:ty),* $(,)?) => {$(
        impl AsyncWriteRent for Cursor<$inner> {
            /// Writes `buf` at the cursor's position and advances it, as
            /// std's [`Write`] impl does: a `Vec` grows (zero-filling a gap
            /// if the position is past the end), a slice takes what fits.
            ///
            /// # Cancel safety
            ///
            /// Cancel safe: nothing happens until the future is polled, and
            /// the first poll completes it.
            async fn write<T: IoBuf>(&mut self, buf: T) -> BufResult<usize, T> {
                let res = Write::write(self, init_bytes(&buf));
                (res, buf)
            }

            /// Writes `buf`'s buffers at the cursor's position, in order,
            /// stopping at the first short write.
            ///
            /// # Cancel safety
            ///
            /// Cancel safe, as [`write`](AsyncWriteRent::write).
            async fn writev<T: IoVecBuf>(&mut self, buf: T) -> BufResult<usize, T> {
                let res = write_each(self, &buf);
                (res, buf)
            }

            /// Does nothing.
            ///
            /// # Cancel safety
            ///
            /// Cancel safe.
            fn flush(&mut self) -> impl Future<Output = io::Result<()>> {
                std::future::ready(Ok(()))
            }

            /// Does nothing.
            ///
            /// # Cancel safety
            ///
            /// Cancel safe.
            fn shutdown(&mut self) -> impl Future<Output = io::Result<()>> {
                std::future::ready(Ok(()))
            }
        }
    )*};
}

cursor_write!(Vec<u8>, &mut Vec<u8>, &mut [u8], Box<[u8]>);

/// Returns the bytes from the cursor's position on.
fn remaining<A: AsRef<[u8]>>(cursor: &Cursor<A>) -> &[u8] {
    let data = cursor.get_ref().as_ref();
    usize::try_from(cursor.position())
        .ok()
        .and_then(|pos| data.get(pos..))
        .unwrap_or_default()
}

/// Moves the cursor `n` bytes on.
fn advance<A>(cursor: &mut Cursor<A>, n: usize) {
    let n = u64::try_from(n).unwrap_or(u64::MAX);
    cursor.set_position(cursor.position().saturating_add(n));
}

/// Writes each buffer of `bufs` with `w`, stopping at the first short write
/// or, after some bytes were written, at the first error.
fn write_each<W: Write, V: IoVecBuf>(w: &mut W, bufs: &V) -> io::Result<usize> {
    let mut total = 0usize;
    for i in 0..bufs.iovec_count() {
        let bytes = iovec_bytes(bufs, i);
        let n = match w.write(bytes) {
            Ok(n) => n,
            // Report the bytes already written; the error recurs on the
            // next call.
            Err(_) if total > 0 => break,
            Err(e) => return Err(e),
        };
        total = total.saturating_add(n);
        if n < bytes.len() {
            break;
        }
    }
    Ok(total)
}
