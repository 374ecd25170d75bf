//! hyper on rentio, through both compat paths (poll-io and copy) and on
//! both backends: an HTTP/1.1 server and client with keep-alive, 1,000
//! sequential requests on one connection and a 1 MiB chunked body echoed
//! byte for byte; HTTP/2 with prior knowledge, 100 concurrent streams on
//! one connection, 1 MiB each way (flow-control windows are 64 KiB by
//! default, so every stream waits on them).

#![allow(clippy::unwrap_used)]

mod support;

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use rentio_compat::hyper::{HyperExecutor, serve_connection};
use rentio_compat::{Compat, tokio_io};
use rentio_net::{TcpListener, TcpStream};
use support::{each_backend, pattern};

/// Which compat path both ends use.
#[derive(Clone, Copy, Debug)]
enum Path {
    PollIo,
    Copy,
}

type Io = Pin<Box<dyn IoStream>>;

trait IoStream: tokio::io::AsyncRead + tokio::io::AsyncWrite {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite> IoStream for T {}

fn wrap(stream: TcpStream, path: Path) -> Io {
    // As HTTP servers and clients do: no Nagle delay on small writes.
    stream.set_nodelay(true).unwrap();
    match path {
        Path::PollIo => Box::pin(tokio_io(stream)),
        Path::Copy => Box::pin(Compat::new(stream)),
    }
}

/// `GET /` answers "hello"; `POST /echo` streams the request body back.
async fn handle(request: Request<Incoming>) -> Result<Response<EchoBody>, Infallible> {
    Ok(match (request.method(), request.uri().path()) {
        (&Method::POST, "/echo") => Response::new(EchoBody::Incoming(request.into_body())),
        _ => Response::new(EchoBody::Full(Full::new(Bytes::from_static(b"hello")))),
    })
}

/// The server's body: a fixed reply, or the request body streamed back.
enum EchoBody {
    Full(Full<Bytes>),
    Incoming(Incoming),
}

impl Body for EchoBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            EchoBody::Full(full) => Pin::new(full).poll_frame(cx).map_err(|e| match e {}),
            EchoBody::Incoming(incoming) => Pin::new(incoming).poll_frame(cx),
        }
    }
}

/// A body of 64 KiB chunks with no length: HTTP/1.1 sends it chunked.
struct Chunks(Vec<Bytes>);

impl Chunks {
    fn of(data: &[u8]) -> Chunks {
        Chunks(
            data.chunks(64 * 1024)
                .rev()
                .map(Bytes::copy_from_slice)
                .collect(),
        )
    }
}

impl Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().0.pop().map(|chunk| Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        // Empty: no body at all; else unknown, so HTTP/1.1 chunks it.
        if self.0.is_empty() {
            hyper::body::SizeHint::with_exact(0)
        } else {
            hyper::body::SizeHint::default()
        }
    }
}

/// A server task for one connection, on `path`; its address.
fn server(path: Path) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let _accept = rentio_executor::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        serve_connection(wrap(stream, path), service_fn(handle))
            .await
            .unwrap();
    });
    addr
}

#[test]
fn http1_keep_alive_and_a_chunked_echo() {
    each_backend(|| async {
        for path in [Path::PollIo, Path::Copy] {
            let addr = server(path);
            let stream = TcpStream::connect(&addr).await.unwrap();
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(wrap(stream, path)))
                    .await
                    .unwrap();
            let _conn = rentio_executor::spawn(conn);
            for i in 0..1000 {
                let request = Request::get("/").body(Chunks(Vec::new())).unwrap();
                let response = sender.send_request(request).await.unwrap();
                let body = response.into_body().collect().await.unwrap().to_bytes();
                assert_eq!(&body[..], b"hello", "{path:?}: request {i}");
            }
            let data = pattern(1 << 20);
            let request = Request::post("/echo").body(Chunks::of(&data)).unwrap();
            let response = sender.send_request(request).await.unwrap();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body.len(), data.len(), "{path:?}");
            assert!(body == data, "{path:?}: the echo differs");
        }
    });
}

#[test]
fn http2_hundred_streams_of_a_mebibyte_each_way() {
    each_backend(|| async {
        for path in [Path::PollIo, Path::Copy] {
            let addr = server(path);
            let stream = TcpStream::connect(&addr).await.unwrap();
            let (sender, conn) = hyper::client::conn::http2::handshake(
                HyperExecutor,
                TokioIo::new(wrap(stream, path)),
            )
            .await
            .unwrap();
            let _conn = rentio_executor::spawn(conn);
            let data = Bytes::from(pattern(1 << 20));
            let mut streams = Vec::new();
            for i in 0..100 {
                let mut sender = sender.clone();
                let data = data.clone();
                streams.push(rentio_executor::spawn(async move {
                    let request = Request::post("/echo")
                        .body(Full::new(data.clone()))
                        .unwrap();
                    let response = sender.send_request(request).await.unwrap();
                    let body = response.into_body().collect().await.unwrap().to_bytes();
                    assert!(body == data, "stream {i}: the echo differs");
                }));
            }
            for stream in streams {
                stream.await.unwrap();
            }
        }
    });
}
