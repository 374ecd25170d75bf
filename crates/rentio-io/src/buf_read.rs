//! [`AsyncBufRead`], a reader with an internal buffer the caller can look
//! into, and [`AsyncBufReadExt`], the delimiter and line readers built on it.

use std::future::Future;
use std::io;

use rentio_buf::BufResult;

use crate::{AsyncReadRent, Lines};

/// A reader with an internal buffer: look at the buffered bytes with
/// [`fill_buf`](AsyncBufRead::fill_buf), then say how many were used with
/// [`consume`](AsyncBufRead::consume).
///
/// Unlike the rent reads, `fill_buf` lends out a borrow of the reader's own
/// buffer instead of taking one: the bytes are already in memory, and the
/// reader keeps its buffer between calls. [`BufReader`](crate::BufReader) is
/// the usual implementation.
pub trait AsyncBufRead: AsyncReadRent {
    /// Returns the buffered bytes, reading more from the inner source first
    /// if none are left.
    ///
    /// An empty slice means end of stream. The bytes stay buffered until
    /// [`consume`](AsyncBufRead::consume) says they were used.
    ///
    /// # Errors
    ///
    /// The inner source's read error.
    ///
    /// # Cancel safety
    ///
    /// Bytes that were already buffered are never lost. Dropping the future
    /// while it reads from the inner source loses what that read got, as the
    /// inner reader's [`read`](AsyncReadRent::read) documents.
    fn fill_buf(&mut self) -> impl Future<Output = io::Result<&[u8]>>;

    /// Marks the first `amt` buffered bytes used, so that the next
    /// [`fill_buf`](AsyncBufRead::fill_buf) and reads skip them.
    ///
    /// `amt` is clamped to the number of buffered bytes.
    fn consume(&mut self, amt: usize);
}

/// Delimiter and line readers for every [`AsyncBufRead`].
///
/// Implemented for every `R: AsyncBufRead` (including unsized ones); import
/// the trait to use it.
pub trait AsyncBufReadExt: AsyncBufRead {
    /// Reads and appends to `buf` up to and including the first `byte`, or to
    /// the end of the stream; returns the count appended (0 at end of stream)
    /// and `buf`.
    ///
    /// A `fill_buf` that fails with `Interrupted` is retried.
    ///
    /// # Errors
    ///
    /// The first other read error; the bytes read before it are in `buf`
    /// (and consumed from the reader).
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping the future drops `buf`, and the bytes
    /// appended to it were consumed from the reader.
    fn read_until(
        &mut self,
        byte: u8,
        mut buf: Vec<u8>,
    ) -> impl Future<Output = BufResult<usize, Vec<u8>>> {
        async move {
            let mut read = 0usize;
            loop {
                let (done, used) = {
                    let available = match self.fill_buf().await {
                        Ok(available) => available,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return (Err(e), buf),
                    };
                    match available.iter().position(|&b| b == byte) {
                        Some(i) => {
                            buf.extend_from_slice(&available[..=i]);
                            (true, i + 1)
                        }
                        None => {
                            buf.extend_from_slice(available);
                            (available.is_empty(), available.len())
                        }
                    }
                };
                self.consume(used);
                read = read.saturating_add(used);
                if done {
                    return (Ok(read), buf);
                }
            }
        }
    }

    /// Reads and appends to `buf` one line, up to and including the `\n`,
    /// or to the end of the stream; returns the count of bytes appended (0 at
    /// end of stream) and `buf`.
    ///
    /// The line ending is kept as read (`\n` or `\r\n`); a last line without
    /// one is returned as is. [`lines`](AsyncBufReadExt::lines) strips them.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     let mut f = std::pin::pin!(f);
    /// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
    /// # }
    /// use rentio_io::{AsyncBufReadExt, BufReader};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut reader = BufReader::new(&b"GET / HTTP/1.1\r\nHost: x\r\n"[..]);
    /// let (res, line) = block_on(reader.read_line(String::new()));
    /// assert_eq!(res?, 16);
    /// assert_eq!(line, "GET / HTTP/1.1\r\n");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// `InvalidData` if the bytes read are not UTF-8: they are consumed from
    /// the reader but not appended, so `buf` keeps exactly what it had. A
    /// read error as in [`read_until`](AsyncBufReadExt::read_until); the
    /// bytes read before it stay appended if they are valid UTF-8.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe, as [`read_until`](AsyncBufReadExt::read_until).
    fn read_line(&mut self, buf: String) -> impl Future<Output = BufResult<usize, String>> {
        async move {
            let old_len = buf.len();
            let (res, bytes) = self.read_until(b'\n', buf.into_bytes()).await;
            match String::from_utf8(bytes) {
                Ok(line) => (res, line),
                Err(e) => {
                    let mut bytes = e.into_bytes();
                    bytes.truncate(old_len);
                    let res = res.and(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "stream did not contain valid UTF-8",
                    )));
                    (res, string_from_valid(bytes))
                }
            }
        }
    }

    /// Turns the reader into a [`Lines`], which yields its lines as `String`s
    /// without their line endings.
    fn lines(self) -> Lines<Self>
    where
        Self: Sized,
    {
        Lines::new(self)
    }
}

impl<R: AsyncBufRead + ?Sized> AsyncBufReadExt for R {}

/// Turns bytes that were a `String`'s back into one.
///
/// `bytes` is a prefix of a `String` cut at its old length, a character
/// boundary, so it is valid UTF-8; should that ever not hold, the invalid
/// sequences are replaced rather than panicking.
fn string_from_valid(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}
