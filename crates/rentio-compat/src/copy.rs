//! [`Compat`]: tokio's and futures-io's IO traits over rent IO, through
//! buffers the wrapper owns (the copy path).
//!
//! The wrapper drives a reader and a writer of its own, each through one
//! rent op at a time. An op takes its half and its buffer, and gives both
//! back when it ends, so nothing is borrowed across polls. Each op's
//! future is boxed (the rent traits' futures have no name to store them
//! under), in an allocation the next op of its kind reuses. The two
//! halves are separate values: a read waiting for the peer never holds up
//! a write, as the full-duplex protocols (HTTP/2, TLS) on top need.
//!
//! Reads land in the wrapper's read buffer and are copied out to the
//! caller; what the caller's buffer cannot take stays for the next call.
//! Writes are copied into the write buffer and reported done at once; a
//! write op sends them (all of them: a short write goes on inside the op),
//! and an error it meets shows on the next write, flush or shutdown.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use rentio_io::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt};

use crate::reuse::ReusableBox;

/// The read buffer's capacity, and the most the write buffer takes before
/// `poll_write` waits for the writer to catch up.
pub const DEFAULT_CAPACITY: usize = 64 * 1024;

/// An op in flight: it owns its half (and buffer) and hands them back.
/// Once it ends, its box is kept for the next op of its kind.
type OpFuture<H, R> = ReusableBox<(H, R)>;

/// Boxes `future` in `spare`'s allocation if there is one.
fn boxed<H, R, F>(spare: &mut Option<OpFuture<H, R>>, future: F) -> OpFuture<H, R>
where
    H: 'static,
    R: 'static,
    F: std::future::Future<Output = (H, R)> + 'static,
{
    match spare.take() {
        Some(mut op) => {
            op.set(future);
            op
        }
        None => ReusableBox::new(future),
    }
}

/// tokio's [`AsyncRead`](tokio::io::AsyncRead) and
/// [`AsyncWrite`](tokio::io::AsyncWrite) (and futures-io's traits) over a
/// rent-IO reader and writer, through buffers the wrapper owns.
///
/// Build it from a rentio stream with [`Compat::new`] (which splits it), or
/// from any reader and writer with [`Compat::from_halves`].
///
/// # Semantics
///
/// - `poll_read` copies what an earlier read left over first; otherwise it
///   runs one rent read of up to the buffer's capacity and copies out what
///   fits. Bytes the caller's buffer cannot take are kept, never lost.
/// - `poll_write` copies into the write buffer and returns `Ready` at once
///   (it waits only while the buffer is full), and starts a write op that
///   sends all it took (short writes go on inside the op). Bytes taken
///   while that op runs are sent by the next op, which the next
///   `poll_write` or `poll_flush` starts: as with tokio's `BufWriter`,
///   flush before waiting on the peer. An error from an op is returned by
///   the next `poll_write`, `poll_flush` or `poll_shutdown`, as
///   monoio-compat does (a `Ready(Ok(n))` means the bytes were taken, not
///   that they were sent), and every call after that fails too: the
///   stream is broken. A write after `poll_shutdown` is `BrokenPipe`.
/// - `poll_flush` returns once every buffered byte is written (and the
///   writer's own `flush` is done); `poll_shutdown` flushes, then shuts down
///   the write side.
///
/// # Costs
///
/// One copy each way. Nothing is allocated per op in steady state: the
/// buffers are reused, and so is each op's boxed future (the rent traits'
/// futures have no name to store them under on stable Rust), once the
/// first op of its kind has allocated it.
///
/// # Cancel safety
///
/// Dropping the wrapper with an op in flight is safe and leaks nothing: the
/// op's future is dropped, and the driver keeps its buffer until the kernel
/// is done with it. Bytes read but not yet handed out, or buffered and not
/// yet written, are dropped with it (flush first to keep the writes).
///
/// # Examples
///
/// ```
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// rentio_executor::Runtime::new()?.block_on(async {
///     let (a, b) = rentio_net::UnixStream::pair()?;
///     let (mut a, mut b) = (rentio_compat::Compat::new(a), rentio_compat::Compat::new(b));
///     a.write_all(b"hello").await?;
///     a.flush().await?;
///     let mut got = [0u8; 5];
///     b.read_exact(&mut got).await?;
///     assert_eq!(&got, b"hello");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Compat<R, W> {
    reader: ReadSide<R>,
    writer: WriteSide<W>,
}

impl<S: rentio_net::Split + 'static>
    Compat<rentio_net::OwnedReadHalf<S>, rentio_net::OwnedWriteHalf<S>>
where
    rentio_net::OwnedReadHalf<S>: AsyncReadRent,
    rentio_net::OwnedWriteHalf<S>: AsyncWriteRent,
{
    /// Wraps a rentio stream ([`TcpStream`](rentio_net::TcpStream),
    /// [`UnixStream`](rentio_net::UnixStream)), split into its owned
    /// halves so that reads and writes run at once.
    pub fn new(stream: S) -> Self {
        let (reader, writer) = stream.into_split();
        Compat::from_halves(reader, writer)
    }
}

impl<R: AsyncReadRent + 'static, W: AsyncWriteRent + 'static> Compat<R, W> {
    /// Wraps a reader and a writer, which run independently.
    pub fn from_halves(reader: R, writer: W) -> Self {
        Compat::with_capacity(DEFAULT_CAPACITY, reader, writer)
    }

    /// As [`from_halves`](Compat::from_halves), with buffers of
    /// `capacity` bytes (at least 1).
    pub fn with_capacity(capacity: usize, reader: R, writer: W) -> Self {
        let capacity = capacity.max(1);
        Compat {
            reader: ReadSide {
                state: State::Idle(reader),
                spare_op: None,
                buf: Vec::new(),
                pos: 0,
                capacity,
            },
            writer: WriteSide {
                state: WriteState::Idle(writer),
                spare_write: None,
                spare_finish: None,
                buf: Vec::new(),
                spare: Vec::new(),
                error: None,
                capacity,
                shut_down: false,
                broken: None,
            },
        }
    }

    /// Bytes read and not yet handed out.
    pub fn read_buffered(&self) -> &[u8] {
        &self.reader.buf[self.reader.pos..]
    }

    /// Bytes taken by `poll_write` that no write op has started on yet
    /// (those of an op in flight are not counted).
    pub fn write_buffered(&self) -> usize {
        self.writer.buf.len()
    }
}

// The halves are never pinned: they move into boxed op futures and back.
impl<R, W> Unpin for Compat<R, W> {}

/// The read side: an idle reader or a read in flight, and what the last
/// read left over (`buf[pos..]`).
struct ReadSide<R> {
    state: State<R>,
    /// The last read's box, for the next read.
    spare_op: Option<OpFuture<R, rentio_buf::BufResult<usize, Vec<u8>>>>,
    buf: Vec<u8>,
    pos: usize,
    capacity: usize,
}

enum State<R> {
    Idle(R),
    Reading(OpFuture<R, rentio_buf::BufResult<usize, Vec<u8>>>),
    /// An op panicked and took the half with it.
    Lost,
}

impl<R: AsyncReadRent + 'static> ReadSide<R> {
    /// What the last read left over, after one more read if nothing was:
    /// empty at end of stream. Take bytes with [`consume`](ReadSide::consume).
    fn poll_fill_buf(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        loop {
            if self.pos < self.buf.len() {
                return Poll::Ready(Ok(&self.buf[self.pos..]));
            }
            match std::mem::replace(&mut self.state, State::Lost) {
                State::Idle(mut reader) => {
                    let mut buf = std::mem::take(&mut self.buf);
                    buf.clear();
                    buf.reserve(self.capacity);
                    self.pos = 0;
                    self.state = State::Reading(boxed(&mut self.spare_op, async move {
                        let result = reader.read(buf).await;
                        (reader, result)
                    }));
                }
                State::Reading(mut op) => match op.poll(cx) {
                    Poll::Pending => {
                        self.state = State::Reading(op);
                        return Poll::Pending;
                    }
                    Poll::Ready((reader, (result, buf))) => {
                        self.state = State::Idle(reader);
                        self.spare_op = Some(op);
                        self.buf = buf;
                        self.pos = 0;
                        match result {
                            // End of stream: nothing was appended.
                            Ok(0) => return Poll::Ready(Ok(&[])),
                            Ok(_) => {}
                            Err(e) => return Poll::Ready(Err(e)),
                        }
                    }
                },
                State::Lost => return Poll::Ready(Err(lost())),
            }
        }
    }

    /// Marks `n` bytes of what [`poll_fill_buf`](ReadSide::poll_fill_buf)
    /// returned as handed out.
    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
    }

    /// Copies into `out` what [`poll_fill_buf`](ReadSide::poll_fill_buf)
    /// gives, as much as fits; `Ok(0)` with room in `out` is end of stream.
    fn poll_read(&mut self, cx: &mut Context<'_>, out: &mut [u8]) -> Poll<io::Result<usize>> {
        if out.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let n = match self.poll_fill_buf(cx) {
            Poll::Ready(Ok(data)) => {
                let n = data.len().min(out.len());
                out[..n].copy_from_slice(&data[..n]);
                n
            }
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        self.consume(n);
        Poll::Ready(Ok(n))
    }
}

/// The write side: an idle writer or an op in flight, the bytes taken and
/// not yet written, and an error to report.
struct WriteSide<W> {
    state: WriteState<W>,
    /// The last write's and the last flush's or shutdown's box, for the
    /// next of each.
    spare_write: Option<OpFuture<W, rentio_buf::BufResult<usize, Vec<u8>>>>,
    spare_finish: Option<OpFuture<W, io::Result<()>>>,
    /// Bytes taken and not in an op: all of them while idle, those taken
    /// since the op in flight started otherwise.
    buf: Vec<u8>,
    /// A buffer to take bytes into while the other is in an op, so that
    /// overlapping writes allocate nothing in steady state.
    spare: Vec<u8>,
    error: Option<io::Error>,
    capacity: usize,
    /// A shutdown op finished (whichever call polled it to the end): a
    /// later `poll_shutdown` with nothing buffered is done at once, and a
    /// write is an error.
    shut_down: bool,
    /// A write failed and its error was returned: the stream is broken,
    /// and every later write and flush says so (with this kind).
    broken: Option<io::ErrorKind>,
}

enum WriteState<W> {
    Idle(W),
    /// Writing the front of the buffer (the buffer is in the op).
    Writing(OpFuture<W, rentio_buf::BufResult<usize, Vec<u8>>>),
    /// The writer's own `flush` (`shutdown: false`) or `shutdown`.
    Finishing {
        op: OpFuture<W, io::Result<()>>,
        shutdown: bool,
    },
    /// An op panicked and took the half with it.
    Lost,
}

/// What the write side is asked to reach.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Goal {
    /// Start sending what is buffered, if nothing is in flight.
    Kick,
    /// Every buffered byte written, and the writer flushed.
    Flushed,
    /// Flushed, then the write side shut down.
    Shutdown,
}

impl<W: AsyncWriteRent + 'static> WriteSide<W> {
    /// The error to report, if any: one a write op met (once), then, for
    /// good, that the stream is broken.
    fn take_error(&mut self) -> Option<io::Error> {
        if let Some(e) = self.error.take() {
            self.broken = Some(e.kind());
            return Some(e);
        }
        self.broken.map(|kind| {
            io::Error::new(
                kind,
                "rentio-compat: an earlier write failed; the stream sends nothing more",
            )
        })
    }

    /// Whether a shutdown has finished or is in flight: writes are over.
    fn shutting_down(&self) -> bool {
        self.shut_down || matches!(self.state, WriteState::Finishing { shutdown: true, .. })
    }

    /// Takes as much of `bufs`, in order, as the buffer has room for, and
    /// starts sending it. `Pending` only while the buffer is full, and then
    /// a write op is in flight holding this task's waker.
    fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.take_error() {
            return Poll::Ready(Err(e));
        }
        if self.shutting_down() {
            return Poll::Ready(Err(after_shutdown()));
        }
        if bufs.iter().all(|b| b.is_empty()) {
            return Poll::Ready(Ok(0));
        }
        // Let the writes in flight end first, so their bytes leave the
        // buffer. Afterwards either the buffer is empty or an op is in
        // flight (`Kick` loops until one waits).
        if let Poll::Ready(Err(e)) = self.progress(cx, Goal::Kick) {
            return Poll::Ready(Err(e));
        }
        if self.shutting_down() {
            return Poll::Ready(Err(after_shutdown()));
        }
        let mut room = self.capacity.saturating_sub(self.buf.len());
        if room == 0 {
            return Poll::Pending;
        }
        let mut taken = 0;
        for buf in bufs {
            let n = room.min(buf.len());
            self.buf.extend_from_slice(&buf[..n]);
            taken += n;
            room -= n;
            if n < buf.len() {
                break;
            }
        }
        // Start sending at once (an error shows on the next call).
        if let Poll::Ready(Err(e)) = self.progress(cx, Goal::Kick) {
            self.error = Some(e);
        }
        Poll::Ready(Ok(taken))
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.progress(cx, Goal::Flushed)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.progress(cx, Goal::Shutdown)
    }

    /// Drives the write side toward `goal`. `Ready(Ok)` once reached
    /// (for `Kick`: an op is in flight or nothing is buffered).
    fn progress(&mut self, cx: &mut Context<'_>, goal: Goal) -> Poll<io::Result<()>> {
        loop {
            if goal != Goal::Kick
                && let Some(e) = self.take_error()
            {
                return Poll::Ready(Err(e));
            }
            match std::mem::replace(&mut self.state, WriteState::Lost) {
                WriteState::Idle(mut writer) => {
                    if !self.buf.is_empty() {
                        // The op takes the buffer itself and gives it back;
                        // bytes taken meanwhile wait in the spare one.
                        let buf = std::mem::replace(&mut self.buf, std::mem::take(&mut self.spare));
                        // All of it: a short write goes on inside the op,
                        // so accepted bytes stay in flight until written.
                        self.state =
                            WriteState::Writing(boxed(&mut self.spare_write, async move {
                                let result = writer.write_all(buf).await;
                                (writer, result)
                            }));
                        // Polled below, for every goal: it is pushed, and
                        // holds this task's waker while it waits.
                        continue;
                    }
                    match goal {
                        Goal::Kick => {
                            self.state = WriteState::Idle(writer);
                            return Poll::Ready(Ok(()));
                        }
                        Goal::Shutdown if self.shut_down => {
                            self.state = WriteState::Idle(writer);
                            return Poll::Ready(Ok(()));
                        }
                        Goal::Flushed | Goal::Shutdown => {
                            let shutdown = goal == Goal::Shutdown;
                            self.state = WriteState::Finishing {
                                op: boxed(&mut self.spare_finish, async move {
                                    let result = if shutdown {
                                        writer.shutdown().await
                                    } else {
                                        writer.flush().await
                                    };
                                    (writer, result)
                                }),
                                shutdown,
                            };
                        }
                    }
                }
                state @ (WriteState::Writing(_) | WriteState::Finishing { .. }) => {
                    let finishing = match &state {
                        WriteState::Finishing { shutdown, .. } => Some(*shutdown),
                        _ => None,
                    };
                    self.state = state;
                    match self.poll_in_flight(cx) {
                        Poll::Pending => {
                            return if goal == Goal::Kick {
                                Poll::Ready(Ok(()))
                            } else {
                                Poll::Pending
                            };
                        }
                        Poll::Ready(Err(e)) => {
                            // A failed write lost bytes: the stream is
                            // broken. A failed flush or shutdown lost none.
                            if finishing.is_none() {
                                self.broken = Some(e.kind());
                            }
                            return Poll::Ready(Err(e));
                        }
                        Poll::Ready(Ok(())) => {}
                    }
                    // A finish that matches the goal (a flush for a flush,
                    // a shutdown for either) reaches it; a flush that ended
                    // while a shutdown is wanted goes on to the shutdown.
                    if let Some(shutdown) = finishing
                        && (shutdown || goal == Goal::Flushed)
                        && self.buf.is_empty()
                    {
                        return Poll::Ready(Ok(()));
                    }
                    if goal == Goal::Kick && self.buf.is_empty() {
                        return Poll::Ready(Ok(()));
                    }
                }
                WriteState::Lost => return Poll::Ready(Err(lost())),
            }
        }
    }

    /// Polls the op in flight; when it ends, takes its writer and buffer
    /// back. An error is returned here and not kept.
    fn poll_in_flight(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match std::mem::replace(&mut self.state, WriteState::Lost) {
            WriteState::Writing(mut op) => match op.poll(cx) {
                Poll::Pending => {
                    self.state = WriteState::Writing(op);
                    Poll::Pending
                }
                Poll::Ready((writer, (result, mut written))) => {
                    self.state = WriteState::Idle(writer);
                    self.spare_write = Some(op);
                    // Bytes buffered while the op ran go behind what it
                    // had not written yet; the emptied buffer is the spare.
                    let mut later = std::mem::take(&mut self.buf);
                    let result = match result {
                        Ok(0) if !written.is_empty() => Err(io::Error::new(
                            io::ErrorKind::WriteZero,
                            "rentio-compat: the writer took no bytes",
                        )),
                        Ok(n) => {
                            written.drain(..n);
                            Ok(())
                        }
                        Err(e) => Err(e),
                    };
                    match result {
                        Ok(()) => {
                            if written.is_empty() {
                                std::mem::swap(&mut written, &mut later);
                            } else {
                                written.extend_from_slice(&later);
                                later.clear();
                            }
                            self.buf = written;
                            self.spare = later;
                            Poll::Ready(Ok(()))
                        }
                        Err(e) => {
                            // What could not be sent is dropped: the stream
                            // is broken, and the next call says so.
                            written.clear();
                            later.clear();
                            self.buf = written;
                            self.spare = later;
                            Poll::Ready(Err(e))
                        }
                    }
                }
            },
            WriteState::Finishing { mut op, shutdown } => match op.poll(cx) {
                Poll::Pending => {
                    self.state = WriteState::Finishing { op, shutdown };
                    Poll::Pending
                }
                Poll::Ready((writer, result)) => {
                    self.state = WriteState::Idle(writer);
                    self.spare_finish = Some(op);
                    self.shut_down |= shutdown && result.is_ok();
                    Poll::Ready(result)
                }
            },
            other => {
                self.state = other;
                Poll::Ready(Ok(()))
            }
        }
    }
}

fn after_shutdown() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "rentio-compat: write after shutdown",
    )
}

fn lost() -> io::Error {
    io::Error::other("rentio-compat: an earlier op panicked and the stream was lost")
}

impl<R: AsyncReadRent + 'static, W: AsyncWriteRent + 'static> tokio::io::AsyncRead
    for Compat<R, W>
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let reader = &mut self.get_mut().reader;
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let n = match reader.poll_fill_buf(cx) {
            Poll::Ready(Ok(data)) => {
                let n = data.len().min(buf.remaining());
                buf.put_slice(&data[..n]);
                n
            }
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        reader.consume(n);
        Poll::Ready(Ok(()))
    }
}

impl<R: AsyncReadRent + 'static, W: AsyncWriteRent + 'static> tokio::io::AsyncBufRead
    for Compat<R, W>
{
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.get_mut().reader.poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_mut().reader.consume(amt);
    }
}

impl<R: AsyncReadRent + 'static, W: AsyncWriteRent + 'static> tokio::io::AsyncWrite
    for Compat<R, W>
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .writer
            .poll_write(cx, &[io::IoSlice::new(buf)])
    }

    /// Takes as many slices as fit, in order, into the one buffer behind
    /// one op (a slice that only partly fits ends what is taken).
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().writer.poll_write(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().writer.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().writer.poll_shutdown(cx)
    }
}

impl<R: AsyncReadRent + 'static, W: AsyncWriteRent + 'static> futures_io::AsyncRead
    for Compat<R, W>
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().reader.poll_read(cx, buf)
    }
}

impl<R: AsyncReadRent + 'static, W: AsyncWriteRent + 'static> futures_io::AsyncBufRead
    for Compat<R, W>
{
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.get_mut().reader.poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_mut().reader.consume(amt);
    }
}

impl<R: AsyncReadRent + 'static, W: AsyncWriteRent + 'static> futures_io::AsyncWrite
    for Compat<R, W>
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .writer
            .poll_write(cx, &[io::IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().writer.poll_write(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().writer.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().writer.poll_shutdown(cx)
    }
}

impl<R, W> std::fmt::Debug for Compat<R, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compat")
            .field("read_buffered", &(self.reader.buf.len() - self.reader.pos))
            .field("write_buffered", &self.writer.buf.len())
            .finish_non_exhaustive()
    }
}
