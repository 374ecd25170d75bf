//! A TCP forwarder: accepts on one address and pipes each connection to
//! another, both ways, until either side closes.
//!
//! Arguments: the listen address (default `127.0.0.1:50003`) and the
//! upstream address (default `127.0.0.1:50002`, the `echo` example).
//!
//! ```sh
//! cargo run -p rentio-examples --example echo &
//! cargo run -p rentio-examples --example proxy &
//! cargo run -p rentio-examples --example echo_client -- 127.0.0.1:50003 1048576
//! ```

use std::io;

use rentio::io::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt};
use rentio::net::{TcpListener, TcpStream};

#[rentio::main]
async fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:50003".to_string());
    let upstream = args.next().unwrap_or_else(|| "127.0.0.1:50002".to_string());
    let listener = TcpListener::bind(listen.as_str())?;
    println!("proxy on {} to {upstream}", listener.local_addr()?);
    loop {
        let (client, from) = listener.accept().await?;
        let upstream = upstream.clone();
        drop(rentio::spawn(async move {
            if let Err(e) = proxy(client, &upstream).await {
                println!("{from}: {e}");
            }
        }));
    }
}

async fn proxy(client: TcpStream, upstream: &str) -> io::Result<()> {
    let server = TcpStream::connect(upstream).await?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (client_rd, client_wr) = client.into_split();
    let (server_rd, server_wr) = server.into_split();
    let up = rentio::spawn(pipe(client_rd, server_wr));
    pipe(server_rd, client_wr).await?;
    up.await.map_err(|e| io::Error::other(e.to_string()))?
}

/// Copies until end of stream, then shuts the write side down.
async fn pipe(mut from: impl AsyncReadRent, mut to: impl AsyncWriteRent) -> io::Result<()> {
    let mut buf = Vec::with_capacity(16 * 1024);
    loop {
        buf.clear();
        let (n, b) = from.read(buf).await;
        if n? == 0 {
            return to.shutdown().await;
        }
        let (n, b) = to.write_all(b).await;
        n?;
        buf = b;
    }
}
