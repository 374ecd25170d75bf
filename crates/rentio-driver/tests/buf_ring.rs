//! Provided buffer rings and multishot receive: buffers the kernel fills
//! come back as `RingBuf`s and return to the ring when dropped; with every
//! buffer out the receive ends with `ENOBUFS`, and a new one, once buffers
//! are back, goes on where it stopped (every byte, in order). On
//! readiness the ring is a user-space pool for plain receives.

#![allow(clippy::unwrap_used)]

mod support;

use std::os::fd::AsRawFd;
use std::task::Poll;

use rentio_driver::op::{Recv, RecvMulti};
use rentio_driver::{Backend, BufRing, Feature};
use support::{block_on, each_backend, socketpair};

const TOTAL: usize = 256 << 10;

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

#[test]
fn a_ring_of_four_buffers_carries_every_byte_in_order_through_enobufs() {
    each_backend(|driver| {
        let ring = BufRing::new(driver, 4, 4096).unwrap();
        let (a, b) = socketpair();
        let data = pattern(TOTAL);
        let sent = data.clone();
        let writer = std::thread::spawn(move || {
            for chunk in sent.chunks(10_000) {
                let mut off = 0;
                while off < chunk.len() {
                    off += rustix::io::write(&b, &chunk[off..]).unwrap();
                }
            }
            b
        });
        let mut got = Vec::with_capacity(TOTAL);
        if driver.backend() == Backend::Uring && !driver.supports(Feature::BufRing) {
            eprintln!(
                "skipped on io_uring: this kernel has no buffer rings with multishot receive (Linux 6.0)"
            );
            drop(writer.join().unwrap());
            return;
        }
        if !ring.is_registered() {
            // Readiness: a user-space pool, which a multishot receive
            // refuses.
            let mut multi = driver.multi(RecvMulti::new(a.as_raw_fd(), &ring));
            let refused = block_on(driver, std::future::poll_fn(|cx| multi.poll_recv(cx)));
            assert_eq!(
                refused.unwrap().unwrap_err().kind(),
                std::io::ErrorKind::InvalidInput
            );
            while got.len() < TOTAL {
                let buf = ring.take().unwrap();
                let (n, buf) = block_on(driver, driver.op(Recv::new(a.as_raw_fd(), buf)));
                assert_eq!(n.unwrap(), buf.len());
                got.extend_from_slice(&buf);
                assert_eq!(ring.out(), 1);
            }
            assert_eq!(ring.out(), 0, "every buffer is back");
            drop(writer.join().unwrap());
            assert!(got == data);
            return;
        }
        let mut held = Vec::new();
        let mut enobufs = 0;
        while got.len() < TOTAL {
            let mut multi = driver.multi(RecvMulti::new(a.as_raw_fd(), &ring));
            loop {
                let next = block_on(
                    driver,
                    std::future::poll_fn(|cx| match multi.poll_recv(cx) {
                        Poll::Ready(next) => Poll::Ready(next),
                        Poll::Pending => Poll::Pending,
                    }),
                );
                match next {
                    Some(Ok(Some(buf))) => {
                        got.extend_from_slice(&buf);
                        // Hold up to four: the ring runs dry.
                        held.push(buf);
                        if held.len() > 4 {
                            held.remove(0);
                        }
                        if got.len() == TOTAL {
                            break;
                        }
                    }
                    Some(Ok(None)) => panic!("the end of stream came early"),
                    Some(Err(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                        enobufs += 1;
                        // Give the buffers back; the next receive goes on.
                        held.clear();
                    }
                    Some(Err(e)) => panic!("{e}"),
                    None => break,
                }
            }
            if got.len() == TOTAL {
                let _ = multi.cancel();
                // Take what is left so the buffers come back.
                while let Some(next) =
                    block_on(driver, std::future::poll_fn(|cx| multi.poll_recv(cx)))
                {
                    assert!(!matches!(next, Ok(Some(_))), "no byte beyond the total");
                }
            }
        }
        drop(held);
        assert!(got == data, "every byte, in order");
        assert!(enobufs > 0, "the ring ran dry at least once");
        assert_eq!(ring.out(), 0, "every buffer is back");
        drop(writer.join().unwrap());
    });
}

#[test]
fn bad_ring_shapes_are_refused() {
    each_backend(|driver| {
        for (count, size) in [(0, 4096), (3, 4096), (4, 0)] {
            let e = BufRing::new(driver, count, size).unwrap_err();
            assert_eq!(
                e.kind(),
                std::io::ErrorKind::InvalidInput,
                "{count} x {size}"
            );
        }
    });
}
