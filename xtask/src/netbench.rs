//! `cargo xtask bench echo|http|all`: the comparison benchmark.
//!
//! Builds `rentio-netbench` once in release, then for every point (echo at
//! 1, 16 and 128 connections × 128 B and 4 KiB; HTTP at 100 connections,
//! depth 1 and 16) runs each server pinned to one CPU against the load
//! generator pinned to another, interleaving the servers (A B C … with the
//! order rotated each round). It prints medians with min–max and each
//! server's ratio to tokio, and writes the table to `BENCHMARKS.md` and a
//! bar chart to `benchmarks.svg` (`--out`, `--chart`; see `chart.rs`).
//! `--redraw` only redraws the chart from the table.
//!
//! The servers and the load generator are run from cargo's target
//! directory (asked of `cargo metadata`, so `CARGO_TARGET_DIR` holds).
//!
//! The machine may be a shared virtual one: a run during which the
//! hypervisor stole more than 10% (`--max-steal PCT`) of the server's or the
//! client's CPU, as `/proc/stat` counts it, is repeated up to twice
//! (`--retries N`) after a pause of 5 s, and the least disturbed attempt is
//! kept. Every server gets the same rule; the table reports the steal of
//! the kept runs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod chart;

use chart::Chart;

/// `cargo xtask bench --help`.
pub(crate) const USAGE: &str = "\
usage: cargo xtask bench [echo|http|all] [options]

Runs each server (tokio, rentio-uring, rentio-poll, monoio-uring,
monoio-legacy, compio) pinned to one CPU against the load generator pinned
to another, interleaved and rotated each round, and writes the table and
the chart. The set is all by default.

options:
  --quick            2 rounds, 0.3 s warm-up, 1 s measured (a smoke run)
  --rounds N         rounds per point (5)
  --warmup S         warm-up seconds per run (1)
  --duration S       measured seconds per run (3)
  --servers a,b      only these servers, in this order
  --max-steal PCT    repeat a run during which the hypervisor stole more
                     than PCT% of either CPU (10)
  --retries N        repeat such a run at most N times (2)
  --out F            the table (BENCHMARKS.md)
  --chart F          the chart (benchmarks.svg)
  --redraw           only redraw the chart from the table in --out
  -h, --help         this text
";

/// A server under test: its name, binary and variant argument.
#[derive(Clone, Copy, Debug)]
struct Server {
    name: &'static str,
    bin: &'static str,
    variant: &'static str,
}

const SERVERS: &[Server] = &[
    Server {
        name: "tokio",
        bin: "server-tokio",
        variant: "",
    },
    Server {
        name: "rentio-uring",
        bin: "server-rentio",
        variant: "uring",
    },
    Server {
        name: "rentio-poll",
        bin: "server-rentio",
        variant: "poll",
    },
    Server {
        name: "monoio-uring",
        bin: "server-monoio",
        variant: "uring",
    },
    Server {
        name: "monoio-legacy",
        bin: "server-monoio",
        variant: "legacy",
    },
    Server {
        name: "compio",
        bin: "server-compio",
        variant: "",
    },
];

/// One load point.
#[derive(Clone, Debug)]
struct Point {
    http: bool,
    conns: usize,
    size: usize,
    depth: usize,
}

impl Point {
    fn label(&self) -> String {
        if self.http {
            format!("http c={} depth={}", self.conns, self.depth)
        } else {
            let size = if self.size >= 1024 {
                format!("{} KiB", self.size / 1024)
            } else {
                format!("{} B", self.size)
            };
            format!("echo c={} × {size}", self.conns)
        }
    }
}

fn points(which: &str) -> Result<Vec<Point>, String> {
    let echo = [1, 16, 128].into_iter().flat_map(|conns| {
        [128, 4096].into_iter().map(move |size| Point {
            http: false,
            conns,
            size,
            depth: 1,
        })
    });
    let http = [1, 16].into_iter().map(|depth| Point {
        http: true,
        conns: 100,
        size: 0,
        depth,
    });
    match which {
        "echo" => Ok(echo.collect()),
        "http" => Ok(http.collect()),
        "all" => Ok(echo.chain(http).collect()),
        other => Err(format!("bench: unknown set {other:?} (echo, http or all)")),
    }
}

/// One measurement.
#[derive(Clone, Copy, Debug)]
struct Sample {
    rps: f64,
    cpu_ns: f64,
    p99_us: f64,
    /// The larger share of the server's and the client's CPU time that the
    /// hypervisor stole during the run (0 to 1).
    steal: f64,
}

/// A CPU's steal and total time so far, in ticks, from `/proc/stat`
/// (`None` where the kernel does not report them).
fn cpu_ticks(cpu: usize) -> Option<(u64, u64)> {
    parse_cpu_ticks(&std::fs::read_to_string("/proc/stat").ok()?, cpu)
}

/// [`cpu_ticks`] from the text of `/proc/stat`.
fn parse_cpu_ticks(stat: &str, cpu: usize) -> Option<(u64, u64)> {
    let label = format!("cpu{cpu}");
    let line = stat
        .lines()
        .find(|l| l.split_whitespace().next() == Some(label.as_str()))?;
    // user nice system idle iowait irq softirq steal guest guest_nice;
    // guest time is counted in user time already.
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    Some((*fields.get(7)?, fields.iter().sum()))
}

/// The share of `cpu`'s time stolen between two readings.
fn stolen(before: Option<(u64, u64)>, after: Option<(u64, u64)>) -> f64 {
    match (before, after) {
        (Some((s0, t0)), Some((s1, t1))) if t1 > t0 => {
            s1.saturating_sub(s0) as f64 / (t1 - t0) as f64
        }
        _ => 0.0,
    }
}

struct Options {
    which: String,
    rounds: usize,
    warmup: f64,
    duration: f64,
    servers: Vec<Server>,
    out: String,
    chart: String,
    /// A run during which more than this share of either CPU's time was
    /// stolen by the hypervisor is repeated.
    max_steal: f64,
    /// How many times such a run is repeated at most.
    retries: usize,
    /// Only redraw the chart from the table.
    redraw: bool,
    /// Where the release binaries are (cargo's target directory).
    target: PathBuf,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        which: "all".into(),
        rounds: 5,
        warmup: 1.0,
        duration: 3.0,
        servers: SERVERS.to_vec(),
        out: "BENCHMARKS.md".into(),
        chart: "benchmarks.svg".into(),
        max_steal: 0.10,
        retries: 2,
        redraw: false,
        target: PathBuf::new(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "echo" | "http" | "all" => o.which = arg.clone(),
            "--redraw" => o.redraw = true,
            "--quick" => {
                o.rounds = 2;
                o.warmup = 0.3;
                o.duration = 1.0;
            }
            "--rounds" => o.rounds = value()?.parse().map_err(|e| format!("--rounds: {e}"))?,
            "--warmup" => o.warmup = value()?.parse().map_err(|e| format!("--warmup: {e}"))?,
            "--duration" => {
                o.duration = value()?.parse().map_err(|e| format!("--duration: {e}"))?;
            }
            "--out" => o.out = value()?,
            "--chart" => o.chart = value()?,
            "--max-steal" => {
                let pct: f64 = value()?.parse().map_err(|e| format!("--max-steal: {e}"))?;
                o.max_steal = pct / 100.0;
            }
            "--retries" => {
                o.retries = value()?.parse().map_err(|e| format!("--retries: {e}"))?;
            }
            "--servers" => {
                let names = value()?;
                let mut chosen = Vec::new();
                for name in names.split(',') {
                    match SERVERS.iter().find(|s| s.name == name) {
                        Some(s) => chosen.push(*s),
                        None => return Err(format!("--servers: unknown server {name:?}")),
                    }
                }
                o.servers = chosen;
            }
            other => return Err(format!("bench: unknown argument {other:?}")),
        }
    }
    if o.rounds == 0 || o.servers.is_empty() {
        return Err("bench: need at least one round and one server".into());
    }
    Ok(o)
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut o = parse(args)?;
    if o.redraw {
        let table =
            std::fs::read_to_string(&o.out).map_err(|e| format!("reading {}: {e}", o.out))?;
        return write_chart(&o, &table);
    }
    let points = points(&o.which)?;
    o.target = super::target_dir()?.join("release");
    super::run(
        "netbench build",
        super::cargo(&["build", "--release", "-p", "rentio-netbench", "--bins"]),
    )?;
    super::run(
        "netbench self-test",
        super::cargo(&["test", "--release", "-p", "rentio-netbench", "--lib"]),
    )?;
    let (server_cpu, client_cpu) = two_cpus()?;
    // Below the kernel's ephemeral range (from 32768 by default), so that
    // no client connection of an earlier run holds the port.
    let mut port = FIRST_PORT + (std::process::id() % 5_000) as u16;
    let mut results: BTreeMap<(usize, &'static str), Vec<Sample>> = BTreeMap::new();
    let started = Instant::now();
    let mut repeated = 0;
    for (pi, point) in points.iter().enumerate() {
        for round in 0..o.rounds {
            let n = o.servers.len();
            for k in 0..n {
                let server = o.servers[(k + round) % n];
                // A run the hypervisor disturbed is repeated; the least
                // disturbed attempt counts.
                let mut best: Option<Sample> = None;
                for attempt in 0..=o.retries {
                    port = next_port(port);
                    let sample = measure_on_free_port(
                        &o,
                        point,
                        server,
                        &mut port,
                        (server_cpu, client_cpu),
                    )?;
                    eprintln!(
                        "xtask: {:<22} round {} {:<14} {:>9.0} req/s  {:>6.0} ns cpu/req  p99 {:>7.1} us  steal {:>4.1}%",
                        point.label(),
                        round + 1,
                        server.name,
                        sample.rps,
                        sample.cpu_ns,
                        sample.p99_us,
                        sample.steal * 100.0
                    );
                    if best.is_none_or(|b| sample.steal < b.steal) {
                        best = Some(sample);
                    }
                    if sample.steal <= o.max_steal {
                        break;
                    }
                    if attempt < o.retries {
                        repeated += 1;
                        eprintln!(
                            "xtask: more than {:.0}% stolen; again in {} s",
                            o.max_steal * 100.0,
                            RETRY_PAUSE.as_secs()
                        );
                        // Steal comes in bursts: let this one pass.
                        std::thread::sleep(RETRY_PAUSE);
                    }
                }
                if let Some(sample) = best {
                    results.entry((pi, server.name)).or_default().push(sample);
                }
            }
        }
    }
    let table = report(&o, &points, &results, started.elapsed(), repeated);
    println!("{table}");
    std::fs::write(&o.out, &table).map_err(|e| format!("writing {}: {e}", o.out))?;
    eprintln!("xtask: wrote {}", o.out);
    write_chart(&o, &table)
}

/// Draws the chart from the table (so `--redraw` draws the same one).
fn write_chart(o: &Options, table: &str) -> Result<(), String> {
    let svg = Chart::from_markdown(table)
        .map_err(|e| format!("{}: {e}", o.out))?
        .render();
    std::fs::write(&o.chart, svg).map_err(|e| format!("writing {}: {e}", o.chart))?;
    eprintln!("xtask: wrote {}", o.chart);
    Ok(())
}

/// The port after `port`, wrapping within the servers' range.
fn next_port(port: u16) -> u16 {
    if port >= LAST_PORT {
        FIRST_PORT
    } else {
        port + 1
    }
}

/// How long to wait before repeating a disturbed run.
const RETRY_PAUSE: Duration = Duration::from_secs(5);

/// One run of `server` at `point`, moving to the next port while the
/// server cannot listen on this one; with the hypervisor's steal over the
/// run.
fn measure_on_free_port(
    o: &Options,
    point: &Point,
    server: Server,
    port: &mut u16,
    (server_cpu, client_cpu): (usize, usize),
) -> Result<Sample, String> {
    let mut attempts = 0;
    loop {
        let before = (cpu_ticks(server_cpu), cpu_ticks(client_cpu));
        match measure(o, point, server, *port, server_cpu, client_cpu) {
            Ok(mut sample) => {
                let after = (cpu_ticks(server_cpu), cpu_ticks(client_cpu));
                sample.steal = stolen(before.0, after.0).max(stolen(before.1, after.1));
                return Ok(sample);
            }
            // Someone else has the port: take the next one.
            Err(Failed::Listen(why)) if attempts < 5 => {
                eprintln!("xtask: {why}; trying the next port");
                attempts += 1;
                *port = next_port(*port);
            }
            Err(Failed::Listen(why) | Failed::Other(why)) => return Err(why),
        }
    }
}

/// The first two CPUs this process may use: the server's and the client's.
fn two_cpus() -> Result<(usize, usize), String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .ok_or("no Cpus_allowed_list in /proc/self/status")?;
    let mut cpus = Vec::new();
    for part in list.trim().split(',') {
        let mut ends = part.split('-').map(|n| n.trim().parse::<usize>());
        let first = ends.next().and_then(Result::ok).ok_or("bad CPU list")?;
        let last = match ends.next() {
            Some(n) => n.map_err(|e| e.to_string())?,
            None => first,
        };
        cpus.extend(first..=last);
    }
    match cpus.as_slice() {
        [a, b, ..] => Ok((*a, *b)),
        _ => Err("bench: needs two CPUs (server and client on one each)".into()),
    }
}

/// Kills the server when dropped.
struct Running(Child);

/// The ports the servers listen on.
const FIRST_PORT: u16 = 20_000;
const LAST_PORT: u16 = 32_000;

/// Why a measurement failed: the server never listened (it exited, most
/// likely because the port was taken), or anything else.
enum Failed {
    Listen(String),
    Other(String),
}

impl From<String> for Failed {
    fn from(why: String) -> Failed {
        Failed::Other(why)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn measure(
    o: &Options,
    point: &Point,
    server: Server,
    port: u16,
    server_cpu: usize,
    client_cpu: usize,
) -> Result<Sample, Failed> {
    let addr = format!("127.0.0.1:{port}");
    let mode = if point.http { "http" } else { "echo" };
    let mut cmd = Command::new("taskset");
    cmd.args(["-c", &server_cpu.to_string()])
        .arg(o.target.join(server.bin))
        .args([mode, &addr]);
    if !server.variant.is_empty() {
        cmd.arg(server.variant);
    }
    let child = cmd
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting {} (is taskset installed?): {e}", server.name))?;
    let pid = child.id();
    let mut running = Running(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(&addr).is_err() {
        if let Ok(Some(status)) = running.0.try_wait() {
            return Err(Failed::Listen(format!(
                "{} exited ({status}) before it listened on {addr}",
                server.name
            )));
        }
        if Instant::now() > deadline {
            return Err(Failed::Listen(format!(
                "{} did not listen on {addr}",
                server.name
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = Command::new("taskset")
        .args([
            "-c",
            &client_cpu.to_string(),
            &o.target.join("loadgen").to_string_lossy(),
            &addr,
            mode,
        ])
        .args(["--conns", &point.conns.to_string()])
        .args(["--size", &point.size.max(1).to_string()])
        .args(["--depth", &point.depth.to_string()])
        .args(["--warmup", &o.warmup.to_string()])
        .args(["--duration", &o.duration.to_string()])
        .args(["--server-pid", &pid.to_string()])
        .output()
        .map_err(|e| format!("starting the load generator: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(Failed::Other(format!(
            "load generator against {} failed: {}{}",
            server.name,
            text,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let field = |key: &str| -> Result<f64, String> {
        text.split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .ok_or(format!("no {key} in the load generator's output: {text}"))
    };
    Ok(Sample {
        rps: field("rps")?,
        cpu_ns: field("cpu_ns_per_req")?,
        p99_us: field("p99_us")?,
        steal: 0.0,
    })
}

/// Median, min and max.
fn stats(values: impl Iterator<Item = f64>) -> (f64, f64, f64) {
    let mut v: Vec<f64> = values.collect();
    if v.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    v.sort_by(f64::total_cmp);
    let median = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    (median, v[0], v[v.len() - 1])
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    format!("{cpu}, Linux {kernel}")
}

fn report(
    o: &Options,
    points: &[Point],
    results: &BTreeMap<(usize, &'static str), Vec<Sample>>,
    took: Duration,
    repeated: usize,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Benchmarks\n");
    let _ = writeln!(
        s,
        "`cargo xtask bench {}` ({} rounds, {} s warm-up + {} s measured per run, servers interleaved \
         with the order rotated each round; the whole run took {:.0} s). Machine: {}. Each server \
         runs on one thread pinned to one CPU, the load generator (an epoll loop, not built on any \
         runtime under test, verifying every byte) on another. Figures are medians with min–max; \
         \"×tokio\" is the ratio of medians to tokio `current_thread` (higher is better for req/s, \
         lower for CPU per request). A run during which the hypervisor stole more than {:.0}% of \
         the server's or the client's CPU is repeated, up to {} times, and the least disturbed \
         attempt kept ({} repeats in this run); the \"steal\" column is the median share stolen \
         over the kept runs.\n",
        o.which,
        o.rounds,
        o.warmup,
        o.duration,
        took.as_secs_f64(),
        machine(),
        o.max_steal * 100.0,
        o.retries,
        repeated
    );
    let _ = writeln!(
        s,
        "![requests per second and server CPU per request relative to tokio](benchmarks.svg)\n"
    );
    for (pi, point) in points.iter().enumerate() {
        let _ = writeln!(s, "## {}\n", point.label());
        let _ = writeln!(
            s,
            "| server | req/s (min–max) | ×tokio | server CPU ns/req (min–max) | ×tokio | p99 µs | steal |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|---|");
        let base = results.get(&(pi, "tokio"));
        let (base_rps, base_cpu) = match base {
            Some(v) => (
                stats(v.iter().map(|x| x.rps)).0,
                stats(v.iter().map(|x| x.cpu_ns)).0,
            ),
            None => (f64::NAN, f64::NAN),
        };
        for server in &o.servers {
            let Some(v) = results.get(&(pi, server.name)) else {
                continue;
            };
            let rps = stats(v.iter().map(|x| x.rps));
            let cpu = stats(v.iter().map(|x| x.cpu_ns));
            let p99 = stats(v.iter().map(|x| x.p99_us));
            let steal = stats(v.iter().map(|x| x.steal * 100.0));
            let _ = writeln!(
                s,
                "| {} | {:.0} ({:.0}–{:.0}) | {:.2} | {:.0} ({:.0}–{:.0}) | {:.2} | {:.0} | {:.1}% |",
                server.name,
                rps.0,
                rps.1,
                rps.2,
                rps.0 / base_rps,
                cpu.0,
                cpu.1,
                cpu.2,
                cpu.0 / base_cpu,
                p99.0,
                steal.0
            );
        }
        let _ = writeln!(s);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  1592906 6 790946 3100112 225546 0 223118 215442 0 0\n\
                        cpu0 726186 3 422436 1533646 179918 0 98827 103319 0 0\n\
                        cpu1 866719 2 368510 1566465 45627 0 124290 112122 0 0\n\
                        intr 12345\n";

    #[test]
    fn steal_is_read_per_cpu() {
        assert_eq!(
            parse_cpu_ticks(STAT, 0),
            Some((
                103_319,
                726_186 + 3 + 422_436 + 1_533_646 + 179_918 + 98_827 + 103_319
            ))
        );
        assert_eq!(parse_cpu_ticks(STAT, 1).map(|t| t.0), Some(112_122));
        // "cpu1" must not match "cpu10", nor the aggregate line "cpu".
        assert_eq!(parse_cpu_ticks(STAT, 2), None);
        assert_eq!(parse_cpu_ticks("cpu0 1 2 3\n", 0), None, "too few fields");
    }

    #[test]
    fn stolen_share() {
        assert_eq!(stolen(Some((10, 100)), Some((30, 300))), 0.1);
        assert_eq!(stolen(None, Some((30, 300))), 0.0);
        // No time passed, or the counters went back: nothing is claimed.
        assert_eq!(stolen(Some((10, 100)), Some((10, 100))), 0.0);
        assert_eq!(stolen(Some((10, 100)), Some((5, 200))), 0.0);
    }

    #[test]
    fn this_machine_reports_its_cpus() {
        let Ok((server, client)) = two_cpus() else {
            eprintln!("skipped: the bench needs two CPUs and this process has one");
            return;
        };
        assert!(cpu_ticks(server).is_some() && cpu_ticks(client).is_some());
    }
}
