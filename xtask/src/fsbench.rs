//! `cargo xtask bench fs`: the file benchmark. Builds `fsbench` (in
//! rentio-netbench) once in release, then runs every contender on every
//! point, rounds interleaved with the order rotated, and writes the `fs`
//! block of BENCHMARKS.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

pub(crate) const USAGE: &str = "\
usage: cargo xtask bench fs [options]

4 KiB random reads of a page-cached 512 MiB file (1 and 32 in flight),
1 MiB sequential writes then sync_all, and metadata of 10,000 files (32
in flight), on rentio (io_uring, and readiness with its blocking pool),
tokio::fs (current_thread), monoio and compio, with fio's io_uring engine
as the limit for the reads (Debian's fio, installed with apt-get if
missing). Rounds are interleaved, the order rotated each round; the
tables go into BENCHMARKS.md's fs block.

options:
  --quick        2 rounds of 1 s
  --rounds N     rounds per point (5)
  --secs S       seconds per run (3)
  --dir D        where the files go ($TMPDIR/rentio-fsbench)
  --out F        the tables (BENCHMARKS.md)
  -h, --help     this text
";

const CONTENDERS: [&str; 6] = [
    "rentio-uring",
    "rentio-poll",
    "tokio",
    "monoio",
    "compio",
    "fio",
];
const DATA_MIB: u64 = 512;
const WRITE_MIB: u64 = 256;
const FILES: usize = 10_000;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Test {
    ReadQd1,
    ReadQd32,
    Write,
    Metadata,
}

impl Test {
    const ALL: [Test; 4] = [Test::ReadQd1, Test::ReadQd32, Test::Write, Test::Metadata];

    fn label(self) -> &'static str {
        match self {
            Test::ReadQd1 => "4 KiB random reads, page-cached, 1 in flight",
            Test::ReadQd32 => "4 KiB random reads, page-cached, 32 in flight",
            Test::Write => "1 MiB sequential writes (256 MiB), then sync_all",
            Test::Metadata => "metadata of 10,000 files, 32 in flight",
        }
    }

    /// What one op is, for the table's head.
    fn unit(self) -> &'static str {
        match self {
            Test::Write => "MiB/s",
            _ => "ops/s",
        }
    }

    fn runs(self, contender: &str) -> bool {
        contender != "fio" || matches!(self, Test::ReadQd1 | Test::ReadQd32)
    }
}

struct Options {
    rounds: usize,
    secs: f64,
    dir: PathBuf,
    out: String,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        rounds: 5,
        secs: 3.0,
        dir: std::env::temp_dir().join("rentio-fsbench"),
        out: "BENCHMARKS.md".into(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--quick" => {
                o.rounds = 2;
                o.secs = 1.0;
            }
            "--rounds" => o.rounds = value()?.parse().map_err(|_| "--rounds: a number")?,
            "--secs" => o.secs = value()?.parse().map_err(|_| "--secs: a number")?,
            "--dir" => o.dir = PathBuf::from(value()?),
            "--out" => o.out = value()?.clone(),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    Ok(o)
}

/// One run's figures: ops (or MiB) per second, and CPU ns per op.
#[derive(Clone, Copy, Debug)]
struct Sample {
    rate: f64,
    cpu_ns: f64,
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    ensure_fio()?;
    super::run(
        "fsbench build",
        super::cargo(&[
            "build",
            "--release",
            "-p",
            "rentio-netbench",
            "--bin",
            "fsbench",
        ]),
    )?;
    let bin = super::target_dir()?.join("release").join("fsbench");
    prepare(&o.dir)?;
    let started = Instant::now();
    let mut results: BTreeMap<(Test, &str), Vec<Sample>> = BTreeMap::new();
    for test in Test::ALL {
        let contenders: Vec<&str> = CONTENDERS
            .iter()
            .copied()
            .filter(|c| test.runs(c))
            .collect();
        // One run thrown away: the first run of a test pays for what the
        // last test left (the page cache, the journal), whoever it is.
        measure(&o, &bin, test, contenders[0])?;
        for round in 0..o.rounds {
            for k in 0..contenders.len() {
                let who = contenders[(k + round) % contenders.len()];
                let sample = measure(&o, &bin, test, who)?;
                eprintln!(
                    "xtask: {:<48} round {} {:<13} {:>11.0} {}  {:>7.0} ns cpu/op",
                    test.label(),
                    round + 1,
                    who,
                    sample.rate,
                    test.unit(),
                    sample.cpu_ns
                );
                results.entry((test, who)).or_default().push(sample);
            }
        }
    }
    let block = report(&o, &results, started.elapsed().as_secs_f64());
    println!("{block}");
    let old = std::fs::read_to_string(&o.out).unwrap_or_default();
    let text = super::netbench::merge_block(&old, "fs", &block);
    std::fs::write(&o.out, text).map_err(|e| format!("writing {}: {e}", o.out))?;
    eprintln!("xtask: wrote {}", o.out);
    Ok(())
}

/// The 512 MiB data file and the 10,000 small files, made once.
fn prepare(dir: &Path) -> Result<(), String> {
    let err = |e: std::io::Error| format!("{}: {e}", dir.display());
    std::fs::create_dir_all(dir.join("meta")).map_err(err)?;
    let data = dir.join("data");
    if std::fs::metadata(&data).map_or(true, |m| m.len() != DATA_MIB << 20) {
        eprintln!("xtask: writing {}", data.display());
        let mut chunk = vec![0u8; 1 << 20];
        let mut file = std::fs::File::create(&data).map_err(err)?;
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..DATA_MIB {
            for b in chunk.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            std::io::Write::write_all(&mut file, &chunk).map_err(err)?;
        }
    }
    for i in 0..FILES {
        let path = dir.join("meta").join(format!("f{i}"));
        if !path.exists() {
            std::fs::write(path, b"x").map_err(err)?;
        }
    }
    Ok(())
}

/// Reads the data file through, so the reads find it in the page cache.
fn warm(path: &Path) -> Result<(), String> {
    let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    std::io::copy(&mut file, &mut std::io::sink()).map_err(|e| e.to_string())?;
    Ok(())
}

fn measure(o: &Options, bin: &Path, test: Test, who: &str) -> Result<Sample, String> {
    let data = o.dir.join("data");
    if who == "fio" {
        warm(&data)?;
        let qd = if test == Test::ReadQd1 { 1 } else { 32 };
        return fio(&data, qd, o.secs);
    }
    let secs = format!("{}", o.secs);
    let mut cmd = Command::new(bin);
    cmd.arg(who);
    match test {
        Test::ReadQd1 | Test::ReadQd32 => {
            warm(&data)?;
            let qd = if test == Test::ReadQd1 { "1" } else { "32" };
            cmd.args(["randread"])
                .arg(&data)
                .args(["--qd", qd, "--secs", &secs]);
        }
        Test::Write => {
            let out = o.dir.join("written");
            let _ = std::fs::remove_file(&out);
            cmd.args(["seqwrite"])
                .arg(&out)
                .args(["--mib", &WRITE_MIB.to_string()]);
        }
        Test::Metadata => {
            cmd.args(["metadata"])
                .arg(o.dir.join("meta"))
                .args(["--qd", "32", "--secs", &secs]);
        }
    }
    let output = cmd
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("fsbench: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "fsbench {who} {test:?} failed ({}): {text}",
            output.status
        ));
    }
    let field = |name: &str| -> Option<f64> {
        text.split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .and_then(|v| v.parse().ok())
    };
    let (Some(ops), Some(secs), Some(cpu)) = (field("ops="), field("secs="), field("cpu_secs="))
    else {
        return Err(format!("fsbench {who}: unexpected output: {text}"));
    };
    if test == Test::Write {
        let _ = std::fs::remove_file(o.dir.join("written"));
    }
    Ok(Sample {
        rate: ops / secs,
        cpu_ns: cpu * 1e9 / ops.max(1.0),
    })
}

/// fio's io_uring engine on the same reads: its IOPS and CPU per IO.
fn fio(data: &Path, qd: usize, secs: f64) -> Result<Sample, String> {
    let output = Command::new("fio")
        .args([
            "--name=randread",
            "--rw=randread",
            "--bs=4k",
            "--ioengine=io_uring",
        ])
        .arg(format!("--filename={}", data.display()))
        .arg(format!("--iodepth={qd}"))
        .arg(format!("--runtime={secs}"))
        .args([
            "--time_based",
            "--size=512m",
            // fio drops the file from the page cache first unless told not to.
            "--invalidate=0",
            "--output-format=json",
        ])
        .output()
        .map_err(|e| format!("fio: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!("fio failed ({}): {text}", output.status));
    }
    parse_fio(&text).ok_or_else(|| format!("fio: unexpected output: {text}"))
}

/// IOPS, and CPU ns per IO from the job's `usr_cpu`/`sys_cpu` percentages
/// and its `runtime` (ms), out of fio's JSON.
fn parse_fio(json: &str) -> Option<Sample> {
    let number = |key: &str, from: &str| -> Option<f64> {
        let at = from.find(&format!("\"{key}\""))?;
        let rest = from[at + key.len() + 2..].trim_start().strip_prefix(':')?;
        let end = rest.find([',', '\n', '}'])?;
        rest[..end].trim().parse().ok()
    };
    let read = &json[json.find("\"read\"")?..];
    let iops = number("iops", read)?;
    let runtime_ms = number("runtime", read)?;
    let usr = number("usr_cpu", json)?;
    let sys = number("sys_cpu", json)?;
    let ios = iops * runtime_ms / 1000.0;
    Some(Sample {
        rate: iops,
        cpu_ns: (usr + sys) / 100.0 * runtime_ms * 1e6 / ios.max(1.0),
    })
}

/// Makes sure `fio` runs, installing Debian's `fio` with apt-get when it
/// does not.
fn ensure_fio() -> Result<(), String> {
    super::netbench::ensure_tool("fio", "fio", "the fs set needs fio (Debian's fio package)")
}

fn median_min_max(v: &[f64]) -> (f64, f64, f64) {
    super::netbench::stats(v.iter().copied())
}

fn report(o: &Options, results: &BTreeMap<(Test, &str), Vec<Sample>>, took: f64) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "<!-- xtask bench fs -->\n");
    let _ = writeln!(
        s,
        "`cargo xtask bench fs` ({} rounds, {} s per run after a discarded warm-up run per test, contenders interleaved with the order \
         rotated each round; the whole run took {took:.0} s). Machine: {}; the files are on \
         `{}`. Figures are medians with min–max; each ratio is of medians, measured side by \
         side in this run. CPU per op is the process's user and system time (its pool threads \
         and io_uring's workers included) over the ops.\n",
        o.rounds,
        o.secs,
        super::netbench::machine(),
        o.dir.display()
    );
    let _ = writeln!(
        s,
        "rentio-uring is rentio on io_uring; rentio-poll is rentio's readiness backend, where \
         file calls go to its blocking pool; tokio is `tokio::fs` as its users write it on a \
         `current_thread` runtime (a `File` per task, `seek` then `read_exact`: two trips to \
         the blocking pool per read); monoio and compio use their own `File::read_at`, \
         `write_all_at` and `metadata` on io_uring; fio is `fio --ioengine=io_uring` on the \
         same file (`--invalidate=0`, so it reads from the page cache too), the limit.\n"
    );
    for test in Test::ALL {
        let _ = writeln!(s, "## {}\n", test.label());
        let _ = writeln!(
            s,
            "| runtime | {} (min–max) | ×tokio::fs | ×monoio | ×compio | ×fio | CPU ns/op (min–max) |",
            test.unit()
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|---|");
        let median = |who: &str| {
            results
                .get(&(test, who))
                .map(|v| median_min_max(&v.iter().map(|x| x.rate).collect::<Vec<_>>()).0)
        };
        let ratio = |mine: f64, of: &str| match median(of) {
            Some(base) if base > 0.0 => format!("{:.2}", mine / base),
            _ => "–".into(),
        };
        for who in CONTENDERS {
            let Some(samples) = results.get(&(test, who)) else {
                continue;
            };
            let rates: Vec<f64> = samples.iter().map(|x| x.rate).collect();
            let cpus: Vec<f64> = samples.iter().map(|x| x.cpu_ns).collect();
            let (rm, rlo, rhi) = median_min_max(&rates);
            let (cm, clo, chi) = median_min_max(&cpus);
            let _ = writeln!(
                s,
                "| {who} | {rm:.0} ({rlo:.0}–{rhi:.0}) | {} | {} | {} | {} | {cm:.0} ({clo:.0}–{chi:.0}) |",
                ratio(rm, "tokio"),
                ratio(rm, "monoio"),
                ratio(rm, "compio"),
                ratio(rm, "fio"),
            );
        }
        s.push('\n');
    }
    let _ = writeln!(s, "<!-- end xtask bench fs -->");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fio_json() {
        let json = r#"{"jobs":[{"jobname":"randread","read":{"io_bytes":1,"iops":500000.5,"runtime":2000,"bw":1},"write":{"iops":0,"runtime":0},"usr_cpu":20.0,"sys_cpu":80.0}]}"#;
        let s = parse_fio(json).unwrap();
        assert!((s.rate - 500000.5).abs() < 1e-6);
        // 2 s of one CPU over 1,000,001 IOs.
        assert!((s.cpu_ns - 2e9 / 1_000_001.0).abs() < 1.0, "{}", s.cpu_ns);
    }
}
