//! [`BufReader`]: buffers the reads of an [`AsyncReadRent`].

use std::future::Future;
use std::io;

use rentio_buf::{BufResult, IoBuf, IoBufMut, IoVecBuf, IoVecBufMut};

use crate::mem::{iovec_spare_len, put_iovec_spare, put_spare};
use crate::{AsyncBufRead, AsyncReadRent, AsyncWriteRent};

/// The default capacity of a [`BufReader`] and a [`BufWriter`]: 8 KiB.
///
/// [`BufWriter`]: crate::BufWriter
pub(crate) const DEFAULT_CAPACITY: usize = 8 * 1024;

/// Adds a buffer to a reader, so that many small reads become few large
/// ones, and implements [`AsyncBufRead`] for it.
///
/// The buffer is an owned `Vec<u8>`, rented to the inner reader by value for
/// each read and taken back, like any rent buffer. A read of at least the
/// buffer's capacity while the buffer is empty skips it and goes straight to
/// the inner reader with the caller's buffer.
///
/// Writes pass through to the inner stream unbuffered when it is also a
/// writer.
///
/// # Examples
///
/// ```
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// use rentio_io::{AsyncBufRead, AsyncReadRentExt, BufReader};
///
/// # fn main() -> std::io::Result<()> {
/// let mut reader = BufReader::new(&b"\x00\x05hello"[..]);
/// let len = block_on(reader.read_u16())?;
/// assert_eq!(len, 5);
/// assert_eq!(block_on(reader.fill_buf())?, b"hello");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct BufReader<R> {
    inner: R,
    /// The buffered bytes are `buf[pos..]`; `None` while a read of the inner
    /// reader has the buffer, or after such a read was dropped.
    buf: Option<Vec<u8>>,
    pos: usize,
    capacity: usize,
}

impl<R> BufReader<R> {
    /// Wraps `inner` with a buffer of 8 KiB.
    ///
    /// The buffer is allocated on the first read that uses it.
    pub fn new(inner: R) -> Self {
        Self::with_capacity(DEFAULT_CAPACITY, inner)
    }

    /// Wraps `inner` with a buffer of `capacity` bytes.
    ///
    /// With a capacity of 0 every read goes to the inner reader, and
    /// [`fill_buf`](AsyncBufRead::fill_buf) always returns an empty slice.
    pub fn with_capacity(capacity: usize, inner: R) -> Self {
        Self {
            inner,
            buf: None,
            pos: 0,
            capacity,
        }
    }

    /// Returns a reference to the inner reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// Returns a mutable reference to the inner reader.
    ///
    /// Reading from it directly skips the buffered bytes.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Unwraps the inner reader; the buffered bytes are lost.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Returns the buffered bytes, without reading.
    pub fn buffer(&self) -> &[u8] {
        match &self.buf {
            Some(buf) => buf.get(self.pos..).unwrap_or_default(),
            None => &[],
        }
    }

    /// Returns the capacity of the internal buffer.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Drops the buffered bytes, keeping the buffer's memory.
    fn discard_buffer(&mut self) {
        if let Some(buf) = &mut self.buf {
            buf.clear();
        }
        self.pos = 0;
    }
}

impl<R: AsyncReadRent> BufReader<R> {
    /// Reads into the internal buffer if it is empty; returns what it holds.
    async fn fill(&mut self) -> io::Result<&[u8]> {
        if self.buffer().is_empty() {
            let mut buf = self
                .buf
                .take()
                .unwrap_or_else(|| Vec::with_capacity(self.capacity));
            buf.clear();
            self.pos = 0;
            let (res, buf) = self.inner.read(buf).await;
            self.buf = Some(buf);
            res?;
        }
        Ok(self.buffer())
    }

    /// Reads into `buf` through the internal buffer, or around it.
    async fn read_buffered<T: IoBufMut>(&mut self, mut buf: T) -> BufResult<usize, T> {
        if buf.spare_len() == 0 {
            return (Ok(0), buf);
        }
        if self.buffer().is_empty() && buf.spare_len() >= self.capacity {
            self.discard_buffer();
            return self.inner.read(buf).await;
        }
        let n = match self.fill().await {
            Ok(available) => put_spare(&mut buf, available),
            Err(e) => return (Err(e), buf),
        };
        self.consume(n);
        (Ok(n), buf)
    }

    /// Reads into `buf`'s buffers through the internal buffer, or around it.
    async fn readv_buffered<T: IoVecBufMut>(&mut self, mut buf: T) -> BufResult<usize, T> {
        let spare = iovec_spare_len(&mut buf);
        if spare == 0 {
            return (Ok(0), buf);
        }
        if self.buffer().is_empty() && spare >= self.capacity {
            self.discard_buffer();
            return self.inner.readv(buf).await;
        }
        let n = match self.fill().await {
            Ok(available) => put_iovec_spare(&mut buf, available),
            Err(e) => return (Err(e), buf),
        };
        self.consume(n);
        (Ok(n), buf)
    }
}

impl<R: AsyncReadRent> AsyncReadRent for BufReader<R> {
    /// Reads once into `buf`'s spare capacity, from the buffered bytes if
    /// there are any, else by refilling the buffer (or, for a buffer at
    /// least as large as the internal one, by reading into `buf` directly).
    ///
    /// # Cancel safety
    ///
    /// Buffered bytes are never lost: they are copied out only once the
    /// future completes. Dropping the future while it refills the buffer or
    /// reads directly loses that inner read's bytes, as the inner reader's
    /// [`read`](AsyncReadRent::read) documents.
    fn read<T: IoBufMut>(&mut self, buf: T) -> impl Future<Output = BufResult<usize, T>> {
        self.read_buffered(buf)
    }

    /// Reads once into the spare parts of `buf`'s buffers, like
    /// [`read`](BufReader::read).
    ///
    /// # Cancel safety
    ///
    /// As [`read`](BufReader::read).
    fn readv<T: IoVecBufMut>(&mut self, buf: T) -> impl Future<Output = BufResult<usize, T>> {
        self.readv_buffered(buf)
    }
}

impl<R: AsyncReadRent> AsyncBufRead for BufReader<R> {
    /// Returns the buffered bytes, refilling the buffer with one read of the
    /// inner reader if it is empty.
    ///
    /// # Cancel safety
    ///
    /// Buffered bytes are never lost. Dropping the future during a refill
    /// loses what that read got, and the internal buffer with it (a new one
    /// is allocated on the next refill).
    fn fill_buf(&mut self) -> impl Future<Output = io::Result<&[u8]>> {
        self.fill()
    }

    fn consume(&mut self, amt: usize) {
        self.pos = self.pos.saturating_add(amt.min(self.buffer().len()));
    }
}

impl<R: AsyncWriteRent> AsyncWriteRent for BufReader<R> {
    /// Writes to the inner stream, unbuffered.
    ///
    /// # Cancel safety
    ///
    /// As the inner writer's [`write`](AsyncWriteRent::write).
    fn write<T: IoBuf>(&mut self, buf: T) -> impl Future<Output = BufResult<usize, T>> {
        self.inner.write(buf)
    }

    /// Writes to the inner stream, unbuffered.
    ///
    /// # Cancel safety
    ///
    /// As the inner writer's [`writev`](AsyncWriteRent::writev).
    fn writev<T: IoVecBuf>(&mut self, buf: T) -> impl Future<Output = BufResult<usize, T>> {
        self.inner.writev(buf)
    }

    /// Flushes the inner stream.
    ///
    /// # Cancel safety
    ///
    /// As the inner writer's [`flush`](AsyncWriteRent::flush).
    fn flush(&mut self) -> impl Future<Output = io::Result<()>> {
        self.inner.flush()
    }

    /// Shuts down the inner stream's write side.
    ///
    /// # Cancel safety
    ///
    /// As the inner writer's [`shutdown`](AsyncWriteRent::shutdown).
    fn shutdown(&mut self) -> impl Future<Output = io::Result<()>> {
        self.inner.shutdown()
    }
}
