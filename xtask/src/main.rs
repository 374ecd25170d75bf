//! Project automation.
//!
//! - `cargo xtask ci`: exactly what CI runs: fmt check, clippy with
//!   `-D warnings` on every target, the tests (each IO test runs on both
//!   backends through the test support helpers), the loom model checks,
//!   docs with `-D warnings`, and the examples built.
//! - `cargo xtask bench`: the criterion micro-benchmarks, in release.

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("bench") => bench(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <ci | bench [criterion args]>");
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

fn bench(extra: &[String]) -> Result<(), String> {
    let mut cmd = cargo(&["bench", "-p", "rentio-benches"]);
    if !extra.is_empty() {
        cmd.arg("--").args(extra);
    }
    run("bench", cmd)
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
