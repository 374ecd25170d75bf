//! Project automation.
//!
//! - `cargo xtask ci`: exactly what CI runs: fmt check, clippy with
//!   `-D warnings` on every target, the tests (each IO test runs on both
//!   backends through the test support helpers), the loom model checks,
//!   docs with `-D warnings`, and the examples built.
//! - `cargo xtask bench echo|http|all [--quick] [--rounds N] [--servers a,b]
//!   [--max-steal PCT] [--retries N] [--out F] [--chart F]`:
//!   the comparison benchmark against tokio, monoio and compio (see
//!   `netbench.rs`); writes `BENCHMARKS.md` and `benchmarks.svg`.
//! - `cargo xtask micro [criterion args]`: the criterion micro-benchmarks,
//!   in release; `cargo xtask bench-summary` prints their medians.

use std::process::{Command, ExitCode};

mod netbench;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("bench") => netbench::run(&args[1..]),
        Some("micro") => micro(&args[1..]),
        Some("bench-summary") => summary(),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci | bench <echo|http|all> [--quick] [--rounds N] \
                 [--servers a,b] [--max-steal PCT] [--retries N] [--out F] [--chart F] | micro [criterion args] | bench-summary>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(step) => {
            eprintln!("xtask: step failed: {step}");
            ExitCode::FAILURE
        }
    }
}

fn ci() -> Result<(), String> {
    run("fmt", cargo(&["fmt", "--all", "--", "--check"]))?;
    run(
        "clippy",
        cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    run(
        "test",
        cargo(&[
            "test",
            "--workspace",
            "--all-features",
            "--exclude",
            "rentio-benches",
            "--exclude",
            "rentio-netbench",
        ]),
    )?;
    // Model checks where threads meet (the unparker, the inbox, the task
    // state machine), in their own target dir so the main cache survives.
    let mut loom = cargo(&[
        "test",
        "--release",
        "-p",
        "rentio-driver",
        "-p",
        "rentio-executor",
        "--lib",
        "loom",
    ]);
    loom.env("RUSTFLAGS", "--cfg loom")
        .env("CARGO_TARGET_DIR", "target/loom");
    run("loom", loom)?;
    let mut doc = cargo(&["doc", "--workspace", "--no-deps", "--all-features"]);
    doc.env("RUSTDOCFLAGS", "-D warnings");
    run("doc", doc)?;
    run("examples", cargo(&["build", "--workspace", "--examples"]))?;
    Ok(())
}

fn micro(extra: &[String]) -> Result<(), String> {
    let mut cmd = cargo(&["bench", "-p", "rentio-benches"]);
    if !extra.is_empty() {
        cmd.arg("--").args(extra);
    }
    run("bench", cmd)
}

/// Prints, for every criterion benchmark of the last run, the median time
/// per iteration with the fastest and slowest sample, and each one's ratio
/// to the fastest of its group (read from `target/criterion`).
fn summary() -> Result<(), String> {
    let root = std::path::Path::new("target/criterion");
    let mut groups: Vec<_> = std::fs::read_dir(root)
        .map_err(|e| {
            format!(
                "bench-summary: no {}: {e} (run cargo xtask micro first)",
                root.display()
            )
        })?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "report"))
        .collect();
    groups.sort();
    for group in groups {
        let mut rows = Vec::new();
        let mut benches: Vec<_> = std::fs::read_dir(&group)
            .map_err(|e| e.to_string())?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.join("new/sample.json").exists())
            .collect();
        benches.sort();
        for bench in benches {
            let text = std::fs::read_to_string(bench.join("new/sample.json"))
                .map_err(|e| e.to_string())?;
            let iters = json_array(&text, "iters");
            let times = json_array(&text, "times");
            let mut per: Vec<f64> = iters.iter().zip(&times).map(|(i, t)| t / i).collect();
            if per.is_empty() {
                continue;
            }
            per.sort_by(f64::total_cmp);
            let median = per[per.len() / 2];
            let name = bench
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            rows.push((name, median, per[0], per[per.len() - 1]));
        }
        let best = rows.iter().map(|r| r.1).fold(f64::INFINITY, f64::min);
        println!(
            "{}",
            group
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        for (name, median, min, max) in rows {
            println!(
                "  {name:<24} median {:>10}  (min {:>10}, max {:>10})  x{:.2} of the fastest",
                fmt_ns(median),
                fmt_ns(min),
                fmt_ns(max),
                median / best
            );
        }
    }
    Ok(())
}

/// The numbers of a flat JSON array field (criterion's sample.json).
fn json_array(text: &str, key: &str) -> Vec<f64> {
    let Some(start) = text.find(&format!("\"{key}\":[")) else {
        return Vec::new();
    };
    let rest = &text[start + key.len() + 4..];
    let end = rest.find(']').unwrap_or(rest.len());
    rest[..end]
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect()
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} us", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

fn cargo(args: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(args);
    cmd
}

fn run(step: &str, mut cmd: Command) -> Result<(), String> {
    eprintln!("xtask: == {step}: {cmd:?}");
    match cmd.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("{step} ({status})")),
        Err(e) => Err(format!("{step} (could not start: {e})")),
    }
}
