//! The benchmark server on rentio, one thread. Variant `uring` or `poll`
//! picks the backend (default: auto); in `hyper` mode, a `+copy` after it
//! (`uring+copy`) serves through the copy wrapper (`Compat`) instead of
//! the poll-io stream (`tokio_io`). `+batch` coalesces wake-ups
//! (`batch_wakeups(32, 200 µs)`), `+direct` registers every connection
//! as a direct descriptor. Variant `mshot` is io_uring with its
//! own features: the listener's multishot accept (every rentio listener
//! has it) and, per connection, a multishot receive into one shared
//! buffer ring (`recv_stream`); echo sends each ring buffer straight
//! back.

use std::io;

use hyper::service::service_fn;
use rentio::BackendChoice;
use rentio::compat::Compat;
use rentio::compat::hyper::serve_connection;
use rentio::io::{AsyncReadRent, AsyncWriteRentExt};
use rentio::net::{TcpListener, TcpStream};
use rentio_netbench::{Args, BUF_SIZE, Mode, answer_http, hello};

fn main() -> io::Result<()> {
    let args = Args::parse()?;
    let variant = args.variant.as_deref().unwrap_or("");
    // `backend[+copy][+batch][+direct]`.
    let mut parts = variant.split('+');
    let backend = parts.next().unwrap_or("");
    let flags: Vec<&str> = parts.collect();
    let copy = flags.contains(&"copy");
    let mut builder = rentio::Builder::new();
    let mshot = backend == "mshot";
    match backend {
        "uring" | "mshot" => builder.backend(BackendChoice::Uring),
        "poll" => builder.backend(BackendChoice::Poll),
        _ => &mut builder,
    };
    if flags.contains(&"batch") {
        // Coalesced wake-ups: a park waits for 32 completions, or 200 µs
        // for any.
        builder
            .driver()
            .batch_wakeups(32, std::time::Duration::from_micros(200));
    }
    let direct = flags.contains(&"direct");
    if direct {
        builder.driver().direct_descriptors(16 << 10);
    }
    let rt = builder.build()?;
    rt.block_on(async {
        let listener = TcpListener::bind(args.addr)?;
        // 512 buffers: a receive buffer only for connections with data in
        // hand, shared by all.
        // (Only the mshot variant uses it; the others hold an empty one.)
        let ring = rentio::net::BufRing::new(
            &rentio::current_driver()?,
            if mshot { 512 } else { 1 },
            if mshot { BUF_SIZE as u32 } else { 1 },
        )?;
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            if direct {
                stream.register_direct()?;
            }
            let ring = ring.clone();
            drop(rentio::spawn(async move {
                let _ = match args.mode {
                    Mode::Echo if mshot => echo_ring(stream, ring).await,
                    Mode::Http if mshot => http_ring(stream, ring).await,
                    Mode::Echo => echo(stream).await,
                    Mode::Http => http(stream).await,
                    Mode::Hyper if copy => serve_connection(Compat::new(stream), service_fn(hello))
                        .await
                        .map_err(io::Error::other),
                    Mode::Hyper => {
                        serve_connection(rentio::compat::tokio_io(stream), service_fn(hello))
                            .await
                            .map_err(io::Error::other)
                    }
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

/// Echo through the buffer ring: each arrival's buffer goes straight back
/// out, then back to the ring.
async fn echo_ring(stream: TcpStream, ring: rentio::net::BufRing) -> io::Result<()> {
    // Split: the receive stays armed while the write half sends.
    let (read, mut write) = stream.into_split();
    let mut arrivals = read.recv_stream(&ring);
    while let Some(buf) = arrivals.next().await {
        let (n, _) = write.write_all(buf?).await;
        n?;
    }
    Ok(())
}

/// HTTP through the buffer ring: arrivals are parsed from their buffers.
async fn http_ring(stream: TcpStream, ring: rentio::net::BufRing) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut arrivals = read.recv_stream(&ring);
    let mut input = Vec::with_capacity(BUF_SIZE);
    let mut out = Vec::with_capacity(BUF_SIZE);
    loop {
        match arrivals.next().await {
            Some(buf) => input.extend_from_slice(&buf?),
            None => return Ok(()),
        }
        answer_http(&mut input, &mut out);
        if !out.is_empty() {
            let (n, o) = write.write_all(out).await;
            n?;
            out = o;
            out.clear();
        }
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
