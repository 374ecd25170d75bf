//! The copy wrapper (`Compat`) under tokio's IO helpers, on both backends:
//! a large echo with reads and writes at once, reads into tiny buffers
//! that lose nothing, a reset peer reported by flush, and futures-io.

#![allow(clippy::unwrap_used)]

mod support;

use std::future::poll_fn;
use std::pin::Pin;
use std::time::Duration;

use proptest::prelude::*;
use rentio_compat::Compat;
use rentio_io::{AsyncReadRent, AsyncWriteRentExt};
use rentio_net::{TcpListener, TcpStream, UnixStream};
use support::{each_backend, pattern};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A rent-IO echo server on an ephemeral port, for one connection.
async fn echo_once() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let _server = rentio_executor::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let (mut rd, mut wr) = stream.into_split();
        let mut buf = Vec::with_capacity(64 * 1024);
        loop {
            buf.clear();
            let (n, b) = AsyncReadRent::read(&mut rd, buf).await;
            match n {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let (w, b) = AsyncWriteRentExt::write_all(&mut wr, b).await;
            if w.is_err() {
                return;
            }
            buf = b;
        }
    });
    addr
}

/// 1 MiB through an echo server, written in uneven pieces by one task
/// while another reads it back, both through the wrapper's halves
/// (`tokio::io::split`): the read waits for the peer while writes go on.
#[test]
fn a_mebibyte_echoes_through_the_wrapper() {
    each_backend(|| async {
        let addr = echo_once().await;
        let stream = TcpStream::connect(&addr).await.unwrap();
        let (mut rd, mut wr) = tokio::io::split(Compat::new(stream));
        let data = pattern(1 << 20);
        let sent = data.clone();
        let writer = rentio_executor::spawn(async move {
            let mut off = 0;
            for piece in [1usize, 7, 4096, 65_536, 100_000].iter().cycle() {
                if off == sent.len() {
                    break;
                }
                let end = (off + piece).min(sent.len());
                wr.write_all(&sent[off..end]).await.unwrap();
                off = end;
            }
            wr.flush().await.unwrap();
            wr.shutdown().await.unwrap();
        });
        let mut got = Vec::new();
        rd.read_to_end(&mut got).await.unwrap();
        writer.await.unwrap();
        assert_eq!(got.len(), data.len());
        assert!(got == data, "the echo differs");
    });
}

/// Reads into buffers far smaller than what one rent read brought in
/// lose nothing: the rest waits in the wrapper for the next call.
fn tiny_reads_lose_nothing(len: usize, sizes: &[usize]) {
    each_backend(|| async {
        let (mut a, b) = UnixStream::pair().unwrap();
        let data = pattern(len);
        // Written in one go: the wrapper's reads take large pieces.
        let sent = data.clone();
        let writer = rentio_executor::spawn(async move {
            let (res, _) = AsyncWriteRentExt::write_all(&mut a, sent).await;
            res.unwrap();
        });
        let mut reader = Compat::new(b);
        let mut got = Vec::new();
        let mut i = 0;
        loop {
            let mut small = vec![0u8; sizes[i % sizes.len()]];
            i += 1;
            let n = reader.read(&mut small).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&small[..n]);
        }
        writer.await.unwrap();
        assert_eq!(got, data);
    });
}

#[test]
fn one_byte_reads_after_a_large_read_lose_nothing() {
    tiny_reads_lose_nothing(100_000, &[1]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn reads_of_any_size_lose_nothing(
        len in 0usize..200_000,
        sizes in proptest::collection::vec(1usize..70_000, 1..8),
    ) {
        tiny_reads_lose_nothing(len, &sizes);
    }
}

/// A peer that resets the connection: the wrapper took the bytes
/// (`write` is `Ready` at once), and the error shows on a later write or
/// on flush, never lost.
#[test]
fn a_reset_peer_shows_as_an_error_on_flush() {
    each_backend(|| async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stream = TcpStream::connect(&addr).await.unwrap();
        let (peer, _) = listener.accept().unwrap();
        // SO_LINGER 0: the close sends a reset.
        let peer = TcpStream::from_std(peer);
        peer.set_linger(Some(Duration::ZERO)).unwrap();
        drop(peer);
        let mut compat = Compat::new(stream);
        let chunk = vec![7u8; 4096];
        let mut error = None;
        for _ in 0..1000 {
            let step = async {
                compat.write_all(&chunk).await?;
                compat.flush().await
            };
            if let Err(e) = step.await {
                error = Some(e);
                break;
            }
        }
        let e = error.expect("writing to a reset peer never failed");
        assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ),
            "{e}"
        );
    });
}

/// futures-io's traits, driven by hand: a write, a flush, a close, and
/// the bytes read back on the other end, then end of stream.
#[test]
fn futures_io_traits_work() {
    use futures_io::{AsyncRead, AsyncWrite};
    each_backend(|| async {
        let (a, b) = UnixStream::pair().unwrap();
        let (mut a, mut b) = (Compat::new(a), Compat::new(b));
        let n = poll_fn(|cx| Pin::new(&mut a).poll_write(cx, b"futures"))
            .await
            .unwrap();
        assert_eq!(n, 7);
        poll_fn(|cx| Pin::new(&mut a).poll_flush(cx)).await.unwrap();
        poll_fn(|cx| Pin::new(&mut a).poll_close(cx)).await.unwrap();
        let mut got = Vec::new();
        loop {
            let mut buf = [0u8; 3];
            let n = poll_fn(|cx| Pin::new(&mut b).poll_read(cx, &mut buf))
                .await
                .unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"futures");
    });
}

/// Vectored writes go into the one buffer, in order.
#[test]
fn vectored_writes_keep_their_order() {
    each_backend(|| async {
        let (a, b) = UnixStream::pair().unwrap();
        let (mut a, mut b) = (Compat::new(a), Compat::new(b));
        let parts = [
            std::io::IoSlice::new(b"one "),
            std::io::IoSlice::new(b""),
            std::io::IoSlice::new(b"two "),
            std::io::IoSlice::new(b"three"),
        ];
        let n = a.write_vectored(&parts).await.unwrap();
        assert_eq!(n, 13);
        a.shutdown().await.unwrap();
        let mut got = String::new();
        b.read_to_string(&mut got).await.unwrap();
        assert_eq!(got, "one two three");
    });
}
