//! Connection hand-off: a stream leaves one runtime's driver and joins
//! another's mid-stream, losing no byte (a 16 MiB echo that crosses
//! runtimes four times), on each backend and between the two. The tests
//! take turns (`SERIAL`), so the fd count sees only its own test's fds.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rentio_driver::BackendChoice;
use rentio_executor::{Handle, Runtime};
use rentio_io::{AsyncReadRent, AsyncWriteRentExt};
use rentio_net::{Detached, TcpListener, TcpStream, UnixStream};

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

const TOTAL: usize = 16 << 20;
const HOP: usize = 3 << 20;

/// Echoes until `limit` bytes went back, or to the end of stream; says
/// how many.
async fn echo<S: AsyncReadRent + rentio_io::AsyncWriteRent>(stream: &mut S, limit: usize) -> usize {
    let mut done = 0;
    let mut buf = Vec::with_capacity(64 << 10);
    while done < limit {
        buf.clear();
        let want = (limit - done).min(64 << 10);
        let (n, b) = stream
            .read(rentio_buf::IoBufMut::slice_mut(buf, ..want))
            .await;
        let n = n.unwrap();
        buf = b.into_inner();
        if n == 0 {
            break;
        }
        let (w, b) = stream.write_all(buf).await;
        w.unwrap();
        buf = b;
        done += n;
    }
    done
}

/// A runtime of `choice` on its own thread, serving until `stop` is set.
fn other_core(
    choice: BackendChoice,
    stop: Arc<AtomicBool>,
) -> (Handle, std::thread::JoinHandle<()>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let rt = Runtime::builder().backend(choice).build().unwrap();
        tx.send(rt.handle()).unwrap();
        rt.block_on(async {
            while !stop.load(Ordering::SeqCst) {
                rentio_executor::time::sleep(Duration::from_millis(1)).await;
            }
        });
    });
    (rx.recv().unwrap(), thread)
}

/// Writes `TOTAL` bytes of a pattern and reads the echo back, checking it.
fn client<S: Read + Write + Send + 'static>(mut writer: S, mut reader: S) {
    let data = support::pattern(TOTAL);
    let sent = data.clone();
    let w = std::thread::spawn(move || {
        for chunk in sent.chunks(100_003) {
            writer.write_all(chunk).unwrap();
        }
        writer
    });
    let mut back = vec![0; TOTAL];
    reader.read_exact(&mut back).unwrap();
    let writer = w.join().unwrap();
    drop(writer);
    assert!(back == data, "the echo differs from what was sent");
}

/// The stream crosses: here → other → here → other → here, echoing `HOP`
/// bytes on each leg and the rest on the last.
async fn cross<S>(stream: S, other: &Handle) -> usize
where
    S: rentio_net::Attach + DetachAny + AsyncReadRent + rentio_io::AsyncWriteRent + 'static,
{
    let mut stream = stream;
    let mut total = echo(&mut stream, HOP).await;
    for _ in 0..2 {
        let away: Detached<S> = stream.detach_any().await;
        let (echoed, back) = other
            .spawn(move || async move {
                let mut s: S = away.attach();
                let n = echo(&mut s, HOP).await;
                (n, s.detach_any().await)
            })
            .await
            .unwrap();
        total += echoed;
        stream = back.attach();
        total += echo(&mut stream, HOP).await;
    }
    total + echo(&mut stream, usize::MAX).await
}

trait DetachAny: Sized {
    async fn detach_any(self) -> Detached<Self>;
}
impl DetachAny for TcpStream {
    async fn detach_any(self) -> Detached<Self> {
        self.detach().await
    }
}
impl DetachAny for UnixStream {
    async fn detach_any(self) -> Detached<Self> {
        self.detach().await
    }
}

fn pairs() -> Vec<(BackendChoice, BackendChoice)> {
    let b = support::backends();
    let mut pairs: Vec<_> = b.iter().map(|&c| (c, c)).collect();
    if b.len() == 2 {
        pairs.push((BackendChoice::Uring, BackendChoice::Poll));
    }
    pairs
}

#[test]
fn tcp_stream_crosses_cores_mid_stream() {
    let _turn = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for (here, there) in pairs() {
        let fds_before = support::fd_count();
        let stop = Arc::new(AtomicBool::new(false));
        let (other, thread) = other_core(there, stop.clone());
        let rt = Runtime::builder().backend(here).build().unwrap();
        let total = rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let c = std::thread::spawn(move || {
                let s = std::net::TcpStream::connect(addr).unwrap();
                client(s.try_clone().unwrap(), s);
            });
            let (stream, _) = listener.accept().await.unwrap();
            let total = cross(stream, &other).await;
            c.join().unwrap();
            total
        });
        drop(rt);
        stop.store(true, Ordering::SeqCst);
        thread.join().unwrap();
        // The handle keeps the other runtime's unparker (an eventfd).
        drop(other);
        assert_eq!(total, TOTAL, "{here:?} -> {there:?}");
        assert_eq!(
            support::fd_count(),
            fds_before,
            "{here:?} -> {there:?}: fd leaked"
        );
    }
}

#[test]
fn unix_stream_crosses_cores_mid_stream() {
    let _turn = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for (here, there) in pairs() {
        let stop = Arc::new(AtomicBool::new(false));
        let (other, thread) = other_core(there, stop.clone());
        let rt = Runtime::builder().backend(here).build().unwrap();
        let total = rt.block_on(async {
            let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
            let c = std::thread::spawn(move || client(theirs.try_clone().unwrap(), theirs));
            let total = cross(UnixStream::from_std(ours), &other).await;
            c.join().unwrap();
            total
        });
        drop(rt);
        stop.store(true, Ordering::SeqCst);
        thread.join().unwrap();
        assert_eq!(total, TOTAL, "{here:?} -> {there:?}");
    }
}

/// A read dropped while it waits, then the hand-off: the dropped read's
/// op is cancelled before the fd moves, so the bytes sent after the move
/// all reach the other core.
#[test]
fn dropped_read_before_handoff_takes_nothing() {
    let _turn = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for (here, there) in pairs() {
        let stop = Arc::new(AtomicBool::new(false));
        let (other, thread) = other_core(there, stop.clone());
        let rt = Runtime::builder().backend(here).build().unwrap();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
            let c = std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                go_rx.recv().unwrap();
                s.write_all(b"all of it").unwrap();
                s.shutdown(std::net::Shutdown::Write).unwrap();
                let mut back = Vec::new();
                s.read_to_end(&mut back).unwrap();
                back
            });
            let (mut stream, _) = listener.accept().await.unwrap();
            // Nothing to read yet: the read waits in the kernel, then drops.
            let waited = rentio_executor::time::timeout(
                Duration::from_millis(20),
                stream.read(Vec::with_capacity(64)),
            )
            .await;
            assert!(waited.is_err(), "nothing was sent yet");
            let away = stream.detach().await;
            go_tx.send(()).unwrap();
            let got = other
                .spawn(move || async move {
                    let mut s = away.attach();
                    let mut all = Vec::new();
                    loop {
                        let (n, b) = s.read(Vec::with_capacity(64)).await;
                        if n.unwrap() == 0 {
                            break;
                        }
                        all.extend_from_slice(&b);
                    }
                    let (w, _) = s.write_all(all.clone()).await;
                    w.unwrap();
                    all
                })
                .await
                .unwrap();
            assert_eq!(got, b"all of it", "{here:?} -> {there:?}");
            assert_eq!(c.join().unwrap(), b"all of it");
        });
        drop(rt);
        stop.store(true, Ordering::SeqCst);
        thread.join().unwrap();
    }
}
