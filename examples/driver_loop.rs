//! A hand-written event loop on `rentio-driver` alone: no executor, no
//! futures polled by a runtime — just ops pushed, ticks of the driver, and
//! results taken when their keys come back ready.
//!
//! It reads a file (the first argument, default this example's own source),
//! prints its size, then listens on an address (the second argument, default
//! `127.0.0.1:50001`; use port 0 for any) and echoes one TCP connection until
//! the peer closes it.
//!
//! Run and exercise it:
//!
//! ```sh
//! cargo run -p rentio-examples --example driver_loop
//! # in another shell:
//! printf 'hello\n' | nc -N 127.0.0.1 50001
//! ```
//!
//! `RENTIO_DRIVER=poll` runs it on the readiness backend.

use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, OwnedFd};

use rentio_driver::op::{Accept, Close, OpenAt, Read, Recv, Send};
use rentio_driver::{Driver, Key, Op};

/// Where the echo connection stands.
enum Conn {
    Accepting(Op<Accept>),
    Receiving(OwnedFd, Op<Recv<Vec<u8>>>),
    Sending(OwnedFd, Op<Send<rentio_driver::buf::Slice<Vec<u8>>>>),
    Closing(Op<Close>),
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/driver_loop.rs").into());
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:50001".into());

    let driver = Driver::new()?;
    match driver.fallback_reason() {
        Some(why) => println!("backend: {} (fell back: {why})", driver.backend()),
        None => println!(
            "backend: {} (setup flags {:?})",
            driver.backend(),
            driver.setup_flags()
        ),
    }

    // 1. Read the whole file with open + reads at offsets.
    let file = run(
        &driver,
        driver.submit(OpenAt::new(&path, libc::O_RDONLY, 0)?)?,
    )??;
    let mut contents = Vec::new();
    loop {
        let buf = Vec::with_capacity(64 << 10);
        let offset = contents.len() as u64;
        let (n, buf) = run(
            &driver,
            driver.submit(Read::at(file.as_raw_fd(), buf, offset))?,
        )?;
        if n? == 0 {
            break;
        }
        contents.extend_from_slice(&buf);
    }
    run(&driver, driver.submit(Close::new(file))?)??;
    println!("read {} bytes from {path}", contents.len());

    // 2. Echo one connection.
    let listener = TcpListener::bind(&addr)?;
    println!("echoing one connection on {}", listener.local_addr()?);
    let mut conn = Conn::Accepting(driver.submit(Accept::new(listener.as_raw_fd()))?);
    let mut ready: Vec<Key> = Vec::new();
    let mut echoed = 0usize;
    loop {
        driver.poll(None)?;
        ready.clear();
        driver.take_ready(&mut ready);
        conn = match conn {
            Conn::Accepting(mut op) => match op.try_complete() {
                None => Conn::Accepting(op),
                Some(accepted) => {
                    let (fd, peer) = accepted?;
                    println!("accepted {peer:?}");
                    let recv =
                        driver.submit(Recv::new(fd.as_raw_fd(), Vec::with_capacity(4096)))?;
                    Conn::Receiving(fd, recv)
                }
            },
            Conn::Receiving(fd, mut op) => match op.try_complete() {
                None => Conn::Receiving(fd, op),
                Some((n, buf)) => match n? {
                    0 => Conn::Closing(driver.submit(Close::new(fd))?),
                    _ => {
                        let send = driver.submit(Send::new(
                            fd.as_raw_fd(),
                            rentio_driver::buf::IoBuf::slice(buf, ..),
                        ))?;
                        Conn::Sending(fd, send)
                    }
                },
            },
            Conn::Sending(fd, mut op) => match op.try_complete() {
                None => Conn::Sending(fd, op),
                Some((n, slice)) => {
                    let n = n?;
                    echoed += n;
                    let (begin, buf) = (slice.begin() + n, slice.into_inner());
                    let raw = fd.as_raw_fd();
                    if begin < buf.len() {
                        let rest = rentio_driver::buf::IoBuf::slice(buf, begin..);
                        Conn::Sending(fd, driver.submit(Send::new(raw, rest))?)
                    } else {
                        let mut buf = buf;
                        buf.clear();
                        Conn::Receiving(fd, driver.submit(Recv::new(raw, buf))?)
                    }
                }
            },
            Conn::Closing(mut op) => match op.try_complete() {
                None => Conn::Closing(op),
                Some(result) => {
                    result?;
                    println!("peer closed; echoed {echoed} bytes");
                    return Ok(());
                }
            },
        };
    }
}

/// Ticks the driver until `op` finishes.
fn run<T: rentio_driver::OpCode>(driver: &Driver, mut op: Op<T>) -> io::Result<T::Output> {
    loop {
        if let Some(out) = op.try_complete() {
            return Ok(out);
        }
        driver.poll(None)?;
    }
}
