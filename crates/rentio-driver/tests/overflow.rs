//! A 2-entry SQ with a 4-entry CQ and 1,000 recvs completing together:
//! none is lost. On io_uring a counter proves the CQ overflow path ran and
//! that a full SQ was submitted early; the readiness backend runs the same
//! load.

#![allow(clippy::unwrap_used)]

mod support;

use std::os::fd::AsRawFd;
use std::time::Duration;

use rentio_driver::op::Recv;
use support::{each_backend_with, is_uring, socketpair};

const OPS: usize = 1000;

#[test]
fn a_thousand_recvs_through_a_tiny_ring_lose_nothing() {
    each_backend_with(
        |b| {
            b.entries(2).cq_entries(4);
        },
        |driver| {
            let pairs: Vec<_> = (0..OPS).map(|_| socketpair()).collect();
            let mut ops: Vec<_> = pairs
                .iter()
                .map(|(_, b)| {
                    driver
                        .submit(Recv::new(b.as_raw_fd(), Vec::with_capacity(8)))
                        .unwrap()
                })
                .collect();
            driver.poll(Some(Duration::ZERO)).unwrap();
            for (i, (a, _)) in pairs.iter().enumerate() {
                let byte = [i as u8];
                // SAFETY: a live 1-byte buffer.
                let n = unsafe { libc::write(a.as_raw_fd(), byte.as_ptr().cast(), 1) };
                assert_eq!(n, 1);
            }
            let mut results = vec![None; OPS];
            let mut done = 0;
            for _ in 0..10_000 {
                driver.poll(Some(Duration::from_millis(10))).unwrap();
                for (i, op) in ops.iter_mut().enumerate() {
                    if results[i].is_none()
                        && let Some((res, buf)) = op.try_complete()
                    {
                        assert_eq!(res.unwrap(), 1, "recv {i}");
                        results[i] = Some(buf[0]);
                        done += 1;
                    }
                }
                if done == OPS {
                    break;
                }
            }
            assert_eq!(done, OPS, "completions lost");
            for (i, got) in results.iter().enumerate() {
                assert_eq!(*got, Some(i as u8), "recv {i} got another socket's byte");
            }
            assert_eq!(driver.ops_in_slab(), 0);
            if is_uring(driver) {
                let stats = driver.stats();
                assert!(
                    stats.cq_overflow_flushes > 0,
                    "the overflow path did not run: {stats:?}"
                );
                assert!(
                    stats.sq_full_submits > 0,
                    "the SQ-full path did not run: {stats:?}"
                );
            }
        },
    );
}
