//! Invariant 11: an op never acts on an fd number after its owner let go
//! of it. Each test frees a number the way an owner does (`close`,
//! `release_fd`), then has another file take the number at once (`dup2`,
//! as the kernel's lowest-free rule would), and checks that nothing meant
//! for the old file reaches the new one. On both backends.
//!
//! `dup2` onto a number replaces whatever it names, so these tests run in
//! a binary of their own and one at a time (a lock), never beside tests
//! that open fds.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::{Read as _, Write as _};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::pin::pin;
use std::sync::Mutex;
use std::task::{Context, Waker};
use std::time::Duration;

use rentio_driver::op::{Close, Read, Recv, Send};
use rentio_driver::{Backend, Driver, Pool, PoolConfig};
use support::each_backend_with;

/// One test at a time: each reuses fd numbers on purpose.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
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

/// What `peer` has to read right now (non-blocking), up to 64 bytes.
fn pending_bytes(peer: &mut UnixStream) -> Vec<u8> {
    peer.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 64];
    match peer.read(&mut buf) {
        Ok(n) => buf[..n].to_vec(),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Vec::new(),
        Err(e) => panic!("read: {e}"),
    }
}

/// Where `/proc/self/fd/N` points, if `fd` is open.
fn fd_target(fd: RawFd) -> Option<std::path::PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()
}

/// How the owner lets go of its fd in [`a_queued_sqe_never_reaches_the_file_that_reuses_its_number`].
#[derive(Clone, Copy, Debug)]
enum LetGo {
    /// `release_fd`, as `into_std` does, then the new owner closes it.
    HandBack,
    /// `Driver::close`.
    Close,
    /// A `Close` op, which a ring without `IORING_OP_CLOSE` (masked here)
    /// runs on the driver thread.
    CloseOp,
}

/// A send polled once and dropped leaves its SQE queued on io_uring. The
/// owner lets go of the fd, a new connection takes the number, and the
/// next enter must not send the dropped op's bytes into it. (On readiness
/// the send runs on its first poll, so nothing is queued: there the test
/// only shows the release does no harm.)
#[test]
fn a_queued_sqe_never_reaches_the_file_that_reuses_its_number() {
    let _serial = serial();
    each_backend_with(
        |b| {
            b.mask_opcode(io_uring::opcode::Close::CODE);
        },
        |driver| {
            for how in [LetGo::HandBack, LetGo::Close, LetGo::CloseOp] {
                let (mine, _my_peer) = UnixStream::pair().unwrap();
                let (victim, mut victim_peer) = UnixStream::pair().unwrap();
                let number = mine.as_raw_fd();
                {
                    let mut send = pin!(driver.op(Send::new(number, b"SECRET".to_vec())));
                    let _ = std::future::Future::poll(
                        send.as_mut(),
                        &mut Context::from_waker(Waker::noop()),
                    );
                }
                match how {
                    LetGo::HandBack => {
                        let handed = driver.release_fd(OwnedFd::from(mine));
                        assert_eq!(handed.as_raw_fd(), number, "nothing kept the number");
                        drop(handed);
                    }
                    LetGo::Close => driver.close(OwnedFd::from(mine)),
                    LetGo::CloseOp => {
                        support::block_on(driver, driver.op(Close::new(mine.into()))).unwrap();
                    }
                }
                let _reused = reuse(number, &victim);
                for _ in 0..3 {
                    driver.poll(Some(Duration::ZERO)).unwrap();
                }
                assert_eq!(
                    pending_bytes(&mut victim_peer),
                    b"",
                    "{how:?}: the dropped send reached the file that reused its fd number"
                );
            }
        },
    );
}

/// A `Close` op dropped before it was pushed, and a `release_fd`, both
/// inside a batch (which holds the driver): neither panics, and the fd
/// is released and closed when the batch ends. `release_fd` hands back a
/// duplicate meanwhile.
#[test]
fn closes_and_releases_inside_a_batch_wait_for_it() {
    let _serial = serial();
    each_backend_with(
        |_| {},
        |driver| {
            let (a, _a_peer) = UnixStream::pair().unwrap();
            let (b, _b_peer) = UnixStream::pair().unwrap();
            let (a_number, b_number) = (a.as_raw_fd(), b.as_raw_fd());
            let a_target = fd_target(a_number);
            let b_target = fd_target(b_number);
            let close = driver.op(Close::new(a.into()));
            let handed;
            {
                let _batch = driver.batch();
                drop(close);
                handed = driver.release_fd(b.into());
                assert_eq!(fd_target(a_number), a_target, "closed inside the batch");
                assert_eq!(fd_target(b_number), b_target, "closed inside the batch");
            }
            assert_ne!(
                fd_target(a_number),
                a_target,
                "the dropped Close never closed"
            );
            assert_ne!(handed.as_raw_fd(), b_number, "a duplicate");
            assert_eq!(
                fd_target(handed.as_raw_fd()),
                b_target,
                "of the same socket"
            );
            assert_ne!(fd_target(b_number), b_target, "the original was not closed");
        },
    );
}

/// `Driver::close` inside a batch used to close the fd without taking it
/// out of the poller; the next file with that number was then never
/// registered, and its first `EAGAIN` waited forever. The close now
/// waits for the batch to end. (io_uring has no registration to lose:
/// there the test shows the deferred close does no harm.)
#[test]
fn a_close_inside_a_batch_waits_for_the_batch() {
    let _serial = serial();
    each_backend_with(
        |_| {},
        |driver| {
            let (mine, mut my_peer) = UnixStream::pair().unwrap();
            let number = mine.as_raw_fd();
            // A read registers the fd with the poller (and finishes).
            my_peer.write_all(b"x").unwrap();
            let (res, _) =
                support::block_on(driver, driver.op(Recv::new(number, Vec::with_capacity(8))));
            assert_eq!(res.unwrap(), 1);
            {
                let _batch = driver.batch();
                driver.close(OwnedFd::from(mine));
            }
            let (victim, mut victim_peer) = UnixStream::pair().unwrap();
            let _reused = reuse(number, &victim);
            // Nothing to read yet: the recv waits for an edge.
            let mut recv = driver
                .submit(Recv::new(number, Vec::with_capacity(8)))
                .unwrap();
            driver.poll(Some(Duration::ZERO)).unwrap();
            assert!(recv.try_complete().is_none());
            victim_peer.write_all(b"hello").unwrap();
            let mut done = None;
            for _ in 0..50 {
                driver.poll(Some(Duration::from_millis(20))).unwrap();
                done = recv.try_complete();
                if done.is_some() {
                    break;
                }
            }
            let (res, buf) = done.expect("the recv on the reused number never woke");
            assert_eq!(res.unwrap(), 5);
            assert_eq!(buf, b"hello");
        },
    );
}

/// An op waiting on an fd when the fd is closed must not run its syscall
/// again: on readiness it used to be woken to retry, and its recv then
/// read from whatever file took the number. It fails with `EBADF` now; on
/// io_uring the kernel holds the old file, and a cancel ends the recv.
#[test]
fn ops_waiting_on_a_closed_fd_fail_rather_than_retry() {
    let _serial = serial();
    each_backend_with(
        |_| {},
        |driver| {
            let (mine, _my_peer) = UnixStream::pair().unwrap();
            let number = mine.as_raw_fd();
            let key = driver
                .push(Recv::new(number, Vec::with_capacity(64)))
                .unwrap();
            driver.poll(Some(Duration::ZERO)).unwrap();
            driver.close(OwnedFd::from(mine));
            let (victim, mut victim_peer) = UnixStream::pair().unwrap();
            let _reused = reuse(number, &victim);
            victim_peer.write_all(b"victim's").unwrap();
            let mut result = None;
            for round in 0..50 {
                driver.poll(Some(Duration::from_millis(10))).unwrap();
                driver.completions(|done| {
                    assert_eq!(done.key(), key);
                    let Ok((res, buf)) = done.output::<Recv<Vec<u8>>>() else {
                        unreachable!("the only op pushed")
                    };
                    result = Some((res, buf));
                });
                if result.is_some() {
                    break;
                }
                if round == 5 {
                    // io_uring: the recv still waits on the old file.
                    driver.cancel(key).unwrap();
                }
            }
            let (res, buf) = result.expect("the recv never finished");
            assert!(
                res.is_err(),
                "the recv read {:?} from the file that reused its fd number",
                buf
            );
            let mut left = [0u8; 16];
            victim_peer.set_nonblocking(true).unwrap();
            let mut victim = victim;
            victim.set_nonblocking(true).unwrap();
            let n = victim.read(&mut left).unwrap();
            assert_eq!(&left[..n], b"victim's", "the victim's bytes are all there");
        },
    );
}

/// A blocking-pool job names its fd by number: a close while the job
/// waits in the pool's queue must wait for it, or the job runs on
/// whatever file takes the number next. The pool has one thread, held
/// busy, so the read stays queued while the driver closes its fd. Only
/// the readiness backend sends a file's read to the pool; io_uring sends
/// no op that names an fd there (its fallbacks run on the driver thread).
#[test]
fn a_close_waits_for_pool_jobs_on_the_fd() {
    let _serial = serial();
    let pool = Pool::new(PoolConfig {
        max_threads: 1,
        ..PoolConfig::default()
    });
    each_backend_with(
        |b| {
            b.pool(pool.clone());
        },
        |driver: &Driver| {
            if driver.backend() == Backend::Uring {
                eprintln!("skipped on io_uring: it sends no op that names an fd to the pool");
                return;
            }
            // Closed by the driver's `close`, then by a `Close` op.
            for by_op in [false, true] {
                close_behind_a_pool_job(driver, &pool, by_op);
            }
        },
    );
}

fn close_behind_a_pool_job(driver: &Driver, pool: &Pool, by_op: bool) {
    let dir = std::env::temp_dir().join(format!("rentio-fd-release-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}-{by_op}.txt", driver.backend()));
    std::fs::write(&path, b"file bytes").unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let number = file.as_raw_fd();
    let (hold, release) = std::sync::mpsc::channel::<()>();
    pool.execute(move || {
        let _ = release.recv();
    })
    .unwrap();
    let key = driver
        .push(Read::at(number, Vec::with_capacity(64), 0))
        .unwrap();
    let mut closes = 0;
    if by_op {
        driver.push(Close::new(OwnedFd::from(file))).unwrap();
        closes = 1;
    } else {
        driver.close(OwnedFd::from(file));
    }
    assert_eq!(
        fd_target(number).as_deref(),
        Some(path.as_path()),
        "the fd was closed while a pool job still named it (close op: {by_op})"
    );
    drop(hold);
    let mut result = None;
    for _ in 0..500 {
        driver.poll(Some(Duration::from_millis(10))).unwrap();
        driver.completions(|done| {
            if done.key() == key {
                let Ok(out) = done.output::<Read<Vec<u8>>>() else {
                    unreachable!("the read's key")
                };
                result = Some(out);
            } else {
                done.output::<Close>()
                    .map_err(|_| "not a close")
                    .unwrap()
                    .unwrap();
                closes -= 1;
            }
        });
        if result.is_some() && closes == 0 {
            break;
        }
    }
    let (res, buf) = result.expect("the pool read never finished");
    assert_eq!(res.unwrap(), 10);
    assert_eq!(buf, b"file bytes");
    assert_eq!(closes, 0, "the close op finished");
    driver.poll(Some(Duration::ZERO)).unwrap();
    assert_ne!(
        fd_target(number).as_deref(),
        Some(path.as_path()),
        "the deferred close never happened (close op: {by_op})"
    );
    std::fs::remove_file(&path).unwrap();
}
