//! Zero-copy send: the count and the buffer come back after the kernel's
//! notification; a send dropped in flight keeps its buffer (a buffer type
//! that records when it is freed) until the notification, which comes
//! only once the peer has taken the data. Readiness refuses it.

#![allow(clippy::unwrap_used)]

mod support;

use std::future::Future;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use io_uring::opcode;
use rentio_driver::buf::IoBuf;
use rentio_driver::op::SendZc;
use rentio_driver::{Backend, Driver};
use support::{block_on, each_backend};

/// A buffer that says when it is freed.
struct Tracked {
    data: Vec<u8>,
    freed: Arc<AtomicBool>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.freed.store(true, Ordering::SeqCst);
    }
}

// SAFETY: the pointer is the Vec's heap memory, which does not move with
// the `Tracked` and lives until it drops; all of it is initialized.
unsafe impl IoBuf for Tracked {
    fn as_buf_ptr(&self) -> *const u8 {
        self.data.as_ptr()
    }
    fn buf_len(&self) -> usize {
        self.data.len()
    }
    fn buf_capacity(&self) -> usize {
        self.data.capacity()
    }
}

fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (b, _) = listener.accept().unwrap();
    a.set_nonblocking(true).unwrap();
    (a, b)
}

fn supported(driver: &Driver) -> bool {
    driver.backend() == Backend::Uring && driver.is_supported(opcode::SendZc::CODE)
}

#[test]
fn send_zc_gives_the_count_and_the_buffer_back() {
    each_backend(|driver| {
        let (a, mut b) = pair();
        let data: Vec<u8> = (0..256 << 10).map(|i| (i % 251) as u8).collect();
        let expect = data.clone();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            b.read_to_end(&mut got).unwrap();
            got
        });
        let (n, buf) = block_on(driver, driver.send_zc(SendZc::new(a.as_raw_fd(), data)));
        if driver.backend() == Backend::Uring && !supported(driver) {
            eprintln!("skipped on io_uring: no IORING_OP_SEND_ZC (Linux 6.0)");
            return;
        }
        if !supported(driver) {
            assert_eq!(n.unwrap_err().kind(), std::io::ErrorKind::Unsupported);
            assert_eq!(buf.len(), 256 << 10, "the buffer comes back");
            return;
        }
        let n = n.unwrap();
        assert!(n > 0 && n <= buf.len());
        drop(a);
        let got = reader.join().unwrap();
        assert!(got[..] == expect[..n], "the bytes sent");
    });
}

#[test]
fn a_dropped_send_zc_keeps_its_buffer_until_the_notification() {
    each_backend(|driver| {
        if !supported(driver) {
            eprintln!("skipped on {}: no zero-copy send", driver.backend());
            return;
        }
        let (a, mut b) = pair();
        let freed = Arc::new(AtomicBool::new(false));
        let buf = Tracked {
            data: vec![9; 8 << 20],
            freed: freed.clone(),
        };
        // Start it and let it run a little: the peer reads nothing, so
        // the kernel holds pages of the buffer in the socket's queues.
        {
            let mut send = std::pin::pin!(driver.send_zc(SendZc::new(a.as_raw_fd(), buf)));
            let until = Instant::now() + Duration::from_millis(50);
            while Instant::now() < until {
                let waker = std::task::Waker::noop();
                let mut cx = std::task::Context::from_waker(waker);
                if send.as_mut().poll(&mut cx).is_ready() {
                    break;
                }
                driver.poll(Some(Duration::from_millis(5))).unwrap();
            }
            // Dropped here, in flight or waiting for its notification.
        }
        for _ in 0..20 {
            driver.poll(Some(Duration::from_millis(5))).unwrap();
        }
        assert!(
            !freed.load(Ordering::SeqCst),
            "the kernel still holds the pages: the buffer must live"
        );
        // The peer takes the data: the notification comes, the buffer goes.
        let reader = std::thread::spawn(move || {
            let mut sink = vec![0; 1 << 20];
            while b.read(&mut sink).unwrap_or(0) > 0 {}
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while !freed.load(Ordering::SeqCst) && Instant::now() < deadline {
            driver.poll(Some(Duration::from_millis(5))).unwrap();
        }
        assert!(freed.load(Ordering::SeqCst), "freed after the notification");
        drop(a);
        reader.join().unwrap();
    });
}

/// A send cancelled before its first poll never starts: it resolves to
/// `ECANCELED` with its buffer, and the peer gets nothing.
#[test]
fn a_send_zc_cancelled_before_it_starts_sends_nothing() {
    each_backend(|driver| {
        if !supported(driver) {
            eprintln!(
                "skipped: no IORING_OP_SEND_ZC on this {} ring",
                driver.backend()
            );
            return;
        }
        let (a, mut b) = pair();
        let mut send = driver.send_zc(SendZc::new(a.as_raw_fd(), b"never".to_vec()));
        send.cancel().unwrap();
        let (result, buf) = block_on(driver, send);
        assert_eq!(result.unwrap_err().raw_os_error(), Some(libc::ECANCELED));
        assert_eq!(buf, b"never");
        drop(a);
        let mut got = Vec::new();
        b.read_to_end(&mut got).unwrap();
        assert!(got.is_empty(), "nothing was sent");
    });
}
