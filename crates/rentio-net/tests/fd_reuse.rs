//! Invariant 11 from the outside: a socket handed back (`into_std`,
//! `into_raw_fd`) leaves no op that acts on its fd number, even when a new
//! connection takes the number at once. Before the fix, a write polled
//! once and dropped stayed queued on io_uring, and the next enter sent its
//! bytes into whichever connection had the number by then. (On readiness
//! the write runs on its first poll, so nothing stays queued: there the
//! test shows that handing the fd back does no harm.)
//!
//! `dup2` onto a freed number stands for the kernel handing it to the next
//! socket; it replaces whatever the number names, so this binary holds one
//! test, which runs its cases one after the other.

#![allow(clippy::unwrap_used)]

mod support;

use std::future::Future;
use std::io::Read as _;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::pin::pin;
use std::task::{Context, Waker};
use std::time::Duration;

use rentio_io::AsyncWriteRent;
use rentio_net::{TcpStream, UnixStream};
use support::each_backend;

/// How the test's socket gives its fd back.
#[derive(Clone, Copy, Debug)]
enum HandBack {
    TcpIntoStd,
    TcpIntoRawFd,
    UnixIntoStd,
}

/// Makes `number` name the file `to` names, as a new socket or file that
/// reuses a freed number would; the returned fd closes it. `None` if the
/// kernel already gave `to` that very number (lowest free first).
fn reuse(number: RawFd, to: &impl AsRawFd) -> Option<OwnedFd> {
    if to.as_raw_fd() == number {
        return None;
    }
    // SAFETY: plain syscall; `number` is free (its owner let go of it),
    // and nothing else in this binary runs meanwhile that could own it.
    let ret = unsafe { libc::dup2(to.as_raw_fd(), number) };
    assert_eq!(ret, number, "dup2: {}", std::io::Error::last_os_error());
    // SAFETY: dup2 just made `number` a new fd that nobody else owns.
    Some(unsafe { OwnedFd::from_raw_fd(number) })
}

/// Polls `fut` once and drops it: on io_uring its SQE is queued and not
/// yet submitted.
fn poll_once_and_drop<F: Future>(fut: F) {
    let mut fut = pin!(fut);
    let _ = fut.as_mut().poll(&mut Context::from_waker(Waker::noop()));
}

async fn hand_back_then_reuse(how: HandBack) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // The victim: a connection whose accepted end must receive nothing.
    let victim = std::net::TcpStream::connect(addr).unwrap();
    let (mut victim_peer, _) = listener.accept().unwrap();
    let _keep: Box<dyn std::any::Any>;
    let number = match how {
        HandBack::TcpIntoStd | HandBack::TcpIntoRawFd => {
            let mut stream = TcpStream::connect(&addr).await.unwrap();
            let (peer, _) = listener.accept().unwrap();
            _keep = Box::new(peer);
            poll_once_and_drop(stream.write(b"SECRET".to_vec()));
            let number = stream.as_raw_fd();
            match how {
                HandBack::TcpIntoStd => drop(stream.into_std().unwrap()),
                // SAFETY: the fd was just handed back to us; closing it is ours.
                _ => drop(unsafe { OwnedFd::from_raw_fd(stream.into_raw_fd()) }),
            }
            number
        }
        HandBack::UnixIntoStd => {
            let (mut stream, peer) = UnixStream::pair().unwrap();
            _keep = Box::new(peer);
            poll_once_and_drop(stream.write(b"SECRET".to_vec()));
            let number = stream.as_raw_fd();
            drop(stream.into_std().unwrap());
            number
        }
    };
    let _reused = reuse(number, &victim);
    // Ticks that enter the ring: anything still queued goes in now.
    for _ in 0..3 {
        rentio_executor::time::sleep(Duration::from_millis(1)).await;
    }
    victim_peer.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 64];
    match victim_peer.read(&mut buf) {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Ok(n) => panic!(
            "{how:?}: a dropped write reached the connection that reused its fd: {:?}",
            String::from_utf8_lossy(&buf[..n])
        ),
        Err(e) => panic!("{how:?}: read: {e}"),
    }
}

#[test]
fn a_dropped_write_never_reaches_the_connection_that_reuses_the_fd() {
    each_backend(|| async {
        for how in [
            HandBack::TcpIntoStd,
            HandBack::TcpIntoRawFd,
            HandBack::UnixIntoStd,
        ] {
            hand_back_then_reuse(how).await;
        }
    });
}
