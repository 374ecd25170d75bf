//! [`AsyncReadRentExt`]: loops over [`AsyncReadRent::read`] that fill a buffer
//! exactly, read to the end, or decode integers.

use std::future::Future;
use std::io;

use rentio_buf::{BufResult, IoBufMut, IoVecBufMut};

use crate::AsyncReadRent;
use crate::error::unexpected_eof;
use crate::mem::iovec_spare_len;

/// The least spare room [`read_to_end`](AsyncReadRentExt::read_to_end) offers
/// a read; below it the `Vec` grows first.
const MIN_READ: usize = 32;

/// Generates an integer reader: a default method of [`AsyncReadRentExt`].
macro_rules! read_int {
    ($name:ident, $ty:ty, $from:ident, $order:literal) => {
        #[doc = concat!("Reads ", $order, " `", stringify!($ty), "`.")]
        ///
        /// Allocates a small buffer and fills it with
        /// [`read_exact`](AsyncReadRentExt::read_exact).
        ///
        /// # Errors
        ///
        /// `UnexpectedEof` if the stream ends first, or the reader's error.
        ///
        /// # Cancel safety
        ///
        /// Not cancel safe: dropping the future loses the bytes of the value
        /// read so far.
        fn $name(&mut self) -> impl Future<Output = io::Result<$ty>> {
            async move {
                let bytes = read_array::<Self, { size_of::<$ty>() }>(self).await?;
                Ok(<$ty>::$from(bytes))
            }
        }
    };
}

/// Extra reads for every [`AsyncReadRent`]: fill a buffer exactly, read to
/// the end, read integers.
///
/// Every method loops over [`read`](AsyncReadRent::read) (or
/// [`readv`](AsyncReadRent::readv)) with the one buffer it owns, and retries
/// a read that fails with [`ErrorKind::Interrupted`](io::ErrorKind::Interrupted),
/// like std's `read_exact`. Like every rent read they append: the bytes land
/// after the buffer's initialized part.
///
/// Implemented for every `R: AsyncReadRent` (including unsized ones); import
/// the trait to use it.
pub trait AsyncReadRentExt: AsyncReadRent {
    /// Reads until `buf`'s spare capacity is full; returns the count read
    /// (the spare length `buf` had) and `buf`.
    ///
    /// The buffer is handed to each read by value and taken back, so the
    /// bytes already read stay in its initialized part whatever happens. A
    /// buffer without spare capacity returns `Ok(0)` at once.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     let mut f = std::pin::pin!(f);
    /// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
    /// # }
    /// use rentio_io::AsyncReadRentExt;
    /// use rentio_io::buf::IoBufMut;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut reader: &[u8] = b"header:body";
    /// // A 7-byte view of a fresh Vec: read exactly 7 bytes.
    /// let (res, buf) = block_on(reader.read_exact(Vec::with_capacity(7).slice_mut(..7)));
    /// assert_eq!(res?, 7);
    /// assert_eq!(buf.into_inner(), b"header:");
    /// assert_eq!(reader, b"body");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the stream ends before the buffer is full; the bytes
    /// read before the end are in the returned buffer's initialized part. Any
    /// other read error is returned as is, also with the bytes read before it.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping the future drops the buffer with the bytes
    /// read so far, which are gone from the stream.
    fn read_exact<T: IoBufMut>(&mut self, mut buf: T) -> impl Future<Output = BufResult<usize, T>> {
        async move {
            let mut total = 0usize;
            while buf.spare_len() > 0 {
                let (res, b) = self.read(buf).await;
                buf = b;
                match res {
                    Ok(0) => return (Err(unexpected_eof()), buf),
                    Ok(n) => total = total.saturating_add(n),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return (Err(e), buf),
                }
            }
            (Ok(total), buf)
        }
    }

    /// Reads until the spare capacity of every buffer in `buf` is full;
    /// returns the count read and `buf`.
    ///
    /// The vectored form of [`read_exact`](AsyncReadRentExt::read_exact):
    /// each [`readv`](AsyncReadRent::readv) appends to the buffers in order,
    /// so the loop simply reads again until no spare room is left.
    ///
    /// # Errors
    ///
    /// As [`read_exact`](AsyncReadRentExt::read_exact): `UnexpectedEof` if the
    /// stream ends first, with the bytes read so far kept in the buffers.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe, as [`read_exact`](AsyncReadRentExt::read_exact).
    fn read_vectored_exact<T: IoVecBufMut>(
        &mut self,
        mut buf: T,
    ) -> impl Future<Output = BufResult<usize, T>> {
        async move {
            let mut total = 0usize;
            while iovec_spare_len(&mut buf) > 0 {
                let (res, b) = self.readv(buf).await;
                buf = b;
                match res {
                    Ok(0) => return (Err(unexpected_eof()), buf),
                    Ok(n) => total = total.saturating_add(n),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return (Err(e), buf),
                }
            }
            (Ok(total), buf)
        }
    }

    /// Reads until the end of the stream, appending to `buf`; returns the
    /// count read and `buf`.
    ///
    /// Whenever less than 32 bytes of spare capacity are left, the `Vec`
    /// grows with [`Vec::reserve`] (which at least doubles it), so the reads
    /// get larger as the data does. Pre-size the `Vec` to save the growth.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     let mut f = std::pin::pin!(f);
    /// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
    /// # }
    /// use rentio_io::AsyncReadRentExt;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut reader: &[u8] = b" world";
    /// let (res, buf) = block_on(reader.read_to_end(b"hello".to_vec()));
    /// assert_eq!(res?, 6);
    /// assert_eq!(buf, b"hello world");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// The first read error other than `Interrupted`; the bytes read before it
    /// are in the returned `Vec`.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping the future drops the `Vec` with everything
    /// read so far.
    fn read_to_end(&mut self, mut buf: Vec<u8>) -> impl Future<Output = BufResult<usize, Vec<u8>>> {
        async move {
            let mut total = 0usize;
            loop {
                if buf.capacity() - buf.len() < MIN_READ {
                    buf.reserve(MIN_READ);
                }
                let (res, b) = self.read(buf).await;
                buf = b;
                match res {
                    Ok(0) => return (Ok(total), buf),
                    Ok(n) => total = total.saturating_add(n),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return (Err(e), buf),
                }
            }
        }
    }

    read_int!(read_u8, u8, from_be_bytes, "a");
    read_int!(read_i8, i8, from_be_bytes, "a");
    read_int!(read_u16, u16, from_be_bytes, "a big-endian");
    read_int!(read_i16, i16, from_be_bytes, "a big-endian");
    read_int!(read_u32, u32, from_be_bytes, "a big-endian");
    read_int!(read_i32, i32, from_be_bytes, "a big-endian");
    read_int!(read_u64, u64, from_be_bytes, "a big-endian");
    read_int!(read_i64, i64, from_be_bytes, "a big-endian");
    read_int!(read_u128, u128, from_be_bytes, "a big-endian");
    read_int!(read_i128, i128, from_be_bytes, "a big-endian");
    read_int!(read_f32, f32, from_be_bytes, "a big-endian");
    read_int!(read_f64, f64, from_be_bytes, "a big-endian");
    read_int!(read_u16_le, u16, from_le_bytes, "a little-endian");
    read_int!(read_i16_le, i16, from_le_bytes, "a little-endian");
    read_int!(read_u32_le, u32, from_le_bytes, "a little-endian");
    read_int!(read_i32_le, i32, from_le_bytes, "a little-endian");
    read_int!(read_u64_le, u64, from_le_bytes, "a little-endian");
    read_int!(read_i64_le, i64, from_le_bytes, "a little-endian");
    read_int!(read_u128_le, u128, from_le_bytes, "a little-endian");
    read_int!(read_i128_le, i128, from_le_bytes, "a little-endian");
    read_int!(read_f32_le, f32, from_le_bytes, "a little-endian");
    read_int!(read_f64_le, f64, from_le_bytes, "a little-endian");
}

impl<R: AsyncReadRent + ?Sized> AsyncReadRentExt for R {}

/// Reads exactly `N` bytes into a fresh `N`-byte buffer.
async fn read_array<R: AsyncReadRent + ?Sized, const N: usize>(
    reader: &mut R,
) -> io::Result<[u8; N]> {
    // The view caps the read at `N` bytes even if the `Vec` got more room.
    let (res, buf) = reader
        .read_exact(Vec::with_capacity(N).slice_mut(..N))
        .await;
    res?;
    <[u8; N]>::try_from(&buf[..]).map_err(|_| unexpected_eof())
}
