//! The echo server of monoio's README, on rentio: every byte a client
//! sends comes back.
//!
//! It listens on `127.0.0.1:50002` unless given an address (port 0 picks a
//! free one) and prints the address it listens on. Ctrl-C (SIGINT) or
//! SIGTERM drains it: it stops accepting and closes its listener at once
//! (a restart can bind the port right away), gives live connections 5 s
//! (`ECHO_GRACE_MS` to change), cancels the rest, prints the counts and
//! exits with status 0.
//!
//! Run and exercise it:
//!
//! ```sh
//! cargo run -p rentio-examples --example echo
//! # in another shell (all your input is echoed):
//! nc 127.0.0.1 50002
//! # or a 1 MiB stream checked byte for byte:
//! cargo run -p rentio-examples --example echo_client -- 127.0.0.1:50002 1048576
//! ```
//!
//! `RENTIO_DRIVER=uring` or `RENTIO_DRIVER=poll` picks the backend. It
//! receives into a buffer ring (`recv_stream`), the fastest of rentio's
//! echo servers in `cargo xtask bench` and the leanest per idle
//! connection.

use std::cell::OnceCell;

use rentio::io::AsyncWriteRentExt;
use rentio::net::serve::{Conn, Server};
use rentio::net::{BufRing, TcpStream};
use rentio::tpc::Launcher;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:50002".to_string());
    // One core: the single-threaded echo server of monoio's README.
    let server = Server::bind(addr.as_str())?
        .launcher(Launcher::new().threads(1).pin(false))
        .grace(rentio_examples::grace_from_env("ECHO_GRACE_MS"))
        .drain_on_signals(true);
    println!("listening on {}", server.local_addr());
    let report = server.run(echo)?;
    rentio_examples::print_report(&report);
    Ok(())
}

thread_local! {
    /// The core's buffer ring, shared by its connections.
    static RING: OnceCell<BufRing> = const { OnceCell::new() };
}

/// The core's buffer ring: 256 buffers of 8 KiB. On io_uring the kernel
/// takes one only when data arrives (an idle connection holds none); on
/// readiness it is a user-space pool.
fn ring() -> std::io::Result<BufRing> {
    RING.with(|cell| {
        if let Some(ring) = cell.get() {
            return Ok(ring.clone());
        }
        let ring = BufRing::new(&rentio::current_driver()?, 256, 8 * 1024)?;
        Ok(cell.get_or_init(|| ring).clone())
    })
}

/// Echo through the buffer ring (the benchmark's winner,
/// `rentio-uring-mshot`): one multishot receive stays armed, and each
/// arrival's buffer goes straight back out, then back to the ring.
async fn echo(stream: TcpStream, conn: Conn) {
    if let Ok(addr) = stream.peer_addr() {
        println!("accepted a connection from {addr}");
    }
    let Ok(ring) = ring() else { return };
    // Split: the receive stays armed while the write half sends.
    let (read, mut write) = stream.into_split();
    let mut arrivals = read.recv_stream(&ring);
    loop {
        // the next arrival, unless the server drains first (`next` is
        // cancel safe: nothing is lost to the drain's wake-up)
        let Some(Some(Ok(buf))) = rentio_examples::or_draining(&conn, arrivals.next()).await else {
            return;
        };
        // write it all; dropping the buffer gives it back to the ring
        let (res, _buf) = write.write_all(buf).await;
        if res.is_err() {
            return;
        }
    }
}
