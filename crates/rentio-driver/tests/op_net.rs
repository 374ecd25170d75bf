//! Socket ops on both backends: socket, connect, accept, send, recv,
//! sendmsg/recvmsg with addresses, shutdown, poll.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::fd::AsRawFd;

use rentio_driver::op::{
    Accept, Connect, PollAdd, PollMulti, Recv, RecvMsg, Send, SendMsg, Shutdown, Socket,
};
use rentio_driver::{Interest, SockAddr};
use support::{block_on, each_backend, join, socketpair};

#[test]
fn socket_connect_accept_send_recv_shutdown() {
    each_backend(|driver| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = block_on(
            driver,
            driver.op(Socket::new(libc::AF_INET, libc::SOCK_STREAM, 0)),
        )
        .unwrap();
        let (connected, accepted) = block_on(
            driver,
            join(
                driver.op(Connect::new(client.as_raw_fd(), SockAddr::from(addr))),
                driver.op(Accept::new(listener.as_raw_fd())),
            ),
        );
        connected.unwrap();
        let (server, peer) = accepted.unwrap();
        assert_eq!(peer.as_socket().unwrap().ip(), addr.ip());

        let (n, _) = block_on(
            driver,
            driver.op(Send::new(client.as_raw_fd(), b"ping".to_vec())),
        );
        assert_eq!(n.unwrap(), 4);
        let (n, buf) = block_on(
            driver,
            driver.op(Recv::new(server.as_raw_fd(), Vec::with_capacity(16))),
        );
        assert_eq!(n.unwrap(), 4);
        assert_eq!(buf, b"ping");

        block_on(
            driver,
            driver.op(Shutdown::new(client.as_raw_fd(), std::net::Shutdown::Write)),
        )
        .unwrap();
        let (n, _) = block_on(
            driver,
            driver.op(Recv::new(server.as_raw_fd(), Vec::with_capacity(16))),
        );
        assert_eq!(n.unwrap(), 0, "EOF after the peer shut down writing");
    });
}

#[test]
fn connect_refused_is_an_error() {
    each_backend(|driver| {
        // Bind then drop, so nothing listens on the port.
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let sock = block_on(
            driver,
            driver.op(Socket::new(libc::AF_INET, libc::SOCK_STREAM, 0)),
        )
        .unwrap();
        let err = block_on(
            driver,
            driver.op(Connect::new(sock.as_raw_fd(), SockAddr::from(addr))),
        )
        .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    });
}

#[test]
fn large_transfer_writing_and_reading_concurrently() {
    each_backend(|driver| {
        let (a, b) = socketpair();
        let total = 4 << 20;
        let data: Vec<u8> = (0..total).map(|i| (i % 251) as u8).collect();
        let expect = data.clone();
        let (a_fd, b_fd) = (a.as_raw_fd(), b.as_raw_fd());
        let writer = async {
            let mut data = data;
            let mut sent = 0;
            while sent < total {
                let chunk = data.split_off(0);
                let (n, back) = driver
                    .op(Send::new(
                        a_fd,
                        rentio_driver::buf::IoBuf::slice(chunk, sent..),
                    ))
                    .await;
                sent += n.unwrap();
                data = back.into_inner();
            }
        };
        let reader = async {
            let mut got = Vec::with_capacity(total);
            while got.len() < total {
                let buf = Vec::with_capacity(64 << 10);
                let (n, buf) = driver.op(Recv::new(b_fd, buf)).await;
                assert!(n.unwrap() > 0, "unexpected EOF");
                got.extend_from_slice(&buf);
            }
            got
        };
        let ((), got) = block_on(driver, join(writer, reader));
        assert!(got == expect, "bytes differ");
    });
}

#[test]
fn udp_sendmsg_recvmsg_with_addresses() {
    each_backend(|driver| {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b_addr: SocketAddr = b.local_addr().unwrap();
        let bufs = vec![b"hello ".to_vec(), b"udp".to_vec()];
        let (n, _) = block_on(
            driver,
            driver.op(SendMsg::new(a.as_raw_fd(), bufs, Some(b_addr.into()))),
        );
        assert_eq!(n.unwrap(), 9);
        let (res, bufs) = block_on(
            driver,
            driver.op(RecvMsg::new(b.as_raw_fd(), vec![Vec::with_capacity(64)])),
        );
        let (n, from) = res.unwrap();
        assert_eq!(n, 9);
        assert_eq!(bufs[0], b"hello udp");
        assert_eq!(from.as_socket(), Some(a.local_addr().unwrap()));
    });
}

#[test]
fn poll_add_one_shot_and_multishot() {
    each_backend(|driver| {
        let (a, b) = socketpair();
        let mut a_std = std::os::unix::net::UnixStream::from(a);
        let b_fd = b.as_raw_fd();
        // Writable at once.
        let events = block_on(driver, driver.op(PollAdd::new(b_fd, Interest::Write))).unwrap();
        assert!(events & libc::POLLOUT as u32 != 0);

        let mut multi = driver.multi(PollMulti::new(b_fd, Interest::Read));
        let mut seen = 0;
        for round in 0..3 {
            a_std.write_all(&[round]).unwrap();
            let next = block_on(driver, std::future::poll_fn(|cx| multi.poll_next(cx)));
            let completion = next.expect("multishot poll ended early");
            assert!(completion.result.unwrap() & libc::POLLIN as u32 != 0);
            assert!(completion.flags & rentio_driver::op::CQE_F_MORE != 0);
            seen += 1;
            // Drain so the next write is a new edge.
            let (n, _) = block_on(driver, driver.op(Recv::new(b_fd, Vec::with_capacity(8))));
            assert_eq!(n.unwrap(), 1);
        }
        assert_eq!(seen, 3);
        multi.cancel().unwrap();
        let mut end = false;
        for _ in 0..10 {
            match block_on(driver, std::future::poll_fn(|cx| multi.poll_next(cx))) {
                None => {
                    end = true;
                    break;
                }
                Some(c) => {
                    assert!(c.result.is_err() || c.flags & rentio_driver::op::CQE_F_MORE != 0)
                }
            }
        }
        assert!(end, "a cancelled multishot poll ends");
    });
}

/// Edges a multishot poll's owner has not taken yet merge into one
/// completion: an owner that looks late holds one, not one per edge.
#[test]
fn unseen_poll_edges_merge_into_one() {
    each_backend(|driver| {
        let (a, b) = socketpair();
        let mut a_std = std::os::unix::net::UnixStream::from(a);
        let mut multi = driver.multi(PollMulti::new(b.as_raw_fd(), Interest::Read));
        // Arm it, with nothing to read yet.
        assert!(multi.try_next().is_pending());
        driver.poll(Some(std::time::Duration::ZERO)).unwrap();
        for round in 0..5u8 {
            a_std.write_all(&[round]).unwrap();
            driver
                .poll(Some(std::time::Duration::from_millis(20)))
                .unwrap();
        }
        let first = match multi.try_next() {
            std::task::Poll::Ready(Some(c)) => c,
            other => panic!("no edge queued: {other:?}"),
        };
        assert!(first.result.unwrap() & libc::POLLIN as u32 != 0);
        assert!(
            multi.try_next().is_pending(),
            "five unseen edges were queued as more than one completion"
        );
        multi.cancel().unwrap();
    });
}

/// `CancelFd` ends every op waiting on the fd (two reads and a multishot
/// poll) and counts them on io_uring; on readiness it completes with 0,
/// and the ops end when the fd is released.
#[test]
fn cancel_fd_ends_every_op_on_the_fd() {
    each_backend(|driver| {
        let (a, _b) = socketpair();
        let fd = a.as_raw_fd();
        let mut first = driver.op(Recv::new(fd, Vec::with_capacity(8)));
        let mut second = driver.op(Recv::new(fd, Vec::with_capacity(8)));
        let mut watch = driver.multi(PollMulti::new(fd, Interest::Read));
        // Push all three, then cancel.
        first.submit().unwrap();
        second.submit().unwrap();
        assert!(watch.try_next().is_pending());
        let cancelled = block_on(driver, driver.op(rentio_driver::op::CancelFd::new(fd))).unwrap();
        match driver.backend() {
            rentio_driver::Backend::Uring => {
                assert_eq!(cancelled, 3, "two reads and a poll");
                let (r, _) = block_on(driver, first);
                assert_eq!(r.unwrap_err().raw_os_error(), Some(libc::ECANCELED));
                let (r, _) = block_on(driver, second);
                assert_eq!(r.unwrap_err().raw_os_error(), Some(libc::ECANCELED));
            }
            rentio_driver::Backend::Poll => assert_eq!(cancelled, 0),
        }
        drop(watch);
        // Nothing named the fd any more.
        let again = block_on(driver, driver.op(rentio_driver::op::CancelFd::new(fd))).unwrap();
        if driver.backend() == rentio_driver::Backend::Uring {
            assert_eq!(again, 0);
        }
    });
}

/// One `AcceptMulti` accepts connection after connection on io_uring
/// (Linux 5.19); with the feature masked, `supports` says no. On
/// readiness it is refused as `Unsupported`, accepting nothing.
#[test]
fn multishot_accept_yields_a_connection_per_completion() {
    each_backend(|driver| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let clients: Vec<_> = (0..3)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        let mut multi = driver.multi(rentio_driver::op::AcceptMulti::new(listener.as_raw_fd()));
        let want = if driver.supports(rentio_driver::Feature::MultishotAccept) {
            3
        } else if driver.backend() == rentio_driver::Backend::Uring {
            eprintln!("skipped: this kernel has no multishot accept (Linux 5.19)");
            return;
        } else {
            let refused = block_on(driver, std::future::poll_fn(|cx| multi.poll_accept(cx)));
            let e = refused.expect("an error").unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::Unsupported, "{e}");
            // Nothing was accepted: the connections wait in the backlog.
            for _ in 0..3 {
                loop {
                    match listener.accept() {
                        Ok(_) => break,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(std::time::Duration::from_millis(1));
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            return;
        };
        let mut fds = Vec::new();
        while fds.len() < want {
            let next = block_on(driver, std::future::poll_fn(|cx| multi.poll_accept(cx)));
            fds.push(next.expect("the stream goes on").unwrap());
        }
        for fd in &fds {
            let peer = rustix::net::getpeername(fd).unwrap();
            assert!(peer.is_some());
        }
        drop(multi);
        drop(clients);
    });
}

#[test]
fn a_masked_feature_is_not_supported() {
    let mut b = rentio_driver::Builder::new();
    b.backend(rentio_driver::BackendChoice::Uring)
        .mask_feature(rentio_driver::Feature::MultishotAccept);
    match b.build() {
        Ok(driver) => assert!(!driver.supports(rentio_driver::Feature::MultishotAccept)),
        Err(e) => eprintln!("skipped: io_uring cannot start here: {e}"),
    }
    let mut b = rentio_driver::Builder::new();
    b.backend(rentio_driver::BackendChoice::Poll);
    assert!(
        !b.build()
            .unwrap()
            .supports(rentio_driver::Feature::MultishotAccept)
    );
}
