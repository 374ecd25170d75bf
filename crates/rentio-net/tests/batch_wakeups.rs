//! Coalesced wake-ups (`Builder::batch_wakeups`): with a batch that never
//! fills, a timer still fires at its deadline, a lone connection still
//! gets its answers (each within the wait), a wake-up from another thread
//! gets through, and 64 busy connections fill batches. With
//! `IORING_FEAT_MIN_TIMEOUT` (one enter per park), with it masked (the
//! two-enter park), and on readiness (which ignores the setting).

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use rentio_driver::{BackendChoice, Feature};
use rentio_executor::Builder;
use rentio_io::{AsyncReadRent, AsyncWriteRentExt};
use rentio_net::{TcpListener, TcpStream};

const WAIT: Duration = Duration::from_millis(200);

fn configs() -> Vec<(&'static str, Builder)> {
    let mut out = Vec::new();
    for choice in support::backends() {
        let mut b = Builder::new();
        b.backend(choice);
        b.driver().batch_wakeups(32, WAIT);
        if choice == BackendChoice::Uring {
            out.push(("uring, min_wait", b.clone()));
            b.driver().mask_feature(Feature::MinTimeout);
            out.push(("uring, two enters", b));
        } else {
            out.push(("readiness", b));
        }
    }
    out
}

async fn echo(mut stream: TcpStream) {
    let mut buf = Vec::with_capacity(4096);
    loop {
        buf.clear();
        let (n, b) = stream.read(buf).await;
        if n.unwrap() == 0 {
            return;
        }
        let (w, b) = stream.write_all(b).await;
        w.unwrap();
        buf = b;
    }
}

#[test]
fn timers_lone_connections_and_remote_wakes_get_through() {
    support::each_config(configs(), |name| async move {
        // A timer shorter than the wait fires at its deadline, not the
        // wait's end.
        let start = Instant::now();
        rentio_executor::time::sleep(Duration::from_millis(10)).await;
        assert!(
            start.elapsed() < WAIT / 2,
            "{name}: a 10 ms timer took {:?}",
            start.elapsed()
        );

        // A lone connection: each answer comes, within about the wait.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            let mut worst = Duration::ZERO;
            for i in 0..5u8 {
                let start = Instant::now();
                s.write_all(&[i; 100]).unwrap();
                let mut back = [0u8; 100];
                s.read_exact(&mut back).unwrap();
                assert_eq!(back, [i; 100]);
                worst = worst.max(start.elapsed());
            }
            worst
        });
        let (stream, _) = listener.accept().await.unwrap();
        let server = rentio_executor::spawn(echo(stream));
        let worst = rentio_executor::spawn_blocking(move || client.join().unwrap())
            .await
            .unwrap();
        assert!(worst < WAIT * 5, "{name}: a lone round trip took {worst:?}");
        server.await.unwrap();

        // A wake-up from another thread.
        let (tx, rx) = rentio_executor::sync::oneshot::channel();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            tx.send(7u32).unwrap();
        });
        assert_eq!(rx.await.unwrap(), 7, "{name}");
    });
}

#[test]
fn busy_connections_fill_batches() {
    support::each_config(configs(), |name| async move {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        const CONNS: usize = 64;
        const ROUNDS: usize = 200;
        let clients = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let mut conns: Vec<_> = (0..CONNS)
                .map(|_| std::net::TcpStream::connect(addr).unwrap())
                .collect();
            for round in 0..ROUNDS {
                for s in &mut conns {
                    s.write_all(&[round as u8; 64]).unwrap();
                }
                for s in &mut conns {
                    let mut back = [0u8; 64];
                    s.read_exact(&mut back).unwrap();
                    assert_eq!(back, [round as u8; 64]);
                }
            }
        });
        let mut servers = Vec::new();
        for _ in 0..CONNS {
            let (stream, _) = listener.accept().await.unwrap();
            servers.push(rentio_executor::spawn(echo(stream)));
        }
        rentio_executor::spawn_blocking(move || clients.join().unwrap())
            .await
            .unwrap();
        for s in servers {
            s.await.unwrap();
        }
        let _ = name;
    });
}

/// An idle runtime with nothing to wait for sleeps: the batch's short wait
/// does not wake it every `max_wait` (the kernel ends a minimum wait
/// early only under an overall timeout).
#[test]
fn an_idle_runtime_sleeps_through_short_waits() {
    let mut configs = Vec::new();
    for choice in support::backends() {
        let mut b = Builder::new();
        b.backend(choice);
        b.driver().batch_wakeups(32, Duration::from_millis(1));
        if choice == BackendChoice::Uring {
            configs.push(("uring, min_wait", b.clone()));
            b.driver().mask_feature(Feature::MinTimeout);
            configs.push(("uring, two enters", b));
        }
    }
    for (name, builder) in configs {
        let rt = builder.build().unwrap();
        let before = rt.metrics().parks;
        let handle = rt.handle();
        let (tx, rx) = rentio_executor::sync::oneshot::channel();
        let waker = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            tx.send(()).unwrap();
        });
        rt.block_on(async { rx.await.unwrap() });
        waker.join().unwrap();
        let parks = rt.metrics().parks - before;
        // 300 ms of 1 ms waits would be about 300 parks.
        assert!(parks < 30, "{name}: {parks} parks while idle for 300 ms");
        drop(handle);
    }
}
