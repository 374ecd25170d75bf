//! Project automation.
//!
//! - `cargo xtask ci`: exactly what CI runs: fmt check, clippy with
//!   `-D warnings` on every target, the tests (each IO test runs on both
//!   backends through the test support helpers), the loom model checks,
//!   docs with `-D warnings`, the examples built, and `asan` (below).
//! - `cargo xtask bench echo|http|all|hyper [--quick] [--rounds N] [--servers a,b]
//!   [--max-steal PCT] [--retries N] [--out F] [--chart F] [--redraw]`:
//!   the comparison benchmark against tokio, monoio and compio (see
//!   `netbench.rs`); writes the set's block of `BENCHMARKS.md` and its
//!   chart (`--redraw` only redraws the charts from the tables).
//! - `cargo xtask micro [criterion args]`: the criterion micro-benchmarks,
//!   in release; `cargo xtask bench-summary` prints their medians.
//! - `cargo xtask asan [cargo test args]`: the driver's, the executor's and
//!   the net crate's unit and integration tests under AddressSanitizer
//!   (`cargo +nightly test --target x86_64-unknown-linux-gnu` with
//!   `-Zsanitizer=address`, no doctests), in `<target>/asan` so the main
//!   build cache survives. It needs the nightly toolchain, nothing more
//!   (no `rust-src`: std itself is not instrumented).
//!
//! Every command prints its usage with `--help`. Paths under the target
//! directory come from `cargo metadata`, so `CARGO_TARGET_DIR` is honoured.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

mod corebench;
mod fsbench;
mod netbench;

/// The commands, for `cargo xtask --help` and a bad command line.
const USAGE: &str = "\
usage: cargo xtask <command> [args]

commands:
  ci                 exactly what CI runs: fmt, clippy, tests, loom, docs, examples
  bench <set> [opts] the comparison benchmark (cargo xtask bench --help)
  micro [args]       the criterion micro-benchmarks; args go to criterion
  bench-summary      the medians of the last micro run
  asan [args]        the driver, executor and net tests under AddressSanitizer
                     (nightly); args go to cargo test

cargo xtask <command> --help prints the command's usage.
";

const CI_USAGE: &str = "\
usage: cargo xtask ci

Runs exactly what CI runs: cargo fmt --check, clippy -D warnings on every
target, the workspace tests, the loom model checks (in <target>/loom), docs
with -D warnings, and the examples built.
";

const MICRO_USAGE: &str = "\
usage: cargo xtask micro [criterion args]

Runs the criterion micro-benchmarks (benches/, in release); any argument is
passed to criterion (cargo xtask micro -- --help for criterion's own usage).
Then cargo xtask bench-summary prints their medians.
";

const SUMMARY_USAGE: &str = "\
usage: cargo xtask bench-summary

Prints, for every criterion benchmark of the last cargo xtask micro run, the
median time per iteration with the fastest and slowest sample, and its ratio
to the fastest of its group (read from <target>/criterion).
";

const ASAN_USAGE: &str = "\
usage: cargo xtask asan [cargo test args]

Runs the unit and integration tests of rentio-driver, rentio-executor and
rentio-net under AddressSanitizer: cargo +nightly test --target
x86_64-unknown-linux-gnu --lib --tests --no-fail-fast with
RUSTFLAGS=-Zsanitizer=address, in <target>/asan so the main build cache
survives. Needs the nightly toolchain (no extra component). Extra arguments go to cargo test (a test
name filter, or -- --test-threads=1).
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or_default();
    let (usage, result) = match args.first().map(String::as_str) {
        Some("-h" | "--help" | "help") => return usage(USAGE),
        Some("ci") => (CI_USAGE, not_help(rest).then(ci)),
        Some("bench") if rest.first().map(String::as_str) == Some("cores") => (
            corebench::USAGE,
            not_help(&rest[1..]).then(|| corebench::run(&rest[1..])),
        ),
        Some("bench") if rest.first().map(String::as_str) == Some("fs") => (
            fsbench::USAGE,
            not_help(&rest[1..]).then(|| fsbench::run(&rest[1..])),
        ),
        Some("bench") => (netbench::USAGE, not_help(rest).then(|| netbench::run(rest))),
        // Criterion's own arguments follow, so only a first `--help` is
        // ours.
        Some("micro") => (
            MICRO_USAGE,
            (!matches!(rest.first().map(String::as_str), Some("-h" | "--help")))
                .then(|| micro(rest)),
        ),
        Some("bench-summary") => (SUMMARY_USAGE, not_help(rest).then(summary)),
        Some("asan") => (ASAN_USAGE, not_help(rest).then(|| asan(rest))),
        Some(other) => {
            eprintln!("xtask: unknown command {other:?}\n\n{USAGE}");
            return ExitCode::from(2);
        }
        None => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        None => self::usage(usage),
        Some(Ok(())) => ExitCode::SUCCESS,
        Some(Err(step)) => {
            eprintln!("xtask: step failed: {step}");
            ExitCode::FAILURE
        }
    }
}

/// Whether the command should run: not when its arguments (before a `--`,
/// after which they belong to another program) ask for the usage.
fn not_help(args: &[String]) -> bool {
    !args
        .iter()
        .take_while(|a| *a != "--")
        .any(|a| a == "-h" || a == "--help")
}

/// Prints `text` on stdout: asked-for help is not an error.
fn usage(text: &str) -> ExitCode {
    print!("{text}");
    ExitCode::SUCCESS
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
        .env("CARGO_TARGET_DIR", target_dir()?.join("loom"));
    run("loom", loom)?;
    let mut doc = cargo(&["doc", "--workspace", "--no-deps", "--all-features"]);
    doc.env("RUSTDOCFLAGS", "-D warnings");
    run("doc", doc)?;
    run("examples", cargo(&["build", "--workspace", "--examples"]))?;
    asan(&[])?;
    Ok(())
}

fn micro(extra: &[String]) -> Result<(), String> {
    let mut cmd = cargo(&["bench", "-p", "rentio-benches"]);
    // `cargo xtask micro -- --help` means criterion's `--help`.
    let extra = extra.strip_prefix(&["--".to_string()]).unwrap_or(extra);
    if !extra.is_empty() {
        cmd.arg("--").args(extra);
    }
    run("bench", cmd)
}

/// Prints, for every criterion benchmark of the last run, the median time
/// per iteration with the fastest and slowest sample, and each one's ratio
/// to the fastest of its group (read from `<target>/criterion`).
fn summary() -> Result<(), String> {
    let root = target_dir()?.join("criterion");
    let mut groups: Vec<_> = std::fs::read_dir(&root)
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

/// The tests of the crates with unsafe code that meets the kernel (the
/// buffers, the driver, the executor, the net crate) under
/// AddressSanitizer, then
/// those of rentio-compat that run its unsafe code (poll-io's reads into
/// uninitialized buffers, the copy path's reused op boxes) under hyper
/// and tokio's helpers.
///
/// `--target` keeps the flag off build scripts and proc macros (which
/// the host's uninstrumented std loads); `--lib --tests` skips doctests,
/// which would need the flag in `RUSTDOCFLAGS` too. Loom models are
/// `cfg(loom)` and so are left out.
fn asan(extra: &[String]) -> Result<(), String> {
    let started = std::time::Instant::now();
    let mut core = asan_command(&[
        "-p",
        "rentio-buf",
        "-p",
        "rentio-driver",
        "-p",
        "rentio-executor",
        "-p",
        "rentio-net",
        "--lib",
        "--tests",
    ])?;
    core.args(extra);
    let core = run("asan", core);
    let mut compat = asan_command(&[
        "-p",
        "rentio-compat",
        "--all-features",
        "--lib",
        "--test",
        "poll_io",
        "--test",
        "copy_wrapper",
        "--test",
        "write_side",
        "--test",
        "hyper_http",
    ])?;
    compat.args(extra);
    let compat = run("asan (rentio-compat)", compat);
    eprintln!("xtask: asan took {:.0} s", started.elapsed().as_secs_f64());
    core.and(compat)
}

/// `cargo +nightly test` with AddressSanitizer on `args`.
fn asan_command(args: &[&str]) -> Result<Command, String> {
    // `+nightly` is understood by rustup's `cargo` proxy, not by the
    // toolchain's `cargo` that `$CARGO` names.
    let mut cmd = Command::new("cargo");
    cmd.args(["+nightly", "test", "--target", "x86_64-unknown-linux-gnu"])
        .args(args)
        // A sanitizer sweep reports every binary, not the first failure.
        .arg("--no-fail-fast")
        .env("RUSTFLAGS", "-Zsanitizer=address")
        .env("RUSTDOCFLAGS", "-Zsanitizer=address")
        .env("CARGO_TARGET_DIR", target_dir()?.join("asan"))
        // The stable toolchain's tools, if `cargo xtask` set them, must not
        // leak into the nightly build.
        .env_remove("RUSTC")
        .env_remove("RUSTDOC")
        .env_remove("RUSTUP_TOOLCHAIN");
    Ok(cmd)
}

/// The workspace's target directory, as cargo resolves it (so
/// `CARGO_TARGET_DIR` and `build.target-dir` are honoured).
pub(crate) fn target_dir() -> Result<PathBuf, String> {
    let out = cargo(&["metadata", "--format-version", "1", "--no-deps"])
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cargo metadata (could not start: {e})"))?;
    if !out.status.success() {
        return Err(format!("cargo metadata ({})", out.status));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    json_string(&text, "target_directory")
        .map(PathBuf::from)
        .ok_or_else(|| "cargo metadata: no target_directory".into())
}

/// The string value of the first `"key":` in `text`, unescaped (enough
/// JSON for `cargo metadata`'s paths).
fn json_string(text: &str, key: &str) -> Option<String> {
    let start = text.find(&format!("\"{key}\""))? + key.len() + 2;
    let rest = text[start..].trim_start().strip_prefix(':')?;
    let mut chars = rest.trim_start().strip_prefix('"')?.chars();
    let mut value = String::new();
    loop {
        match chars.next()? {
            '"' => return Some(value),
            '\\' => match chars.next()? {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                'r' => value.push('\r'),
                'b' => value.push('\u{8}'),
                'f' => value.push('\u{c}'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    value.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => value.push(other),
            },
            c => value.push(c),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_string_unescapes() {
        let text = r#"{"packages":[],"target_directory" : "/a b/\\\"t\"\u00e9","x":"y"}"#;
        assert_eq!(
            json_string(text, "target_directory").as_deref(),
            Some("/a b/\\\"t\"é")
        );
        assert_eq!(json_string(text, "x").as_deref(), Some("y"));
        assert_eq!(json_string(text, "missing"), None);
        assert_eq!(json_string(r#"{"k":"unterminated"#, "k"), None);
    }

    #[test]
    fn the_target_dir_is_cargo_s() {
        let dir = target_dir().unwrap();
        assert!(dir.is_absolute(), "{}", dir.display());
        if let Ok(env) = std::env::var("CARGO_TARGET_DIR") {
            assert!(
                dir.ends_with(env.trim_start_matches("./")),
                "{}",
                dir.display()
            );
        }
    }

    #[test]
    fn help_is_asked_for_anywhere_in_the_arguments() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(!not_help(&args(&["echo", "--help"])));
        assert!(!not_help(&args(&["-h"])));
        assert!(not_help(&args(&["echo", "--quick"])));
        assert!(not_help(&args(&["filter", "--", "--help"])));
    }
}
