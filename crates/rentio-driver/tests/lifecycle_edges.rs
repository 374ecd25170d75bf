//! Edges of the op lifecycle on both backends: completions that land
//! before the first tick, wakers that call back into the driver, ops of the
//! wrong kind for their face, and fds closed by an op that was never pushed.

#![allow(clippy::unwrap_used)]

mod support;

use std::cell::RefCell;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::{Duration, Instant};

use rentio_driver::op::{Close, Nop, PollMulti, Recv};
use rentio_driver::{Driver, Interest};
use support::{block_on, each_backend, socketpair, tick_until};

#[test]
fn a_completion_before_the_first_tick_keeps_poll_from_parking() {
    each_backend(|driver| {
        let mut nop = driver.submit(Nop).unwrap();
        let start = Instant::now();
        driver.poll(Some(Duration::from_secs(30))).unwrap();
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "poll parked with a result waiting"
        );
        let mut ready = Vec::new();
        driver.take_ready(&mut ready);
        assert_eq!(ready, vec![nop.key().unwrap()]);
        nop.try_complete().unwrap().unwrap();
    });
}

thread_local! {
    static DRIVER: RefCell<Option<Driver>> = const { RefCell::new(None) };
}

struct Reentrant;

impl Wake for Reentrant {
    fn wake(self: Arc<Self>) {
        // A waker that calls back into the driver while it delivers wakes.
        DRIVER.with(|d| {
            if let Some(driver) = d.borrow().as_ref() {
                let _ = driver.stats();
                let mut ready = Vec::new();
                driver.take_ready(&mut ready);
            }
        });
    }
}

#[test]
fn a_waker_may_call_back_into_the_driver() {
    each_backend(|driver| {
        DRIVER.with(|d| *d.borrow_mut() = Some(driver.clone()));
        let (a, b) = socketpair();
        let mut op = driver.op(Recv::new(b.as_raw_fd(), Vec::with_capacity(4)));
        let waker = Waker::from(Arc::new(Reentrant));
        let mut cx = Context::from_waker(&waker);
        assert!(std::pin::Pin::new(&mut op).poll(&mut cx).is_pending());
        support::write_fd(&a, b"x");
        driver.poll(Some(Duration::from_secs(5))).unwrap();
        let (n, _) = block_on(driver, op);
        assert_eq!(n.unwrap(), 1);
        DRIVER.with(|d| *d.borrow_mut() = None);
    });
}

#[test]
fn ops_of_the_wrong_kind_for_their_face_are_invalid_input() {
    each_backend(|driver| {
        let (_a, b) = socketpair();
        let err = block_on(
            driver,
            driver.op(PollMulti::new(b.as_raw_fd(), Interest::Read)),
        )
        .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        let mut multi = driver.multi(Nop);
        let first = block_on(driver, std::future::poll_fn(|cx| multi.poll_next(cx))).unwrap();
        assert_eq!(
            first.result.unwrap_err().kind(),
            std::io::ErrorKind::InvalidInput
        );
        assert!(block_on(driver, std::future::poll_fn(|cx| multi.poll_next(cx))).is_none());
        assert_eq!(driver.ops_in_slab(), 0);
    });
}

#[test]
fn an_unpushed_close_stops_the_watch_before_the_fd_closes() {
    each_backend(|driver| {
        // Make the driver watch b's fd, then close b through a Close op that
        // is dropped before it is ever pushed.
        let (a, b) = socketpair();
        let raw = b.as_raw_fd();
        let recv = driver
            .submit(Recv::new(raw, Vec::with_capacity(4)))
            .unwrap();
        driver.poll(Some(Duration::ZERO)).unwrap();
        drop(recv);
        drop(driver.op(Close::new(b)));
        drop(a);
        // The next socket most likely reuses the number; it must work.
        let (c, d) = socketpair();
        let mut recv = driver
            .submit(Recv::new(d.as_raw_fd(), Vec::with_capacity(4)))
            .unwrap();
        driver.poll(Some(Duration::ZERO)).unwrap();
        support::write_fd(&c, b"y");
        let mut got = None;
        assert!(tick_until(driver, 100, || {
            got = got.take().or_else(|| recv.try_complete());
            got.is_some()
        }));
        let (n, buf) = got.unwrap();
        assert_eq!(n.unwrap(), 1);
        assert_eq!(buf, b"y");
        let _ = raw;
    });
}

thread_local! {
    /// Clones and drops of `counting_waker`s on this thread.
    static CLONES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    static DROPS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A waker that counts its clones and drops (on the test's thread).
fn counting_waker() -> Waker {
    use std::task::{RawWaker, RawWakerVTable};
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, drop);
    fn clone(data: *const ()) -> RawWaker {
        CLONES.with(|c| c.set(c.get() + 1));
        RawWaker::new(data, &VTABLE)
    }
    fn noop(_: *const ()) {}
    fn drop(_: *const ()) {
        DROPS.with(|c| c.set(c.get() + 1));
    }
    // SAFETY: the vtable's functions ignore the data pointer and keep no
    // state but the thread's counters.
    unsafe { Waker::from_raw(clone(std::ptr::null())) }
}

#[test]
fn a_task_s_next_op_takes_the_waker_its_last_op_was_woken_with() {
    each_backend(|driver| {
        let (a, b) = socketpair();
        let waker = counting_waker();
        let mut cx = Context::from_waker(&waker);
        let clones = CLONES.with(std::cell::Cell::get);
        for round in 0..10u8 {
            let mut op = driver.op(Recv::new(b.as_raw_fd(), Vec::with_capacity(4)));
            assert!(std::pin::Pin::new(&mut op).poll(&mut cx).is_pending());
            support::write_fd(&a, &[round]);
            let got = finish(driver, &mut op, &mut cx);
            let (n, buf) = got;
            assert_eq!(n.unwrap(), 1);
            assert_eq!(buf, [round]);
        }
        assert_eq!(
            CLONES.with(std::cell::Cell::get) - clones,
            1,
            "one clone for the first op; the nine after it take the spare"
        );
        // A slot with a spare still reports an owned op through
        // `completions`, never through the spare.
        let key = driver.push(Nop).unwrap();
        let mut done = Vec::new();
        assert!(tick_until(driver, 100, || {
            driver.completions(|f| done.push(f.key()));
            !done.is_empty()
        }));
        assert_eq!(done, vec![key]);
    });
    drop(counting_waker());
    assert_eq!(
        CLONES.with(std::cell::Cell::get),
        DROPS.with(std::cell::Cell::get),
        "every clone was dropped, spares with their drivers"
    );
}

/// Polls `op` with `cx`, ticking the driver, until it is ready.
fn finish<F: Future + Unpin>(driver: &Driver, op: &mut F, cx: &mut Context<'_>) -> F::Output {
    let mut got = None;
    assert!(
        tick_until(driver, 200, || {
            if let std::task::Poll::Ready(out) = std::pin::Pin::new(&mut *op).poll(cx) {
                got = Some(out);
            }
            got.is_some()
        }),
        "the op never completed"
    );
    got.unwrap()
}

/// Reads one message with `recv`, hinted or not, ticking until it lands.
fn recv_one(driver: &Driver, op: Recv<Vec<u8>>) -> Vec<u8> {
    let mut op = driver.op(op);
    let mut cx = Context::from_waker(Waker::noop());
    let (n, buf) = finish(driver, &mut op, &mut cx);
    n.unwrap();
    buf
}

#[test]
fn a_hinted_recv_waits_for_an_edge_and_misses_none() {
    each_backend(|driver| {
        let (a, b) = socketpair();
        let fd = b.as_raw_fd();
        let poll = driver.backend() == rentio_driver::Backend::Poll;
        support::write_fd(&a, b"1");
        let hinted = Recv::new(fd, Vec::with_capacity(8)).poll_first();
        assert_eq!(recv_one(driver, hinted), b"1");

        // Drained (a short stream read); the reply comes later. On the readiness backend the
        // hinted recv waits for the edge instead of failing a recv first.
        let before = driver.stats().would_block;
        let mut op = driver.op(Recv::new(fd, Vec::with_capacity(8)).poll_first());
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(std::pin::Pin::new(&mut op).poll(&mut cx).is_pending());
        driver.poll(Some(Duration::ZERO)).unwrap();
        assert!(std::pin::Pin::new(&mut op).poll(&mut cx).is_pending());
        support::write_fd(&a, b"2");
        let got = finish(driver, &mut op, &mut cx);
        assert_eq!(got.1, b"2");
        if poll {
            assert_eq!(
                driver.stats().would_block,
                before,
                "the hinted recv tried no syscall bound to fail"
            );
        }

        // Data whose edge the driver saw while nobody waited: the hint
        // must not make the recv wait for an edge that already came.
        support::write_fd(&a, b"3");
        driver.poll(Some(Duration::ZERO)).unwrap();
        let hinted = Recv::new(fd, Vec::with_capacity(8)).poll_first();
        assert_eq!(recv_one(driver, hinted), b"3");

        // Data that came before the hinted recv, its edge not yet seen.
        support::write_fd(&a, b"4");
        let hinted = Recv::new(fd, Vec::with_capacity(8)).poll_first();
        assert_eq!(recv_one(driver, hinted), b"4");

        // Without the hint, a drained socket costs a failed syscall first.
        let before = driver.stats().would_block;
        let mut op = driver.op(Recv::new(fd, Vec::with_capacity(8)));
        assert!(std::pin::Pin::new(&mut op).poll(&mut cx).is_pending());
        if poll {
            assert_eq!(driver.stats().would_block, before + 1);
        }
        support::write_fd(&a, b"5");
        let got = finish(driver, &mut op, &mut cx);
        assert_eq!(got.1, b"5");
    });
}

#[test]
fn a_hinted_recv_after_the_peer_s_fin_returns_end_of_file() {
    each_backend(|driver| {
        let (a, b) = socketpair();
        let fd = b.as_raw_fd();
        // The fd is registered (on the readiness backend), and drained, by
        // a first short stream read.
        support::write_fd(&a, b"0");
        let hinted = Recv::new(fd, Vec::with_capacity(8)).poll_first();
        assert_eq!(recv_one(driver, hinted), b"0");
        // Data and the FIN arrive, and the driver sees their one edge,
        // before the next read; no edge comes after it.
        support::write_fd(&a, b"x");
        // SAFETY: plain syscall on an open socket.
        assert_eq!(unsafe { libc::shutdown(a.as_raw_fd(), libc::SHUT_WR) }, 0);
        driver.poll(Some(Duration::ZERO)).unwrap();
        let hinted = Recv::new(fd, Vec::with_capacity(8)).poll_first();
        assert_eq!(
            recv_one(driver, hinted),
            b"x",
            "short: drained, yet a FIN is there"
        );
        let hinted = Recv::new(fd, Vec::with_capacity(8)).poll_first();
        assert_eq!(recv_one(driver, hinted), b"", "end of file, not a hang");
    });
}

#[test]
fn a_read_that_may_leave_data_keeps_the_next_hinted_recv_trying() {
    each_backend(|driver| {
        let (a, b) = socketpair();
        let fd = b.as_raw_fd();
        support::write_fd(&a, b"1");
        let hinted = Recv::new(fd, Vec::with_capacity(8)).poll_first();
        assert_eq!(recv_one(driver, hinted), b"1", "short: drained");
        // More data, its edge seen; then a read that fills its buffer (an
        // unhinted one, or a hinted one) leaves the rest behind.
        support::write_fd(&a, b"abcdefgh");
        driver.poll(Some(Duration::ZERO)).unwrap();
        assert_eq!(
            recv_one(driver, Recv::new(fd, Vec::with_capacity(2))),
            b"ab"
        );
        let hinted = Recv::new(fd, Vec::with_capacity(2)).poll_first();
        assert_eq!(recv_one(driver, hinted), b"cd", "full: not drained");
        let hinted = Recv::new(fd, Vec::with_capacity(64)).poll_first();
        assert_eq!(recv_one(driver, hinted), b"efgh", "no wait with data left");
    });
}

struct CountDrops(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Wake for CountDrops {
    fn wake(self: Arc<Self>) {}
}

impl Drop for CountDrops {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn a_slot_s_spare_is_the_waker_last_woken_there() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    each_backend(|driver| {
        let (a, b) = socketpair();
        let one = |waker: &Waker| {
            let mut cx = Context::from_waker(waker);
            let mut op = driver.op(Recv::new(b.as_raw_fd(), Vec::with_capacity(4)));
            assert!(std::pin::Pin::new(&mut op).poll(&mut cx).is_pending());
            support::write_fd(&a, b"x");
            let (n, _) = finish(driver, &mut op, &mut cx);
            assert_eq!(n.unwrap(), 1);
        };
        let first_dropped = Arc::new(AtomicUsize::new(0));
        one(&Waker::from(Arc::new(CountDrops(first_dropped.clone()))));
        assert_eq!(first_dropped.load(Ordering::SeqCst), 0, "kept as the spare");
        let other = Waker::from(Arc::new(CountDrops(Arc::new(AtomicUsize::new(0)))));
        one(&other);
        assert_eq!(
            first_dropped.load(Ordering::SeqCst),
            1,
            "the next wake in the slot replaced it: the first owner's waker is gone"
        );
    });
}
