//! [`BufWriter`]: buffers the writes of an [`AsyncWriteRent`].

use std::future::Future;
use std::io;

use rentio_buf::{BufResult, IoBuf, IoBufMut, IoVecBuf, IoVecBufMut};

use crate::buf_reader::DEFAULT_CAPACITY;
use crate::error::{check_count, write_zero};
use crate::mem::{init_bytes, iovec_bytes};
use crate::{AsyncReadRent, AsyncWriteRent};

/// Adds a buffer to a writer, so that many small writes become few large
/// ones.
///
/// Writes are copied into an owned `Vec<u8>` until the next one would not
/// fit; then the buffer is rented to the inner writer by value, written out
/// in full, and taken back. A write at least as large as the buffer's
/// capacity goes straight to the inner writer, after the buffered bytes.
///
/// Nothing is flushed on drop (that would need an `.await`): call
/// [`flush`](AsyncWriteRent::flush) or [`shutdown`](AsyncWriteRent::shutdown)
/// before dropping, or the buffered bytes are lost.
///
/// Reads pass through to the inner stream when it is also a reader.
///
/// # Examples
///
/// ```
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// use rentio_io::{AsyncWriteRent, AsyncWriteRentExt, BufWriter};
///
/// # fn main() -> std::io::Result<()> {
/// let mut writer = BufWriter::new(Vec::new());
/// block_on(writer.write_u32(7))?;
/// block_on(writer.write_u8(b'!'))?;
/// assert!(writer.get_ref().is_empty()); // still buffered
/// block_on(writer.flush())?;
/// assert_eq!(writer.get_ref(), &[0, 0, 0, 7, b'!']);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct BufWriter<W> {
    inner: W,
    /// The buffered bytes; `None` while a write of the inner writer has the
    /// buffer, or after such a write was dropped.
    buf: Option<Vec<u8>>,
    capacity: usize,
}

impl<W> BufWriter<W> {
    /// Wraps `inner` with a buffer of 8 KiB.
    ///
    /// The buffer is allocated on the first write that uses it.
    pub fn new(inner: W) -> Self {
        Self::with_capacity(DEFAULT_CAPACITY, inner)
    }

    /// Wraps `inner` with a buffer of `capacity` bytes.
    ///
    /// With a capacity of 0 every write goes straight to the inner writer.
    pub fn with_capacity(capacity: usize, inner: W) -> Self {
        Self {
            inner,
            buf: None,
            capacity,
        }
    }

    /// Returns a reference to the inner writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// Returns a mutable reference to the inner writer.
    ///
    /// Writing to it directly puts the bytes before the buffered ones.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Unwraps the inner writer; the buffered bytes are lost.
    ///
    /// Flush first, or use [`into_parts`](BufWriter::into_parts) to keep
    /// them.
    pub fn into_inner(self) -> W {
        self.inner
    }

    /// Unwraps the inner writer and the buffered bytes, not yet written.
    pub fn into_parts(self) -> (W, Vec<u8>) {
        (self.inner, self.buf.unwrap_or_default())
    }

    /// Returns the buffered bytes.
    pub fn buffer(&self) -> &[u8] {
        self.buf.as_deref().unwrap_or_default()
    }

    /// Returns the capacity of the internal buffer.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Returns the internal buffer, allocating it if needed.
    fn buf_mut(&mut self) -> &mut Vec<u8> {
        let capacity = self.capacity;
        self.buf.get_or_insert_with(|| Vec::with_capacity(capacity))
    }
}

impl<W: AsyncWriteRent> BufWriter<W> {
    /// Writes the buffered bytes to the inner writer, looping over short
    /// writes, without flushing it.
    ///
    /// On an error the bytes written so far leave the buffer and the rest
    /// stay, so a retry neither repeats nor loses any.
    async fn flush_buf(&mut self) -> io::Result<()> {
        let Some(mut buf) = self.buf.take() else {
            return Ok(());
        };
        let len = buf.len();
        let mut written = 0;
        let mut ret = Ok(());
        while written < len {
            let (res, slice) = self.inner.write(buf.slice(written..len)).await;
            buf = slice.into_inner();
            match res.and_then(|n| check_count(n, len - written)) {
                Ok(0) => {
                    ret = Err(write_zero());
                    break;
                }
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    ret = Err(e);
                    break;
                }
            }
        }
        buf.drain(..written);
        self.buf = Some(buf);
        ret
    }

    /// Buffers `buf`, or writes it through if it is too large.
    async fn write_buffered<T: IoBuf>(&mut self, buf: T) -> BufResult<usize, T> {
        let len = buf.buf_len();
        if self.buffer().len().saturating_add(len) > self.capacity
            && let Err(e) = self.flush_buf().await
        {
            return (Err(e), buf);
        }
        if len >= self.capacity {
            return self.inner.write(buf).await;
        }
        self.buf_mut().extend_from_slice(init_bytes(&buf));
        (Ok(len), buf)
    }

    /// Buffers `buf`'s buffers, or writes them through if they are too large.
    async fn writev_buffered<T: IoVecBuf>(&mut self, buf: T) -> BufResult<usize, T> {
        let len = buf.total_len();
        if self.buffer().len().saturating_add(len) > self.capacity
            && let Err(e) = self.flush_buf().await
        {
            return (Err(e), buf);
        }
        if len >= self.capacity {
            return self.inner.writev(buf).await;
        }
        let inner = self.buf_mut();
        for i in 0..buf.iovec_count() {
            inner.extend_from_slice(iovec_bytes(&buf, i));
        }
        (Ok(len), buf)
    }

    /// Writes the buffered bytes, then flushes the inner writer.
    async fn flush_all(&mut self) -> io::Result<()> {
        self.flush_buf().await?;
        self.inner.flush().await
    }

    /// Writes the buffered bytes, then shuts the inner writer down.
    async fn shutdown_all(&mut self) -> io::Result<()> {
        self.flush_buf().await?;
        self.inner.shutdown().await
    }
}

impl<W: AsyncWriteRent> AsyncWriteRent for BufWriter<W> {
    /// Copies `buf` into the internal buffer, first writing the buffered
    /// bytes out if `buf` would not fit; a `buf` at least as large as the
    /// internal buffer is written to the inner writer directly, once.
    ///
    /// The count is `buf`'s whole length when it was buffered.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping the future while it writes the buffered
    /// bytes out drops the internal buffer (it was rented to the inner
    /// writer) with the bytes not yet confirmed written. Nothing is lost when
    /// `buf` fits without a write.
    fn write<T: IoBuf>(&mut self, buf: T) -> impl Future<Output = BufResult<usize, T>> {
        self.write_buffered(buf)
    }

    /// Copies `buf`'s buffers into the internal buffer, like
    /// [`write`](BufWriter::write) with their total length.
    ///
    /// # Cancel safety
    ///
    /// As [`write`](BufWriter::write).
    fn writev<T: IoVecBuf>(&mut self, buf: T) -> impl Future<Output = BufResult<usize, T>> {
        self.writev_buffered(buf)
    }

    /// Writes all the buffered bytes, then flushes the inner writer.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping the future while the buffered bytes are
    /// being written drops the ones not yet confirmed written. If a write
    /// fails, those bytes stay buffered for the next flush.
    fn flush(&mut self) -> impl Future<Output = io::Result<()>> {
        self.flush_all()
    }

    /// Writes all the buffered bytes, then shuts down the inner writer.
    ///
    /// # Cancel safety
    ///
    /// As [`flush`](BufWriter::flush).
    fn shutdown(&mut self) -> impl Future<Output = io::Result<()>> {
        self.shutdown_all()
    }
}

impl<W: AsyncReadRent> AsyncReadRent for BufWriter<W> {
    /// Reads from the inner stream; buffered writes are not flushed first.
    ///
    /// # Cancel safety
    ///
    /// As the inner reader's [`read`](AsyncReadRent::read).
    fn read<T: IoBufMut>(&mut self, buf: T) -> impl Future<Output = BufResult<usize, T>> {
        self.inner.read(buf)
    }

    /// Reads from the inner stream; buffered writes are not flushed first.
    ///
    /// # Cancel safety
    ///
    /// As the inner reader's [`readv`](AsyncReadRent::readv).
    fn readv<T: IoVecBufMut>(&mut self, buf: T) -> impl Future<Output = BufResult<usize, T>> {
        self.inner.readv(buf)
    }
}
