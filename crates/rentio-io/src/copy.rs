//! [`copy`]: moves every byte of a reader into a writer.

use std::io;

use crate::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt};

/// The size of the buffer [`copy`] rents to each side.
const COPY_BUF_SIZE: usize = 64 * 1024;

/// Reads `reader` to its end and writes every byte to `writer`, then flushes
/// `writer`; returns the count copied.
///
/// One 64 KiB `Vec<u8>` goes back and forth: rented to a read, then to a
/// [`write_all`](AsyncWriteRentExt::write_all) of what the read got, then
/// cleared for the next read. Reads that fail with `Interrupted` are retried.
///
/// # Examples
///
/// ```
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// # fn main() -> std::io::Result<()> {
/// let mut reader: &[u8] = b"some bytes";
/// let mut writer = Vec::new();
/// let n = block_on(rentio_io::copy(&mut reader, &mut writer))?;
/// assert_eq!(n, 10);
/// assert_eq!(writer, b"some bytes");
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// The first read error other than `Interrupted`, or a write error as
/// [`write_all`](AsyncWriteRentExt::write_all) reports it, or the flush's
/// error. The count copied until then is not reported.
///
/// # Cancel safety
///
/// Not cancel safe: dropping the future drops the buffer, with bytes that
/// may have been read from `reader` but not yet written to `writer`.
pub async fn copy<R, W>(reader: &mut R, writer: &mut W) -> io::Result<u64>
where
    R: AsyncReadRent + ?Sized,
    W: AsyncWriteRent + ?Sized,
{
    let mut buf = Vec::with_capacity(COPY_BUF_SIZE);
    let mut total = 0u64;
    loop {
        buf.clear();
        let (res, b) = reader.read(buf).await;
        buf = b;
        match res {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        let (res, b) = writer.write_all(buf).await;
        buf = b;
        let n = res?;
        total = total.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
    }
    writer.flush().await?;
    Ok(total)
}
