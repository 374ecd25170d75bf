//! The echo server on every core: one runtime and one listener per core,
//! all bound to the same port with `SO_REUSEPORT`, so the kernel spreads
//! connections across cores. Started by the thread-per-core launcher
//! (each thread pinned to its CPU).
//!
//! It listens on `127.0.0.1:50004` unless given an address.
//!
//! ```sh
//! cargo run -p rentio-examples --example echo_tpc
//! cargo run -p rentio-examples --example echo_client -- 127.0.0.1:50004 1048576
//! ```

use std::io;
use std::net::SocketAddr;

use rentio::io::{AsyncReadRent, AsyncWriteRentExt};
use rentio::net::TcpStream;

fn main() -> io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:50004".to_string())
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("address: {e}")))?;
    let addr = rentio_examples::fixed_port(addr)?;
    let results = rentio::tpc::Launcher::new().run(move |core| async move {
        if let Err(e) = serve(core.index, addr).await {
            eprintln!("core {} (cpu {}): {e}", core.index, core.cpu);
        }
    });
    for (core, result) in results.into_iter().enumerate() {
        if let Err(e) = result {
            eprintln!("core {core} failed: {e:?}");
        }
    }
    Ok(())
}

async fn serve(core: usize, addr: SocketAddr) -> io::Result<()> {
    let listener = rentio_examples::reuseport_listener(addr)?;
    println!("core {core} listening on {}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        drop(rentio::spawn(echo(stream)));
    }
}

async fn echo(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = Vec::with_capacity(8 * 1024);
    loop {
        buf.clear();
        let (n, b) = stream.read(buf).await;
        if n? == 0 {
            return Ok(());
        }
        let (n, b) = stream.write_all(b).await;
        n?;
        buf = b;
    }
}
