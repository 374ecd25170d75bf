//! The file benchmark's worker: one runtime, one test, one figure.
//!
//! `fsbench RUNTIME TEST PATH [--qd N] [--secs S] [--mib M]`
//!
//! - RUNTIME: `rentio-uring`, `rentio-poll`, `tokio`, `monoio`, `compio`.
//! - TEST: `randread` (4 KiB reads at random 4 KiB-aligned offsets of the
//!   file PATH, N in flight, for S seconds), `seqwrite` (M MiB to PATH in
//!   1 MiB writes, then `sync_all`), `metadata` (`metadata` of the files
//!   `f0`… in the directory PATH, N in flight, for S seconds).
//!
//! It prints `ops=… secs=… cpu_secs=…` (the process's user and system
//! time, pool threads included).

use std::cell::Cell;
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

const BLOCK: usize = 4096;
const CHUNK: usize = 1 << 20;

struct Args {
    runtime: String,
    test: String,
    path: PathBuf,
    qd: usize,
    secs: f64,
    mib: usize,
    files: usize,
}

fn parse() -> io::Result<Args> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidInput, what.to_string());
    let mut it = std::env::args().skip(1);
    let usage = "usage: fsbench RUNTIME TEST PATH [--qd N] [--secs S] [--mib M] [--files N]";
    let runtime = it.next().ok_or_else(|| bad(usage))?;
    let test = it.next().ok_or_else(|| bad(usage))?;
    let path = PathBuf::from(it.next().ok_or_else(|| bad(usage))?);
    let mut args = Args {
        runtime,
        test,
        path,
        qd: 1,
        secs: 3.0,
        mib: 256,
        files: 10_000,
    };
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| bad("a flag needs a value"))?;
        let num = || value.parse::<f64>().map_err(|_| bad("a number"));
        match flag.as_str() {
            "--qd" => args.qd = (num()? as usize).max(1),
            "--secs" => args.secs = num()?,
            "--mib" => args.mib = num()? as usize,
            "--files" => args.files = num()? as usize,
            _ => return Err(bad("unknown flag")),
        }
    }
    Ok(args)
}

/// xorshift64*: a task's random block numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % below
    }
}

fn cpu_secs() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes one rusage into the pointer.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    // SAFETY: written above (zeroed before, in any case).
    let usage = unsafe { usage.assume_init() };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(usage.ru_utime) + t(usage.ru_stime)
}

/// What the runs share: the ops counted and the deadline.
struct Run {
    ops: Cell<u64>,
    deadline: Instant,
}

fn blocks(path: &Path) -> io::Result<u64> {
    Ok((std::fs::metadata(path)?.len() / BLOCK as u64).max(1))
}

fn name(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("f{i}"))
}

fn main() -> io::Result<()> {
    let args = parse()?;
    let cpu0 = cpu_secs();
    let start = Instant::now();
    let run = Rc::new(Run {
        ops: Cell::new(0),
        deadline: start + Duration::from_secs_f64(args.secs),
    });
    match args.runtime.as_str() {
        "rentio-uring" | "rentio-poll" => rentio_bench(&args, run.clone())?,
        "tokio" => tokio_bench(&args, run.clone())?,
        "monoio" => monoio_bench(&args, run.clone())?,
        "compio" => compio_bench(&args, run.clone())?,
        other => return Err(io::Error::other(format!("unknown runtime {other}"))),
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "ops={} secs={secs:.4} cpu_secs={:.4}",
        run.ops.get(),
        cpu_secs() - cpu0
    );
    Ok(())
}

fn rentio_bench(args: &Args, run: Rc<Run>) -> io::Result<()> {
    use rentio::BackendChoice;
    let mut builder = rentio::Builder::new();
    builder.backend(if args.runtime == "rentio-uring" {
        BackendChoice::Uring
    } else {
        BackendChoice::Poll
    });
    let rt = builder.build()?;
    rt.block_on(async {
        match args.test.as_str() {
            "randread" => {
                let file = Rc::new(rentio::fs::File::open(&args.path).await?);
                let blocks = blocks(&args.path)?;
                let tasks: Vec<_> = (0..args.qd)
                    .map(|t| {
                        let (file, run) = (file.clone(), run.clone());
                        rentio::spawn(async move {
                            let mut rng = Rng(0x9e37_79b9 + t as u64 * 7919);
                            let mut buf = Vec::with_capacity(BLOCK);
                            while Instant::now() < run.deadline {
                                buf.clear();
                                let pos = rng.next(blocks) * BLOCK as u64;
                                let (n, b) = file.read_at(buf, pos).await;
                                buf = b;
                                n?;
                                run.ops.set(run.ops.get() + 1);
                            }
                            Ok::<(), io::Error>(())
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.map_err(io::Error::other)??;
                }
            }
            "seqwrite" => {
                let file = rentio::fs::File::create(&args.path).await?;
                let mut chunk = vec![0xa5u8; CHUNK];
                for i in 0..args.mib {
                    let (n, c) = file.write_all_at(chunk, (i * CHUNK) as u64).await;
                    chunk = c;
                    n?;
                    run.ops.set(run.ops.get() + 1);
                }
                file.sync_all().await?;
                file.close().await?;
            }
            "metadata" => {
                let tasks: Vec<_> = (0..args.qd)
                    .map(|t| {
                        let (dir, run, files, qd) =
                            (args.path.clone(), run.clone(), args.files, args.qd);
                        rentio::spawn(async move {
                            let mut i = t;
                            while Instant::now() < run.deadline {
                                rentio::fs::metadata(name(&dir, i % files)).await?;
                                run.ops.set(run.ops.get() + 1);
                                i += qd;
                            }
                            Ok::<(), io::Error>(())
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.map_err(io::Error::other)??;
                }
            }
            other => return Err(io::Error::other(format!("unknown test {other}"))),
        }
        Ok(())
    })
}

/// tokio::fs as its users write it: a `tokio::fs::File` per task, a seek
/// and a read per block (each a trip to the blocking pool).
fn tokio_bench(args: &Args, run: Rc<Run>) -> io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        match args.test.as_str() {
            "randread" => {
                let blocks = blocks(&args.path)?;
                let tasks: Vec<_> = (0..args.qd)
                    .map(|t| {
                        let (path, run) = (args.path.clone(), run.clone());
                        tokio::task::spawn_local(async move {
                            let mut file = tokio::fs::File::open(&path).await?;
                            let mut rng = Rng(0x9e37_79b9 + t as u64 * 7919);
                            let mut buf = vec![0u8; BLOCK];
                            while Instant::now() < run.deadline {
                                let pos = rng.next(blocks) * BLOCK as u64;
                                file.seek(std::io::SeekFrom::Start(pos)).await?;
                                file.read_exact(&mut buf).await?;
                                run.ops.set(run.ops.get() + 1);
                            }
                            Ok::<(), io::Error>(())
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.map_err(io::Error::other)??;
                }
            }
            "seqwrite" => {
                let mut file = tokio::fs::File::create(&args.path).await?;
                let chunk = vec![0xa5u8; CHUNK];
                for _ in 0..args.mib {
                    file.write_all(&chunk).await?;
                    run.ops.set(run.ops.get() + 1);
                }
                file.flush().await?;
                file.sync_all().await?;
            }
            "metadata" => {
                let tasks: Vec<_> = (0..args.qd)
                    .map(|t| {
                        let (dir, run, files, qd) =
                            (args.path.clone(), run.clone(), args.files, args.qd);
                        tokio::task::spawn_local(async move {
                            let mut i = t;
                            while Instant::now() < run.deadline {
                                tokio::fs::metadata(name(&dir, i % files)).await?;
                                run.ops.set(run.ops.get() + 1);
                                i += qd;
                            }
                            Ok::<(), io::Error>(())
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.map_err(io::Error::other)??;
                }
            }
            other => return Err(io::Error::other(format!("unknown test {other}"))),
        }
        Ok(())
    })
}

fn monoio_bench(args: &Args, run: Rc<Run>) -> io::Result<()> {
    let mut rt = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
        .enable_timer()
        .build()?;
    rt.block_on(async {
        match args.test.as_str() {
            "randread" => {
                let file = Rc::new(monoio::fs::File::open(&args.path).await?);
                let blocks = blocks(&args.path)?;
                let tasks: Vec<_> = (0..args.qd)
                    .map(|t| {
                        let (file, run) = (file.clone(), run.clone());
                        monoio::spawn(async move {
                            let mut rng = Rng(0x9e37_79b9 + t as u64 * 7919);
                            let mut buf = vec![0u8; BLOCK];
                            while Instant::now() < run.deadline {
                                let pos = rng.next(blocks) * BLOCK as u64;
                                let (n, b) = file.read_at(buf, pos).await;
                                buf = b;
                                n?;
                                run.ops.set(run.ops.get() + 1);
                            }
                            Ok::<(), io::Error>(())
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await?;
                }
            }
            "seqwrite" => {
                let file = monoio::fs::File::create(&args.path).await?;
                let mut chunk = vec![0xa5u8; CHUNK];
                for i in 0..args.mib {
                    let (n, c) = file.write_all_at(chunk, (i * CHUNK) as u64).await;
                    chunk = c;
                    n?;
                    run.ops.set(run.ops.get() + 1);
                }
                file.sync_all().await?;
                file.close().await?;
            }
            "metadata" => {
                let tasks: Vec<_> = (0..args.qd)
                    .map(|t| {
                        let (dir, run, files, qd) =
                            (args.path.clone(), run.clone(), args.files, args.qd);
                        monoio::spawn(async move {
                            let mut i = t;
                            while Instant::now() < run.deadline {
                                monoio::fs::metadata(name(&dir, i % files)).await?;
                                run.ops.set(run.ops.get() + 1);
                                i += qd;
                            }
                            Ok::<(), io::Error>(())
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await?;
                }
            }
            other => return Err(io::Error::other(format!("unknown test {other}"))),
        }
        Ok(())
    })
}

fn compio_bench(args: &Args, run: Rc<Run>) -> io::Result<()> {
    use compio::io::{AsyncReadAt, AsyncWriteAtExt};
    let rt = compio::runtime::Runtime::new()?;
    rt.block_on(async {
        match args.test.as_str() {
            "randread" => {
                let file = Rc::new(compio::fs::File::open(&args.path).await?);
                let blocks = blocks(&args.path)?;
                let tasks: Vec<_> = (0..args.qd)
                    .map(|t| {
                        let (file, run) = (file.clone(), run.clone());
                        compio::runtime::spawn(async move {
                            let mut rng = Rng(0x9e37_79b9 + t as u64 * 7919);
                            let mut buf = Vec::with_capacity(BLOCK);
                            while Instant::now() < run.deadline {
                                buf.clear();
                                let pos = rng.next(blocks) * BLOCK as u64;
                                let compio::BufResult(n, b) = file.read_at(buf, pos).await;
                                buf = b;
                                n?;
                                run.ops.set(run.ops.get() + 1);
                            }
                            Ok::<(), io::Error>(())
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await
                        .map_err(|_| io::Error::other("a task panicked"))??;
                }
            }
            "seqwrite" => {
                let mut file = compio::fs::File::create(&args.path).await?;
                let mut chunk = vec![0xa5u8; CHUNK];
                for i in 0..args.mib {
                    let compio::BufResult(n, c) =
                        file.write_all_at(chunk, (i * CHUNK) as u64).await;
                    chunk = c;
                    n?;
                    run.ops.set(run.ops.get() + 1);
                }
                file.sync_all().await?;
                file.close().await?;
            }
            "metadata" => {
                let tasks: Vec<_> = (0..args.qd)
                    .map(|t| {
                        let (dir, run, files, qd) =
                            (args.path.clone(), run.clone(), args.files, args.qd);
                        compio::runtime::spawn(async move {
                            let mut i = t;
                            while Instant::now() < run.deadline {
                                compio::fs::metadata(name(&dir, i % files)).await?;
                                run.ops.set(run.ops.get() + 1);
                                i += qd;
                            }
                            Ok::<(), io::Error>(())
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await
                        .map_err(|_| io::Error::other("a task panicked"))??;
                }
            }
            other => return Err(io::Error::other(format!("unknown test {other}"))),
        }
        Ok(())
    })
}
