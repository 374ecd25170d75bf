//! `nop`: the driver's own overhead per op. One million `IORING_OP_NOP`s
//! through `rentio-driver` against a bare `io-uring` crate loop with the
//! same ring flags and batch size. The ratio bare/rentio is the figure of
//! merit (target >= 0.8). Two rentio faces run: `rentio` pushes ops the
//! driver owns and takes them back by key (`Driver::push`,
//! `Driver::completions`); `rentio_handle` keeps each op in an `Op` handle
//! (`Driver::submit`, `Op::try_complete`).
//!
//! Run: `cargo bench -p rentio-benches --bench nop` (or `cargo xtask micro`).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use io_uring::{IoUring, opcode};
use rentio_driver::op::Nop;
use rentio_driver::{BackendChoice, Driver};

const TOTAL: usize = 1_000_000;

fn bare_ring() -> IoUring {
    IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .setup_taskrun_flag()
        .setup_submit_all()
        .build(1024)
        .expect("io_uring setup")
}

fn bare_loop(ring: &mut IoUring, batch: usize) {
    let mut done = 0;
    while done < TOTAL {
        {
            let mut sq = ring.submission();
            for _ in 0..batch {
                let entry = opcode::Nop::new().build().user_data(done as u64);
                // SAFETY: a NOP points at no memory.
                unsafe { sq.push(&entry).expect("SQ has room for a batch") };
            }
        }
        ring.submit_and_wait(batch).expect("enter");
        for cqe in ring.completion() {
            black_box(cqe.result());
            done += 1;
        }
    }
}

fn rentio_loop(driver: &Driver, batch: usize) {
    let mut done = 0;
    while done < TOTAL {
        for _ in 0..batch {
            driver.push(Nop).expect("push");
        }
        let mut left = batch;
        while left > 0 {
            driver.poll(None).expect("poll");
            driver.completions(|finished| {
                black_box(finished.output::<Nop>())
                    .expect("a Nop")
                    .expect("nop");
                left -= 1;
                done += 1;
            });
        }
    }
}

fn rentio_handle_loop(driver: &Driver, batch: usize) {
    let mut ops = Vec::with_capacity(batch);
    let mut done = 0;
    while done < TOTAL {
        for _ in 0..batch {
            ops.push(driver.submit(Nop).expect("push"));
        }
        while !ops.is_empty() {
            driver.poll(None).expect("poll");
            ops.retain_mut(|op| match op.try_complete() {
                Some(result) => {
                    black_box(result).expect("nop");
                    done += 1;
                    false
                }
                None => true,
            });
        }
    }
}

fn nop(c: &mut Criterion) {
    let mut group = c.benchmark_group("nop");
    group.throughput(Throughput::Elements(TOTAL as u64));
    group.sample_size(10);
    let driver = Driver::builder()
        .backend(BackendChoice::Uring)
        .build()
        .expect("rentio io_uring driver");
    let mut ring = bare_ring();
    for batch in [32, 1] {
        group.bench_function(format!("bare_batch{batch}"), |b| {
            b.iter(|| bare_loop(&mut ring, batch))
        });
        group.bench_function(format!("rentio_batch{batch}"), |b| {
            b.iter(|| rentio_loop(&driver, batch))
        });
        group.bench_function(format!("rentio_handle_batch{batch}"), |b| {
            b.iter(|| rentio_handle_loop(&driver, batch))
        });
    }
    group.finish();
}

criterion_group!(benches, nop);
criterion_main!(benches);
