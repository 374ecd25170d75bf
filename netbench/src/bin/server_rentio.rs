//! The benchmark server on rentio, one thread. Variant `uring` or `poll`
//! picks the backend (default: auto).

use std::io;

use rentio::BackendChoice;
use rentio::io::{AsyncReadRent, AsyncWriteRentExt};
use rentio::net::{TcpListener, TcpStream};
use rentio_netbench::{Args, BUF_SIZE, Mode, answer_http};

fn main() -> io::Result<()> {
    let args = Args::parse()?;
    let mut builder = rentio::Builder::new();
    match args.variant.as_deref() {
        Some("uring") => builder.backend(BackendChoice::Uring),
        Some("poll") => builder.backend(BackendChoice::Poll),
        _ => &mut builder,
    };
    let rt = builder.build()?;
    rt.block_on(async {
        let listener = TcpListener::bind(args.addr)?;
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            drop(rentio::spawn(async move {
                let _ = match args.mode {
                    Mode::Echo => echo(stream).await,
                    Mode::Http => http(stream).await,
                };
            }));
        }
    })
}

async fn echo(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = Vec::with_capacity(BUF_SIZE);
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

async fn http(mut stream: TcpStream) -> io::Result<()> {
    let mut input = Vec::with_capacity(BUF_SIZE);
    let mut out = Vec::with_capacity(BUF_SIZE);
    loop {
        if input.capacity() - input.len() < 1024 {
            input.reserve(BUF_SIZE);
        }
        let (n, i) = stream.read(input).await;
        input = i;
        if n? == 0 {
            return Ok(());
        }
        answer_http(&mut input, &mut out);
        if !out.is_empty() {
            let (n, o) = stream.write_all(out).await;
            n?;
            out = o;
            out.clear();
        }
    }
}
