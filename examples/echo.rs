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
//! `RENTIO_DRIVER=uring` or `RENTIO_DRIVER=poll` picks the backend.

use rentio::io::{AsyncReadRent, AsyncWriteRentExt};
use rentio::net::TcpStream;
use rentio::net::serve::{Conn, Server};
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

async fn echo(mut stream: TcpStream, conn: Conn) {
    if let Ok(addr) = stream.peer_addr() {
        println!("accepted a connection from {addr}");
    }
    let mut buf: Vec<u8> = Vec::with_capacity(8 * 1024);
    let mut res;
    loop {
        // read, unless the server drains first
        let read = rentio_examples::or_draining(&conn, stream.read(buf)).await;
        let Some(read) = read else { return };
        (res, buf) = read;
        if !matches!(res, Ok(n) if n > 0) {
            return;
        }

        // write all
        (res, buf) = stream.write_all(buf).await;
        if res.is_err() {
            return;
        }

        // clear
        buf.clear();
    }
}
