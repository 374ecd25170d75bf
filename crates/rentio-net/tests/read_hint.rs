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

/// Sends `data` on a Unix stream with `fd` attached (`SCM_RIGHTS`).
fn send_with_fd(sock: &impl AsRawFd, data: &[u8], fd: std::os::fd::RawFd) {
    let mut iov = libc::iovec {
        iov_base: data.as_ptr().cast_mut().cast(),
        iov_len: data.len(),
    };
    // Room for one cmsghdr carrying one int, aligned as cmsghdr wants.
    let mut control = [0u64; 4];
    // SAFETY: an all-zero msghdr is a valid value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE is arithmetic.
    msg.msg_controllen = unsafe { libc::CMSG_SPACE(size_of::<i32>() as u32) } as usize;
    // SAFETY: `msg` has a control buffer of `msg_controllen` bytes, room
    // for the first header.
    let cmsg = unsafe { libc::CMSG_FIRSTHDR(&raw const msg) };
    // SAFETY: `cmsg` points into `control`, which has room for a header
    // and one int (CMSG_SPACE above); CMSG_DATA points past the header.
    unsafe {
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<i32>() as u32) as usize;
        libc::CMSG_DATA(cmsg).cast::<i32>().write_unaligned(fd);
    }
    // SAFETY: `msg` points at live iovecs and control data for the call.
    let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &raw const msg, 0) };
    assert_eq!(
        n,
        data.len() as isize,
        "{}",
        std::io::Error::last_os_error()
    );
}

/// A Unix stream read stops after a message that carried fds, with more
/// data queued behind it: a short read there drains nothing. A read that
/// then waited for an edge would wait forever (a local peer could stall a
/// server this way); it must get the rest.
#[test]
fn a_unix_read_after_a_message_with_fds_gets_the_data_behind_it() {
    each_backend(|| async {
        let (mut reader, writer) = rentio_net::UnixStream::pair().unwrap();
        let writer = writer.into_std().unwrap();
        let sender = rentio_executor::spawn(async move {
            // Let the first read go out and wait for data first.
            for _ in 0..4 {
                rentio_executor::yield_now().await;
            }
            let passed = std::fs::File::open("/dev/null").unwrap();
            send_with_fd(&writer, b"with fds..", passed.as_raw_fd());
            (&writer).write_all(b"behind it.").unwrap();
            writer
        });
        let first = rentio_executor::time::timeout(
            Duration::from_secs(2),
            reader.read(Vec::with_capacity(64)),
        )
        .await
        .expect("the first read hung");
        let (n, buf) = first;
        assert_eq!(n.unwrap(), 10);
        assert_eq!(buf, b"with fds..");
        let _writer = sender.await.unwrap();
        let got = rentio_executor::time::timeout(
            Duration::from_secs(2),
            reader.read(Vec::with_capacity(64)),
        )
        .await
        .expect("the read after a message with fds hung: its data was already queued");
        let (n, buf) = got;
        assert_eq!(n.unwrap(), 10);
        assert_eq!(buf, b"behind it.");
    });
}

/// TCP keeps the hint: a short read drains it, and data that comes later
/// brings an edge the next read waits for.
#[test]
fn a_tcp_read_after_a_short_read_gets_later_data() {
    each_backend(|| async {
        let (mut client, mut server) = connected().await;
        server.write_all(b"first").unwrap();
        assert_eq!(read_within(&mut client, 64, "first").await, b"first");
        let writer = rentio_executor::spawn(async move {
            for _ in 0..4 {
                rentio_executor::yield_now().await;
            }
            server.write_all(b"second").unwrap();
            server
        });
        assert_eq!(read_within(&mut client, 64, "second").await, b"second");
        drop(writer.await.unwrap());
    });
}
