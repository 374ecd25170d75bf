//! `spawn_ab`: the `spawn` bench of `runtime` (spawn 100k empty tasks,
//! then join them all) for rentio, monoio and tokio's `LocalSet`, with the
//! runtimes interleaved in every round (in an order that rotates each
//! round), so that the noise of a shared machine falls on all of them
//! alike. Reports each one's median and the median of the per-round
//! ratios.
//!
//! Run: `cargo bench -p rentio-benches --bench spawn_ab [-- --rounds N]`
//! (default 31 rounds); `-- --variant rentio|monoio|tokio` runs one alone
//! (`--rounds` times, for perf or callgrind).

use std::hint::black_box;
use std::time::Instant;

use rentio_benches::median;

const TASKS: usize = 100_000;

fn timed(f: impl FnOnce()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64() * 1e3
}

fn main() {
    // Only `--rounds N`: criterion's flags (from `cargo xtask micro`) are
    // ignored.
    let args: Vec<String> = std::env::args().collect();
    let rounds = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|at| args.get(at + 1)?.parse::<usize>().ok())
        .unwrap_or(31)
        .max(1);
    let rentio = rentio_executor::Runtime::new().expect("rentio");
    let mut monoio = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
        .build()
        .expect("monoio");
    let tokio = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio");
    let local = tokio::task::LocalSet::new();
    let run_rentio = || {
        rentio.block_on(async {
            let handles: Vec<_> = (0..TASKS)
                .map(|i| rentio_executor::spawn(async move { i }))
                .collect();
            for h in handles {
                black_box(h.await.expect("join"));
            }
        })
    };
    let mut run_monoio = || {
        monoio.block_on(async {
            let handles: Vec<_> = (0..TASKS)
                .map(|i| monoio::spawn(async move { i }))
                .collect();
            for h in handles {
                black_box(h.await);
            }
        })
    };
    let run_tokio = || {
        local.block_on(&tokio, async {
            let handles: Vec<_> = (0..TASKS)
                .map(|i| tokio::task::spawn_local(async move { i }))
                .collect();
            for h in handles {
                black_box(h.await.expect("join"));
            }
        })
    };
    // Warm up.
    if let Some(at) = args.iter().position(|a| a == "--variant") {
        for _ in 0..rounds {
            match args.get(at + 1).map(String::as_str) {
                Some("rentio") => run_rentio(),
                Some("monoio") => run_monoio(),
                Some("tokio") => run_tokio(),
                _ => panic!("--variant rentio|monoio|tokio"),
            }
        }
        return;
    }
    run_rentio();
    run_monoio();
    run_tokio();
    let (mut r, mut m, mut t) = (Vec::new(), Vec::new(), Vec::new());
    let (mut rm, mut rt) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // The order rotates each round: a run leaves the allocator's free
        // lists in a state the next run inherits (tokio's tasks are
        // larger), so a fixed order would favour whoever runs first.
        let (mut a, mut b, mut c) = (0.0, 0.0, 0.0);
        for turn in 0..3 {
            match (round + turn) % 3 {
                0 => a = timed(run_rentio),
                1 => b = timed(&mut run_monoio),
                _ => c = timed(run_tokio),
            }
        }
        r.push(a);
        m.push(b);
        t.push(c);
        rm.push(a / b);
        rt.push(a / c);
    }
    // Median (min–max) of a set of samples.
    let show = |values: &mut Vec<f64>, digits: usize| {
        let mid = median(values);
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        format!("{mid:.digits$} ({lo:.digits$}–{hi:.digits$})")
    };
    println!(
        "spawn_ab: spawn + join {TASKS} tasks, {rounds} interleaved rounds, medians (min–max):"
    );
    println!(
        "  rentio {} ms, monoio {} ms, tokio LocalSet {} ms",
        show(&mut r, 2),
        show(&mut m, 2),
        show(&mut t, 2)
    );
    println!(
        "  rentio/monoio {}, rentio/tokio_local_set {} (per-round ratios; below 1: rentio faster)",
        show(&mut rm, 3),
        show(&mut rt, 3)
    );
}
