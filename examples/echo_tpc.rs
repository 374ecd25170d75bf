//! The echo server on every core: one runtime and one listener per core,
//! all bound to the same port with `SO_REUSEPORT`, so the kernel spreads
//! connections across cores (or, with `--least-loaded`, core 0 places
//! each connection on the least loaded core). Started by the
//! thread-per-core launcher (each thread pinned to its CPU), through
//! `rentio::net::serve::Server`.
//!
//! It listens on `127.0.0.1:50004` unless given an address. Ctrl-C or
//! SIGTERM drains every core (5 s for live connections, `ECHO_GRACE_MS`
//! to change), prints the counts and exits with status 0.
//!
//! ```sh
//! cargo run -p rentio-examples --example echo_tpc
//! cargo run -p rentio-examples --example echo_client -- 127.0.0.1:50004 1048576
//! ```

use std::io;

use rentio::io::{AsyncReadRent, AsyncWriteRentExt};
use rentio::net::TcpStream;
use rentio::net::serve::{Balance, Conn, Server};

fn main() -> io::Result<()> {
    let mut addr = "127.0.0.1:50004".to_string();
    let mut balance = Balance::ReusePort;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--least-loaded" => balance = Balance::LeastLoaded,
            _ => addr = arg,
        }
    }
    let server = Server::bind(addr.as_str())?
        .balance(balance)
        .grace(rentio_examples::grace_from_env("ECHO_GRACE_MS"))
        .drain_on_signals(true);
    println!("listening on {} ({balance:?})", server.local_addr());
    let report = server.run(echo)?;
    rentio_examples::print_report(&report);
    Ok(())
}

async fn echo(mut stream: TcpStream, mut conn: Conn) {
    let mut buf = Vec::with_capacity(8 * 1024);
    loop {
        buf.clear();
        let Some((n, b)) = rentio_examples::or_draining(&conn, stream.read(buf)).await else {
            return;
        };
        if !matches!(n, Ok(n) if n > 0) {
            return;
        }
        let (n, b) = stream.write_all(b).await;
        if n.is_err() {
            return;
        }
        buf = b;
        // Between requests: move off a core that stays overloaded.
        match conn.rebalance(stream).await {
            Some(s) => stream = s,
            None => return,
        }
    }
}
