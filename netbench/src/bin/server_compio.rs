//! The benchmark server on compio (io_uring), one thread.

use std::io;

use compio::BufResult;
use compio::io::{AsyncRead, AsyncWriteExt};
use compio::net::{TcpListener, TcpStream};
use rentio_netbench::{Args, BUF_SIZE, Mode, answer_http};

fn main() -> io::Result<()> {
    let args = Args::parse()?;
    if args.mode == Mode::Hyper {
        return Err(io::Error::other("the hyper bench has no compio server"));
    }
    let rt = compio::runtime::Runtime::new()?;
    rt.block_on(async {
        let listener = TcpListener::bind(args.addr).await?;
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            compio::runtime::spawn(async move {
                let _ = match args.mode {
                    Mode::Echo => echo(stream).await,
                    Mode::Http => http(stream).await,
                    Mode::Hyper => Err(io::Error::other("no hyper server on compio")),
                };
            })
            .detach();
        }
    })
}

async fn echo(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = Vec::with_capacity(BUF_SIZE);
    loop {
        buf.clear();
        let BufResult(n, b) = stream.read(buf).await;
        if n? == 0 {
            return Ok(());
        }
        let BufResult(n, b) = stream.write_all(b).await;
        n?;
        buf = b;
    }
}

async fn http(mut stream: TcpStream) -> io::Result<()> {
    let mut input: Vec<u8> = Vec::with_capacity(BUF_SIZE);
    let mut out = Vec::with_capacity(BUF_SIZE);
    let mut chunk = Vec::with_capacity(BUF_SIZE);
    loop {
        chunk.clear();
        let BufResult(n, c) = stream.read(chunk).await;
        chunk = c;
        if n? == 0 {
            return Ok(());
        }
        input.extend_from_slice(&chunk);
        answer_http(&mut input, &mut out);
        if !out.is_empty() {
            let BufResult(n, mut o) = stream.write_all(out).await;
            n?;
            o.clear();
            out = o;
        }
    }
}
