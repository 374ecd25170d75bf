//! The benchmark server on tokio's `current_thread` runtime.

use std::io;

use rentio_netbench::{Args, BUF_SIZE, Mode, answer_http};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn main() -> io::Result<()> {
    let args = Args::parse()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
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
