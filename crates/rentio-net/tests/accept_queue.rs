//! The listener's accept queue: 10,000 connections accepted while
//! `accept()` futures are dropped at random points, none lost; on io_uring
//! with multishot accept, with it masked (one accept op at a time, kept by
//! the listener), and on readiness. Also `incoming()`, a bounded queue
//! under a burst, and a cancelled accept that winds down.

#![allow(clippy::unwrap_used)]

mod support;

use std::cell::RefCell;
use std::collections::HashSet;
use std::future::Future;
use std::io::Write;
use std::rc::Rc;
use std::time::Duration;

use rentio_driver::Feature;
use rentio_executor::Builder;
use rentio_io::AsyncReadRentExt;
use rentio_net::{Canceller, TcpListener};

/// The configurations: io_uring, io_uring without multishot accept, and
/// readiness (as `RENTIO_DRIVER` narrows).
fn configs() -> Vec<(&'static str, Builder)> {
    support::feature_configs(Feature::MultishotAccept, "uring, multishot masked")
}

fn run<F: std::future::Future<Output = ()>>(builder: &Builder, name: &str, f: F) {
    let rt = builder.build().unwrap();
    let finished = rt.block_on(rentio_executor::time::timeout(Duration::from_secs(60), f));
    assert!(finished.is_ok(), "{name}: timed out");
}

/// A small xorshift: which accepts to drop, and when.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

const CONNECTIONS: u32 = 10_000;

/// The tests take turns, so the fd count sees only its own test's fds.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn ten_thousand_connections_none_lost_while_accepts_are_dropped() {
    let _turn = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for (k, (name, builder)) in configs().into_iter().enumerate() {
        let fds_before = support::fd_count();
        run(&builder, name, async {
            // A loopback address per configuration: each run leaves
            // 10,000 connections in TIME_WAIT, and ephemeral ports run out
            // if every run talks to the same address.
            let listener = TcpListener::bind(("127.0.0.1", 0))
                .and_then(|_| TcpListener::bind((format!("127.0.1.{}", k + 1).as_str(), 0)))
                .unwrap();
            let addr = listener.local_addr().unwrap();
            let client = std::thread::spawn(move || {
                for i in 0..CONNECTIONS {
                    let mut s = std::net::TcpStream::connect(addr).unwrap();
                    s.write_all(&i.to_le_bytes()).unwrap();
                    // Pauses let the queue run dry, so accepts wait (and
                    // are dropped while they wait).
                    if i % 64 == 0 {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
            });
            let seen = Rc::new(RefCell::new(HashSet::new()));
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
            let mut dropped = 0u32;
            let mut accepted_count = 0u32;
            while accepted_count < CONNECTIONS {
                // A third of the accepts are polled once (or after a
                // random short wait) and dropped if not ready.
                let accept = listener.accept();
                let accepted = match rng.next() % 6 {
                    0 => {
                        let mut accept = std::pin::pin!(accept);
                        let once = std::future::poll_fn(|cx| {
                            std::task::Poll::Ready(accept.as_mut().poll(cx))
                        })
                        .await;
                        match once {
                            std::task::Poll::Ready(accepted) => accepted,
                            std::task::Poll::Pending => {
                                dropped += 1;
                                continue;
                            }
                        }
                    }
                    1 => {
                        let limit = Duration::from_micros(rng.next() % 300);
                        match rentio_executor::time::timeout(limit, accept).await {
                            Ok(accepted) => accepted,
                            Err(_) => {
                                dropped += 1;
                                continue;
                            }
                        }
                    }
                    _ => accept.await,
                };
                let (mut stream, _) = accepted.unwrap();
                accepted_count += 1;
                let seen2 = seen.clone();
                rentio_executor::spawn(async move {
                    let seen = seen2;
                    let (n, id) = stream.read_exact(Vec::with_capacity(4)).await;
                    n.unwrap();
                    let id = u32::from_le_bytes(id[..4].try_into().unwrap());
                    assert!(seen.borrow_mut().insert(id), "{id} twice");
                });
                // Let the readers run now and then.
                if rng.next().is_multiple_of(16) {
                    rentio_executor::yield_now().await;
                }
            }
            client.join().unwrap();
            // Every connection accepted once: the readers finish.
            while (seen.borrow().len() as u32) < CONNECTIONS {
                rentio_executor::time::sleep(Duration::from_millis(1)).await;
            }
            assert_eq!(seen.borrow().len() as u32, CONNECTIONS);
            // And no connection is left over.
            let extra =
                rentio_executor::time::timeout(Duration::from_millis(50), listener.accept()).await;
            assert!(extra.is_err(), "{name}: a connection accepted twice");
            assert!(dropped > 0, "{name}: some accepts were dropped");
        });
        assert_eq!(support::fd_count(), fds_before, "{name}: fds leaked");
    }
}

#[test]
fn incoming_yields_every_connection_of_a_burst_beyond_the_bound() {
    let _turn = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for (name, builder) in configs() {
        run(&builder, name, async {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            // 600 connections before the first accept: more than the
            // queue holds (256). The multishot accept, once armed, may
            // take a burst past the bound before its cancel lands; the
            // rest wait in the kernel's backlog until it is armed again.
            let clients: Vec<_> = (0..600)
                .map(|_| std::net::TcpStream::connect(addr).unwrap())
                .collect();
            let mut incoming = listener.incoming();
            for _ in 0..600 {
                let stream = incoming.next().await.unwrap().unwrap();
                drop(stream);
            }
            drop(clients);
        });
    }
}

#[test]
fn a_cancelled_accept_hands_back_what_was_accepted_then_ends() {
    let _turn = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for (name, builder) in configs() {
        run(&builder, name, async {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let canceller = Canceller::new();
            let handle = canceller.handle();
            // Arm the accept, then connect 5 and cancel.
            let first = rentio_executor::time::timeout(
                Duration::from_millis(20),
                listener.accept_cancellable(&handle),
            )
            .await;
            assert!(first.is_err(), "{name}: nobody connected yet");
            let clients: Vec<_> = (0..5)
                .map(|_| std::net::TcpStream::connect(addr).unwrap())
                .collect();
            rentio_executor::time::sleep(Duration::from_millis(20)).await;
            canceller.cancel();
            let mut got = 0;
            loop {
                match listener.accept_cancellable(&handle).await {
                    Ok(_) => got += 1,
                    Err(e) => {
                        assert_eq!(e.raw_os_error(), Some(libc::ECANCELED), "{name}: {e}");
                        break;
                    }
                }
            }
            // Those the kernel had accepted come back; the rest wait in
            // the backlog for a plain accept.
            for _ in got..5 {
                listener.accept().await.unwrap();
            }
            drop(clients);
        });
    }
}

/// Several tasks accept on one listener, one of them dropping its accept
/// futures: every connection reaches a task (no wake-up stays with a
/// dropped future or another task).
#[test]
fn tasks_sharing_a_listener_are_all_woken() {
    let _turn = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for (name, builder) in configs() {
        run(&builder, name, async {
            let listener = Rc::new(TcpListener::bind("127.0.0.1:0").unwrap());
            let addr = listener.local_addr().unwrap();
            let got = Rc::new(std::cell::Cell::new(0u32));
            let mut tasks = Vec::new();
            for t in 0..3 {
                let (listener, got) = (listener.clone(), got.clone());
                tasks.push(rentio_executor::spawn(async move {
                    while got.get() < 100 {
                        let accept = listener.accept();
                        let accepted = if t == 0 {
                            // Gives up after 1 ms each time.
                            match rentio_executor::time::timeout(Duration::from_millis(1), accept)
                                .await
                            {
                                Ok(accepted) => accepted,
                                Err(_) => continue,
                            }
                        } else {
                            accept.await
                        };
                        accepted.unwrap();
                        got.set(got.get() + 1);
                    }
                }));
            }
            let client = std::thread::spawn(move || {
                let mut held = Vec::new();
                for i in 0..100 {
                    held.push(std::net::TcpStream::connect(addr).unwrap());
                    if i % 10 == 0 {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                }
                held
            });
            while got.get() < 100 {
                rentio_executor::time::sleep(Duration::from_millis(1)).await;
            }
            assert_eq!(got.get(), 100, "{name}");
            for t in tasks {
                t.abort();
            }
            drop(client.join().unwrap());
        });
    }
}
