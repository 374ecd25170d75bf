//! `cargo xtask bench echo|http|all|hyper`: the comparison benchmark.
//!
//! Builds `rentio-netbench` once in release, then for every point (echo at
//! 1, 16 and 128 connections × 128 B and 4 KiB; HTTP at 100 connections,
//! depth 1 and 16; hyper over HTTP/1.1 at 100 connections and over HTTP/2
//! at 16 connections × 16 streams) runs each server pinned to one CPU
//! against the load generator pinned to another, interleaving the servers
//! (A B C … with the order rotated each round). It prints medians with
//! min–max and each server's ratio to tokio, and writes the tables into
//! `BENCHMARKS.md` (`--out`) and a bar chart (`--chart`; see `chart.rs`).
//!
//! `BENCHMARKS.md` holds one block per set that was run, between
//! `<!-- xtask bench SET -->` and `<!-- end xtask bench SET -->`: a run
//! replaces its own set's block and keeps the others, and the notes
//! written by hand after the last block. Each block has its
//! chart: `benchmarks.svg` for `all`, `benchmarks-SET.svg` for the others.
//! `--redraw` only redraws every block's chart from its table.
//!
//! The `hyper` set serves the same hello service (`rentio_netbench::hello`)
//! through hyper-util's auto builder on tokio, on rentio's poll-io stream
//! and copy wrapper, and on monoio's `monoio-compat` copy wrapper and
//! poll-io stream. HTTP/1.1 load comes from our load generator (which
//! parses every response); HTTP/2 load from `h2load` (Debian's
//! `nghttp2-client`, installed with apt-get when missing), with prior
//! knowledge. For HTTP/2 the server's CPU time is read around the measured
//! `h2load` run, after a separate warm-up run, and divided by the requests
//! that succeeded; `h2load` reports no percentiles, so p99 is left blank.
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
usage: cargo xtask bench [echo|http|all|hyper|fs|cores] [options]

Runs each server pinned to one CPU against the load generator pinned to
another, interleaved and rotated each round, and writes the tables into
BENCHMARKS.md (replacing only this set's block) and the set's chart
(benchmarks.svg for all, benchmarks-SET.svg for the others). The set is
all by default.

  echo, http, all    hand-written echo and HTTP/1.1 servers on tokio,
                     rentio-uring, rentio-uring-mshot (multishot accept
                     and receive into a buffer ring), rentio-mshot-batch
                     (the same with batch_wakeups(32, 200 us)), rentio-poll,
                     monoio-uring, monoio-legacy
                     and compio (all: echo and http)
  hyper              one hyper hello service on tokio, rentio-pollio,
                     rentio-copy, monoio-compat and monoio-pollio, over
                     HTTP/1.1 and HTTP/2 (h2load, from Debian's
                     nghttp2-client, installed with apt-get if missing)
  fs                 the file benchmark (its own options: cargo xtask
                     bench fs --help)
  cores              cross-core mpsc and the dispatcher under a skewed
                     load (cargo xtask bench cores --help)

options:
  --quick            2 rounds, 0.3 s warm-up, 1 s measured (a smoke run)
  --rounds N         rounds per point (5)
  --warmup S         warm-up seconds per run (1)
  --duration S       measured seconds per run (3)
  --servers a,b      only these servers, in this order
  --max-steal PCT    repeat a run during which the hypervisor stole more
                     than PCT% of either CPU (10)
  --retries N        repeat such a run at most N times (2)
  --out F            the tables (BENCHMARKS.md)
  --chart F          this set's chart (benchmarks.svg, benchmarks-SET.svg)
  --redraw           only redraw every block's chart from the tables
  -h, --help         this text
";

/// A server under test: its name, binary and variant argument, and which
/// sets it is in (the hand-written echo and HTTP servers, the hyper one).
#[derive(Clone, Copy, Debug)]
struct Server {
    name: &'static str,
    bin: &'static str,
    variant: &'static str,
    plain: bool,
    hyper: bool,
}

const SERVERS: &[Server] = &[
    Server {
        name: "tokio",
        bin: "server-tokio",
        variant: "",
        plain: true,
        hyper: true,
    },
    Server {
        name: "rentio-uring",
        bin: "server-rentio",
        variant: "uring",
        plain: true,
        hyper: false,
    },
    Server {
        name: "rentio-uring-mshot",
        bin: "server-rentio",
        variant: "mshot",
        plain: true,
        hyper: false,
    },
    Server {
        name: "rentio-mshot-batch",
        bin: "server-rentio",
        variant: "mshot+batch",
        plain: true,
        hyper: false,
    },
    Server {
        name: "rentio-poll",
        bin: "server-rentio",
        variant: "poll",
        plain: true,
        hyper: false,
    },
    Server {
        name: "monoio-uring",
        bin: "server-monoio",
        variant: "uring",
        plain: true,
        hyper: false,
    },
    Server {
        name: "monoio-legacy",
        bin: "server-monoio",
        variant: "legacy",
        plain: true,
        hyper: false,
    },
    Server {
        name: "compio",
        bin: "server-compio",
        variant: "",
        plain: true,
        hyper: false,
    },
    Server {
        name: "rentio-pollio",
        bin: "server-rentio",
        variant: "uring",
        plain: false,
        hyper: true,
    },
    Server {
        name: "rentio-copy",
        bin: "server-rentio",
        variant: "uring+copy",
        plain: false,
        hyper: true,
    },
    Server {
        name: "monoio-compat",
        bin: "server-monoio",
        variant: "uring",
        plain: false,
        hyper: true,
    },
    Server {
        name: "monoio-pollio",
        bin: "server-monoio",
        variant: "pollio",
        plain: false,
        hyper: true,
    },
];

/// What a point measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// The hand-written echo servers.
    Echo,
    /// The hand-written HTTP/1.1 servers.
    Http,
    /// The hyper servers over HTTP/1.1, driven by our load generator.
    Hyper1,
    /// The hyper servers over HTTP/2, driven by `h2load`; `depth` is the
    /// number of concurrent streams per connection.
    Hyper2,
}

/// One load point.
#[derive(Clone, Debug)]
struct Point {
    kind: Kind,
    conns: usize,
    size: usize,
    depth: usize,
}

impl Point {
    fn label(&self) -> String {
        match self.kind {
            Kind::Http => format!("http c={} depth={}", self.conns, self.depth),
            Kind::Echo => {
                let size = if self.size >= 1024 {
                    format!("{} KiB", self.size / 1024)
                } else {
                    format!("{} B", self.size)
                };
                format!("echo c={} × {size}", self.conns)
            }
            Kind::Hyper1 => format!("hyper HTTP/1.1 c={}", self.conns),
            Kind::Hyper2 => format!("hyper HTTP/2 c={} × {} streams", self.conns, self.depth),
        }
    }

    /// Whether `server` is measured at this point.
    fn runs(&self, server: &Server) -> bool {
        match self.kind {
            Kind::Echo | Kind::Http => server.plain,
            Kind::Hyper1 | Kind::Hyper2 => server.hyper,
        }
    }
}

fn points(which: &str) -> Result<Vec<Point>, String> {
    let echo = [1, 16, 128].into_iter().flat_map(|conns| {
        [128, 4096].into_iter().map(move |size| Point {
            kind: Kind::Echo,
            conns,
            size,
            depth: 1,
        })
    });
    let http = [1, 16].into_iter().map(|depth| Point {
        kind: Kind::Http,
        conns: 100,
        size: 0,
        depth,
    });
    let hyper = [
        Point {
            kind: Kind::Hyper1,
            conns: 100,
            size: 0,
            depth: 1,
        },
        Point {
            kind: Kind::Hyper2,
            conns: 16,
            size: 0,
            depth: 16,
        },
    ];
    match which {
        "echo" => Ok(echo.collect()),
        "http" => Ok(http.collect()),
        "all" => Ok(echo.chain(http).collect()),
        "hyper" => Ok(hyper.to_vec()),
        other => Err(format!(
            "bench: unknown set {other:?} (echo, http, all or hyper)"
        )),
    }
}

/// One measurement.
#[derive(Clone, Copy, Debug)]
struct Sample {
    rps: f64,
    cpu_ns: f64,
    /// NaN where the load generator reports no percentiles (`h2load`).
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
    /// This set's chart; `None`: `benchmarks.svg` or `benchmarks-SET.svg`.
    chart: Option<String>,
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
        chart: None,
        max_steal: 0.10,
        retries: 2,
        redraw: false,
        target: PathBuf::new(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "echo" | "http" | "all" | "hyper" => o.which = arg.clone(),
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
            "--chart" => o.chart = Some(value()?),
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
        let text =
            std::fs::read_to_string(&o.out).map_err(|e| format!("reading {}: {e}", o.out))?;
        let blocks = blocks(&text);
        if blocks.is_empty() {
            return Err(format!("{}: no `<!-- xtask bench SET -->` blocks", o.out));
        }
        for (set, block) in blocks {
            if !has_chart(set) {
                continue;
            }
            let chart = match &o.chart {
                Some(chart) if set == o.which => chart.clone(),
                _ => chart_file(set),
            };
            write_chart(&o.out, &chart, block)?;
        }
        return Ok(());
    }
    let points = points(&o.which)?;
    if points.iter().any(|p| p.kind == Kind::Hyper2) {
        ensure_h2load()?;
    }
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
        let servers: Vec<Server> = o
            .servers
            .iter()
            .filter(|s| point.runs(s))
            .copied()
            .collect();
        for round in 0..o.rounds {
            let n = servers.len();
            for k in 0..n {
                let server = servers[(k + round) % n];
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
    let chart = o.chart.clone().unwrap_or_else(|| chart_file(&o.which));
    let block = report(&o, &points, &results, started.elapsed(), repeated, &chart);
    println!("{block}");
    let old = std::fs::read_to_string(&o.out).unwrap_or_default();
    let text = merge_block(&old, &o.which, &block);
    std::fs::write(&o.out, &text).map_err(|e| format!("writing {}: {e}", o.out))?;
    eprintln!("xtask: wrote {}", o.out);
    write_chart(&o.out, &chart, &block)
}

/// The chart of a set's block: `benchmarks.svg` for `all`, else
/// `benchmarks-SET.svg`.
fn chart_file(set: &str) -> String {
    if set == "all" {
        "benchmarks.svg".into()
    } else {
        format!("benchmarks-{set}.svg")
    }
}

/// Whether a set's block has a chart (the fs and cores sets have tables
/// only).
fn has_chart(set: &str) -> bool {
    !matches!(set, "fs" | "cores")
}

/// The line a set's block starts with.
fn block_start(set: &str) -> String {
    format!("<!-- xtask bench {set} -->")
}

/// The line a set's block ends with.
fn block_end(set: &str) -> String {
    format!("<!-- end xtask bench {set} -->")
}

/// The blocks of a `BENCHMARKS.md`: each set's name and text, in order.
fn blocks(text: &str) -> Vec<(&str, &str)> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("<!-- xtask bench ") {
        let after = &rest[at + "<!-- xtask bench ".len()..];
        let Some(set) = after.split_once(" -->").map(|(set, _)| set) else {
            break;
        };
        let end = block_end(set);
        let Some(len) = rest[at..].find(&end) else {
            break;
        };
        found.push((set, &rest[at..at + len + end.len()]));
        rest = &rest[at + len + end.len()..];
    }
    found
}

/// `old` with `set`'s block replaced by `block` (or added after the
/// others), under a `# Benchmarks` title; what follows the last block
/// (notes written by hand) stays at the end.
pub(crate) fn merge_block(old: &str, set: &str, block: &str) -> String {
    let mut out = String::from("# Benchmarks\n");
    let mut placed = false;
    let found = blocks(old);
    let tail = found
        .last()
        .map(|(_, last)| {
            let end = last.as_ptr() as usize - old.as_ptr() as usize + last.len();
            old[end..].trim()
        })
        .unwrap_or("");
    for (name, text) in found {
        out.push('\n');
        if name == set {
            out.push_str(block.trim_end());
            placed = true;
        } else {
            out.push_str(text);
        }
        out.push('\n');
    }
    if !placed {
        out.push('\n');
        out.push_str(block.trim_end());
        out.push('\n');
    }
    if !tail.is_empty() {
        out.push('\n');
        out.push_str(tail);
        out.push('\n');
    }
    out
}

/// Draws a block's chart from its tables (so `--redraw` draws the same one).
fn write_chart(out: &str, chart: &str, block: &str) -> Result<(), String> {
    let svg = Chart::from_markdown(block)
        .map_err(|e| format!("{out}: {e}"))?
        .render();
    std::fs::write(chart, svg).map_err(|e| format!("writing {chart}: {e}"))?;
    eprintln!("xtask: wrote {chart}");
    Ok(())
}

/// Makes sure `h2load` runs, installing Debian's `nghttp2-client` with
/// apt-get when it does not.
fn ensure_h2load() -> Result<(), String> {
    ensure_tool(
        "h2load",
        "nghttp2-client",
        "the hyper set needs h2load (Debian's nghttp2-client) for HTTP/2",
    )
}

/// Makes sure `tool --version` runs, installing Debian's `package` with
/// apt-get when it does not; `why` says what needs it.
pub(crate) fn ensure_tool(tool: &str, package: &str, why: &str) -> Result<(), String> {
    let runs = || {
        Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if runs() {
        return Ok(());
    }
    eprintln!("xtask: {tool} not found; installing {package}");
    let mut cmd = Command::new("apt-get");
    cmd.args(["install", "-y", "--no-install-recommends", package])
        .env("DEBIAN_FRONTEND", "noninteractive");
    super::run(&format!("apt-get install {package}"), cmd).map_err(|e| format!("{e}: {why}"))?;
    if runs() {
        Ok(())
    } else {
        Err(format!(
            "{tool} still does not run after installing {package}"
        ))
    }
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
    let mode = match point.kind {
        Kind::Echo => "echo",
        Kind::Http => "http",
        Kind::Hyper1 | Kind::Hyper2 => "hyper",
    };
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
    if point.kind == Kind::Hyper2 {
        return measure_h2(o, point, server, &addr, pid, client_cpu);
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

/// One `h2load` run at `point` against `addr`, pinned to `client_cpu`:
/// requests per second and the requests that succeeded.
fn h2load(
    point: &Point,
    server: Server,
    addr: &str,
    client_cpu: usize,
    secs: f64,
) -> Result<(f64, f64), Failed> {
    let out = Command::new("taskset")
        .args(["-c", &client_cpu.to_string(), "h2load", "-t", "1"])
        .args(["-c", &point.conns.to_string()])
        .args(["-m", &point.depth.to_string()])
        .args(["-D", &format!("{}ms", (secs * 1000.0).round().max(1.0))])
        .arg(format!("http://{addr}/"))
        .output()
        .map_err(|e| format!("starting h2load: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let (rps, succeeded, failed) = parse_h2load(&text).ok_or_else(|| {
        format!(
            "h2load against {}: no figures in its output: {text}{}",
            server.name,
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    if !out.status.success() || failed > 0.0 || succeeded == 0.0 {
        return Err(Failed::Other(format!(
            "h2load against {} ({}): {succeeded} requests succeeded, {failed} failed or errored: {text}",
            server.name, out.status
        )));
    }
    Ok((rps, succeeded))
}

/// From `h2load`'s report: requests per second, the requests that
/// succeeded, and those that failed, errored or timed out.
fn parse_h2load(text: &str) -> Option<(f64, f64, f64)> {
    // finished in 1.00s, 63984.00 req/s, 2.32MB/s
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("finished in "))?
        .split(", ")
        .find_map(|f| f.strip_suffix(" req/s"))?
        .parse()
        .ok()?;
    // requests: 63984 total, 64240 started, 63984 done, 63984 succeeded, 0 failed, 0 errored, 0 timeout
    let counts = text.lines().find_map(|l| l.strip_prefix("requests: "))?;
    let count = |what: &str| -> Option<f64> {
        counts
            .split(", ")
            .find_map(|f| f.strip_suffix(what))?
            .trim()
            .parse()
            .ok()
    };
    let bad = count(" failed")? + count(" errored")? + count(" timeout")?;
    Some((rps, count(" succeeded")?, bad))
}

/// The HTTP/2 point: a warm-up run, then the measured run with the
/// server's CPU time read around it.
fn measure_h2(
    o: &Options,
    point: &Point,
    server: Server,
    addr: &str,
    pid: u32,
    client_cpu: usize,
) -> Result<Sample, Failed> {
    if o.warmup > 0.0 {
        h2load(point, server, addr, client_cpu, o.warmup)?;
    }
    let before = process_cpu(pid)?;
    let (rps, succeeded) = h2load(point, server, addr, client_cpu, o.duration)?;
    let cpu = process_cpu(pid)?.saturating_sub(before);
    Ok(Sample {
        rps,
        cpu_ns: cpu.as_nanos() as f64 / succeeded,
        p99_us: f64::NAN,
        steal: 0.0,
    })
}

/// A process's user + system CPU time, from `/proc/<pid>/stat`.
fn process_cpu(pid: u32) -> Result<Duration, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("reading /proc/{pid}/stat: {e}"))?;
    parse_process_cpu(&stat, clock_ticks()).ok_or_else(|| format!("bad /proc/{pid}/stat: {stat}"))
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`; 100 on Linux
/// everywhere this runs when `getconf` is missing).
fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100)
}

/// utime + stime from the text of `/proc/<pid>/stat`.
fn parse_process_cpu(stat: &str, hz: u64) -> Option<Duration> {
    // The fields after `(comm)`, which may hold spaces and parentheses,
    // start at field 3 (state); utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_nanos(ticks * 1_000_000_000 / hz.max(1)))
}

/// Median, min and max.
pub(crate) fn stats(values: impl Iterator<Item = f64>) -> (f64, f64, f64) {
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

pub(crate) fn machine() -> String {
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
    chart: &str,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}\n", block_start(&o.which));
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
    if o.which == "hyper" {
        let _ = writeln!(
            s,
            "Every server runs the same hyper hello service (`rentio_netbench::hello`, a 13-byte \
             body) through hyper-util's auto builder with its runtime's executor and timer: tokio \
             with `TokioIo`; rentio through `rentio::compat::tokio_io` (poll-io, the io_uring \
             backend) and through the copy wrapper `Compat`; monoio (io_uring) through \
             `monoio-compat`'s copy wrapper `TcpStreamCompat` and its poll-io `MonoioIo`. \
             HTTP/1.1 load comes from the load generator, which parses every response and checks \
             its status and body; HTTP/2 load from `h2load` (prior knowledge, one thread), whose \
             failed or errored requests fail the run. For HTTP/2 the server's CPU time is read \
             around the measured `h2load` run (after a separate warm-up run) and divided by the \
             requests that succeeded; `h2load` reports no percentiles, so its p99 is blank.\n"
        );
    }
    let _ = writeln!(
        s,
        "![requests per second and server CPU per request relative to tokio]({chart})\n"
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
        for server in o.servers.iter().filter(|s| point.runs(s)) {
            let Some(v) = results.get(&(pi, server.name)) else {
                continue;
            };
            let rps = stats(v.iter().map(|x| x.rps));
            let cpu = stats(v.iter().map(|x| x.cpu_ns));
            let p99 = stats(v.iter().map(|x| x.p99_us));
            let steal = stats(v.iter().map(|x| x.steal * 100.0));
            let p99 = if p99.0.is_nan() {
                "–".to_string()
            } else {
                format!("{:.0}", p99.0)
            };
            let _ = writeln!(
                s,
                "| {} | {:.0} ({:.0}–{:.0}) | {:.2} | {:.0} ({:.0}–{:.0}) | {:.2} | {} | {:.1}% |",
                server.name,
                rps.0,
                rps.1,
                rps.2,
                rps.0 / base_rps,
                cpu.0,
                cpu.1,
                cpu.2,
                cpu.0 / base_cpu,
                p99,
                steal.0
            );
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "{}", block_end(&o.which));
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
    fn h2load_reports_are_read() {
        let out = "finished in 1.00s, 63984.00 req/s, 2.32MB/s\n\
                   requests: 63984 total, 64240 started, 63984 done, 63980 succeeded, 3 failed, 1 errored, 0 timeout\n";
        assert_eq!(parse_h2load(out), Some((63984.0, 63980.0, 4.0)));
        assert_eq!(parse_h2load("finished in 1.00s, 5 req/s\n"), None);
    }

    #[test]
    fn process_cpu_is_read_past_a_strange_name() {
        let stat = "42 (a) b (c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 5 0 0";
        assert_eq!(
            parse_process_cpu(stat, 100),
            Some(Duration::from_millis(3_000))
        );
        assert_eq!(parse_process_cpu("42 (a) S 1", 100), None);
    }

    #[test]
    fn notes_after_the_last_block_stay_at_the_end() {
        let all = format!("{}\nold all\n{}", block_start("all"), block_end("all"));
        let old = format!("# Benchmarks\n\n{all}\n\n## Notes\n\nby hand\n");
        let hyper = format!("{}\nhyper\n{}", block_start("hyper"), block_end("hyper"));
        let text = merge_block(&old, "hyper", &hyper);
        assert!(text.ends_with("\n## Notes\n\nby hand\n"), "{text}");
        let all2 = format!("{}\nnew all\n{}", block_start("all"), block_end("all"));
        let text = merge_block(&text, "all", &all2);
        assert_eq!(text.matches("by hand").count(), 1);
        assert!(text.ends_with("by hand\n"));
        assert_eq!(blocks(&text)[0].1, all2.as_str());
    }

    #[test]
    fn a_set_replaces_only_its_own_block() {
        let all = format!("{}\nold all\n{}", block_start("all"), block_end("all"));
        let hyper = format!("{}\nhyper 1\n{}", block_start("hyper"), block_end("hyper"));
        let text = merge_block(&format!("# Benchmarks\n\n{all}\n"), "hyper", &hyper);
        assert_eq!(
            blocks(&text),
            [("all", all.as_str()), ("hyper", hyper.as_str())]
        );
        let hyper2 = format!("{}\nhyper 2\n{}", block_start("hyper"), block_end("hyper"));
        let text = merge_block(&text, "hyper", &hyper2);
        assert_eq!(
            blocks(&text),
            [("all", all.as_str()), ("hyper", hyper2.as_str())]
        );
        assert!(text.starts_with("# Benchmarks\n"));
        assert_eq!(text.matches("# Benchmarks").count(), 1);
        assert_eq!(chart_file("all"), "benchmarks.svg");
        assert_eq!(chart_file("hyper"), "benchmarks-hyper.svg");
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
