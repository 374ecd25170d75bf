//! The benchmark server on tokio's `current_thread` runtime. In `hyper`
//! mode it serves [`hello`] through hyper-util's auto builder with
//! `TokioIo`, `TokioExecutor` and `TokioTimer`, as a tokio user would.

use std::io;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rentio_netbench::{Args, BUF_SIZE, Mode, answer_http, hello};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn main() -> io::Result<()> {
    let args = Args::parse()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    rt.block_on(async {
        let listener = TcpListener::bind(args.addr).await?;
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            drop(tokio::spawn(async move {
                let _ = match args.mode {
                    Mode::Echo => echo(stream).await,
                    Mode::Http => http(stream).await,
                    Mode::Hyper => serve_hyper(stream).await,
                };
            }));
        }
    })
}

async fn echo(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = vec![0u8; BUF_SIZE];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

async fn http(mut stream: TcpStream) -> io::Result<()> {
    let mut input = Vec::with_capacity(BUF_SIZE);
    let mut out = Vec::with_capacity(BUF_SIZE);
    loop {
        if input.capacity() - input.len() < 1024 {
            input.reserve(BUF_SIZE);
        }
        let n = stream.read_buf(&mut input).await?;
        if n == 0 {
            return Ok(());
        }
        answer_http(&mut input, &mut out);
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
    }
}

async fn serve_hyper(stream: TcpStream) -> io::Result<()> {
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new());
    builder.http2().timer(TokioTimer::new());
    builder
        .serve_connection(TokioIo::new(stream), service_fn(hello))
        .await
        .map_err(io::Error::other)
}
