//! Direct descriptors (`Builder::direct_descriptors`): a registered socket's
//! ops name its slot of the ring's table (`IOSQE_FIXED_FILE`), an echo runs
//! through it, and dropping the socket takes it out of the table (the peer
//! sees the end at once; a table that kept the file would hold the socket
//! open). A new socket that reuses the fd number is not registered. Where
//! there is no table (readiness, a ring without one) `register_direct` is
//! `false` and the fd goes by number; a restricted ring has the table too.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

use rentio_driver::{BackendChoice, OpCode, op};
use rentio_executor::Builder;
use rentio_io::{AsyncReadRent, AsyncWriteRentExt};
use rentio_net::{TcpListener, UnixStream};

/// (name, builder, whether sockets get a slot).
fn configs() -> Vec<(&'static str, Builder, bool)> {
    let mut out = Vec::new();
    for choice in support::backends() {
        let mut b = Builder::new();
        b.backend(choice);
        if choice == BackendChoice::Uring {
            out.push(("uring, no table", b.clone(), false));
            let mut direct = b.clone();
            direct.driver().direct_descriptors(64);
            out.push(("uring, direct", direct.clone(), true));
            let mut masked = direct.clone();
            masked
                .driver()
                .mask_feature(rentio_driver::Feature::DirectDescriptors);
            out.push(("uring, direct descriptors masked", masked, false));
            direct.driver().restrict_opcodes(&[
                <op::Recv<Vec<u8>> as OpCode>::CODE,
                <op::Send<Vec<u8>> as OpCode>::CODE,
                <op::Accept as OpCode>::CODE,
                <op::Close as OpCode>::CODE,
                <op::Connect as OpCode>::CODE,
                <op::Shutdown as OpCode>::CODE,
                <op::Timeout as OpCode>::CODE,
                <op::Nop as OpCode>::CODE,
            ]);
            out.push(("uring, direct, restricted", direct, true));
        } else {
            let mut b = b;
            b.driver().direct_descriptors(64);
            out.push(("readiness", b, false));
        }
    }
    out
}

#[test]
fn a_registered_socket_echoes_through_its_slot_and_leaves_the_table_when_dropped() {
    for (name, builder, direct) in configs() {
        let rt = builder.build().unwrap();
        rt.block_on(rentio_executor::time::timeout(
            Duration::from_secs(60),
            async {
                let driver = rentio_executor::current_driver().unwrap();
                let listener = TcpListener::bind("127.0.0.1:0").unwrap();
                let addr = listener.local_addr().unwrap();
                const TOTAL: usize = 1 << 20;
                let client = std::thread::spawn(move || {
                    let mut s = std::net::TcpStream::connect(addr).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    let mut writer = s.try_clone().unwrap();
                    let w = std::thread::spawn(move || {
                        writer.write_all(&support::pattern(TOTAL)).unwrap();
                    });
                    let mut back = vec![0u8; TOTAL];
                    s.read_exact(&mut back).unwrap();
                    w.join().unwrap();
                    // The server drops its socket without a shutdown: only the
                    // close, which the table must not hold off, ends it.
                    let mut rest = Vec::new();
                    let end = s.read_to_end(&mut rest);
                    (back, end.map(|_| rest.len()))
                });
                let (mut stream, _) = listener.accept().await.unwrap();
                assert_eq!(stream.register_direct().unwrap(), direct, "{name}");
                assert_eq!(driver.is_direct(stream.as_fd()), direct, "{name}");
                let before = driver.direct_sqes();
                let mut done = 0;
                let mut buf = Vec::with_capacity(16 << 10);
                while done < TOTAL {
                    buf.clear();
                    let (n, b) = stream.read(buf).await;
                    let n = n.unwrap();
                    assert!(n > 0, "{name}: early end");
                    let (w, b) = stream.write_all(b).await;
                    w.unwrap();
                    buf = b;
                    done += n;
                }
                let used = driver.direct_sqes() - before;
                if direct {
                    assert!(used > 0, "{name}: no SQE named the slot");
                } else {
                    assert_eq!(used, 0, "{name}");
                }
                let raw = stream.as_raw_fd();
                drop(stream);
                let (back, end) = client.join().unwrap();
                assert!(
                    back == support::pattern(TOTAL),
                    "{name}: the echo came back whole"
                );
                assert_eq!(
                    end.unwrap(),
                    0,
                    "{name}: the peer saw the end once the socket dropped"
                );

                // A new socket on the same number is not in the table.
                let (a, mut b) = UnixStream::pair().unwrap();
                if a.as_raw_fd() == raw || b.as_raw_fd() == raw {
                    assert!(!driver.is_direct(a.as_fd()) && !driver.is_direct(b.as_fd()));
                }
                let before = driver.direct_sqes();
                let mut a = a;
                let (sent, _) = a.write_all(b"reused".to_vec()).await;
                sent.unwrap();
                let (n, got) = b.read(Vec::with_capacity(8)).await;
                assert_eq!(n.unwrap(), 6);
                assert_eq!(got, b"reused");
                assert_eq!(
                    driver.direct_sqes(),
                    before,
                    "{name}: unregistered sockets go by number"
                );
            },
        ))
        .unwrap();
    }
}

#[test]
fn a_full_table_registers_no_more() {
    let Some(_) = support::uring_or_skip("direct descriptors") else {
        return;
    };
    let mut b = Builder::new();
    b.backend(BackendChoice::Uring);
    b.driver().direct_descriptors(1);
    let rt = b.build().unwrap();
    rt.block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        assert!(a.register_direct().unwrap());
        assert!(a.register_direct().unwrap(), "twice is a no-op");
        assert!(!b.register_direct().unwrap(), "one slot, taken");
        drop(a);
        // The slot came back with the drop.
        assert!(b.register_direct().unwrap());
        let (c, _d) = UnixStream::pair().unwrap();
        assert!(!c.register_direct().unwrap());
        drop(b);
    });
}

/// A registered stream handed to another runtime leaves its first ring's
/// table (the slot is free for the next socket there) and echoes on the
/// second, registered there too.
#[test]
fn a_detached_stream_leaves_the_table_and_works_on_another_runtime() {
    let Some(_) = support::uring_or_skip("direct descriptors") else {
        return;
    };
    let mut b = Builder::new();
    b.backend(BackendChoice::Uring);
    b.driver().direct_descriptors(1);
    let rt = b.build().unwrap();
    let second = b.clone();
    rt.block_on(async {
        let (a, peer) = std::os::unix::net::UnixStream::pair().unwrap();
        let a = UnixStream::from_std(a);
        if !a.register_direct().unwrap() {
            eprintln!("skipped: this kernel has no direct descriptors (Linux 6.13)");
            return;
        }
        let detached = a.detach().await;
        let (c, _d) = UnixStream::pair().unwrap();
        assert!(c.register_direct().unwrap(), "the one slot is free again");
        let echoed = std::thread::spawn(move || {
            second.build().unwrap().block_on(async move {
                let mut s = detached.attach();
                assert!(s.register_direct().unwrap());
                let (n, buf) = s.read(Vec::with_capacity(16)).await;
                assert_eq!(n.unwrap(), 4);
                let (w, _) = s.write_all(buf).await;
                w.unwrap();
            });
        });
        let mut peer = peer;
        peer.write_all(b"ping").unwrap();
        let mut back = [0u8; 4];
        peer.read_exact(&mut back).unwrap();
        assert_eq!(&back, b"ping");
        echoed.join().unwrap();
    });
}
