//! The echo server of monoio's README, on rentio: every byte a client
//! sends comes back.
//!
//! It listens on `127.0.0.1:50002` unless given an address (port 0 picks a
//! free one) and prints the address it listens on.
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
use rentio::net::{TcpListener, TcpStream};

#[rentio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:50002".to_string());
    let listener = TcpListener::bind(addr.as_str())?;
    println!(
        "listening on {} ({} backend)",
        listener.local_addr()?,
        rentio::current_driver()?.backend()
    );
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                println!("accepted a connection from {addr}");
                drop(rentio::spawn(echo(stream)));
            }
            Err(e) => {
                println!("accepting a connection failed: {e}");
                return Err(e);
            }
        }
    }
}

async fn echo(mut stream: TcpStream) -> std::io::Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(8 * 1024);
    let mut res;
    loop {
        // read
        (res, buf) = stream.read(buf).await;
        if res? == 0 {
            return Ok(());
        }

        // write all
        (res, buf) = stream.write_all(buf).await;
        res?;

        // clear
        buf.clear();
    }
}
