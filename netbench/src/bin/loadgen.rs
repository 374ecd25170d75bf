//! The load generator: not built on any runtime under test. Each thread
//! runs its own epoll loop over its share of the connections, keeps
//! `depth` messages in flight on each (1: ping-pong; more: pipelined),
//! verifies every byte that comes back, and records each message's
//! round-trip latency during the measured window (after a warm-up).
//! `http` expects the fixed response of the hand-written servers byte for
//! byte; `hyper` parses each response (hyper's headers carry the date) and
//! checks its status and body.
//!
//! ```text
//! loadgen <addr> <echo|http|hyper> [--conns C] [--size S] [--depth D]
//!         [--threads T] [--warmup SECS] [--duration SECS] [--server-pid PID]
//! ```
//!
//! It prints one line of `key=value` pairs: `requests`, `rps`, `p50_us`,
//! `p99_us`, `p999_us`, `errors`, and with `--server-pid` the server's CPU
//! time per request, `cpu_ns_per_req` (from `/proc/<pid>/stat`).

use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use rentio_netbench::{HYPER_REQUEST, REQUEST, RESPONSE, parse_response};

/// What the load generator sends and expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Echo,
    Http,
    Hyper,
}

#[derive(Clone, Debug)]
struct Config {
    addr: SocketAddr,
    mode: Mode,
    conns: usize,
    size: usize,
    depth: usize,
    threads: usize,
    warmup: Duration,
    duration: Duration,
    server_pid: Option<u32>,
}

fn parse() -> io::Result<Config> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidInput, what.to_string());
    let mut args = std::env::args().skip(1);
    let addr = args
        .next()
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| bad("usage: loadgen <addr> <echo|http|hyper> [options]"))?;
    let mode = match args.next().as_deref() {
        Some("echo") => Mode::Echo,
        Some("http") => Mode::Http,
        Some("hyper") => Mode::Hyper,
        _ => return Err(bad("mode: echo, http or hyper")),
    };
    let mut c = Config {
        addr,
        mode,
        conns: 16,
        size: 128,
        depth: 1,
        threads: 1,
        warmup: Duration::from_secs(1),
        duration: Duration::from_secs(5),
        server_pid: None,
    };
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| bad("a flag needs a value"))?;
        let num = || value.parse::<f64>().map_err(|_| bad("a number"));
        match flag.as_str() {
            "--conns" => c.conns = num()? as usize,
            "--size" => c.size = num()? as usize,
            "--depth" => c.depth = num()? as usize,
            "--threads" => c.threads = num()? as usize,
            "--warmup" => c.warmup = Duration::from_secs_f64(num()?),
            "--duration" => c.duration = Duration::from_secs_f64(num()?),
            "--server-pid" => c.server_pid = Some(num()? as u32),
            _ => return Err(bad("unknown flag")),
        }
    }
    if c.conns == 0 || c.size == 0 || c.depth == 0 || c.threads == 0 {
        return Err(bad("conns, size, depth and threads must be positive"));
    }
    Ok(c)
}

/// Byte `i` of message `seq` on a connection: differs along the message
/// and from one message to the next, so a lost, repeated or reordered byte
/// is caught.
fn pattern(seq: u64, i: usize) -> u8 {
    (seq.wrapping_mul(31).wrapping_add(i as u64) % 251) as u8
}

struct Conn {
    stream: TcpStream,
    /// Bytes queued to send, and how many of them are sent.
    out: Vec<u8>,
    out_off: usize,
    /// Send times of messages in flight, oldest first.
    sent: VecDeque<Instant>,
    /// The next message to send and to receive, and the offset reached in
    /// the one being received.
    send_seq: u64,
    recv_seq: u64,
    recv_off: usize,
    /// `hyper`: what came of a response not yet complete.
    input: Vec<u8>,
    want_write: bool,
}

struct Stats {
    done: u64,
    latencies: Vec<u32>,
    errors: u64,
}

fn message(cfg: &Config, seq: u64, out: &mut Vec<u8>) {
    match cfg.mode {
        Mode::Echo => out.extend((0..cfg.size).map(|i| pattern(seq, i))),
        Mode::Http => out.extend_from_slice(REQUEST),
        Mode::Hyper => out.extend_from_slice(HYPER_REQUEST),
    }
}

fn epoll_ctl(ep: i32, op: i32, fd: i32, events: u32, token: u64) -> io::Result<()> {
    let mut ev = libc::epoll_event { events, u64: token };
    // SAFETY: `ev` is a valid epoll_event for the call.
    if unsafe { libc::epoll_ctl(ep, op, fd, &raw mut ev) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sends what is queued; `Ok(false)` if the socket is full.
fn flush(conn: &mut Conn) -> io::Result<bool> {
    while conn.out_off < conn.out.len() {
        let rest = &conn.out[conn.out_off..];
        // SAFETY: `rest` is a live slice for the call.
        let n = unsafe {
            libc::send(
                conn.stream.as_raw_fd(),
                rest.as_ptr().cast(),
                rest.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::WouldBlock {
                return Ok(false);
            }
            return Err(e);
        }
        conn.out_off += n as usize;
    }
    conn.out.clear();
    conn.out_off = 0;
    Ok(true)
}

fn run_thread(cfg: Config, conns: usize, start: Instant) -> io::Result<Stats> {
    let measure_from = start + cfg.warmup;
    let end = measure_from + cfg.duration;
    // SAFETY: plain syscall.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if ep < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut list = Vec::with_capacity(conns);
    for i in 0..conns {
        let stream = TcpStream::connect(cfg.addr)?;
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        epoll_ctl(
            ep,
            libc::EPOLL_CTL_ADD,
            stream.as_raw_fd(),
            libc::EPOLLIN as u32,
            i as u64,
        )?;
        list.push(Conn {
            stream,
            out: Vec::new(),
            out_off: 0,
            sent: VecDeque::with_capacity(cfg.depth),
            send_seq: 0,
            recv_seq: 0,
            recv_off: 0,
            input: Vec::new(),
            want_write: false,
        });
    }
    let mut stats = Stats {
        done: 0,
        latencies: Vec::with_capacity(1 << 20),
        errors: 0,
    };
    let now = Instant::now();
    for conn in &mut list {
        for _ in 0..cfg.depth {
            message(&cfg, conn.send_seq, &mut conn.out);
            conn.send_seq += 1;
            conn.sent.push_back(now);
        }
        flush(conn)?;
    }
    let unit = if cfg.mode == Mode::Http {
        RESPONSE.len()
    } else {
        cfg.size
    };
    let mut buf = vec![0u8; 256 * 1024];
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        let wait_ms = (end - now).as_millis().clamp(1, 100) as i32;
        // SAFETY: `events` has room for its length.
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, wait_ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for ev in &events[..n as usize] {
            let conn = &mut list[ev.u64 as usize];
            if ev.events & libc::EPOLLOUT as u32 != 0 && flush(conn)? && conn.want_write {
                conn.want_write = false;
                epoll_ctl(
                    ep,
                    libc::EPOLL_CTL_MOD,
                    conn.stream.as_raw_fd(),
                    libc::EPOLLIN as u32,
                    ev.u64,
                )?;
            }
            if ev.events & (libc::EPOLLIN | libc::EPOLLHUP | libc::EPOLLERR) as u32 == 0 {
                continue;
            }
            // SAFETY: `buf` is a live buffer of its length.
            let got = unsafe {
                libc::recv(
                    conn.stream.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    0,
                )
            };
            if got < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::WouldBlock {
                    continue;
                }
                return Err(e);
            }
            if got == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed a connection",
                ));
            }
            let now = Instant::now();
            let mut completed = 0;
            let mut complete = |conn: &mut Conn| {
                conn.recv_seq += 1;
                completed += 1;
                let sent = conn.sent.pop_front().unwrap_or(now);
                if now >= measure_from {
                    stats.done += 1;
                    let us = (now - sent).as_nanos() / 100;
                    stats.latencies.push(u32::try_from(us).unwrap_or(u32::MAX));
                }
            };
            if cfg.mode == Mode::Hyper {
                conn.input.extend_from_slice(&buf[..got as usize]);
                let mut start = 0;
                while let Some(len) =
                    parse_response(&conn.input[start..]).map_err(io::Error::other)?
                {
                    start += len;
                    complete(conn);
                }
                conn.input.drain(..start);
            } else {
                for &b in &buf[..got as usize] {
                    let want = if cfg.mode == Mode::Http {
                        RESPONSE[conn.recv_off]
                    } else {
                        pattern(conn.recv_seq, conn.recv_off)
                    };
                    if b != want {
                        stats.errors += 1;
                    }
                    conn.recv_off += 1;
                    if conn.recv_off == unit {
                        conn.recv_off = 0;
                        complete(conn);
                    }
                }
            }
            for _ in 0..completed {
                message(&cfg, conn.send_seq, &mut conn.out);
                conn.send_seq += 1;
                conn.sent.push_back(now);
            }
            if completed > 0 && !flush(conn)? && !conn.want_write {
                conn.want_write = true;
                epoll_ctl(
                    ep,
                    libc::EPOLL_CTL_MOD,
                    conn.stream.as_raw_fd(),
                    (libc::EPOLLIN | libc::EPOLLOUT) as u32,
                    ev.u64,
                )?;
            }
        }
    }
    // SAFETY: `ep` is ours and closed once.
    unsafe { libc::close(ep) };
    Ok(stats)
}

/// The process's user + system CPU time, from `/proc/<pid>/stat`.
fn cpu_time(pid: u32) -> io::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the `(comm)` field; utime and stime are fields 14 and 15.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| io::Error::other("bad /proc stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> io::Result<u64> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| io::Error::other("bad /proc stat field"))
    };
    // `rest` starts at field 3 (state), so field 14 is index 11.
    let total = ticks(11)? + ticks(12)?;
    // SAFETY: plain sysconf query.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Ok(Duration::from_nanos(total * 1_000_000_000 / hz))
}

fn main() -> io::Result<()> {
    let cfg = parse()?;
    let start = Instant::now();
    let mut handles = Vec::new();
    for t in 0..cfg.threads {
        let share = cfg.conns / cfg.threads + usize::from(t < cfg.conns % cfg.threads);
        if share == 0 {
            continue;
        }
        let cfg = cfg.clone();
        handles.push(std::thread::spawn(move || run_thread(cfg, share, start)));
    }
    let mut cpu = None;
    if let Some(pid) = cfg.server_pid {
        std::thread::sleep((start + cfg.warmup).saturating_duration_since(Instant::now()));
        let before = cpu_time(pid)?;
        std::thread::sleep(
            (start + cfg.warmup + cfg.duration).saturating_duration_since(Instant::now()),
        );
        cpu = Some(cpu_time(pid)?.saturating_sub(before));
    }
    let mut done = 0;
    let mut errors = 0;
    let mut lat = Vec::new();
    for h in handles {
        let stats = h
            .join()
            .map_err(|_| io::Error::other("a load thread panicked"))??;
        done += stats.done;
        errors += stats.errors;
        lat.extend(stats.latencies);
    }
    lat.sort_unstable();
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return 0.0;
        }
        let i = ((lat.len() as f64 * p) as usize).min(lat.len() - 1);
        f64::from(lat[i]) / 10.0
    };
    let rps = done as f64 / cfg.duration.as_secs_f64();
    let mut line = format!(
        "requests={done} rps={rps:.0} p50_us={:.1} p99_us={:.1} p999_us={:.1} errors={errors}",
        pct(0.50),
        pct(0.99),
        pct(0.999)
    );
    if let Some(cpu) = cpu {
        let per = if done > 0 {
            cpu.as_nanos() as f64 / done as f64
        } else {
            0.0
        };
        line.push_str(&format!(" cpu_ns_per_req={per:.0}"));
    }
    println!("{line}");
    if errors > 0 {
        return Err(io::Error::other(format!("{errors} bytes came back wrong")));
    }
    Ok(())
}
