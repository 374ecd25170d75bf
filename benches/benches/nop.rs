//! `nop`: the driver's own overhead per op. One million `IORING_OP_NOP`s
//! through `rentio-driver` against a bare `io-uring` crate loop with the
//! same ring flags and batch size. The ratio bare/rentio is the figure of
//! merit (target >= 0.8). Two rentio faces run: `rentio` pushes ops the
//! driver owns, a batch under one borrow as the bare loop does, and takes
//! them back by key (`Driver::batch`, `Driver::completions`);
//! `rentio_handle` keeps each op in an `Op` handle (`Driver::submit`,
//! `Op::try_complete`).
//!
//! Run: `cargo bench -p rentio-benches --bench nop` (or `cargo xtask micro`).
//! On a shared machine, `--bench nop_ab` measures the same ratio with the
//! variants interleaved, which is the figure to quote.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rentio_driver::{BackendChoice, Driver};

use rentio_benches::nop::{TOTAL, bare_loop, bare_ring, rentio_handle_loop, rentio_loop};

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
