//! `cargo xtask bench cores`: rentio across cores. Builds `corebench` (in
//! rentio-netbench) in release, runs it, and writes its tables into the
//! `cores` block of BENCHMARKS.md.

use std::process::{Command, Stdio};

pub(crate) const USAGE: &str = "\
usage: cargo xtask bench cores [options]

Three benchmarks of rentio:
  mpsc   rentio::sync::mpsc against tokio::sync::mpsc between the same
         two pinned threads: throughput (1,000,000 u64s, capacity 1,024)
         and one-way latency to a parked receiver
  skew   a server on 2 cores with a fixed CPU cost per request, 4 heavy
         and 60 light connections: SO_REUSEPORT against the dispatcher
         (Balance::LeastLoaded): per-core busy time max/min and the light
         connections' p99 latency
  idle   server RSS per idle connection (10,000 of them) for tokio,
         rentio with rented buffers, rentio with a buffer ring, monoio
Rounds are interleaved; the tables go into BENCHMARKS.md's cores block.

options:
  --quick        1 round of 2 s
  --rounds N     rounds (5)
  --secs S       measured seconds per skew run (4)
  --out F        the tables (BENCHMARKS.md)
  -h, --help     this text
";

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut out = "BENCHMARKS.md".to_string();
    let mut pass = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--out" => out = it.next().ok_or("--out needs a file")?.clone(),
            "--quick" => pass.push(arg.clone()),
            "--rounds" | "--secs" => {
                pass.push(arg.clone());
                pass.push(it.next().ok_or(format!("{arg} needs a value"))?.clone());
            }
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    // Every binary: the idle set runs the echo servers.
    super::run(
        "corebench build",
        super::cargo(&["build", "--release", "-p", "rentio-netbench", "--bins"]),
    )?;
    let bin = super::target_dir()?.join("release").join("corebench");
    let output = Command::new(&bin)
        .args(&pass)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    if !output.status.success() {
        return Err(format!("corebench failed: {}", output.status));
    }
    let tables = String::from_utf8_lossy(&output.stdout);
    let block = format!(
        "<!-- xtask bench cores -->\n\n## Across cores\n\n`cargo xtask bench cores{}{}`\n\n{}\n<!-- end xtask bench cores -->\n",
        if pass.is_empty() { "" } else { " " },
        pass.join(" "),
        tables.trim_end()
    );
    println!("{block}");
    let old = std::fs::read_to_string(&out).unwrap_or_default();
    let text = super::netbench::merge_block(&old, "cores", &block);
    std::fs::write(&out, text).map_err(|e| format!("writing {out}: {e}"))?;
    eprintln!("xtask: wrote {out}");
    Ok(())
}
