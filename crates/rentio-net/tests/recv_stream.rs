//! Receive streams over a shared buffer ring: one ring of 4 buffers under
//! 64 connections sending 1 MiB each: `ENOBUFS` comes and goes, every
//! byte arrives in order, every buffer returns; on io_uring with buffer
//! rings, with the feature masked (a user-space pool on the ring), and on
//! readiness. A stream dropped mid-way gives its buffers back.

#![allow(clippy::unwrap_used)]

mod support;

use std::cell::Cell;
use std::io::Write;
use std::rc::Rc;
use std::time::Duration;

use rentio_driver::Feature;
use rentio_executor::Builder;
use rentio_net::{BufRing, TcpListener};

fn configs() -> Vec<(&'static str, Builder)> {
    support::feature_configs(Feature::BufRing, "uring, buffer rings masked")
}

const CONNS: usize = 64;
const EACH: usize = 1 << 20;

fn byte(conn: usize, i: usize) -> u8 {
    ((i + conn * 7) % 251) as u8
}

#[test]
fn four_buffers_carry_64_connections_of_1_mib_each_in_order() {
    for (name, builder) in configs() {
        let rt = builder.build().unwrap();
        let done = rt.block_on(rentio_executor::time::timeout(
            Duration::from_secs(120),
            async {
                let driver = rentio_executor::current_driver().unwrap();
                let ring = BufRing::new(&driver, 4, 4096).unwrap();
                if name == "uring" && !ring.is_registered() {
                    eprintln!(
                        "{name}: this kernel has no buffer rings (Linux 6.0): a user-space pool"
                    );
                }
                let listener = TcpListener::bind("127.0.0.1:0").unwrap();
                let addr = listener.local_addr().unwrap();
                let clients = std::thread::spawn(move || {
                    let mut conns: Vec<_> = (0..CONNS)
                        .map(|c| {
                            let mut s = std::net::TcpStream::connect(addr).unwrap();
                            s.write_all(&(c as u32).to_le_bytes()).unwrap();
                            s
                        })
                        .collect();
                    // Interleave: 64 KiB to each in turn.
                    let chunk = 64 << 10;
                    for start in (0..EACH).step_by(chunk) {
                        for (c, s) in conns.iter_mut().enumerate() {
                            let data: Vec<u8> =
                                (start..start + chunk).map(|i| byte(c, i)).collect();
                            s.write_all(&data).unwrap();
                        }
                    }
                    drop(conns);
                });
                let finished = Rc::new(Cell::new(0));
                for _ in 0..CONNS {
                    let (stream, _) = listener.accept().await.unwrap();
                    let (ring, finished) = (ring.clone(), finished.clone());
                    rentio_executor::spawn(async move {
                        let mut arrivals = stream.recv_stream(&ring);
                        let mut id = Vec::new();
                        let mut at = 0usize;
                        while let Some(buf) = arrivals.next().await {
                            let buf = buf.unwrap();
                            let mut bytes = &buf[..];
                            while id.len() < 4 && !bytes.is_empty() {
                                id.push(bytes[0]);
                                bytes = &bytes[1..];
                            }
                            if id.len() < 4 {
                                continue;
                            }
                            let conn = u32::from_le_bytes(id[..4].try_into().unwrap()) as usize;
                            for &b in bytes {
                                assert_eq!(b, byte(conn, at), "connection {conn}, byte {at}");
                                at += 1;
                            }
                            // `buf` drops here: back to the ring.
                        }
                        assert_eq!(at, EACH);
                        finished.set(finished.get() + 1);
                    });
                }
                while finished.get() < CONNS {
                    rentio_executor::time::sleep(Duration::from_millis(5)).await;
                }
                clients.join().unwrap();
                assert_eq!(ring.out(), 0, "{name}: every buffer is back");
                if ring.is_registered() {
                    assert!(ring.exhausted() > 0, "{name}: the ring ran dry (ENOBUFS)");
                }
            },
        ));
        assert!(done.is_ok(), "{name}: timed out");
    }
}

#[test]
fn a_dropped_stream_gives_its_buffers_back() {
    for (name, builder) in configs() {
        let rt = builder.build().unwrap();
        rt.block_on(async {
            let driver = rentio_executor::current_driver().unwrap();
            let ring = BufRing::new(&driver, 4, 1024).unwrap();
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let mut client = std::net::TcpStream::connect(addr).unwrap();
            let (stream, _) = listener.accept().await.unwrap();
            client.write_all(&[7; 8192]).unwrap();
            let mut arrivals = stream.recv_stream(&ring);
            let first = arrivals.next().await.unwrap().unwrap();
            assert!(!first.is_empty());
            drop(first);
            // More is arriving; drop the stream with its receive armed.
            drop(arrivals);
            for _ in 0..100 {
                if ring.out() == 0 {
                    break;
                }
                rentio_executor::time::sleep(Duration::from_millis(2)).await;
            }
            assert_eq!(ring.out(), 0, "{name}: the buffers came back");
            // The stream reads on with a new receive stream.
            let mut again = stream.recv_stream(&ring);
            drop(client);
            while let Some(buf) = again.next().await {
                drop(buf.unwrap());
            }
        });
    }
}
