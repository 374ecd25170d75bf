//! [`AsyncWriteRentExt`]: loops over [`AsyncWriteRent::write`] that write a
//! whole buffer, and integer writers.

use std::future::Future;
use std::io;

use rentio_buf::{BufResult, IoBuf, IoVecBuf};

use crate::AsyncWriteRent;
use crate::advance::Advance;
use crate::error::{check_count, write_zero};

/// Generates an integer writer: a default method of [`AsyncWriteRentExt`].
macro_rules! write_int {
    ($name:ident, $ty:ty, $to:ident, $order:literal) => {
        #[doc = concat!("Writes `n` as ", $order, " `", stringify!($ty), "`.")]
        ///
        /// Allocates a small buffer and sends it with
        /// [`write_all`](AsyncWriteRentExt::write_all).
        ///
        /// # Errors
        ///
        /// As [`write_all`](AsyncWriteRentExt::write_all).
        ///
        /// # Cancel safety
        ///
        /// Not cancel safe: dropping the future may leave part of the value
        /// written.
        fn $name(&mut self, n: $ty) -> impl Future<Output = io::Result<()>> {
            async move {
                let (res, _) = self.write_all(n.$to().to_vec()).await;
                res.map(drop)
            }
        }
    };
}

/// Extra writes for every [`AsyncWriteRent`]: write a whole buffer, write
/// integers.
///
/// Every method loops over [`write`](AsyncWriteRent::write) (or
/// [`writev`](AsyncWriteRent::writev)) with the one buffer it owns, resuming
/// after short writes, and retries a write that fails with
/// [`ErrorKind::Interrupted`](io::ErrorKind::Interrupted), like std's
/// `write_all`. None of them flushes.
///
/// Implemented for every `W: AsyncWriteRent` (including unsized ones); import
/// the trait to use it.
pub trait AsyncWriteRentExt: AsyncWriteRent {
    /// Writes all of `buf`'s initialized bytes, looping over short writes;
    /// returns the count written (`buf`'s length) and `buf`.
    ///
    /// Each retry writes a [`Slice`](rentio_buf::Slice) of the rest and
    /// unwraps it again, so the one buffer is handed back and forth without
    /// copies. An empty buffer returns `Ok(0)` without writing.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     let mut f = std::pin::pin!(f);
    /// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
    /// # }
    /// use rentio_io::AsyncWriteRentExt;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut out = Vec::new();
    /// let (res, buf) = block_on(out.write_all(b"hello".to_vec()));
    /// assert_eq!(res?, 5);
    /// assert_eq!(buf, out); // the buffer comes back with the result
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// `WriteZero` if a write accepts 0 bytes of a non-empty rest;
    /// `InvalidData` if the writer reports more bytes than it was given; any
    /// other write error as is. The bytes before the failed write were
    /// written; how many is not reported.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping the future leaves an unknown prefix of `buf`
    /// written, and drops `buf`.
    fn write_all<T: IoBuf>(&mut self, mut buf: T) -> impl Future<Output = BufResult<usize, T>> {
        async move {
            let len = buf.buf_len();
            let mut written = 0;
            while written < len {
                let (res, slice) = self.write(buf.slice(written..len)).await;
                buf = slice.into_inner();
                match res.and_then(|n| check_count(n, len - written)) {
                    Ok(0) => return (Err(write_zero()), buf),
                    Ok(n) => written += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return (Err(e), buf),
                }
            }
            (Ok(len), buf)
        }
    }

    /// Writes all of the initialized bytes of every buffer in `buf`, in
    /// order, looping over short writes; returns the count written and `buf`.
    ///
    /// After a short write the next [`writev`](AsyncWriteRent::writev) gets
    /// a view of `buf` that skips what was written (whole buffers, then the
    /// front of the next one); no bytes are copied.
    ///
    /// # Errors
    ///
    /// As [`write_all`](AsyncWriteRentExt::write_all).
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe, as [`write_all`](AsyncWriteRentExt::write_all).
    fn write_vectored_all<T: IoVecBuf>(
        &mut self,
        buf: T,
    ) -> impl Future<Output = BufResult<usize, T>> {
        async move {
            let total = buf.total_len();
            let mut written = 0;
            let mut buf = buf;
            while written < total {
                let (res, view) = self.writev(Advance::new(buf, written)).await;
                buf = view.into_inner();
                match res.and_then(|n| check_count(n, total - written)) {
                    Ok(0) => return (Err(write_zero()), buf),
                    Ok(n) => written += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return (Err(e), buf),
                }
            }
            (Ok(total), buf)
        }
    }

    write_int!(write_u8, u8, to_be_bytes, "a");
    write_int!(write_i8, i8, to_be_bytes, "a");
    write_int!(write_u16, u16, to_be_bytes, "a big-endian");
    write_int!(write_i16, i16, to_be_bytes, "a big-endian");
    write_int!(write_u32, u32, to_be_bytes, "a big-endian");
    write_int!(write_i32, i32, to_be_bytes, "a big-endian");
    write_int!(write_u64, u64, to_be_bytes, "a big-endian");
    write_int!(write_i64, i64, to_be_bytes, "a big-endian");
    write_int!(write_u128, u128, to_be_bytes, "a big-endian");
    write_int!(write_i128, i128, to_be_bytes, "a big-endian");
    write_int!(write_f32, f32, to_be_bytes, "a big-endian");
    write_int!(write_f64, f64, to_be_bytes, "a big-endian");
    write_int!(write_u16_le, u16, to_le_bytes, "a little-endian");
    write_int!(write_i16_le, i16, to_le_bytes, "a little-endian");
    write_int!(write_u32_le, u32, to_le_bytes, "a little-endian");
    write_int!(write_i32_le, i32, to_le_bytes, "a little-endian");
    write_int!(write_u64_le, u64, to_le_bytes, "a little-endian");
    write_int!(write_i64_le, i64, to_le_bytes, "a little-endian");
    write_int!(write_u128_le, u128, to_le_bytes, "a little-endian");
    write_int!(write_i128_le, i128, to_le_bytes, "a little-endian");
    write_int!(write_f32_le, f32, to_le_bytes, "a little-endian");
    write_int!(write_f64_le, f64, to_le_bytes, "a little-endian");
}

impl<W: AsyncWriteRent + ?Sized> AsyncWriteRentExt for W {}
