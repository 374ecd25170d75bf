//! Shared helpers for the integration tests: a `block_on` that checks wakes,
//! and readers and writers that move a few bytes per call or return
//! `Pending` first.

#![allow(dead_code)]

use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use rentio_io::buf::{BufResult, IoBuf, IoBufMut, IoVecBuf, IoVecBufMut};
use rentio_io::{AsyncReadRent, AsyncWriteRent};

/// A waker that counts its wakes.
#[derive(Default)]
struct WakeCount(AtomicUsize);

impl Wake for WakeCount {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Polls `fut` to completion; returns its output and the number of wakes.
///
/// # Panics
///
/// If the future returns `Pending` without having woken the waker, which
/// with a real executor would hang.
pub fn block_on_counting<F: Future>(fut: F) -> (F::Output, usize) {
    let count = Arc::new(WakeCount::default());
    let waker = Waker::from(Arc::clone(&count));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    for _ in 0..10_000_000 {
        let before = count.0.load(Ordering::SeqCst);
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(out) => return (out, count.0.load(Ordering::SeqCst)),
            Poll::Pending => assert!(
                count.0.load(Ordering::SeqCst) > before,
                "the future returned Pending without waking: it would hang"
            ),
        }
    }
    panic!("the future did not finish in 10 million polls");
}

/// Polls `fut` to completion; see [`block_on_counting`].
pub fn block_on<F: Future>(fut: F) -> F::Output {
    block_on_counting(fut).0
}

/// A future that returns `Pending` once (waking its waker), then `Ready`.
pub struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Returns `Pending` once, then `Ready`.
pub fn yield_once() -> YieldOnce {
    YieldOnce(false)
}

/// A reader over `data` that hands out at most `chunks[i % len]` bytes on its
/// `i`-th read.
#[derive(Debug, Clone)]
pub struct ChunkedReader {
    data: Vec<u8>,
    pos: usize,
    chunks: Vec<usize>,
    /// Reads issued so far.
    pub reads: usize,
}

impl ChunkedReader {
    /// A reader of `data`, `chunk` bytes per read at most.
    pub fn new(data: impl Into<Vec<u8>>, chunk: usize) -> Self {
        Self::with_chunks(data, vec![chunk])
    }

    /// A reader of `data` whose reads take the sizes in `chunks`, cycling.
    pub fn with_chunks(data: impl Into<Vec<u8>>, chunks: Vec<usize>) -> Self {
        assert!(!chunks.is_empty() && chunks.iter().all(|&c| c > 0));
        Self {
            data: data.into(),
            pos: 0,
            chunks,
            reads: 0,
        }
    }

    /// The next chunk of the data, and the reader moved past it on `n`.
    fn next_chunk(&mut self) -> &[u8] {
        let chunk = self.chunks[self.reads % self.chunks.len()];
        self.reads += 1;
        let end = (self.pos + chunk).min(self.data.len());
        &self.data[self.pos..end]
    }
}

impl AsyncReadRent for ChunkedReader {
    async fn read<T: IoBufMut>(&mut self, buf: T) -> BufResult<usize, T> {
        let mut src = self.next_chunk();
        let (res, buf) = src.read(buf).await;
        if let Ok(n) = res {
            self.pos += n;
        }
        (res, buf)
    }

    async fn readv<T: IoVecBufMut>(&mut self, buf: T) -> BufResult<usize, T> {
        let mut src = self.next_chunk();
        let (res, buf) = src.readv(buf).await;
        if let Ok(n) = res {
            self.pos += n;
        }
        (res, buf)
    }
}

/// A writer that keeps at most `max` bytes of each write, and counts writes,
/// flushes and shutdowns.
#[derive(Debug, Default)]
pub struct ChunkedWriter {
    pub data: Vec<u8>,
    pub max: usize,
    pub writes: usize,
    pub flushes: usize,
    pub shutdowns: usize,
}

impl ChunkedWriter {
    /// A writer that takes at most `max` bytes per write.
    pub fn new(max: usize) -> Self {
        Self {
            max,
            ..Self::default()
        }
    }

    fn take(&mut self, bytes: &[u8]) -> usize {
        self.writes += 1;
        let n = bytes.len().min(self.max);
        self.data.extend_from_slice(&bytes[..n]);
        n
    }
}

impl AsyncWriteRent for ChunkedWriter {
    async fn write<T: IoBuf>(&mut self, buf: T) -> BufResult<usize, T> {
        let len = buf.buf_len();
        let view = buf.slice(..);
        let n = self.take(&view[..len]);
        (Ok(n), view.into_inner())
    }

    async fn writev<T: IoVecBuf>(&mut self, buf: T) -> BufResult<usize, T> {
        let mut all = Vec::new();
        let (res, buf) = all.writev(buf).await;
        res.unwrap();
        let n = self.take(&all);
        (Ok(n), buf)
    }

    async fn flush(&mut self) -> io::Result<()> {
        self.flushes += 1;
        Ok(())
    }

    async fn shutdown(&mut self) -> io::Result<()> {
        self.shutdowns += 1;
        Ok(())
    }
}

/// Wraps a reader or writer so that every call returns `Pending` once (and
/// wakes) before it does its work.
#[derive(Debug)]
pub struct PendingFirst<S> {
    pub inner: S,
}

impl<S: AsyncReadRent> AsyncReadRent for PendingFirst<S> {
    async fn read<T: IoBufMut>(&mut self, buf: T) -> BufResult<usize, T> {
        yield_once().await;
        self.inner.read(buf).await
    }

    async fn readv<T: IoVecBufMut>(&mut self, buf: T) -> BufResult<usize, T> {
        yield_once().await;
        self.inner.readv(buf).await
    }
}

impl<S: AsyncWriteRent> AsyncWriteRent for PendingFirst<S> {
    async fn write<T: IoBuf>(&mut self, buf: T) -> BufResult<usize, T> {
        yield_once().await;
        self.inner.write(buf).await
    }

    async fn writev<T: IoVecBuf>(&mut self, buf: T) -> BufResult<usize, T> {
        yield_once().await;
        self.inner.writev(buf).await
    }

    async fn flush(&mut self) -> io::Result<()> {
        yield_once().await;
        self.inner.flush().await
    }

    async fn shutdown(&mut self) -> io::Result<()> {
        yield_once().await;
        self.inner.shutdown().await
    }
}

/// `len` bytes of a recognizable, non-repeating-per-chunk pattern.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// Polls `fut` once with a no-op waker, then drops it.
pub fn poll_once<F: Future>(fut: F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    pin!(fut).as_mut().poll(&mut cx)
}
