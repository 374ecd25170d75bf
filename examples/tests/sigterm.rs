//! The echo example drains on SIGTERM: its port is free before it exits
//! (a bind right after `wait` succeeds, 20 times out of 20 on io_uring),
//! a live connection is drained, and it exits with status 0 having
//! printed the counts. Runs the example binary that `cargo test` builds.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/sigterm-… → target/<profile>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: `cargo test -p rentio-examples` builds it",
        path.display()
    );
    path
}

/// Kills the example if the test fails before it exits.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One run: start, echo on a connection left open, SIGTERM, wait, bind.
fn once(driver: &str) {
    let mut running = Running(
        Command::new(example("echo"))
            .arg("127.0.0.1:0")
            .env("RENTIO_DRIVER", driver)
            .env("ECHO_GRACE_MS", "2000")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let child = &mut running.0;
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let addr: SocketAddr = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .parse()
        .unwrap();
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    conn.write_all(b"ping").unwrap();
    let mut back = [0; 4];
    conn.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"ping");
    // SAFETY: kill(2) with the child's pid and a signal number.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let status = child.wait().unwrap();
    // Right after `wait`: the port is free (SO_REUSEADDR, as a restarted
    // server binds; without the drain, the ring's armed accept keeps the
    // listener alive past the process).
    let again = rentio::net::TcpSocket::new_v4().unwrap();
    again.set_reuseaddr(true).unwrap();
    let bound = again.bind(addr);
    assert!(
        bound.is_ok(),
        "{driver}: the port is still taken after exit: {bound:?}"
    );
    drop(again.listen(16).unwrap());
    assert!(status.success(), "{driver}: {status}");
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(
        rest.contains("1 connections accepted, 1 finished during the drain, 0 cancelled"),
        "{driver}: {rest}"
    );
    // The drained connection was closed by the server.
    let mut tail = Vec::new();
    assert_eq!(conn.read_to_end(&mut tail).unwrap(), 0);
}

#[test]
fn echo_frees_its_port_before_it_exits_on_sigterm() {
    let uring_works = rentio::Runtime::builder()
        .backend(rentio::driver::BackendChoice::Uring)
        .build()
        .is_ok();
    if uring_works {
        for _ in 0..20 {
            once("uring");
        }
    } else {
        eprintln!("skipped on io_uring: the ring cannot be set up here");
    }
    for _ in 0..3 {
        once("poll");
    }
}
