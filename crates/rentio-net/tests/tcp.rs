//! TCP on both backends: echo round trips, half-close, reset, refused
//! connects, ports in use, split halves, cancellation and timeouts.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::ErrorKind;
use std::net::Shutdown;
use std::time::Duration;

use rentio_io::{AsyncReadRent, AsyncReadRentExt, AsyncWriteRent, AsyncWriteRentExt};
use rentio_net::{Canceller, TcpListener, TcpSocket, TcpStream};
use support::{each_backend, pattern};

/// An echo server task on an ephemeral port: echoes each connection until
/// its peer closes.
fn echo_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let _server = rentio_executor::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let _conn = rentio_executor::spawn(async move {
                let mut buf = Vec::with_capacity(64 * 1024);
                loop {
                    buf.clear();
                    let (n, b) = stream.read(buf).await;
                    match n {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let (w, b) = stream.write_all(b).await;
                    if w.is_err() {
                        return;
                    }
                    buf = b;
                }
            });
        }
    });
    addr
}

/// Sends `data` through an echo server, writing and reading concurrently
/// from two tasks (writing everything first would deadlock on loopback
/// buffers), and returns what came back.
async fn round_trip(addr: std::net::SocketAddr, data: Vec<u8>) -> Vec<u8> {
    let stream = TcpStream::connect(&addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let len = data.len();
    let writer = rentio_executor::spawn(async move {
        // Write in 1 MiB pieces so a large message exercises short writes.
        let mut off = 0;
        while off < data.len() {
            let end = (off + (1 << 20)).min(data.len());
            let (n, _) = wr.write_all(data[off..end].to_vec()).await;
            n.unwrap();
            off = end;
        }
        wr.shutdown().await.unwrap();
        wr
    });
    let (n, got) = rd.read_to_end(Vec::with_capacity(len)).await;
    assert_eq!(n.unwrap(), len);
    let wr = writer.await.unwrap();
    rd.reunite(wr).unwrap();
    got
}

#[test]
fn echo_round_trips_of_every_size() {
    each_backend(|| async {
        let addr = echo_server();
        for len in [0, 1, 64 * 1024, 16 << 20] {
            let data = pattern(len);
            let got = round_trip(addr, data.clone()).await;
            assert!(got == data, "{len} bytes came back changed");
        }
    });
}

#[test]
fn half_close_lets_the_peer_answer() {
    each_backend(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = rentio_executor::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let (n, got) = s.read_to_end(Vec::new()).await;
            assert_eq!(n.unwrap(), 5);
            let (n, _) = s.write_all(got).await;
            n.unwrap();
        });
        let mut c = TcpStream::connect(&addr).await.unwrap();
        let (n, _) = c.write_all(b"hello".to_vec()).await;
        n.unwrap();
        c.shutdown_with(Shutdown::Write).await.unwrap();
        // Shutting the same side down again is harmless (its cancel-safety
        // doc relies on it).
        c.shutdown_with(Shutdown::Write).await.unwrap();
        let (n, got) = c.read_to_end(Vec::new()).await;
        assert_eq!(n.unwrap(), 5);
        assert_eq!(got, b"hello");
        server.await.unwrap();
    });
}

#[test]
fn a_peer_reset_mid_write_is_an_error() {
    each_backend(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut c = TcpStream::connect(&addr).await.unwrap();
        let (s, _) = listener.accept().await.unwrap();
        // Linger 0: the close sends a RST.
        s.set_linger(Some(Duration::ZERO)).unwrap();
        drop(s);
        let mut err = None;
        for _ in 0..1000 {
            let (n, _) = c.write(vec![7u8; 64 * 1024]).await;
            if let Err(e) = n {
                err = Some(e);
                break;
            }
        }
        let err = err.expect("writing to a reset peer fails");
        assert!(
            matches!(
                err.kind(),
                ErrorKind::ConnectionReset | ErrorKind::BrokenPipe
            ),
            "{err:?}"
        );
    });
}

#[test]
fn connect_refused_and_port_in_use_are_errors() {
    each_backend(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let err = TcpListener::bind(addr).expect_err("the port is taken");
        assert_eq!(err.kind(), ErrorKind::AddrInUse);
        drop(listener);
        let err = TcpStream::connect(&addr).await.expect_err("nobody listens");
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    });
}

#[test]
fn connect_resolves_names_off_the_runtime_thread() {
    each_backend(|| async {
        let addr = echo_server();
        let name = format!("localhost:{}", addr.port());
        // localhost may resolve to ::1 first; the v4 listener still answers
        // because every address is tried in turn.
        let mut c = TcpStream::connect(name.as_str()).await.unwrap();
        let (n, _) = c.write_all(b"x".to_vec()).await;
        n.unwrap();
        let (n, got) = c.read_exact(Vec::with_capacity(1)).await;
        n.unwrap();
        assert_eq!(got, b"x");
        // A zero deadline may still connect on loopback; otherwise it is a
        // timeout, never another error.
        match TcpStream::connect_timeout(&addr, Duration::ZERO).await {
            Ok(_) => {}
            Err(e) => assert_eq!(e.kind(), ErrorKind::TimedOut, "{e:?}"),
        }
        let slow = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).await;
        assert!(slow.is_ok(), "a listener answers within the deadline");
    });
}

#[test]
fn split_halves_work_from_two_tasks() {
    each_backend(|| async {
        let (a, b) = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let c = TcpStream::connect(&addr).await.unwrap();
            let (s, _) = listener.accept().await.unwrap();
            (c, s)
        };
        let (mut ar, mut aw) = a.into_split();
        let (mut br, mut bw) = b.into_split();
        let t1 = rentio_executor::spawn(async move {
            for i in 0..100u32 {
                let (n, _) = aw.write_all(i.to_be_bytes().to_vec()).await;
                n.unwrap();
                let (n, got) = ar.read_exact(Vec::with_capacity(4)).await;
                n.unwrap();
                assert_eq!(got, (i + 1).to_be_bytes());
            }
        });
        let t2 = rentio_executor::spawn(async move {
            for _ in 0..100u32 {
                let (n, got) = br.read_exact(Vec::with_capacity(4)).await;
                n.unwrap();
                let i = u32::from_be_bytes(got.try_into().unwrap());
                let (n, _) = bw.write_all((i + 1).to_be_bytes().to_vec()).await;
                n.unwrap();
            }
            (br, bw)
        });
        t1.await.unwrap();
        let (br, bw) = t2.await.unwrap();
        let b = br.reunite(bw).unwrap();
        assert!(b.peer_addr().is_ok());
    });
}

#[test]
fn a_cancelled_read_returns_its_buffer() {
    each_backend(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let c = TcpStream::connect(&addr).await.unwrap();
        let (_s, _) = listener.accept().await.unwrap();
        let canceller = Canceller::new();
        let handle = canceller.handle();
        let mut buf = Vec::with_capacity(32);
        buf.extend_from_slice(b"kept");
        let read = c.read_cancellable(buf, &handle);
        let cancel = async {
            rentio_executor::time::sleep(Duration::from_millis(20)).await;
            canceller.cancel();
        };
        let ((result, buf), ()) = join(read, cancel).await;
        let err = result.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ECANCELED), "{err:?}");
        assert_eq!(buf, b"kept", "the buffer and its bytes came back");
        assert!(buf.capacity() >= 32);

        // An op-level timeout: a linked timeout on io_uring, a timer on
        // readiness; the buffer comes back with `TimedOut`.
        let (result, buf) = c.read_timeout(buf, Duration::from_millis(20)).await;
        assert_eq!(result.unwrap_err().kind(), ErrorKind::TimedOut);
        assert_eq!(buf, b"kept");
    });
}

#[test]
fn listener_options_and_reuse_port() {
    each_backend(|| async {
        let a = TcpSocket::new_v4().unwrap();
        a.set_reuseport(true).unwrap();
        a.set_reuseaddr(true).unwrap();
        a.set_recv_buffer_size(1 << 16).unwrap();
        a.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let a = a.listen(128).unwrap();
        let addr = a.local_addr().unwrap();
        let b = TcpSocket::new_v4().unwrap();
        b.set_reuseport(true).unwrap();
        b.set_reuseaddr(true).unwrap();
        b.bind(addr).unwrap();
        let _b = b.listen(128).unwrap();
        let c = TcpStream::connect(&addr).await.unwrap();
        c.set_nodelay(true).unwrap();
        assert!(c.nodelay().unwrap());
        c.set_keepalive(Some(Duration::from_secs(30))).unwrap();
        assert!(c.keepalive().unwrap());
        c.set_linger(None).unwrap();
        let std = c.into_std().unwrap();
        let c = TcpStream::from_std(std);
        assert_eq!(c.peer_addr().unwrap(), addr);
    });
}

#[test]
fn sockets_are_cloexec_so_a_child_inherits_none() {
    each_backend(|| async {
        use std::os::fd::AsRawFd;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let c = TcpStream::connect(&addr).await.unwrap();
        let (s, _) = listener.accept().await.unwrap();
        let udp = rentio_net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let fds = [
            listener.as_raw_fd(),
            c.as_raw_fd(),
            s.as_raw_fd(),
            udp.as_raw_fd(),
        ];
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg("ls /proc/$$/fd")
            .output()
            .unwrap();
        let listed: Vec<i32> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|s| s.parse().ok())
            .collect();
        assert!(!listed.is_empty(), "the child listed its fds");
        for fd in fds {
            assert!(!listed.contains(&fd), "the child inherited fd {fd}");
        }
    });
}

/// Polls two futures concurrently until both finish.
async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    let mut out_a = None;
    let mut out_b = None;
    std::future::poll_fn(|cx| {
        if out_a.is_none()
            && let std::task::Poll::Ready(v) = a.as_mut().poll(cx)
        {
            out_a = Some(v);
        }
        if out_b.is_none()
            && let std::task::Poll::Ready(v) = b.as_mut().poll(cx)
        {
            out_b = Some(v);
        }
        if out_a.is_some() && out_b.is_some() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    (out_a.unwrap(), out_b.unwrap())
}

/// `send_zc` on io_uring, with `SEND_ZC` masked, and on readiness (a
/// plain send where the opcode is missing): the bytes arrive, the buffer
/// comes back.
#[test]
fn send_zc_sends_and_gives_the_buffer_back() {
    let zc = <rentio_driver::op::SendZc<Vec<u8>> as rentio_driver::OpCode>::CODE;
    let configs = support::opcode_configs(&[zc], "uring, send_zc masked");
    support::each_config(configs, |_| async {
        let listener = rentio_net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let reader = std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            let mut got = Vec::new();
            std::io::Read::read_to_end(&mut s, &mut got).unwrap();
            got
        });
        let (stream, _) = listener.accept().await.unwrap();
        let data = support::pattern(1 << 20);
        let mut sent = 0;
        while sent < data.len() {
            let rest = data[sent..].to_vec();
            let (n, back) = stream.send_zc(rest).await;
            assert_eq!(back.len(), data.len() - sent, "the buffer comes back whole");
            sent += n.unwrap();
        }
        drop(stream);
        assert!(reader.join().unwrap() == data);
    });
}
