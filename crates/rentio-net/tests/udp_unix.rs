//! UDP and Unix sockets on both backends.

#![allow(clippy::unwrap_used)]

mod support;

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::SocketAddr as UnixAddr;

use std::io::Read as _;

use rentio_io::{AsyncReadRentExt, AsyncWriteRentExt};
use rentio_net::{UdpSocket, UnixDatagram, UnixListener, UnixStream};
use support::each_backend;

fn temp_path(name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "rentio-net-{}-{name}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_file(&path);
    path
}

#[test]
fn udp_send_to_and_recv_from_carry_addresses() {
    each_backend(|| async {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let a_addr = a.local_addr().unwrap();
        let b_addr = b.local_addr().unwrap();
        let (n, _) = a.send_to(b"ping".to_vec(), b_addr).await;
        assert_eq!(n.unwrap(), 4);
        let (got, buf) = b.recv_from(Vec::with_capacity(64)).await;
        let (n, from) = got.unwrap();
        assert_eq!((n, from), (4, a_addr));
        assert_eq!(buf, b"ping");
        // Connected: send/recv without addresses.
        b.connect(&a_addr).await.unwrap();
        assert_eq!(b.peer_addr().unwrap(), a_addr);
        let (n, _) = b.send(b"pong".to_vec()).await;
        assert_eq!(n.unwrap(), 4);
        let (n, buf) = a.recv(Vec::with_capacity(64)).await;
        assert_eq!(n.unwrap(), 4);
        assert_eq!(buf, b"pong");
    });
}

#[test]
fn unix_streams_by_path_abstract_name_and_pair() {
    each_backend(|| async {
        let path = temp_path("stream");
        let listener = UnixListener::bind(&path).unwrap();
        let server = rentio_executor::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let (n, got) = s.read_exact(Vec::with_capacity(5)).await;
            n.unwrap();
            let (n, _) = s.write_all(got).await;
            n.unwrap();
            listener
        });
        let mut c = UnixStream::connect(&path).await.unwrap();
        let (n, _) = c.write_all(b"hello".to_vec()).await;
        n.unwrap();
        let (n, got) = c.read_exact(Vec::with_capacity(5)).await;
        n.unwrap();
        assert_eq!(got, b"hello");
        let listener = server.await.unwrap();
        assert_eq!(
            listener.local_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );
        drop(listener);
        std::fs::remove_file(&path).unwrap();

        let name = format!("rentio-net-{}-abstract", std::process::id());
        let addr = UnixAddr::from_abstract_name(name.as_bytes()).unwrap();
        let listener = UnixListener::bind_addr(&addr).unwrap();
        let mut c = UnixStream::connect_addr(&addr).await.unwrap();
        let (mut s, _) = listener.accept().await.unwrap();
        let (n, _) = c.write_all(b"abs".to_vec()).await;
        n.unwrap();
        let (n, got) = s.read_exact(Vec::with_capacity(3)).await;
        n.unwrap();
        assert_eq!(got, b"abs");

        let (mut a, b) = UnixStream::pair().unwrap();
        let (mut br, _bw) = b.into_split();
        let (n, _) = a.write_all(b"pair".to_vec()).await;
        n.unwrap();
        let (n, got) = br.read_exact(Vec::with_capacity(4)).await;
        n.unwrap();
        assert_eq!(got, b"pair");
    });
}

#[test]
fn a_unix_stream_half_closes_and_may_shut_down_twice() {
    each_backend(|| async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let (n, _) = a.write_all(b"bye".to_vec()).await;
        n.unwrap();
        a.shutdown_with(std::net::Shutdown::Write).await.unwrap();
        // Again: harmless (its cancel-safety doc relies on it).
        a.shutdown_with(std::net::Shutdown::Write).await.unwrap();
        let (n, got) = b.read_to_end(Vec::new()).await;
        assert_eq!(n.unwrap(), 3);
        assert_eq!(got, b"bye");
        // The other direction still works.
        let (n, _) = b.write_all(b"ok".to_vec()).await;
        n.unwrap();
        let (n, got) = a.read_exact(Vec::with_capacity(2)).await;
        assert_eq!(n.unwrap(), 2);
        assert_eq!(got, b"ok");
    });
}

#[test]
fn unix_datagrams_with_addresses() {
    each_backend(|| async {
        let pa = temp_path("dgram-a");
        let pb = temp_path("dgram-b");
        let a = UnixDatagram::bind(&pa).unwrap();
        let b = UnixDatagram::bind(&pb).unwrap();
        let to = UnixAddr::from_pathname(&pb).unwrap();
        let (n, _) = a.send_to(b"one".to_vec(), &to).await;
        assert_eq!(n.unwrap(), 3);
        let (got, buf) = b.recv_from(Vec::with_capacity(16)).await;
        let (n, from) = got.unwrap();
        assert_eq!(n, 3);
        assert_eq!(from.as_pathname(), Some(pa.as_path()));
        assert_eq!(buf, b"one");

        // From an unbound socket the sender is unnamed.
        let u = UnixDatagram::unbound().unwrap();
        let (n, _) = u.send_to(b"two".to_vec(), &to).await;
        assert_eq!(n.unwrap(), 3);
        let (got, _) = b.recv_from(Vec::with_capacity(16)).await;
        assert!(got.unwrap().1.is_unnamed());

        let (x, y) = UnixDatagram::pair().unwrap();
        let (n, _) = x.send(b"three".to_vec()).await;
        assert_eq!(n.unwrap(), 5);
        let (n, buf) = y.recv(Vec::with_capacity(16)).await;
        assert_eq!(n.unwrap(), 5);
        assert_eq!(buf, b"three");
        drop((a, b));
        std::fs::remove_file(&pa).unwrap();
        std::fs::remove_file(&pb).unwrap();
    });
}

#[test]
fn a_queued_send_never_lands_on_a_socket_that_reuses_the_fd_number() {
    use std::os::fd::AsRawFd;
    use std::task::Poll;
    each_backend(|| async {
        let (mut a, b) = UnixStream::pair().unwrap();
        let a_fd = a.as_raw_fd();
        // Queue a send (polled once: on io_uring its SQE waits for the
        // tick's enter), drop it and the socket, and make a new pair in the
        // same tick.
        {
            let mut send = std::pin::pin!(a.write_all(b"stale".to_vec()));
            std::future::poll_fn(|cx| {
                let _ = send.as_mut().poll(cx);
                Poll::Ready(())
            })
            .await;
        }
        drop(a);
        let (c, d) = UnixStream::pair().unwrap();
        // The close is immediate, so the new pair usually reuses the
        // number; the queued send reached the kernel first and names `a`.
        let reused = c.as_raw_fd() == a_fd;
        rentio_executor::time::sleep(std::time::Duration::from_millis(10)).await;
        let mut byte = [0u8; 8];
        // SAFETY: plain non-blocking recv into a live buffer.
        let n = unsafe {
            libc::recv(
                d.as_raw_fd(),
                byte.as_mut_ptr().cast(),
                8,
                libc::MSG_DONTWAIT,
            )
        };
        assert_eq!(
            n, -1,
            "the new pair's peer received nothing (fd reused: {reused})"
        );
        drop((b, c, d));
    });
}

#[test]
fn sockets_are_nonblocking_on_every_backend_and_stay_on_their_runtime() {
    let (a, b) = UnixStream::pair().unwrap();
    let mut std = a.into_std().unwrap();
    assert!(
        std.read(&mut [0u8; 1])
            .is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock),
        "into_std gives a non-blocking socket"
    );
    let mut sock = UnixStream::from_std(std);
    // Each backend: the socket works on its first runtime and is refused,
    // not hung, on a second one.
    let backends = support::backends();
    let rt1 = rentio_executor::Runtime::builder()
        .backend(backends[0])
        .build()
        .unwrap();
    rt1.block_on(async {
        let (n, _) = sock.write_all(b"x".to_vec()).await;
        n.unwrap();
    });
    for choice in backends {
        let rt2 = rentio_executor::Runtime::builder()
            .backend(choice)
            .build()
            .unwrap();
        let err = rt2.block_on(async {
            let (n, _) = sock.write_all(b"x".to_vec()).await;
            n.unwrap_err()
        });
        assert!(
            err.to_string().contains("another runtime"),
            "[{choice:?}] {err}"
        );
    }
    drop((sock, b));
}

#[test]
fn a_unix_connect_to_a_full_backlog_is_never_a_false_success() {
    let round = std::cell::Cell::new(0);
    each_backend(|| {
        round.set(round.get() + 1);
        let path = temp_path(&format!("full-backlog-{}", round.get()));
        async move {
            // A listener that never accepts, with the smallest backlog:
            // one connection queues, the next finds it full.
            let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
            // SAFETY: listen(2) on a socket this test owns.
            let listened = unsafe { libc::listen(std::os::fd::AsRawFd::as_raw_fd(&listener), 0) };
            assert_eq!(listened, 0);
            let mut connected = Vec::new();
            let mut refused = 0;
            for _ in 0..4 {
                let attempt = rentio_executor::time::timeout(
                    std::time::Duration::from_millis(200),
                    UnixStream::connect(&path),
                )
                .await;
                match attempt {
                    Ok(Ok(stream)) => {
                        // A connect that reports success is connected.
                        stream.peer_addr().unwrap();
                        connected.push(stream);
                    }
                    Ok(Err(e)) => {
                        assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock, "{e}");
                        refused += 1;
                    }
                    // io_uring may wait for room in the backlog instead.
                    Err(_elapsed) => refused += 1,
                }
            }
            assert!(!connected.is_empty(), "the first connect queues");
            assert!(refused > 0, "a full backlog stops the rest");
            drop(connected);
            drop(listener);
            let _ = std::fs::remove_file(&path);
        }
    });
}
