//! Registered buffers: a `FixedBufPool`'s buffers carry a TCP echo through
//! `read_fixed`/`write_fixed` on io_uring (`READ_FIXED`/`WRITE_FIXED`),
//! with those opcodes masked and on readiness (the plain ops), and on a
//! restricted ring (which cannot register: the plain ops). The pool lends
//! each buffer once, gives it back on drop (also from a read dropped in
//! flight), one ring holds one pool, and the registration ends with the
//! last buffer.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::{ErrorKind, Read, Write};
use std::time::Duration;

use rentio_driver::op::{self, ReadFixed, WriteFixed};
use rentio_driver::{Backend, BackendChoice, FixedBufPool, OpCode};
use rentio_executor::Builder;
use rentio_io::AsyncWriteRentExt;
use rentio_net::{TcpListener, TcpStream};

fn configs() -> Vec<(&'static str, Builder)> {
    let mut out = Vec::new();
    for choice in support::backends() {
        let mut b = Builder::new();
        b.backend(choice);
        if choice == BackendChoice::Uring {
            out.push(("uring", b.clone()));
            let mut masked = b.clone();
            masked
                .driver()
                .mask_opcode(<ReadFixed as OpCode>::CODE)
                .mask_opcode(<WriteFixed as OpCode>::CODE);
            out.push(("uring, fixed opcodes masked", masked));
            b.driver().restrict_opcodes(&[
                <op::Recv<Vec<u8>> as OpCode>::CODE,
                <op::Send<Vec<u8>> as OpCode>::CODE,
                <ReadFixed as OpCode>::CODE,
                <WriteFixed as OpCode>::CODE,
                <op::Accept as OpCode>::CODE,
                <op::Close as OpCode>::CODE,
                <op::Connect as OpCode>::CODE,
                <op::Shutdown as OpCode>::CODE,
                <op::Timeout as OpCode>::CODE,
                <op::Nop as OpCode>::CODE,
            ]);
            out.push(("uring, restricted", b));
        } else {
            out.push(("readiness", b));
        }
    }
    out
}

#[test]
fn an_echo_runs_through_registered_buffers() {
    for (name, builder) in configs() {
        let rt = builder.build().unwrap();
        let backend = rt.backend();
        rt.block_on(rentio_executor::time::timeout(
            Duration::from_secs(60),
            async {
                let driver = rentio_executor::current_driver().unwrap();
                let pool = FixedBufPool::new(&driver, 4, 16 << 10).unwrap();
                let registered = backend == Backend::Uring && name == "uring";
                assert_eq!(pool.is_registered(), registered, "{name}");
                let listener = TcpListener::bind("127.0.0.1:0").unwrap();
                let addr = listener.local_addr().unwrap();
                const TOTAL: usize = 1 << 20;
                let client = std::thread::spawn(move || {
                    let mut s = std::net::TcpStream::connect(addr).unwrap();
                    let data = support::pattern(TOTAL);
                    let mut writer = s.try_clone().unwrap();
                    let w = std::thread::spawn(move || {
                        writer.write_all(&data).unwrap();
                        writer.shutdown(std::net::Shutdown::Write).unwrap();
                    });
                    let mut back = Vec::new();
                    s.read_to_end(&mut back).unwrap();
                    w.join().unwrap();
                    back
                });
                let (stream, _) = listener.accept().await.unwrap();
                let mut buf = pool.take().await;
                let never = rentio_net::Canceller::new().handle();
                loop {
                    buf.clear();
                    let (n, b) = stream.read_fixed(buf).await;
                    if n.unwrap() == 0 {
                        buf = b;
                        break;
                    }
                    let (m, b) = stream.write_fixed(b).await;
                    let m = m.unwrap();
                    if m < b.len() {
                        // A short write (the client is slow to read): the
                        // rest the plain way.
                        let mut rest = stream.with_cancel(&never);
                        let (all, _) = rest.write_all(b[m..].to_vec()).await;
                        all.unwrap();
                    }
                    buf = b;
                }
                stream
                    .shutdown_with(std::net::Shutdown::Write)
                    .await
                    .unwrap();
                let back = client.join().unwrap();
                assert!(
                    back == support::pattern(TOTAL),
                    "{name}: the echo came back whole"
                );
                drop(buf);
                assert_eq!(pool.available(), 4, "{name}");
            },
        ))
        .unwrap();
    }
}

#[test]
fn the_pool_lends_each_buffer_once_and_a_dropped_read_gives_it_back() {
    for (name, builder) in configs() {
        let rt = builder.build().unwrap();
        rt.block_on(rentio_executor::time::timeout(
            Duration::from_secs(30),
            async {
                let driver = rentio_executor::current_driver().unwrap();
                assert_eq!(
                    FixedBufPool::new(&driver, 0, 4096).unwrap_err().kind(),
                    ErrorKind::InvalidInput
                );
                let pool = FixedBufPool::new(&driver, 2, 4096).unwrap();
                let (a, b) = (pool.try_take().unwrap(), pool.try_take().unwrap());
                assert_ne!(a.index(), b.index());
                assert!(pool.try_take().is_none(), "{name}: two buffers, both out");
                // A waiting take is woken by a buffer coming back.
                let waiter = rentio_executor::spawn({
                    let pool = pool.clone();
                    async move { pool.take().await.index() }
                });
                rentio_executor::time::sleep(Duration::from_millis(10)).await;
                let index = a.index();
                drop(a);
                assert_eq!(waiter.await.unwrap(), index, "{name}");
                assert_eq!(pool.available(), 1);

                // A read dropped while the kernel holds the buffer: it comes
                // back once the kernel is done, never before.
                let listener = TcpListener::bind("127.0.0.1:0").unwrap();
                let peer = TcpStream::connect(&listener.local_addr().unwrap())
                    .await
                    .unwrap();
                let (stream, _) = listener.accept().await.unwrap();
                let read = stream.read_fixed(b);
                let dropped = rentio_executor::time::timeout(Duration::from_millis(20), read).await;
                assert!(dropped.is_err(), "{name}: nothing to read yet");
                drop(peer);
                for _ in 0..200 {
                    if pool.available() == 2 {
                        break;
                    }
                    rentio_executor::time::sleep(Duration::from_millis(5)).await;
                }
                assert_eq!(
                    pool.available(),
                    2,
                    "{name}: the dropped read's buffer came back"
                );
            },
        ))
        .unwrap();
    }
}

#[test]
fn one_registration_per_ring_until_the_last_buffer_goes() {
    let rt = support::uring_or_skip("registered buffers");
    let Some(rt) = rt else { return };
    rt.block_on(async {
        let driver = rentio_executor::current_driver().unwrap();
        let pool = FixedBufPool::new(&driver, 2, 4096).unwrap();
        assert!(pool.is_registered());
        let second = FixedBufPool::new(&driver, 2, 4096).unwrap_err();
        assert_eq!(second.kind(), ErrorKind::ResourceBusy, "{second}");
        let kept = pool.try_take().unwrap();
        drop(pool);
        // A buffer still out keeps the registration.
        assert_eq!(
            FixedBufPool::new(&driver, 2, 4096).unwrap_err().kind(),
            ErrorKind::ResourceBusy
        );
        drop(kept);
        let again = FixedBufPool::new(&driver, 2, 4096).unwrap();
        assert!(
            again.is_registered(),
            "the last buffer ended the registration"
        );
        // A buffer of another ring's pool is not this ring's.
        let other = rentio_driver::Driver::new().unwrap();
        let foreign = FixedBufPool::new(&other, 1, 4096).unwrap();
        assert!(!foreign.try_take().unwrap().is_registered_with(&driver));
    });
}
