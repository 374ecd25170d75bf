//! A task whose IO is always ready cannot starve other tasks, IO or timers:
//! the cooperative budget makes it yield, and each tick polls a bounded
//! number of tasks before the driver and the timers. The test counts
//! iterations, not milliseconds.

#![cfg(not(loom))]
#![allow(clippy::unwrap_used)]

mod support;

use std::cell::Cell;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::Duration;

use rentio_driver::op::{Nop, Recv};
use rentio_executor::{Runtime, spawn, time, yield_now};

/// How many ops the hot task may run; the others must finish long before.
const HOT_OPS: u32 = 200_000;

#[test]
fn a_hot_task_cannot_starve_tasks_io_or_timers() {
    for choice in support::backends() {
        let rt = Runtime::builder().backend(choice).build().unwrap();
        let driver = rt.driver().clone();
        let hot_ops = Rc::new(Cell::new(0u32));
        let seen = rt.block_on(async {
            // The hot task: ops that complete at once (a NOP completes in
            // its first poll on the readiness backend, and within one
            // enter on io_uring). It never waits on anything else.
            let hot = {
                let hot_ops = hot_ops.clone();
                let driver = driver.clone();
                spawn(async move {
                    while hot_ops.get() < HOT_OPS {
                        driver.op(Nop).await.unwrap();
                        hot_ops.set(hot_ops.get() + 1);
                    }
                })
            };
            // Another task, a timer and an IO op, each recording how far
            // the hot task had got when it finished.
            let other = {
                let hot_ops = hot_ops.clone();
                spawn(async move {
                    for _ in 0..10 {
                        yield_now().await;
                    }
                    hot_ops.get()
                })
            };
            let timer = {
                let hot_ops = hot_ops.clone();
                spawn(async move {
                    time::sleep(Duration::from_millis(1)).await;
                    hot_ops.get()
                })
            };
            let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
            let io = {
                let hot_ops = hot_ops.clone();
                let driver = driver.clone();
                spawn(async move {
                    let (n, _) = driver
                        .op(Recv::new(b.as_raw_fd(), Vec::with_capacity(8)))
                        .await;
                    assert_eq!(n.unwrap(), 1);
                    hot_ops.get()
                })
            };
            std::io::Write::write_all(&mut &a, b"x").unwrap();
            let seen = (
                other.await.unwrap(),
                timer.await.unwrap(),
                io.await.unwrap(),
            );
            hot.await.unwrap();
            seen
        });
        let (other, timer, io) = seen;
        assert!(
            other < HOT_OPS,
            "[{choice:?}] the other task starved ({other})"
        );
        assert!(timer < HOT_OPS, "[{choice:?}] the timer starved ({timer})");
        assert!(io < HOT_OPS, "[{choice:?}] the IO op starved ({io})");
    }
}
