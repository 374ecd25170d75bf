//! The benchmark server on monoio, one thread. Variant `legacy` runs its
//! epoll driver; anything else its io_uring driver.

use std::io;

use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::{TcpListener, TcpStream};
use rentio_netbench::{Args, BUF_SIZE, Mode, answer_http};

fn main() -> io::Result<()> {
    let args = Args::parse()?;
    if args.variant.as_deref() == Some("legacy") {
        monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
            .build()?
            .block_on(serve(args))
    } else {
        monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
            .build()?
            .block_on(serve(args))
    }
}

async fn serve(args: Args) -> io::Result<()> {
    let listener = TcpListener::bind(args.addr)?;
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        drop(monoio::spawn(async move {
            let _ = match args.mode {
                Mode::Echo => echo(stream).await,
                Mode::Http => http(stream).await,
            };
        }));
    }
}

async fn echo(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = Vec::with_capacity(BUF_SIZE);
    loop {
        let (n, b) = stream.read(buf).await;
        if n? == 0 {
            return Ok(());
        }
        let (n, mut b) = stream.write_all(b).await;
        n?;
        b.clear();
        buf = b;
    }
}

async fn http(mut stream: TcpStream) -> io::Result<()> {
    let mut input: Vec<u8> = Vec::with_capacity(BUF_SIZE);
    let mut out = Vec::with_capacity(BUF_SIZE);
    let mut chunk = Vec::with_capacity(BUF_SIZE);
    loop {
        // monoio reads replace the buffer's contents: read into a chunk
        // and append what came.
        chunk.clear();
        let (n, c) = stream.read(chunk).await;
        chunk = c;
        if n? == 0 {
            return Ok(());
        }
        input.extend_from_slice(&chunk);
        answer_http(&mut input, &mut out);
        if !out.is_empty() {
            let (n, mut o) = stream.write_all(out).await;
            n?;
            o.clear();
            out = o;
        }
    }
}
