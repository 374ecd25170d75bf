//! `cargo xtask bench cores`: rentio across cores.
//!
//! - **mpsc**: `rentio::sync::mpsc` against `tokio::sync::mpsc` between
//!   the same two threads (each runs a rentio runtime, then a tokio
//!   `current_thread` one, rounds interleaved): throughput of 1,000,000
//!   `u64`s through a channel of 1,024, and one-way latency (a timestamp
//!   sent to a parked receiver, which answers on a second channel before
//!   the next is sent).
//! - **skew**: a server on 2 cores (`serve::Server`), a fixed CPU cost per
//!   request (`COST`), `HEAVY` heavy connections (`HEAVY_BATCH` pipelined
//!   requests every ms each) and `LIGHT` light ones (one request every
//!   10 ms each), all connected before the load starts. `SO_REUSEPORT`
//!   against the dispatcher (`Balance::LeastLoaded`, connections moving
//!   with `Conn::rebalance`): the CPU time of the busier core's thread
//!   over the other's, and the p99 latency of the light requests (timed
//!   from the send: the client's timer is not precise enough to time from
//!   when each was due).
//!
//! Prints a Markdown block; `cargo xtask bench cores` puts it in
//! BENCHMARKS.md.

// A benchmark: any failure ends it with its message, as a test would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex, mpsc as std_mpsc};
use std::time::{Duration, Instant};

use rentio::io::{AsyncReadRent, AsyncWriteRentExt};
use rentio::net::serve::{Balance, Server};

struct Options {
    rounds: usize,
    secs: f64,
}

fn main() {
    let mut o = Options {
        rounds: 5,
        secs: 4.0,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--quick" => {
                o.rounds = 1;
                o.secs = 2.0;
            }
            "--rounds" => {
                i += 1;
                o.rounds = args[i].parse().expect("--rounds N");
            }
            "--secs" => {
                i += 1;
                o.secs = args[i].parse().expect("--secs S");
            }
            other => panic!("corebench: unknown argument {other:?}"),
        }
        i += 1;
    }
    let mpsc = mpsc_bench(&o);
    let skew = skew_bench(&o);
    let idle = idle_bench(&o);
    println!("{mpsc}\n{skew}\n{idle}");
}

// ---------------------------------------------------------------- idle

const IDLE: usize = 10_000;

/// The servers whose idle connections are weighed: (name, binary,
/// variant).
const IDLE_SERVERS: [(&str, &str, &str); 4] = [
    ("tokio", "server-tokio", ""),
    ("rentio-uring (rented buffers)", "server-rentio", "uring"),
    ("rentio-uring-mshot (buffer ring)", "server-rentio", "mshot"),
    ("monoio-uring", "server-monoio", "uring"),
];

/// A server's resident memory, from `/proc/PID/status` (`VmRSS`).
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb * 1024
}

/// Bytes of server RSS per idle connection: the echo server's RSS with
/// 10,000 connections (each has echoed one byte, then waits) less its RSS
/// before them, over 10,000.
fn idle_run(bin: &std::path::Path, variant: &str) -> f64 {
    use std::io::{Read, Write};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut cmd = std::process::Command::new(bin);
    cmd.arg("echo").arg(&addr);
    if !variant.is_empty() {
        cmd.arg(variant);
    }
    let mut server = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "{} did not start", bin.display());
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let before = rss(server.id());
    let mut conns = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.write_all(b"x").unwrap();
        let mut b = [0u8; 1];
        s.read_exact(&mut b).unwrap();
        conns.push(s);
    }
    std::thread::sleep(Duration::from_millis(300));
    let after = rss(server.id());
    drop(conns);
    let _ = server.kill();
    let _ = server.wait();
    after.saturating_sub(before) as f64 / IDLE as f64
}

fn idle_bench(o: &Options) -> String {
    let dir = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let mut out = format!(
        "### Memory per idle connection\n\n\
         Each echo server (one thread; the same binaries as `cargo xtask bench echo`) with \
         10,000 connections that have each echoed one byte and then wait: its RSS (`VmRSS`) \
         less its RSS before them, over 10,000. Medians of {} runs.\n\n\
         | server | bytes per idle connection |\n|---|---|\n",
        o.rounds.min(3)
    );
    for (name, bin, variant) in IDLE_SERVERS {
        let bin = dir.join(bin);
        let runs: Vec<f64> = (0..o.rounds.min(3))
            .map(|_| idle_run(&bin, variant))
            .collect();
        let m = median(runs);
        eprintln!("corebench: idle {name:<34} {m:>8.0} bytes/connection");
        out += &format!("| {name} | {m:.0} |\n");
    }
    out
}

// ---------------------------------------------------------------- mpsc

/// Two long-lived threads that run jobs: both runtimes' runs use the
/// same pair.
struct Pair {
    a: std_mpsc::Sender<Box<dyn FnOnce() + Send>>,
    b: std_mpsc::Sender<Box<dyn FnOnce() + Send>>,
}

fn worker(cpu: usize) -> std_mpsc::Sender<Box<dyn FnOnce() + Send>> {
    let (tx, rx) = std_mpsc::channel::<Box<dyn FnOnce() + Send>>();
    std::thread::spawn(move || {
        pin(cpu);
        for job in rx {
            job();
        }
    });
    tx
}

fn pin(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is empty; CPU_SET writes inside it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set);
    }
}

impl Pair {
    /// Runs `a` on thread A and `b` on thread B; returns their results.
    fn run<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send + 'static,
        B: FnOnce() -> RB + Send + 'static,
        RA: Send + 'static,
        RB: Send + 'static,
    {
        let (ta, ra) = std_mpsc::channel();
        let (tb, rb) = std_mpsc::channel();
        self.a
            .send(Box::new(move || ta.send(a()).unwrap()))
            .unwrap();
        self.b
            .send(Box::new(move || tb.send(b()).unwrap()))
            .unwrap();
        (ra.recv().unwrap(), rb.recv().unwrap())
    }
}

const MESSAGES: u64 = 1_000_000;
const PINGS: usize = 20_000;

fn rentio_rt() -> rentio::Runtime {
    rentio::Runtime::new().unwrap()
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Messages per second through a channel of 1,024.
fn throughput(pair: &Pair, tokio: bool) -> f64 {
    let started = Arc::new(Mutex::new(None::<Instant>));
    let s = started.clone();
    let ((), end) = if tokio {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(1024);
        // Both runtimes built before the clock starts.
        let both = Arc::new(std::sync::Barrier::new(2));
        let both2 = both.clone();
        pair.run(
            move || {
                let rt = tokio_rt();
                both.wait();
                rt.block_on(async move {
                    *s.lock().unwrap() = Some(Instant::now());
                    for i in 0..MESSAGES {
                        tx.send(i).await.unwrap();
                    }
                })
            },
            move || {
                let rt = tokio_rt();
                both2.wait();
                rt.block_on(async move {
                    let mut next = 0;
                    while let Some(v) = rx.recv().await {
                        assert_eq!(v, next);
                        next += 1;
                    }
                    assert_eq!(next, MESSAGES);
                    Instant::now()
                })
            },
        )
    } else {
        let (tx, mut rx) = rentio::sync::mpsc::channel::<u64>(1024);
        // Both runtimes built before the clock starts.
        let both = Arc::new(std::sync::Barrier::new(2));
        let both2 = both.clone();
        pair.run(
            move || {
                let rt = rentio_rt();
                both.wait();
                rt.block_on(async move {
                    *s.lock().unwrap() = Some(Instant::now());
                    for i in 0..MESSAGES {
                        tx.send(i).await.unwrap();
                    }
                })
            },
            move || {
                let rt = rentio_rt();
                both2.wait();
                rt.block_on(async move {
                    let mut next = 0;
                    while let Some(v) = rx.recv().await {
                        assert_eq!(v, next);
                        next += 1;
                    }
                    assert_eq!(next, MESSAGES);
                    Instant::now()
                })
            },
        )
    };
    let start = started.lock().unwrap().unwrap();
    MESSAGES as f64 / end.duration_since(start).as_secs_f64()
}

/// One-way latencies (ns), sorted: a timestamp to a parked receiver.
fn latency(pair: &Pair, tokio: bool) -> Vec<u64> {
    let (mut lat, ()) = if tokio {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Instant>(1);
        let (ack_tx, mut ack_rx) = tokio::sync::mpsc::channel::<()>(1);
        pair.run(
            move || {
                tokio_rt().block_on(async move {
                    let mut lat = Vec::with_capacity(PINGS);
                    while let Some(t) = rx.recv().await {
                        lat.push(t.elapsed().as_nanos() as u64);
                        ack_tx.send(()).await.unwrap();
                    }
                    lat
                })
            },
            move || {
                tokio_rt().block_on(async move {
                    for _ in 0..PINGS {
                        tx.send(Instant::now()).await.unwrap();
                        ack_rx.recv().await.unwrap();
                    }
                })
            },
        )
    } else {
        let (tx, mut rx) = rentio::sync::mpsc::channel::<Instant>(1);
        let (ack_tx, mut ack_rx) = rentio::sync::mpsc::channel::<()>(1);
        pair.run(
            move || {
                rentio_rt().block_on(async move {
                    let mut lat = Vec::with_capacity(PINGS);
                    while let Some(t) = rx.recv().await {
                        lat.push(t.elapsed().as_nanos() as u64);
                        ack_tx.send(()).await.unwrap();
                    }
                    lat
                })
            },
            move || {
                rentio_rt().block_on(async move {
                    for _ in 0..PINGS {
                        tx.send(Instant::now()).await.unwrap();
                        ack_rx.recv().await.unwrap();
                    }
                })
            },
        )
    };
    lat.sort_unstable();
    lat
}

fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn mpsc_bench(o: &Options) -> String {
    let pair = Pair {
        a: worker(0),
        b: worker(1),
    };
    let names = ["rentio::sync::mpsc", "tokio::sync::mpsc"];
    let mut rate = [Vec::new(), Vec::new()];
    let mut p50 = [Vec::new(), Vec::new()];
    let mut p99 = [Vec::new(), Vec::new()];
    for round in 0..o.rounds.max(3) {
        for k in 0..2 {
            let who = (k + round) % 2;
            let r = throughput(&pair, who == 1);
            let lat = latency(&pair, who == 1);
            eprintln!(
                "corebench: mpsc round {} {:<20} {:>12.0} msg/s  one-way p50 {:>6} ns  p99 {:>7} ns",
                round + 1,
                names[who],
                r,
                pct(&lat, 0.5),
                pct(&lat, 0.99)
            );
            rate[who].push(r);
            p50[who].push(pct(&lat, 0.5) as f64);
            p99[who].push(pct(&lat, 0.99) as f64);
        }
    }
    let m = |v: &[Vec<f64>; 2], i: usize| median(v[i].clone());
    let mut out = String::from(
        "### Cross-core mpsc\n\n\
         Two threads pinned to CPUs 0 and 1, each running a rentio runtime, then a tokio \
         `current_thread` one (the same threads, rounds interleaved). Throughput: 1,000,000 \
         `u64`s through a channel of 1,024. One-way latency: a timestamp sent to a parked \
         receiver, answered on a second channel before the next. Medians over the rounds.\n\n\
         | channel | msg/s | ×tokio | one-way p50 | one-way p99 |\n|---|---|---|---|---|\n",
    );
    for (i, name) in names.iter().enumerate() {
        out += &format!(
            "| {} | {:.0} | {:.2} | {:.1} µs | {:.1} µs |\n",
            name,
            m(&rate, i),
            m(&rate, i) / m(&rate, 1),
            m(&p50, i) / 1000.0,
            m(&p99, i) / 1000.0
        );
    }
    out
}

// ---------------------------------------------------------------- skew

const COST: Duration = Duration::from_micros(50);
const HEAVY: usize = 4;
const LIGHT: usize = 60;
const HEAVY_BATCH: usize = 5;
const REQ: usize = 8;

fn spin(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}

struct SkewResult {
    busy_ratio: f64,
    light_p99_us: f64,
    light_p50_us: f64,
    heavy_rps: f64,
    moved: u64,
}

fn skew_run(balance: Balance, secs: f64) -> SkewResult {
    let mut builder = rentio::Builder::new();
    builder.entries(256);
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .launcher(rentio::tpc::Launcher::new().threads(2).builder(builder))
        .balance(balance)
        .grace(Duration::from_secs(1));
    let addr = server.local_addr();
    let drain = server.drain_handle();
    let run = std::thread::spawn(move || {
        server.run(|mut stream, mut conn| async move {
            let _ = stream.set_nodelay(true);
            let mut pending = 0usize;
            let mut buf = Vec::with_capacity(4096);
            loop {
                buf.clear();
                let (n, b) = stream.read(buf).await;
                buf = b;
                let Ok(n) = n else { return };
                if n == 0 {
                    return;
                }
                pending += n;
                let whole = pending / REQ;
                pending %= REQ;
                for _ in 0..whole {
                    spin(COST);
                }
                if whole > 0 {
                    let (w, _) = stream.write_all(vec![b'r'; whole * REQ]).await;
                    if w.is_err() {
                        return;
                    }
                }
                // Between requests (nothing half read): may move.
                if pending == 0 {
                    match conn.rebalance(stream).await {
                        Some(s) => stream = s,
                        None => return,
                    }
                }
            }
        })
    });
    // The clients: one thread, a tokio runtime, every connection made
    // first (idle); the heavy ones are 0, 2, 4, 6: where placement
    // alternates, all of them on one core.
    let warm = Duration::from_secs(1);
    let measure = Duration::from_secs_f64(secs);
    let (busy_tx, busy_rx) = std_mpsc::channel::<()>();
    let client = std::thread::spawn(move || {
        realtime();
        tokio_rt().block_on(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut conns = Vec::new();
            for _ in 0..HEAVY + LIGHT {
                let s = tokio::net::TcpStream::connect(addr).await.unwrap();
                s.set_nodelay(true).unwrap();
                conns.push(s);
            }
            let start = tokio::time::Instant::now() + Duration::from_millis(50);
            let from = start + warm;
            let until = from + measure;
            let mut tasks = Vec::new();
            for (i, mut s) in conns.into_iter().enumerate() {
                let heavy = i % 2 == 0 && i < 2 * HEAVY;
                let (count, every) = if heavy {
                    (HEAVY_BATCH, Duration::from_millis(1))
                } else {
                    (1, Duration::from_millis(10))
                };
                // Light ones spread over their period.
                let offset = Duration::from_micros((i as u64 * 163) % 10_000);
                tasks.push(tokio::spawn(async move {
                    let mut tick = tokio::time::interval_at(start + offset, every);
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    let req = vec![b'q'; count * REQ];
                    let mut back = vec![0u8; count * REQ];
                    let (mut lat, mut done) = (Vec::new(), 0u64);
                    loop {
                        let at = tick.tick().await;
                        if at >= until {
                            break;
                        }
                        // Timed from the send: tokio's timer wakes up to a
                        // millisecond late, which would swamp the figure.
                        let t = Instant::now();
                        s.write_all(&req).await.unwrap();
                        s.read_exact(&mut back).await.unwrap();
                        if at >= from {
                            if heavy {
                                done += count as u64;
                            } else {
                                lat.push(t.elapsed().as_nanos() as u64);
                            }
                        }
                    }
                    (lat, done)
                }));
            }
            tokio::time::sleep_until(from).await;
            busy_tx.send(()).unwrap();
            let (mut lat, mut done) = (Vec::new(), 0);
            for t in tasks {
                let (l, d) = t.await.unwrap();
                lat.extend(l);
                done += d;
            }
            (lat, done)
        })
    });
    busy_rx.recv().unwrap();
    let before = core_cpu();
    std::thread::sleep(measure);
    let after = core_cpu();
    let (mut light, heavy_done) = client.join().unwrap();
    let measured = measure;
    drain.start();
    let report = run.join().unwrap().unwrap();
    light.sort_unstable();
    let busy: Vec<f64> = before
        .iter()
        .zip(&after)
        .map(|(b, a)| a.saturating_sub(*b).as_secs_f64())
        .collect();
    let (max, min) = (
        busy.iter().cloned().fold(0.0, f64::max),
        busy.iter().cloned().fold(f64::MAX, f64::min),
    );
    SkewResult {
        busy_ratio: max / min.max(1e-9),
        light_p99_us: pct(&light, 0.99) as f64 / 1000.0,
        light_p50_us: pct(&light, 0.5) as f64 / 1000.0,
        heavy_rps: heavy_done as f64 / measured.as_secs_f64(),
        moved: report.moved,
    }
}

/// The load generator runs at real-time priority (`SCHED_FIFO`) where it
/// may: it then preempts the spinning server at once, so its own wait
/// for a CPU stays out of the latencies it measures. (It sleeps between
/// requests, so it never holds a CPU for long.)
fn realtime() {
    let param = libc::sched_param { sched_priority: 10 };
    // SAFETY: plain syscall on this thread with a valid sched_param.
    let ok = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) } == 0;
    if !ok {
        eprintln!("corebench: SCHED_FIFO refused; the client runs at normal priority");
    }
}

/// CPU time so far of each server core's thread (`rentio-core-N`), from
/// its `schedstat`: time on a CPU, so a client preempting a core does not
/// count as that core's work (the runtime's own busy time is wall time).
fn core_cpu() -> Vec<Duration> {
    let mut cores = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let dir = task.unwrap().path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        let Some(index) = comm.trim().strip_prefix("rentio-core-") else {
            continue;
        };
        let index: usize = index.parse().unwrap();
        let stat = std::fs::read_to_string(dir.join("schedstat")).unwrap();
        let ns: u64 = stat.split_whitespace().next().unwrap().parse().unwrap();
        if cores.len() <= index {
            cores.resize(index + 1, Duration::ZERO);
        }
        cores[index] = Duration::from_nanos(ns);
    }
    cores
}

fn skew_bench(o: &Options) -> String {
    let modes = [
        ("SO_REUSEPORT", Balance::ReusePort),
        ("dispatcher", Balance::LeastLoaded),
    ];
    let mut res: [Vec<SkewResult>; 2] = [Vec::new(), Vec::new()];
    for round in 0..o.rounds {
        for k in 0..2 {
            let who = (k + round) % 2;
            let r = skew_run(modes[who].1, o.secs);
            eprintln!(
                "corebench: skew round {} {:<13} busy max/min {:>5.2}  light p50 {:>7.1} µs p99 {:>8.1} µs  heavy {:>7.0} req/s  moved {}",
                round + 1,
                modes[who].0,
                r.busy_ratio,
                r.light_p50_us,
                r.light_p99_us,
                r.heavy_rps,
                r.moved
            );
            res[who].push(r);
        }
    }
    let mut out = format!(
        "### Skewed load on 2 cores\n\n\
         A server on 2 pinned cores spends {} µs of CPU per 8-byte request. {} heavy connections \
         send {} pipelined requests every ms each, {} light ones one request every 10 ms; all \
         connect before the load starts, and the heavy ones are the 1st, 3rd, 5th and 7th (where \
         placement alternates, all on one core). The clients (one tokio thread at `SCHED_FIFO` \
         priority, so its own wait for a CPU stays out of the latencies) share the two CPUs. Busy \
         time is the CPU time of each core's thread (its `schedstat`) over {} s, after 1 s of \
         warm-up; a light request's latency is timed from its send. Medians over {} \
         rounds, interleaved. Where `SO_REUSEPORT` puts the heavy connections is the kernel's \
         hash: some rounds split them 2:2 by luck.\n\n\
         | placement | busy max/min (median) | busy max/min (worst round) | light p50 | light p99 | heavy req/s | moves |\n\
         |---|---|---|---|---|---|---|\n",
        COST.as_micros(),
        HEAVY,
        HEAVY_BATCH,
        LIGHT,
        o.secs,
        o.rounds
    );
    for (i, (name, _)) in modes.iter().enumerate() {
        let m = |f: &dyn Fn(&SkewResult) -> f64| median(res[i].iter().map(f).collect());
        out += &format!(
            "| {} | {:.2} | {:.2} | {:.0} µs | {:.0} µs | {:.0} | {:.0} |\n",
            name,
            m(&|r| r.busy_ratio),
            res[i].iter().map(|r| r.busy_ratio).fold(0.0, f64::max),
            m(&|r| r.light_p50_us),
            m(&|r| r.light_p99_us),
            m(&|r| r.heavy_rps),
            m(&|r| r.moved as f64),
        );
    }
    out
}
