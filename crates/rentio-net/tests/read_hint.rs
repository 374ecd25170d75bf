//! Stream reads are marked as such (`Recv::poll_first`): after a short
//! read the readiness backend waits for the next edge instead of trying a
//! recv first. None of these sequences may leave a read waiting while
//! data or end of file is in the socket.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write;
use std::os::fd::AsRawFd;
use std::time::Duration;

use rentio_io::AsyncReadRent;
use rentio_net::TcpStream;
use support::each_backend;

/// A rentio client and a std server end of one TCP connection.
async fn connected() -> (TcpStream, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = TcpStream::connect(&addr).await.unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

/// A read that must finish within 2 s.
async fn read_within(client: &mut TcpStream, cap: usize, what: &str) -> Vec<u8> {
    let got = rentio_executor::time::timeout(
        Duration::from_secs(2),
        client.read(Vec::with_capacity(cap)),
    )
    .await;
    let (n, buf) = got.unwrap_or_else(|_| panic!("the read hung: {what}"));
    n.unwrap();
    buf
}

/// A short read, then data whose edge the driver sees, then a read by
/// another method that fills its buffer and leaves the rest: the next read
/// must not wait for an edge that already came.
async fn data_left_by(third: &str) {
    let (mut client, mut server) = connected().await;

    server.write_all(b"abc").unwrap();
    assert_eq!(read_within(&mut client, 8, "first").await, b"abc");
    server.write_all(b"hello world").unwrap();
    rentio_executor::time::sleep(Duration::from_millis(20)).await;
    let (n, buf) = match third {
        "readv" => {
            let (n, bufs) = client.readv(vec![Vec::<u8>::with_capacity(4)]).await;
            (n, bufs.into_iter().next().unwrap())
        }
        "read_timeout" => {
            client
                .read_timeout(Vec::with_capacity(4), Duration::from_secs(1))
                .await
        }
        _ => client.read(Vec::with_capacity(4)).await,
    };
    assert_eq!(n.unwrap(), 4);
    assert_eq!(buf, b"hell");
    assert_eq!(
        read_within(&mut client, 64, "7 bytes were waiting").await,
        b"o world"
    );
}

#[test]
fn a_read_after_a_readv_that_left_data_gets_it() {
    each_backend(|| data_left_by("readv"));
}

#[test]
fn a_read_after_a_read_timeout_that_left_data_gets_it() {
    each_backend(|| data_left_by("read_timeout"));
}

#[test]
fn a_read_after_a_full_read_gets_the_rest() {
    each_backend(|| data_left_by("read"));
}

/// A read stops short at the TCP urgent mark with data behind it.
#[test]
fn a_read_after_the_urgent_mark_gets_the_data_behind_it() {
    each_backend(|| async {
        let (mut client, mut server) = connected().await;
        server.write_all(b"0").unwrap();
        assert_eq!(read_within(&mut client, 8, "first").await, b"0");
        server.write_all(b"abc").unwrap();
        // SAFETY: a plain send of one byte on an open socket.
        let sent =
            unsafe { libc::send(server.as_raw_fd(), b"!".as_ptr().cast(), 1, libc::MSG_OOB) };
        assert_eq!(sent, 1);
        server.write_all(b"def").unwrap();
        rentio_executor::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(
            read_within(&mut client, 64, "before the mark").await,
            b"abc"
        );
        assert_eq!(
            read_within(&mut client, 64, "data behind the urgent mark").await,
            b"def"
        );
    });
}

/// A short read, then this side shuts its read half: end of file.
#[test]
fn a_read_after_a_local_read_shutdown_ends() {
    each_backend(|| async {
        let (mut client, mut server) = connected().await;
        server.write_all(b"abc").unwrap();
        assert_eq!(read_within(&mut client, 8, "first").await, b"abc");
        client
            .shutdown_with(std::net::Shutdown::Read)
            .await
            .unwrap();
        assert_eq!(read_within(&mut client, 8, "after shutdown").await, b"");
        drop(server);
    });
}
