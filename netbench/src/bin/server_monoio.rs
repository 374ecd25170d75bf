//! The benchmark server on monoio, one thread. Variant `legacy` runs its
//! epoll driver; anything else its io_uring driver. In `hyper` mode it
//! serves [`hello`] with `monoio-compat`'s executor and timer, over its
//! copy wrapper (`TcpStreamCompat`), or with variant `pollio` over
//! monoio's poll-io stream (`MonoioIo`).

use std::io;

use hyper::service::service_fn;
use monoio::io::{AsyncReadRent, AsyncWriteRentExt, IntoPollIo};
use monoio::net::{TcpListener, TcpStream};
use monoio_compat::TcpStreamCompat;
use monoio_compat::hyper::{MonoioExecutor, MonoioIo, MonoioTimer};
use rentio_netbench::{Args, BUF_SIZE, Mode, answer_http, hello};

fn main() -> io::Result<()> {
    let args = Args::parse()?;
    // hyper needs a timer; the hand-written servers run without one.
    let timer = args.mode == Mode::Hyper;
    let legacy = args.variant.as_deref() == Some("legacy");
    if legacy && timer {
        monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
            .enable_timer()
            .build()?
            .block_on(serve(args))
    } else if legacy {
        monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
            .build()?
            .block_on(serve(args))
    } else if timer {
        monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
            .enable_timer()
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
    let pollio = args.variant.as_deref() == Some("pollio");
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        drop(monoio::spawn(async move {
            let _ = match args.mode {
                Mode::Echo => echo(stream).await,
                Mode::Http => http(stream).await,
                Mode::Hyper => serve_hyper(stream, pollio).await,
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

async fn serve_hyper(stream: TcpStream, pollio: bool) -> io::Result<()> {
    let mut builder = hyper_util::server::conn::auto::Builder::new(MonoioExecutor);
    builder.http1().timer(MonoioTimer);
    builder.http2().timer(MonoioTimer);
    let served = if pollio {
        let io = MonoioIo::new(stream.into_poll_io()?);
        builder.serve_connection(io, service_fn(hello)).await
    } else {
        let io = hyper_util::rt::TokioIo::new(TcpStreamCompat::new(stream));
        builder.serve_connection(io, service_fn(hello)).await
    };
    served.map_err(io::Error::other)
}
