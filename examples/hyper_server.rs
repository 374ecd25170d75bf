//! hyper on rentio, on every core: HTTP/1.1 and HTTP/2 (prior knowledge)
//! on one port. One runtime and one `SO_REUSEPORT` listener per core;
//! each connection is served by `rentio::compat::hyper::serve_connection`
//! over the zero-copy poll-io path. `GET /` answers a hello; `POST /echo`
//! streams the request body back as it comes.
//!
//! It takes the address as its first argument (`127.0.0.1:0` picks a free
//! port; the default is `127.0.0.1:50080`) and prints the address it
//! listens on. Ctrl-C or SIGTERM drains it: hyper finishes the requests in
//! progress (5 s at most, `HYPER_GRACE_MS` to change), then it prints the
//! counts and exits with status 0.
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

use http_body_util::{Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use rentio::net::serve::Server;

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:50080".to_string());
    let server = Server::bind(addr.as_str())?
        .grace(rentio_examples::grace_from_env("HYPER_GRACE_MS"))
        .drain_on_signals(true);
    println!("listening on {}", server.local_addr());
    let report = server.run(|stream, conn| async move {
        let _ = stream.set_nodelay(true);
        let io = rentio::compat::tokio_io(stream);
        // On a drain hyper finishes the requests in progress, then closes.
        let served =
            rentio::compat::hyper::serve_connection_until(io, service_fn(handle), conn.draining());
        if let Err(e) = served.await {
            eprintln!("connection: {e}");
        }
    })?;
    rentio_examples::print_report(&report);
    Ok(())
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
