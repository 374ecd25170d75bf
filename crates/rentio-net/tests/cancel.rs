//! Explicit cancellation of every net op (`with_cancel`): a cancelled op
//! gives its buffer back with `ECANCELED`, or `Ok(n)` for the bytes it
//! moved, and nothing is lost: what a cancelled write reports is exactly
//! what the peer reads, and data that arrives after a cancelled read is
//! read by the next one. On both backends.

#![allow(clippy::unwrap_used)]

mod support;

use std::future::Future;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use rentio_buf::IoBufMut;
use rentio_driver::Feature;
use rentio_io::{AsyncReadRent, AsyncReadRentExt, AsyncWriteRent};
use rentio_net::{
    BufRing, Canceller, TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream,
};
use support::each_backend;

fn is_cancelled<T: std::fmt::Debug>(result: &std::io::Result<T>) -> bool {
    matches!(result, Err(e) if e.raw_os_error() == Some(libc::ECANCELED))
}

/// Runs `op` while firing `canceller` after 20 ms.
async fn cancelled_after_20ms<F: Future>(op: F, canceller: &Canceller) -> F::Output {
    let mut op = std::pin::pin!(op);
    let mut timer = std::pin::pin!(rentio_executor::time::sleep(Duration::from_millis(20)));
    let mut fired = false;
    std::future::poll_fn(|cx| {
        if !fired && timer.as_mut().poll(cx).is_ready() {
            fired = true;
            canceller.cancel();
        }
        op.as_mut().poll(cx)
    })
    .await
}

/// Fills `fd`'s send buffer until the kernel takes no more, writing the
/// pattern from `*at` on.
fn fill(fd: BorrowedFd<'_>, at: &mut usize) {
    let chunk = support::pattern(8192);
    loop {
        match rustix::io::write(fd, &chunk[*at % 251..][..4096]) {
            Ok(n) => *at += n,
            Err(rustix::io::Errno::AGAIN) => return,
            Err(e) => panic!("fill: {e}"),
        }
    }
}

/// The 256 KiB of the pattern that follow its first `at` bytes.
fn next_chunk(at: usize) -> Vec<u8> {
    support::pattern(1 << 20)[at % 251..][..256 << 10].to_vec()
}

/// A cancelled send's outcome: its buffer back whole, and `Ok(n)` (added
/// to `at`) or `ECANCELED`.
fn count_sent(result: std::io::Result<usize>, buf: &[u8], at: &mut usize, what: &str) {
    assert_eq!(buf.len(), 256 << 10, "{what}: the buffer came back whole");
    match result {
        Ok(n) => *at += n,
        Err(e) => assert_eq!(e.raw_os_error(), Some(libc::ECANCELED), "{what}: {e:?}"),
    }
}

/// The peer reads exactly the first `at` bytes of the pattern.
async fn reads_exactly(peer: &mut impl AsyncReadRent, at: usize, what: &str) {
    let (got, buf) = peer
        .read_exact(Vec::with_capacity(at).slice_mut(..at))
        .await;
    got.unwrap();
    let want: Vec<u8> = (0..at).map(|i| (i % 251) as u8).collect();
    assert!(
        buf.into_inner() == want,
        "{what}: the peer read exactly what the sends reported"
    );
}

/// The checks of a stream's (or its halves') read and write; `$peer` is
/// a whole stream on the other end.
macro_rules! check_stream {
    ($reader:expr, $writer:expr, $peer:expr) => {{
        let (reader, writer, peer) = ($reader, $writer, $peer);
        // A read with nothing to read, cancelled: the buffer comes back;
        // what comes later is read whole by the next read.
        let canceller = Canceller::new();
        let handle = canceller.handle();
        let mut buf = Vec::with_capacity(32);
        buf.extend_from_slice(b"kept");
        let (result, buf) =
            cancelled_after_20ms(reader.with_cancel(&handle).read(buf), &canceller).await;
        assert!(is_cancelled(&result), "read: {result:?}");
        assert_eq!(buf, b"kept", "the buffer and its bytes came back");
        let (sent, _) = peer
            .with_cancel(&Canceller::new().handle())
            .write(b"after".to_vec())
            .await;
        sent.unwrap();
        let (got, buf) = reader
            .with_cancel(&Canceller::new().handle())
            .read(Vec::with_capacity(16))
            .await;
        assert_eq!(got.unwrap(), 5);
        assert_eq!(buf, b"after", "nothing was lost to the cancelled read");
        // A read started after the cancel takes nothing, even with data
        // waiting: it never reaches the kernel.
        let (sent, _) = peer
            .with_cancel(&Canceller::new().handle())
            .write(b"waiting".to_vec())
            .await;
        sent.unwrap();
        rentio_executor::time::sleep(Duration::from_millis(5)).await;
        let (late, buf) = reader
            .with_cancel(&handle)
            .read(Vec::with_capacity(16))
            .await;
        assert!(is_cancelled(&late), "late read: {late:?}");
        assert!(buf.is_empty());
        let (got, buf) = reader
            .with_cancel(&Canceller::new().handle())
            .read(Vec::with_capacity(16))
            .await;
        assert_eq!(got.unwrap(), 7);
        assert_eq!(buf, b"waiting", "the late read took nothing");

        // A write into a full socket, cancelled: it reports the bytes that
        // went (`Ok(n)`) or none (`ECANCELED`), and the peer reads exactly
        // those.
        let mut at = 0usize;
        fill(writer.as_fd(), &mut at);
        let canceller = Canceller::new();
        let handle = canceller.handle();
        let (result, data) = cancelled_after_20ms(
            writer.with_cancel(&handle).write(next_chunk(at)),
            &canceller,
        )
        .await;
        count_sent(result, &data, &mut at, "write");
        // An op started after the cancel ends at once.
        let (late, _) = writer.with_cancel(&handle).write(vec![1u8; 8]).await;
        assert!(is_cancelled(&late), "late write: {late:?}");
        let other = Canceller::new().handle();
        reads_exactly(&mut peer.with_cancel(&other), at, "write").await;
        // And nothing more.
        let (n, _) = cancelled_after_20ms(
            peer.with_cancel(&handle).read(Vec::with_capacity(8)),
            &Canceller::new(),
        )
        .await;
        assert!(is_cancelled(&n), "no byte beyond the reported ones: {n:?}");
    }};
}

#[test]
fn tcp_reads_and_writes_cancel_without_loss() {
    each_backend(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = TcpStream::connect(&listener.local_addr().unwrap())
            .await
            .unwrap();
        let (b, _) = listener.accept().await.unwrap();
        check_stream!(&a, &a, &b);
    });
}

#[test]
fn unix_reads_and_writes_cancel_without_loss() {
    each_backend(|| async {
        let (a, b) = UnixStream::pair().unwrap();
        check_stream!(&a, &a, &b);
    });
}

#[test]
fn split_halves_cancel_without_loss() {
    each_backend(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = TcpStream::connect(&listener.local_addr().unwrap())
            .await
            .unwrap();
        let (b, _) = listener.accept().await.unwrap();
        let (read, write) = a.into_split();
        check_stream!(&read, &write, &b);
        let (a, b) = UnixStream::pair().unwrap();
        let (read, write) = a.into_split();
        check_stream!(&read, &write, &b);
    });
}

#[test]
fn datagram_receives_cancel_without_losing_a_datagram() {
    each_backend(|| async {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let canceller = Canceller::new();
        let handle = canceller.handle();
        let view = a.with_cancel(&handle);
        let (result, buf) =
            cancelled_after_20ms(view.recv_from(Vec::with_capacity(64)), &canceller).await;
        assert!(is_cancelled(&result), "{result:?}");
        assert!(buf.capacity() >= 64);
        let (result, _) = view.recv(Vec::with_capacity(64)).await;
        assert!(is_cancelled(&result), "after the cancel: {result:?}");
        let (sent, _) = b
            .with_cancel(&Canceller::new().handle())
            .send_to(b"dgram".to_vec(), a.local_addr().unwrap())
            .await;
        assert_eq!(sent.unwrap(), 5);
        let (got, buf) = a.recv_from(Vec::with_capacity(64)).await;
        assert_eq!(got.unwrap().1, b.local_addr().unwrap());
        assert_eq!(buf, b"dgram", "the datagram was not lost");

        let (x, y) = UnixDatagram::pair().unwrap();
        let canceller = Canceller::new();
        let handle = canceller.handle();
        let (result, _) = cancelled_after_20ms(
            x.with_cancel(&handle).recv(Vec::with_capacity(64)),
            &canceller,
        )
        .await;
        assert!(is_cancelled(&result), "{result:?}");
        let (sent, _) = y
            .with_cancel(&Canceller::new().handle())
            .send(b"unix".to_vec())
            .await;
        sent.unwrap();
        let (got, buf) = x
            .with_cancel(&Canceller::new().handle())
            .recv_from(Vec::with_capacity(64))
            .await;
        got.unwrap();
        assert_eq!(buf, b"unix");
    });
}

#[test]
fn accepts_cancel_and_the_listener_accepts_again() {
    each_backend(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let canceller = Canceller::new();
        let result = cancelled_after_20ms(
            listener.with_cancel(&canceller.handle()).accept(),
            &canceller,
        )
        .await;
        assert!(is_cancelled(&result), "{:?}", result.map(|_| ()));
        let addr = listener.local_addr().unwrap();
        let client = std::thread::spawn(move || std::net::TcpStream::connect(addr).unwrap());
        let (_conn, _) = listener.accept().await.unwrap();
        drop(client.join().unwrap());

        let dir = std::env::temp_dir().join(format!("rentio-cancel-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let listener = UnixListener::bind(&dir).unwrap();
        let canceller = Canceller::new();
        let result = cancelled_after_20ms(
            listener.with_cancel(&canceller.handle()).accept(),
            &canceller,
        )
        .await;
        assert!(is_cancelled(&result), "{:?}", result.map(|_| ()));
        let _client = UnixStream::connect(&dir).await.unwrap();
        let (_conn, _) = listener.accept().await.unwrap();
        let _ = std::fs::remove_file(&dir);
    });
}

#[test]
fn a_cancelled_receive_stream_ends_and_loses_nothing() {
    for (name, builder) in support::feature_configs(Feature::BufRing, "uring, buffer rings masked")
    {
        let rt = builder.build().unwrap();
        rt.block_on(async {
            let driver = rentio_executor::current_driver().unwrap();
            let ring = BufRing::new(&driver, 4, 4096).unwrap();
            let (a, b) = UnixStream::pair().unwrap();
            let (sent, _) = b
                .with_cancel(&Canceller::new().handle())
                .write(b"first".to_vec())
                .await;
            sent.unwrap();
            let canceller = Canceller::new();
            let handle = canceller.handle();
            let mut arrivals = a.recv_stream(&ring);
            let first = arrivals.next_cancellable(&handle).await.unwrap().unwrap();
            assert_eq!(&first[..], b"first", "{name}");
            drop(first);
            let next = cancelled_after_20ms(arrivals.next_cancellable(&handle), &canceller).await;
            assert!(
                matches!(&next, Some(Err(e)) if e.raw_os_error() == Some(libc::ECANCELED)),
                "{name}: {next:?}"
            );
            assert!(arrivals.next().await.is_none(), "{name}: ended");
            drop(arrivals);
            // What came after the cancel waits in the socket.
            let (sent, _) = b
                .with_cancel(&Canceller::new().handle())
                .write(b"later".to_vec())
                .await;
            sent.unwrap();
            let mut a = a;
            let (got, buf) = a.read(Vec::with_capacity(16)).await;
            assert_eq!(got.unwrap(), 5, "{name}");
            assert_eq!(buf, b"later", "{name}");
            // Every buffer went back.
            for _ in 0..100 {
                if ring.out() == 0 {
                    break;
                }
                rentio_executor::time::sleep(Duration::from_millis(5)).await;
            }
            assert_eq!(ring.out(), 0, "{name}: buffers back");
        });
    }
}

/// A zero-copy send into a full socket, cancelled: the buffer comes back
/// (after the kernel's notification) with the count that went, and the
/// peer reads exactly that. With `SEND_ZC`, with it masked (a plain
/// send), and on readiness.
#[test]
fn a_cancelled_send_zc_reports_what_went() {
    let zc = <rentio_driver::op::SendZc<Vec<u8>> as rentio_driver::OpCode>::CODE;
    let configs = support::opcode_configs(&[zc], "uring, send_zc masked");
    support::each_config(configs, |name| async move {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = TcpStream::connect(&listener.local_addr().unwrap())
            .await
            .unwrap();
        let (b, _) = listener.accept().await.unwrap();
        let mut at = 0usize;
        fill(a.as_fd(), &mut at);
        let canceller = Canceller::new();
        let handle = canceller.handle();
        let (result, data) =
            cancelled_after_20ms(a.with_cancel(&handle).send_zc(next_chunk(at)), &canceller).await;
        count_sent(result, &data, &mut at, name);
        let (late, _) = a.with_cancel(&handle).send_zc(vec![1u8; 8]).await;
        assert!(is_cancelled(&late), "{name}: late send_zc: {late:?}");
        let other = Canceller::new().handle();
        reads_exactly(&mut b.with_cancel(&other), at, name).await;
    });
}
