//! The rent IO traits.

use std::future::Future;
use std::io;

use rentio_buf::{BufResult, IoBuf, IoBufMut, IoVecBuf, IoVecBufMut};

/// A source of bytes that reads into buffers it owns while the read runs.
///
/// Reads **append**: the bytes land after the buffer's initialized part, in
/// its spare capacity, and the initialized length grows by the count read.
/// A buffer with no spare capacity reads 0 bytes at once. `Ok(0)` with
/// spare room means end of stream.
///
/// Each call is one read and may be short. [`AsyncReadRentExt`] loops over
/// it: `read_exact`, `read_to_end`, integer readers. Buffer a reader with
/// [`BufReader`].
///
/// [`AsyncReadRentExt`]: crate::AsyncReadRentExt
/// [`BufReader`]: crate::BufReader
pub trait AsyncReadRent {
    /// Reads once into `buf`'s spare capacity; returns the count and `buf`.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may lose bytes the kernel already read into the
    /// buffer (the buffer itself is released safely). To bound a read in
    /// time and keep both, use the type's cancellable read.
    fn read<T: IoBufMut>(&mut self, buf: T) -> impl Future<Output = BufResult<usize, T>>;

    /// Reads once into the spare parts of `buf`'s buffers, in order.
    ///
    /// # Cancel safety
    ///
    /// As [`read`](AsyncReadRent::read).
    fn readv<T: IoVecBufMut>(&mut self, buf: T) -> impl Future<Output = BufResult<usize, T>>;
}

/// A sink of bytes that writes from buffers it owns while the write runs.
///
/// Each call is one write and may be short. [`AsyncWriteRentExt`] loops over
/// it: `write_all`, `write_vectored_all`, integer writers. Buffer a writer
/// with [`BufWriter`].
///
/// [`AsyncWriteRentExt`]: crate::AsyncWriteRentExt
/// [`BufWriter`]: crate::BufWriter
pub trait AsyncWriteRent {
    /// Writes once from `buf`'s initialized part; returns the count
    /// written (possibly short) and `buf`.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may or may not have written some bytes; the
    /// count is lost.
    fn write<T: IoBuf>(&mut self, buf: T) -> impl Future<Output = BufResult<usize, T>>;

    /// Writes once from the initialized parts of `buf`'s buffers, in order.
    ///
    /// # Cancel safety
    ///
    /// As [`write`](AsyncWriteRent::write).
    fn writev<T: IoVecBuf>(&mut self, buf: T) -> impl Future<Output = BufResult<usize, T>>;

    /// Flushes buffered data to the underlying sink (a no-op for sockets).
    ///
    /// # Cancel safety
    ///
    /// Safe to drop and call again: what was flushed stays flushed.
    fn flush(&mut self) -> impl Future<Output = io::Result<()>>;

    /// Flushes, then shuts down the write side (a TCP FIN).
    ///
    /// # Cancel safety
    ///
    /// Safe to drop and call again.
    fn shutdown(&mut self) -> impl Future<Output = io::Result<()>>;
}

/// Positional reads: at an offset, without a cursor.
///
/// Like [`AsyncReadRent`], a read appends to the buffer's initialized part;
/// `Ok(0)` with spare room means `pos` is at or past the end.
pub trait AsyncReadRentAt {
    /// Reads once at `pos` into `buf`'s spare capacity.
    ///
    /// # Cancel safety
    ///
    /// As [`AsyncReadRent::read`]; no cursor moves, so a retry reads the
    /// same bytes.
    fn read_at<T: IoBufMut>(
        &mut self,
        buf: T,
        pos: u64,
    ) -> impl Future<Output = BufResult<usize, T>>;
}

/// Positional writes: at an offset, without a cursor.
pub trait AsyncWriteRentAt {
    /// Writes once at `pos` from `buf`'s initialized part.
    ///
    /// # Cancel safety
    ///
    /// As [`AsyncWriteRent::write`]; writing the same bytes again at the
    /// same position is harmless.
    fn write_at<T: IoBuf>(&mut self, buf: T, pos: u64)
    -> impl Future<Output = BufResult<usize, T>>;
}
