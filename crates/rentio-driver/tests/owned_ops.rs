//! The low-level face with ops the driver owns: `Driver::push` and
//! `Driver::completions`, on every backend.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write as _;
use std::os::fd::AsRawFd;
use std::time::Duration;

use rentio_driver::op::{Nop, PollMulti, Read, Recv, Send, SendMsg};
use rentio_driver::{Driver, Finished, Interest, Key};
use support::{Tracked, each_backend, socketpair, tick_until};

/// Ticks until `want` ops came back, collecting them.
fn collect(driver: &Driver, want: usize) -> Vec<Finished> {
    let mut done = Vec::new();
    let all = tick_until(driver, 200, || {
        driver.completions(|f| done.push(f));
        done.len() >= want
    });
    assert!(all, "only {} of {want} ops came back", done.len());
    done
}

#[test]
fn nops_come_back_once_each_with_their_keys() {
    each_backend(|driver| {
        let keys: Vec<Key> = (0..100).map(|_| driver.push(Nop).unwrap()).collect();
        let done = collect(driver, 100);
        let mut got: Vec<Key> = done.iter().map(Finished::key).collect();
        for f in done {
            assert!(f.is::<Nop>());
            assert_eq!(f.raw_result(), 0);
            f.output::<Nop>().unwrap().unwrap();
        }
        let mut want = keys.clone();
        got.sort_by_key(|k| k.user_data());
        want.sort_by_key(|k| k.user_data());
        assert_eq!(got, want, "each key exactly once");
        driver.poll(Some(Duration::ZERO)).unwrap();
        driver.completions(|f| panic!("a second completion for {:?}", f.key()));
        assert_eq!(driver.ops_in_slab(), 0, "every slot freed");
    });
}

#[test]
fn a_wrong_type_gives_the_op_back() {
    each_backend(|driver| {
        let key = driver.push(Nop).unwrap();
        let mut done = collect(driver, 1);
        let f = done.pop().unwrap();
        let f = match f.output::<Recv<Vec<u8>>>() {
            Ok(_) => panic!("a Nop is not a Recv"),
            Err(f) => f,
        };
        assert_eq!(f.key(), key);
        f.output::<Nop>().unwrap().unwrap();
    });
}

#[test]
fn a_file_read_returns_its_buffer_with_the_bytes() {
    each_backend(|driver| {
        let mut file = tempfile();
        file.write_all(b"owned ops").unwrap();
        let read = Read::at(file.as_raw_fd(), Vec::with_capacity(64), 0);
        driver.push(read).unwrap();
        let f = collect(driver, 1).pop().unwrap();
        let (n, buf) = f.output::<Read<Vec<u8>>>().unwrap();
        assert_eq!(n.unwrap(), 9);
        assert_eq!(buf, b"owned ops");
    });
}

#[test]
fn a_recv_waits_for_its_peer_then_comes_back() {
    each_backend(|driver| {
        let (a, b) = socketpair();
        let key = driver
            .push(Recv::new(a.as_raw_fd(), Vec::with_capacity(16)))
            .unwrap();
        driver.poll(Some(Duration::ZERO)).unwrap();
        driver.completions(|f| panic!("the recv finished with no data: {f:?}"));
        driver
            .push(Send::new(b.as_raw_fd(), b"ping".to_vec()))
            .unwrap();
        let done = collect(driver, 2);
        for f in done {
            if f.key() == key {
                let (n, buf) = f.output::<Recv<Vec<u8>>>().unwrap();
                assert_eq!(n.unwrap(), 4);
                assert_eq!(buf, b"ping");
            } else {
                let (n, _) = f.output::<Send<Vec<u8>>>().unwrap();
                assert_eq!(n.unwrap(), 4);
            }
        }
    });
}

#[test]
fn a_cancelled_recv_returns_its_buffer() {
    each_backend(|driver| {
        let (a, _b) = socketpair();
        let (buf, freed) = Tracked::new(32);
        let key = driver.push(Recv::new(a.as_raw_fd(), buf)).unwrap();
        driver.poll(Some(Duration::ZERO)).unwrap();
        driver.cancel(key).unwrap();
        let f = collect(driver, 1).pop().unwrap();
        assert_eq!(f.key(), key);
        assert!(!freed.get(), "the buffer is still the caller's");
        let (n, buf) = f.output::<Recv<Tracked>>().unwrap();
        assert_eq!(n.unwrap_err().raw_os_error(), Some(libc::ECANCELED));
        drop(buf);
        assert!(freed.get());
    });
}

#[test]
fn untaken_ops_are_freed_after_the_kernel_is_done() {
    // A driver dropped with an owned op in flight: the buffer outlives the
    // kernel's use of it and is freed (or leaked), never freed early.
    for target in support::backends() {
        let driver = support::driver(target, |_| {});
        let (a, b) = socketpair();
        let (buf, freed) = Tracked::new(32);
        driver.push(Recv::new(a.as_raw_fd(), buf)).unwrap();
        driver.poll(Some(Duration::ZERO)).unwrap();
        drop(driver);
        assert!(
            freed.get(),
            "[{target:?}] the cancelled recv's buffer was freed at drop"
        );
        drop((a, b));
    }
}

#[test]
fn ops_pushed_from_the_callback_come_back_later() {
    each_backend(|driver| {
        driver.push(Nop).unwrap();
        let mut rounds = 0;
        let mut seen = 0;
        let all = tick_until(driver, 200, || {
            driver.completions(|f| {
                f.output::<Nop>().unwrap().unwrap();
                seen += 1;
                if seen < 10 {
                    driver.push(Nop).unwrap();
                }
            });
            rounds += 1;
            seen == 10
        });
        assert!(all, "a chain of 10 pushes from the callback finished");
    });
}

fn tempfile() -> std::fs::File {
    let dir = std::env::temp_dir();
    let path = dir.join(format!(
        "rentio-owned-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    file
}

#[test]
fn a_panicking_callback_loses_none_of_the_rest() {
    each_backend(|driver| {
        let keys: Vec<Key> = (0..6).map(|_| driver.push(Nop).unwrap()).collect();
        // Let every NOP finish before anything is handed out.
        let finished = tick_until(driver, 200, || driver.ops_in_slab() == 0);
        assert!(finished, "the NOPs did not finish");
        let mut seen = Vec::new();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            driver.completions(|f| {
                seen.push(f.key());
                if seen.len() == 2 {
                    panic!("the callback fails on its second op");
                }
            });
        }));
        assert!(result.is_err(), "the panic reached the caller");
        assert_eq!(seen.len(), 2);
        // The other four come back next time, in the same order.
        driver.completions(|f| seen.push(f.key()));
        assert_eq!(seen.len(), 6, "{seen:?}");
        let mut got = seen.clone();
        let mut want = keys.clone();
        got.sort_by_key(|k| k.user_data());
        want.sort_by_key(|k| k.user_data());
        assert_eq!(got, want, "each key exactly once");
        driver.completions(|f| panic!("a second completion for {:?}", f.key()));
    });
}

#[test]
fn a_tick_never_parks_with_a_finished_op_to_hand_out() {
    each_backend(|driver| {
        let (a, b) = socketpair();
        driver
            .push(Recv::new(a.as_raw_fd(), Vec::with_capacity(16)))
            .unwrap();
        driver.poll(Some(Duration::ZERO)).unwrap();
        driver.completions(|f| panic!("the recv finished with no data: {f:?}"));
        // Data arrives; on readiness the tick only marks the recv ready.
        // SAFETY: a one-byte write from a live buffer to an fd we own.
        let wrote = unsafe { libc::write(b.as_raw_fd(), b"x".as_ptr().cast(), 1) };
        assert_eq!(wrote, 1);
        driver.poll(Some(Duration::from_millis(100))).unwrap();
        // Someone else drains the socket first: the ready recv, retried in
        // `completions`, would block again and finishes nothing.
        let mut byte = [0u8; 1];
        // SAFETY: a one-byte read into a live buffer, never blocking.
        let _ = unsafe {
            libc::recv(
                a.as_raw_fd(),
                byte.as_mut_ptr().cast(),
                1,
                libc::MSG_DONTWAIT,
            )
        };
        let mut got = 0;
        driver.completions(|_| got += 1);
        // An op that finishes at once must not wait behind a park.
        driver.push(Nop).unwrap();
        let parks = driver.stats().parks;
        driver.poll(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(
            driver.stats().parks,
            parks,
            "parked with a finished op waiting"
        );
        driver.completions(|_| got += 1);
        assert!(got >= 1, "the NOP came back");
    });
}

#[test]
fn a_batch_pushes_every_kind_of_op_and_drops_refused_ones_after_it() {
    each_backend(|driver| {
        let (a, b) = socketpair();
        let (bufs, freed): (Vec<Tracked>, Vec<_>) =
            (0..libc::UIO_MAXIOV + 1).map(|_| Tracked::new(1)).unzip();
        let mut keys = Vec::new();
        {
            let mut batch = driver.batch();
            for _ in 0..40 {
                keys.push(batch.push(Nop).unwrap());
            }
            // The readiness backend's way and the fallback's, in a batch.
            keys.push(
                batch
                    .push(Send::new(b.as_raw_fd(), b"ping".to_vec()))
                    .unwrap(),
            );
            let recv = batch.push(Recv::new(a.as_raw_fd(), Vec::with_capacity(8)));
            keys.push(recv.unwrap());
            // Refused: a multishot op, and a message of too many buffers.
            let multi = batch.push(PollMulti::new(a.as_raw_fd(), Interest::Read));
            assert_eq!(multi.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
            let refused = batch.push(SendMsg::new(b.as_raw_fd(), bufs, None));
            assert_eq!(
                refused.unwrap_err().kind(),
                std::io::ErrorKind::InvalidInput
            );
            assert!(
                !freed.iter().any(|f| f.get()),
                "a refused op drops only once the batch has"
            );
        }
        assert!(freed.iter().all(|f| f.get()), "the refused op was dropped");
        let done = collect(driver, keys.len());
        let mut got: Vec<Key> = done.iter().map(Finished::key).collect();
        for f in done {
            let f = match f.output::<Send<Vec<u8>>>() {
                Ok((n, _)) => {
                    assert_eq!(n.unwrap(), 4);
                    continue;
                }
                Err(f) => f,
            };
            match f.output::<Recv<Vec<u8>>>() {
                Ok((n, buf)) => assert_eq!(&buf[..n.unwrap()], b"ping"),
                Err(f) => f.output::<Nop>().unwrap().unwrap(),
            }
        }
        got.sort_by_key(|k| k.user_data());
        keys.sort_by_key(|k| k.user_data());
        assert_eq!(got, keys, "each key exactly once");
        assert_eq!(driver.ops_in_slab(), 0, "every slot freed");
    });
}

#[test]
fn a_batch_larger_than_the_sq_submits_early_and_loses_none() {
    support::each_backend_with(
        |b| {
            b.entries(4);
        },
        |driver| {
            let keys: Vec<Key> = {
                let mut batch = driver.batch();
                (0..50).map(|_| batch.push(Nop).unwrap()).collect()
            };
            let done = collect(driver, keys.len());
            assert_eq!(done.len(), keys.len());
            if driver.backend() == rentio_driver::Backend::Uring {
                assert!(driver.stats().sq_full_submits > 0, "the SQ filled up");
            }
        },
    );
}

#[test]
fn a_stale_key_cancels_nothing_and_handles_and_owned_ops_do_not_mix() {
    each_backend(|driver| {
        // An owned op finishes; the next one may take its place (and index).
        let stale = driver.push(Nop).unwrap();
        collect(driver, 1);
        let (a, b) = socketpair();
        let recv = driver
            .push(Recv::new(a.as_raw_fd(), Vec::with_capacity(8)))
            .unwrap();
        // An op handle beside it, whose key may share the index too.
        let mut handle = driver.submit(Nop).unwrap();
        assert_ne!(Some(stale), handle.key());
        assert_ne!(stale, recv);
        // Cancelling the finished op's key touches neither.
        driver.cancel(stale).unwrap();
        let done = tick_until(driver, 200, || handle.try_complete().is_some());
        assert!(done, "the handle's NOP finished");
        for _ in 0..3 {
            driver.poll(Some(Duration::from_millis(10))).unwrap();
            driver.completions(|f| panic!("{:?} came back; the recv waits", f.key()));
        }
        // The recv is still live: its peer's bytes complete it.
        use std::io::Write as _;
        std::os::unix::net::UnixStream::from(b)
            .write_all(b"late")
            .unwrap();
        let f = collect(driver, 1).pop().unwrap();
        assert_eq!(f.key(), recv);
        let (n, buf) = f.output::<Recv<Vec<u8>>>().unwrap();
        assert_eq!(&buf[..n.unwrap()], b"late");
        assert_eq!(driver.ops_in_slab(), 0);
    });
}

#[test]
fn one_call_hands_out_only_what_was_owed_when_it_began() {
    each_backend(|driver| {
        driver.push(Nop).unwrap();
        let finished = tick_until(driver, 200, || driver.ops_in_slab() == 0);
        assert!(finished, "the NOP finished");
        // Each op handed out pushes another, which on readiness finishes
        // at once: this call must still end after the one it owed.
        let mut calls = 0;
        let mut pushed = Vec::new();
        driver.completions(|f| {
            f.output::<Nop>().unwrap().unwrap();
            calls += 1;
            pushed.push(driver.push(Nop).unwrap());
        });
        assert_eq!(calls, 1, "one owed, one handed out");
        let back = collect(driver, 1);
        assert_eq!(back[0].key(), pushed[0], "the pushed one comes next time");
    });
}

#[test]
fn a_tick_inside_the_callback_does_not_hide_later_news() {
    each_backend(|driver| {
        for _ in 0..3 {
            driver.push(Nop).unwrap();
        }
        let finished = tick_until(driver, 200, || driver.ops_in_slab() == 0);
        assert!(finished, "the NOPs finished");
        driver.poll(Some(Duration::ZERO)).unwrap();
        let mut seen = 0;
        driver.completions(|_| {
            seen += 1;
            if seen == 1 {
                // Ends a tick with two still queued: they count as seen.
                driver.poll(Some(Duration::ZERO)).unwrap();
            }
        });
        assert_eq!(seen, 3);
        // An op that finishes now is news: the next tick must not park
        // on it.
        let key = driver.push(Nop).unwrap();
        let parks = driver.stats().parks;
        driver.poll(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(
            driver.stats().parks,
            parks,
            "the tick parked with news queued"
        );
        let back = collect(driver, 1);
        assert_eq!(back[0].key(), key);
    });
}
