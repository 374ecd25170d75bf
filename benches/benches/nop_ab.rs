//! `nop_ab`: the `nop` bench's ratio, measured side by side. Criterion runs
//! one function after another, so on a shared machine the bare loop and
//! rentio can land in different noise; here every round runs each variant
//! once, in turn, and the ratio is taken per round, then the median. Each
//! run's user and system CPU time (`getrusage`) are reported too.
//!
//! Run: `cargo bench -p rentio-benches --bench nop_ab [-- --rounds N]`
//! (default 21 rounds of a million NOPs per variant and batch size);
//! `--variant bare|rentio|push|handle [--batch N]` runs one variant alone (for
//! `perf` or `valgrind --tool=callgrind`).

use std::time::{Duration, Instant};

use rentio_benches::median;
use rentio_benches::nop::{
    TOTAL, bare_loop, bare_ring, rentio_handle_loop, rentio_loop, rentio_push_loop,
};
use rentio_driver::{BackendChoice, Driver};

/// The value after `name` on the command line.
fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == name)?;
    args.get(at + 1).cloned()
}

/// A number after `name` on the command line.
fn flag(name: &str) -> Option<usize> {
    arg(name)?.parse().ok()
}

/// This thread's user and system CPU time so far.
fn cpu() -> (Duration, Duration) {
    // SAFETY: `getrusage` only fills the zeroed struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_THREAD, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    (tv(usage.ru_utime), tv(usage.ru_stime))
}

/// Wall, user and system time of each run, in ns per NOP.
#[derive(Default)]
struct Samples {
    wall: Vec<f64>,
    user: Vec<f64>,
    sys: Vec<f64>,
}

impl Samples {
    /// Runs `f` once; returns its wall time in seconds.
    fn run(&mut self, f: impl FnOnce()) -> f64 {
        let (user, sys) = cpu();
        let start = Instant::now();
        f();
        let wall = start.elapsed();
        let (user2, sys2) = cpu();
        let per_op = |d: Duration| d.as_secs_f64() * 1e9 / TOTAL as f64;
        self.wall.push(per_op(wall));
        self.user.push(per_op(user2.saturating_sub(user)));
        self.sys.push(per_op(sys2.saturating_sub(sys)));
        wall.as_secs_f64()
    }

    fn summary(&mut self) -> String {
        format!(
            "{:6.1} ns/op (user {:5.1}, sys {:5.1})",
            median(&mut self.wall),
            median(&mut self.user),
            median(&mut self.sys)
        )
    }
}

fn main() {
    // Only our own flags: `cargo bench` (and `cargo xtask micro`) pass
    // criterion's, which are ignored.
    let rounds = flag("--rounds").unwrap_or(21).max(1);
    let batches: Vec<usize> = match flag("--batch") {
        Some(batch) => vec![batch.clamp(1, 32)],
        None => vec![32, 1],
    };
    let driver = Driver::builder()
        .backend(BackendChoice::Uring)
        .build()
        .expect("rentio io_uring driver");
    let mut ring = bare_ring();
    // `--variant bare|rentio|push|handle` runs one variant alone.
    if let Some(variant) = arg("--variant") {
        for &batch in &batches {
            for _ in 0..rounds {
                match variant.as_str() {
                    "bare" => bare_loop(&mut ring, batch),
                    "rentio" => rentio_loop(&driver, batch),
                    "push" => rentio_push_loop(&driver, batch),
                    _ => rentio_handle_loop(&driver, batch),
                }
            }
        }
        return;
    }
    println!("nop_ab: {rounds} rounds of {TOTAL} NOPs per variant, interleaved");
    for batch in [32, 1] {
        // Warm up each variant once.
        bare_loop(&mut ring, batch);
        rentio_loop(&driver, batch);
        rentio_push_loop(&driver, batch);
        rentio_handle_loop(&driver, batch);
        let mut bare = Samples::default();
        let mut owned = Samples::default();
        let mut pushed = Samples::default();
        let mut handle = Samples::default();
        let (mut owned_ratio, mut push_ratio, mut handle_ratio) =
            (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let b = bare.run(|| bare_loop(&mut ring, batch));
            let o = owned.run(|| rentio_loop(&driver, batch));
            let p = pushed.run(|| rentio_push_loop(&driver, batch));
            let h = handle.run(|| rentio_handle_loop(&driver, batch));
            owned_ratio.push(b / o);
            push_ratio.push(b / p);
            handle_ratio.push(b / h);
        }
        println!("batch {batch}, medians:");
        println!("  bare           {}", bare.summary());
        println!(
            "  rentio         {}; bare/rentio        {:.3}",
            owned.summary(),
            median(&mut owned_ratio)
        );
        println!(
            "  rentio_push    {}; bare/rentio_push   {:.3}",
            pushed.summary(),
            median(&mut push_ratio)
        );
        println!(
            "  rentio_handle  {}; bare/rentio_handle {:.3}",
            handle.summary(),
            median(&mut handle_ratio)
        );
    }
}
