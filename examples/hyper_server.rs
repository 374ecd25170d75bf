//! hyper on rentio, on every core: HTTP/1.1 and HTTP/2 (prior knowledge)
//! on one port. One runtime and one `SO_REUSEPORT` listener per core;
//! each connection is served by `rentio::compat::hyper::serve_connection`
//! over the zero-copy poll-io path. `GET /` answers a hello; `POST /echo`
//! streams the request body back as it comes.
//!
//! It takes the address as its first argument (`127.0.0.1:0` picks a free
//! port; the default is `127.0.0.1:50080`) and prints the address it
//! listens on.
//!
//! ```sh
//! cargo run -p rentio-examples --example hyper_server -- 127.0.0.1:50080
//! curl http://127.0.0.1:50080/
//! curl --http2-prior-knowledge http://127.0.0.1:50080/
//! curl --data-binary @Cargo.toml http://127.0.0.1:50080/echo
//! curl --http2-prior-knowledge --data-binary @Cargo.toml http://127.0.0.1:50080/echo
//! ```

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;

use http_body_util::{Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Method, Request, Response};

fn main() -> io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:50080".to_string())
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("address: {e}")))?;
    // Every core binds the same port: pick a free one first.
    let addr = rentio_examples::fixed_port(addr)?;
    println!("listening on {addr}");
    let results = rentio::tpc::Launcher::new().run(move |core| async move {
        if let Err(e) = serve(addr).await {
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

async fn serve(addr: SocketAddr) -> io::Result<()> {
    let listener = rentio_examples::reuseport_listener(addr)?;
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        rentio::spawn(async move {
            let io = rentio::compat::tokio_io(stream);
            if let Err(e) = rentio::compat::hyper::serve_connection(io, service_fn(handle)).await {
                eprintln!("connection: {e}");
            }
        });
    }
}

type Body = Either<Full<Bytes>, Incoming>;

async fn handle(request: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    Ok(match (request.method(), request.uri().path()) {
        (&Method::POST, "/echo") => Response::new(Either::Right(request.into_body())),
        (&Method::GET, "/") => Response::new(Either::Left(Full::new(Bytes::from_static(
            b"hello from rentio\n",
        )))),
        _ => {
            let mut response =
                Response::new(Either::Left(Full::new(Bytes::from_static(b"not found\n"))));
            *response.status_mut() = hyper::StatusCode::NOT_FOUND;
            response
        }
    })
}
