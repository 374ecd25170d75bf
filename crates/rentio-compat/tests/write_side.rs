//! The copy wrapper's write side against a scripted writer (writes that
//! wait, or finish at once with a short count, as the readiness backend's
//! do), and against a real peer on a thread of its own; and poll-io's
//! share of the cooperative budget.

#![allow(clippy::unwrap_used)]

mod support;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, Read as _};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use rentio_buf::{BufResult, IoBuf, IoBufMut, IoVecBuf, IoVecBufMut};
use rentio_compat::{Compat, IntoPollIo};
use rentio_net::UnixStream;
use support::each_backend;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// One scripted write: it waits until released, or finishes at once;
/// either way it takes at most `n` bytes.
#[derive(Clone, Copy, Debug)]
enum Step {
    Wait(usize),
    Now(usize),
}

#[derive(Default)]
struct Script {
    plan: VecDeque<Step>,
    sent: Vec<u8>,
    /// The length each write was given.
    writes: Vec<usize>,
    release: bool,
    waker: Option<Waker>,
}

struct Writer(Rc<RefCell<Script>>);

/// Never reads anything: these tests only write.
struct Silent;

impl rentio_io::AsyncReadRent for Silent {
    async fn read<T: IoBufMut>(&mut self, buf: T) -> BufResult<usize, T> {
        std::future::pending::<()>().await;
        (Ok(0), buf)
    }

    async fn readv<T: IoVecBufMut>(&mut self, buf: T) -> BufResult<usize, T> {
        std::future::pending::<()>().await;
        (Ok(0), buf)
    }
}

impl rentio_io::AsyncWriteRent for Writer {
    fn write<T: IoBuf>(&mut self, buf: T) -> impl Future<Output = BufResult<usize, T>> {
        let script = self.0.clone();
        let step = {
            let mut s = script.borrow_mut();
            s.writes.push(buf.buf_len());
            s.plan.pop_front().expect("the script ran out of writes")
        };
        let mut buf = Some(buf);
        std::future::poll_fn(move |cx| {
            let mut s = script.borrow_mut();
            let n = match step {
                Step::Now(n) => n,
                Step::Wait(n) => {
                    if !s.release {
                        s.waker = Some(cx.waker().clone());
                        return Poll::Pending;
                    }
                    s.release = false;
                    n
                }
            };
            let buf = buf.take().unwrap();
            let n = n.min(buf.buf_len());
            // SAFETY: an `IoBuf`'s pointer is valid for `buf_len`
            // initialized bytes while the buffer lives.
            let bytes = unsafe { std::slice::from_raw_parts(buf.as_buf_ptr(), buf.buf_len()) };
            s.sent.extend_from_slice(&bytes[..n]);
            Poll::Ready((Ok(n), buf))
        })
    }

    async fn writev<T: IoVecBuf>(&mut self, buf: T) -> BufResult<usize, T> {
        (Ok(0), buf)
    }

    async fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    async fn shutdown(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Counts wakes.
struct Wakes(AtomicUsize);

impl Wake for Wakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn scripted(capacity: usize, plan: &[Step]) -> (Compat<Silent, Writer>, Rc<RefCell<Script>>) {
    let script = Rc::new(RefCell::new(Script {
        plan: plan.iter().copied().collect(),
        ..Script::default()
    }));
    let compat = Compat::with_capacity(capacity, Silent, Writer(script.clone()));
    (compat, script)
}

/// A full buffer behind a write that ended short, then a write that ends
/// short at once: `poll_write` may wait only with a write in flight that
/// will wake it. Before the fix it returned `Pending` with nothing in
/// flight, and the task slept for good.
#[test]
fn a_full_buffer_always_waits_on_a_write_in_flight() {
    let (mut c, script) = scripted(8, &[Step::Wait(1), Step::Now(1), Step::Wait(100)]);
    let wakes = Arc::new(Wakes(AtomicUsize::new(0)));
    let waker = Waker::from(wakes.clone());
    let mut cx = Context::from_waker(&waker);
    let data: Vec<u8> = (0..24).collect();
    let write =
        |c: &mut Compat<Silent, Writer>, cx: &mut Context<'_>, range: std::ops::Range<usize>| {
            Pin::new(c).poll_write(cx, &data[range])
        };
    assert!(matches!(write(&mut c, &mut cx, 0..8), Poll::Ready(Ok(8))));
    assert!(matches!(write(&mut c, &mut cx, 8..16), Poll::Ready(Ok(8))));
    assert!(write(&mut c, &mut cx, 16..24).is_pending());
    // The write in flight ends short (1 byte of 8) and wakes the task.
    script.borrow_mut().release = true;
    script.borrow_mut().waker.take().unwrap().wake();
    assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
    if write(&mut c, &mut cx, 16..24).is_pending() {
        assert!(
            script.borrow().waker.is_some(),
            "Pending with no write in flight to wake the task"
        );
    }
    // Whatever happens next, the bytes all go out, in order.
    script.borrow_mut().plan.extend([Step::Now(1000); 8]);
    script.borrow_mut().release = true;
    if let Some(waker) = script.borrow_mut().waker.take() {
        waker.wake();
    }
    let mut rest = 16;
    while rest < 24 {
        if let Poll::Ready(Ok(n)) = write(&mut c, &mut cx, rest..24) {
            rest += n;
        }
    }
    while Pin::new(&mut c).poll_flush(&mut cx).is_pending() {}
    assert_eq!(script.borrow().sent, data);
}

/// A vectored write's slices go out in one write, not the first alone.
#[test]
fn a_vectored_write_is_one_write() {
    let (mut c, script) = scripted(64, &[Step::Wait(100)]);
    let mut cx = Context::from_waker(Waker::noop());
    let parts = [io::IoSlice::new(b"head"), io::IoSlice::new(b"body-body")];
    let n = Pin::new(&mut c).poll_write_vectored(&mut cx, &parts);
    assert!(matches!(n, Poll::Ready(Ok(13))));
    assert_eq!(script.borrow().writes, [13]);
}

/// After a failed write, every later call fails: the stream is broken.
/// After a shutdown, a write is `BrokenPipe`.
#[test]
fn errors_stick_and_writes_after_shutdown_fail() {
    struct Failing;
    impl rentio_io::AsyncWriteRent for Failing {
        async fn write<T: IoBuf>(&mut self, buf: T) -> BufResult<usize, T> {
            (Err(io::Error::from(io::ErrorKind::ConnectionReset)), buf)
        }
        async fn writev<T: IoVecBuf>(&mut self, buf: T) -> BufResult<usize, T> {
            (Ok(0), buf)
        }
        async fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
        async fn shutdown(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut c = Compat::with_capacity(64, Silent, Failing);
    let mut cx = Context::from_waker(Waker::noop());
    // Taken at once; the failure shows on the next call, and stays.
    assert!(matches!(
        Pin::new(&mut c).poll_write(&mut cx, b"x"),
        Poll::Ready(Ok(1))
    ));
    for _ in 0..3 {
        let Poll::Ready(Err(e)) = Pin::new(&mut c).poll_flush(&mut cx) else {
            panic!("a broken stream flushed");
        };
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
    }

    let (mut c, _script) = scripted(64, &[]);
    assert!(Pin::new(&mut c).poll_shutdown(&mut cx).is_ready());
    let Poll::Ready(Err(e)) = Pin::new(&mut c).poll_write(&mut cx, b"late") else {
        panic!("a write after shutdown was taken");
    };
    assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
}

/// `write_all` of 4 MiB through a small wrapper buffer into a socket with
/// a small send buffer, read by a peer on a thread of its own (so that
/// sends end short and the runtime idles between them): it finishes, on
/// both backends.
#[test]
fn writes_to_a_slow_peer_on_another_thread_all_arrive() {
    each_backend(|| async {
        for (capacity, piece) in [(1024, 3000), (4096, 100), (65_536, 70_000)] {
            let (a, b) = UnixStream::pair().unwrap();
            rustix::net::sockopt::set_socket_send_buffer_size(&a, 4096).unwrap();
            let mut b = b.into_std().unwrap();
            b.set_nonblocking(false).unwrap();
            let total = (4usize << 20).div_ceil(piece) * piece;
            let peer = std::thread::spawn(move || {
                let mut got = 0;
                let mut buf = vec![0u8; 500];
                loop {
                    match b.read(&mut buf).unwrap() {
                        0 => return got,
                        n => got += n,
                    }
                }
            });
            let (r, w) = a.into_split();
            let mut c = Compat::with_capacity(capacity, r, w);
            let data = vec![5u8; piece];
            let mut sent = 0;
            while sent < total {
                c.write_all(&data).await.unwrap();
                sent += piece;
            }
            c.shutdown().await.unwrap();
            drop(c);
            assert_eq!(
                peer.join().unwrap(),
                total,
                "capacity {capacity}, pieces of {piece}"
            );
        }
    });
}

/// A poll-io stream whose data is always there still lets other tasks
/// run: each read spends the cooperative budget, as a rent op does.
#[test]
fn poll_io_reads_spend_the_budget() {
    each_backend(|| async {
        let (a, b) = UnixStream::pair().unwrap();
        let mut a = a.into_poll_io();
        let mut b = b.into_poll_io();
        // 64 KiB waiting, read a byte at a time: always ready.
        a.write_all(&[1u8; 65_536]).await.unwrap();
        let ticks = Rc::new(AtomicUsize::new(0));
        let counter = ticks.clone();
        let other = rentio_executor::spawn(async move {
            loop {
                counter.fetch_add(1, Ordering::Relaxed);
                rentio_executor::yield_now().await;
            }
        });
        // The reads run in a task, which has a budget (the main future
        // of `block_on` has none).
        let count = ticks.clone();
        let reader = rentio_executor::spawn(async move {
            let before = count.load(Ordering::Relaxed);
            let mut byte = [0u8; 1];
            for _ in 0..65_536 {
                b.read_exact(&mut byte).await.unwrap();
            }
            count.load(Ordering::Relaxed) - before
        });
        let ran = reader.await.unwrap();
        drop(other);
        assert!(
            ran > 10,
            "the other task ran {ran} times while 65,536 reads went on"
        );
    });
}
