//! A client for the `echo` example: sends a stream of bytes and checks that
//! every byte comes back, writing and reading at the same time.
//!
//! Arguments: the server's address (default `127.0.0.1:50002`) and how
//! many bytes to send (default 1 MiB).
//!
//! ```sh
//! cargo run -p rentio-examples --example echo &
//! cargo run -p rentio-examples --example echo_client -- 127.0.0.1:50002 1048576
//! ```

use std::io;

use rentio::io::{AsyncReadRentExt, AsyncWriteRentExt};
use rentio::net::TcpStream;

#[rentio::main]
async fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:50002".to_string());
    let len: usize = match args.next() {
        Some(n) => n
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("length: {e}")))?,
        None => 1 << 20,
    };
    let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let stream = TcpStream::connect(addr.as_str()).await?;
    let (mut rd, mut wr) = stream.into_split();
    let expected = data.clone();
    let writer = rentio::spawn(async move {
        for chunk in data.chunks(64 * 1024) {
            let (n, _) = wr.write_all(chunk.to_vec()).await;
            n?;
        }
        Ok::<_, io::Error>(wr)
    });
    let (n, got) = rd.read_exact(Vec::with_capacity(len)).await;
    n?;
    writer
        .await
        .map_err(|e| io::Error::other(format!("writer: {e}")))??;
    if got != expected {
        let at = got.iter().zip(&expected).position(|(a, b)| a != b);
        return Err(io::Error::other(format!("the echo differs at byte {at:?}")));
    }
    println!("echoed {len} bytes byte for byte");
    Ok(())
}
