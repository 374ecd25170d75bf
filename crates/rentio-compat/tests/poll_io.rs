//! Poll-io streams (`PollIo`) under tokio's IO helpers, on both backends:
//! a large echo, a read and a write waiting at once from two tasks, data
//! that comes between a short read and the next wait, end of stream, a
//! reset peer, futures-io, and the way back to rent IO.

#![allow(clippy::unwrap_used)]

mod support;

use std::future::poll_fn;
use std::io::{Read as _, Write as _};
use std::pin::Pin;
use std::time::Duration;

use rentio_compat::IntoPollIo;
use rentio_io::AsyncReadRent;
use rentio_net::{TcpStream, UnixStream};
use support::{each_backend, pattern};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A rentio client and a std server end of one TCP connection.
async fn connected() -> (TcpStream, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = TcpStream::connect(&addr).await.unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

/// Bounds a step that must not hang (a lost wake-up would).
async fn within<F: std::future::Future>(what: &str, fut: F) -> F::Output {
    rentio_executor::time::timeout(Duration::from_secs(5), fut)
        .await
        .unwrap_or_else(|_| panic!("hung: {what}"))
}

/// Runs `fut` (bounded, as [`within`]), counting how often it was polled:
/// a future that spins instead of waiting is polled without end.
async fn counting_polls<F: std::future::Future>(what: &str, fut: F) -> (F::Output, u64) {
    let mut fut = std::pin::pin!(fut);
    let mut polls = 0u64;
    let out = within(
        what,
        poll_fn(|cx| {
            polls += 1;
            fut.as_mut().poll(cx)
        }),
    )
    .await;
    (out, polls)
}

/// 1 MiB each way between two poll-io ends of a Unix stream pair, each
/// end written by one task and read by another (`tokio::io::split`).
#[test]
fn a_mebibyte_each_way() {
    each_backend(|| async {
        let (a, b) = UnixStream::pair().unwrap();
        let (mut ar, mut aw) = tokio::io::split(a.into_poll_io());
        let (mut br, mut bw) = tokio::io::split(b.into_poll_io());
        let data = pattern(1 << 20);
        let (to_b, to_a) = (data.clone(), data.clone());
        let wa = rentio_executor::spawn(async move {
            aw.write_all(&to_b).await.unwrap();
            aw.shutdown().await.unwrap();
        });
        let wb = rentio_executor::spawn(async move {
            bw.write_all(&to_a).await.unwrap();
            bw.shutdown().await.unwrap();
        });
        let rb = rentio_executor::spawn(async move {
            let mut got = Vec::new();
            br.read_to_end(&mut got).await.unwrap();
            got
        });
        let mut got_a = Vec::new();
        within("a's read", ar.read_to_end(&mut got_a))
            .await
            .unwrap();
        let got_b = within("b's read", rb).await.unwrap();
        wa.await.unwrap();
        wb.await.unwrap();
        assert!(got_a == data && got_b == data, "the bytes differ");
    });
}

/// A read waiting on a silent peer and a write waiting on a full socket,
/// from two tasks on one stream: both finish once the peer reads and
/// then writes.
#[test]
fn a_read_and_a_write_wait_at_once() {
    each_backend(|| async {
        let (client, server) = connected().await;
        let (mut rd, mut wr) = tokio::io::split(client.into_poll_io());
        let reader = rentio_executor::spawn(async move {
            let mut buf = [0u8; 5];
            rd.read_exact(&mut buf).await.unwrap();
            buf
        });
        // Enough to fill both sockets' buffers: the write waits.
        let big = pattern(8 << 20);
        let writer = rentio_executor::spawn(async move {
            wr.write_all(&big).await.unwrap();
            wr.shutdown().await.unwrap();
        });
        for _ in 0..10 {
            rentio_executor::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(!reader.is_finished() && !writer.is_finished());
        // The peer drains the write, then answers, on a thread of its own.
        let peer = std::thread::spawn(move || {
            let mut server = server;
            let mut sink = Vec::new();
            server.read_to_end(&mut sink).unwrap();
            server.write_all(b"hello").unwrap();
            sink.len()
        });
        within("the write", writer).await.unwrap();
        assert_eq!(&within("the read", reader).await.unwrap(), b"hello");
        assert_eq!(peer.join().unwrap(), 8 << 20);
    });
}

/// Data that arrives after a short read, before the next read waits: the
/// next read must see it, on TCP and on a Unix stream. A short TCP read
/// clears the cached readiness, and the readiness wait is armed already
/// (the first read waited), so only the edge the new data makes can wake
/// the next read: this fails if such an edge is lost or not taken.
#[test]
fn data_after_a_short_read_is_never_missed() {
    each_backend(|| async {
        let (client, mut server) = connected().await;
        let mut client = client.into_poll_io();
        let mut buf = [0u8; 64];
        // The first read waits: the wait is armed before any data.
        let writer = std::thread::spawn({
            let mut server = server.try_clone().unwrap();
            move || {
                std::thread::sleep(Duration::from_millis(20));
                server.write_all(b"go").unwrap();
            }
        });
        let n = within("the first read", client.read(&mut buf))
            .await
            .unwrap();
        assert_eq!(&buf[..n], &b"go"[..n]);
        writer.join().unwrap();
        if n < 2 {
            within("the rest", client.read_exact(&mut buf[..1]))
                .await
                .unwrap();
        }
        for round in 0..20u8 {
            server.write_all(&[round; 3]).unwrap();
            let n = within("a tcp read", client.read(&mut buf)).await.unwrap();
            assert_eq!(&buf[..n], &[round; 3][..n]);
            if n < 3 {
                let m = within("the rest", client.read(&mut buf[n..]))
                    .await
                    .unwrap();
                assert_eq!(n + m, 3);
            }
        }
        let (a, b) = UnixStream::pair().unwrap();
        let mut a = a.into_poll_io();
        let mut b = b.into_poll_io();
        for round in 0..20u8 {
            a.write_all(&[round; 2]).await.unwrap();
            let n = within("a unix read", b.read(&mut buf)).await.unwrap();
            assert_eq!(n, 2);
        }
    });
}

/// A read on a Unix stream stops early at a message that carried fds,
/// with more data waiting behind it and no readiness edge to come. Were
/// that short read taken for "drained" (as a short TCP read is), the
/// second read here would wait forever.
#[test]
fn a_unix_read_cut_short_by_passed_fds_is_not_drained() {
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream as StdUnixStream;

    use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags};

    each_backend(|| async {
        let (a, b) = StdUnixStream::pair().unwrap();
        let mut b = UnixStream::from_std(b).into_poll_io();
        let sender = std::thread::spawn(move || {
            // Wait until the reader has found nothing and armed its wait.
            std::thread::sleep(Duration::from_millis(20));
            let passed = std::fs::File::open("/dev/null").unwrap();
            let fds = [passed.as_fd()];
            let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
            let mut control = SendAncillaryBuffer::new(&mut space);
            assert!(control.push(SendAncillaryMessage::ScmRights(&fds)));
            let with_fd = [std::io::IoSlice::new(b"ab")];
            rustix::net::sendmsg(&a, &with_fd, &mut control, SendFlags::empty()).unwrap();
            (&a).write_all(b"cd").unwrap();
            a
        });
        let mut buf = [0u8; 64];
        let n = within("the message with an fd", b.read(&mut buf))
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"ab", "the read stops at the fd's message");
        let n = within("the data behind it", b.read(&mut buf))
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"cd");
        drop(sender.join().unwrap());
    });
}

/// A short TCP read on a live connection drains it: afterwards the stream
/// waits for the next readiness event instead of trying a `recv` bound to
/// say `EAGAIN` (the syscall hyper would make after every request). An
/// event taken wrongly for "the peer shut down" (io_uring reports
/// `POLLPRI` with every data wake-up) would leave it ready.
#[test]
fn a_short_tcp_read_waits_for_the_next_event() {
    each_backend(|| async {
        let (client, server) = connected().await;
        let mut client = client.into_poll_io();
        let mut buf = [0u8; 64];
        for round in 0..3u8 {
            // The read waits first, so the data comes as an event.
            let writer = std::thread::spawn({
                let mut server = server.try_clone().unwrap();
                move || {
                    std::thread::sleep(Duration::from_millis(10));
                    server.write_all(&[round]).unwrap();
                }
            });
            let n = within("a read", client.read(&mut buf)).await.unwrap();
            writer.join().unwrap();
            assert_eq!(&buf[..n], &[round]);
            let ready = poll_fn(|cx| {
                std::task::Poll::Ready(client.get_ref().poll_read_ready(cx).is_ready())
            })
            .await;
            assert!(!ready, "round {round}: still ready after a short read");
        }
        // The peer's end is sticky: ready, and reads give 0 from then on.
        server.shutdown(std::net::Shutdown::Write).unwrap();
        assert_eq!(within("eof", client.read(&mut buf)).await.unwrap(), 0);
        assert_eq!(within("eof again", client.read(&mut buf)).await.unwrap(), 0);
    });
}

/// A peer that shut down its side and reads slowly: the writer, whose
/// send buffer fills, waits for room (write readiness never sticks on the
/// peer's `POLLRDHUP`) rather than spin. Counted in polls of the write,
/// not in time: a spin polls it hundreds of thousands of times while the
/// peer sleeps.
#[test]
fn a_writer_to_a_half_closed_slow_peer_waits() {
    each_backend(|| async {
        let (client, server) = connected().await;
        let mut client = client.into_poll_io();
        server.shutdown(std::net::Shutdown::Write).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(within("eof", client.read(&mut buf)).await.unwrap(), 0);
        let len = 8 << 20;
        let peer = std::thread::spawn(move || {
            let mut server = server;
            std::thread::sleep(Duration::from_millis(200));
            let mut sink = vec![0u8; 64 << 10];
            let mut got = 0;
            while got < len {
                let n = server.read(&mut sink).unwrap();
                assert!(n > 0, "early end of stream");
                got += n;
            }
            got
        });
        let data = vec![7u8; len];
        let (written, polls) = counting_polls("the write", client.write_all(&data)).await;
        written.unwrap();
        assert_eq!(peer.join().unwrap(), len);
        assert!(
            polls < 20_000,
            "the write was polled {polls} times: it spun"
        );
    });
}

/// Urgent data (which makes the readiness backend stop taking short reads
/// for drained), then an idle wait: `EAGAIN` still sends the read to wait
/// for the next event rather than spin. Counted in polls, as above.
#[test]
fn an_idle_read_after_urgent_data_waits() {
    each_backend(|| async {
        let (client, mut server) = connected().await;
        let mut client = client.into_poll_io();
        server.write_all(b"xy").unwrap();
        let sent = rustix::net::send(&server, b"z", rustix::net::SendFlags::OOB).unwrap();
        assert_eq!(sent, 1);
        let mut buf = [0u8; 64];
        let mut got = Vec::new();
        while got.len() < 2 {
            let n = within("the data", client.read(&mut buf)).await.unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"xy", "the urgent byte stays out of band");
        let peer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            server.write_all(b"more").unwrap();
            server
        });
        let (n, polls) = counting_polls("the idle read", client.read(&mut buf)).await;
        let n = n.unwrap();
        drop(peer.join().unwrap());
        assert!(n > 0);
        assert!(polls < 1_000, "the read was polled {polls} times: it spun");
    });
}

/// Data and the peer's FIN in one readiness event: the read of the data
/// comes back short (the FIN ends it), and the read after it must see the
/// end of stream rather than wait for an edge that will never come.
#[test]
fn end_of_stream_right_behind_data_is_seen() {
    each_backend(|| async {
        let (client, mut server) = connected().await;
        let mut client = client.into_poll_io();
        let mut buf = [0u8; 64];
        {
            let mut read = std::pin::pin!(client.read(&mut buf));
            // Nothing to read yet: the read arms its wait.
            let first = poll_fn(|cx| std::task::Poll::Ready(read.as_mut().poll(cx))).await;
            assert!(first.is_pending());
            // Both arrive while nobody looks.
            server.write_all(b"abc").unwrap();
            server.shutdown(std::net::Shutdown::Write).unwrap();
            assert_eq!(within("the data", read).await.unwrap(), 3);
        }
        assert_eq!(&buf[..3], b"abc");
        let n = within("the end of stream", client.read(&mut buf))
            .await
            .unwrap();
        assert_eq!(n, 0);
    });
}

/// End of stream reads 0; a reset peer is an error; shutdown twice is
/// fine.
#[test]
fn end_of_stream_and_reset() {
    each_backend(|| async {
        let (client, server) = connected().await;
        let mut client = client.into_poll_io();
        drop(server);
        let mut buf = [0u8; 8];
        assert_eq!(within("eof", client.read(&mut buf)).await.unwrap(), 0);
        client.shutdown().await.unwrap();
        client.shutdown().await.unwrap();

        let (client, server) = connected().await;
        let server = TcpStream::from_std(server);
        server.set_linger(Some(Duration::ZERO)).unwrap();
        drop(server);
        let mut client = client.into_poll_io();
        let e = within("reset", client.read(&mut buf)).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
    });
}

/// futures-io's traits, driven by hand, then back to rent IO.
#[test]
fn futures_io_and_back_to_rent_io() {
    use futures_io::{AsyncRead, AsyncWrite};
    each_backend(|| async {
        let (a, b) = UnixStream::pair().unwrap();
        let (mut a, mut b) = (a.into_poll_io(), b.into_poll_io());
        let n = poll_fn(|cx| Pin::new(&mut a).poll_write(cx, b"poll"))
            .await
            .unwrap();
        assert_eq!(n, 4);
        let mut buf = [0u8; 4];
        let n = poll_fn(|cx| Pin::new(&mut b).poll_read(cx, &mut buf))
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"poll");
        poll_fn(|cx| Pin::new(&mut a).poll_write(cx, b"rent"))
            .await
            .unwrap();
        poll_fn(|cx| Pin::new(&mut a).poll_close(cx)).await.unwrap();
        let mut b = b.into_rent_io();
        let (n, got) = b.read(Vec::with_capacity(16)).await;
        assert_eq!(n.unwrap(), 4);
        assert_eq!(got, b"rent");
    });
}

/// Owned halves: a reader task and a writer task on one TCP stream, both
/// waiting at once; dropping the write half ends the peer's read; halves
/// of two streams do not reunite, halves of one do.
#[test]
fn owned_halves() {
    each_backend(|| async {
        let (client, server) = connected().await;
        let (mut rd, mut wr) = client.into_poll_io().into_split();
        let data = pattern(256 << 10);
        // The peer echoes everything back, then sees the end.
        // A lost FIN fails the read after 5 s rather than hang the join.
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let peer = std::thread::spawn(move || {
            let mut server = server;
            let mut got = Vec::new();
            let mut buf = [0u8; 16 << 10];
            loop {
                let n = server.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
                server.write_all(&buf[..n]).unwrap();
            }
            got.len()
        });
        // The reader waits first, before any data.
        let len = data.len();
        let reader = rentio_executor::spawn(async move {
            let mut echoed = vec![0u8; len];
            rd.read_exact(&mut echoed).await.unwrap();
            (rd, echoed)
        });
        let writer = rentio_executor::spawn(async move {
            wr.write_all(&data).await.unwrap();
            (wr, data)
        });
        let (wr, data) = within("the writer", writer).await.unwrap();
        let (rd, echoed) = within("the reader", reader).await.unwrap();
        assert!(echoed == data, "the echo came back changed");

        let (other, _other_peer) = connected().await;
        let (other_rd, other_wr) = other.into_poll_io().into_split();
        let err = rd.reunite(other_wr).unwrap_err();
        assert!(err.to_string().contains("different streams"), "{err}");
        let (rd, other_wr) = (err.0, err.1);
        drop((other_rd, other_wr));
        // Dropped, the write half shuts the write side down.
        drop(wr);
        assert_eq!(peer.join().expect("the peer saw the end"), len);
        drop(rd);
    });
}
