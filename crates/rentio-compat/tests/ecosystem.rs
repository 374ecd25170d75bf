//! The tokio ecosystem on rentio, through both compat paths (poll-io and
//! copy) and on both backends: tokio-util's `Framed` with
//! `LengthDelimitedCodec` (10,000 frames each way), tokio-rustls TLS 1.3
//! (a certificate made here with rcgen, rustls's ring provider: a
//! handshake and a 4 MiB echo, then HTTP/2 over TLS chosen by ALPN), and
//! an axum `Router` (GET and a JSON POST) served through hyper-util and
//! called by a hyper client.

#![allow(clippy::unwrap_used)]

mod support;

use std::pin::Pin;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Empty, Full};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rentio_compat::hyper::{HyperExecutor, serve_connection};
use rentio_compat::{Compat, tokio_io};
use rentio_net::{TcpListener, TcpStream, UnixStream};
use support::{each_backend, pattern};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;
use tokio_util::codec::{FramedRead, FramedWrite, LengthDelimitedCodec};

/// Which compat path the test's streams use.
#[derive(Clone, Copy, Debug)]
enum Path {
    PollIo,
    Copy,
}

const PATHS: [Path; 2] = [Path::PollIo, Path::Copy];

type Io = Pin<Box<dyn IoStream>>;

trait IoStream: tokio::io::AsyncRead + tokio::io::AsyncWrite {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite> IoStream for T {}

fn wrap<S>(stream: S, path: Path) -> Io
where
    S: rentio_compat::IntoPollIo + rentio_net::Split + 'static,
    rentio_net::OwnedReadHalf<S>: rentio_io::AsyncReadRent,
    rentio_net::OwnedWriteHalf<S>: rentio_io::AsyncWriteRent,
{
    match path {
        Path::PollIo => Box::pin(tokio_io(stream)),
        Path::Copy => Box::pin(Compat::new(stream)),
    }
}

/// A TCP connection on `path`, with no Nagle delay (both ends).
async fn connection(path: Path) -> (Io, Io) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = TcpStream::connect(&addr).await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    client.set_nodelay(true).unwrap();
    server.set_nodelay(true).unwrap();
    (wrap(client, path), wrap(server, path))
}

#[test]
fn framed_length_delimited_ten_thousand_frames_each_way() {
    each_backend(|| async {
        for path in PATHS {
            let (a, b) = UnixStream::pair().unwrap();
            let (ar, aw) = tokio::io::split(wrap(a, path));
            let (br, bw) = tokio::io::split(wrap(b, path));
            let mut senders = Vec::new();
            for (w, tag) in [(aw, b'a'), (bw, b'b')] {
                senders.push(rentio_executor::spawn(async move {
                    let mut sink = FramedWrite::new(w, LengthDelimitedCodec::new());
                    for i in 0..10_000u32 {
                        let mut frame = vec![tag; (i % 97) as usize];
                        frame.extend_from_slice(&i.to_be_bytes());
                        sink.feed(Bytes::from(frame)).await.unwrap();
                    }
                    SinkExt::<Bytes>::flush(&mut sink).await.unwrap();
                    SinkExt::<Bytes>::close(&mut sink).await.unwrap();
                }));
            }
            for (r, tag) in [(br, b'a'), (ar, b'b')] {
                let mut frames = FramedRead::new(r, LengthDelimitedCodec::new());
                let mut i = 0u32;
                while let Some(frame) = frames.next().await {
                    let frame = frame.unwrap();
                    let (body, n) = frame.split_at(frame.len() - 4);
                    assert_eq!(u32::from_be_bytes(n.try_into().unwrap()), i, "{path:?}");
                    assert!(body.len() == (i % 97) as usize && body.iter().all(|&c| c == tag));
                    i += 1;
                }
                assert_eq!(i, 10_000, "{path:?}: frames lost");
            }
            for sender in senders {
                sender.await.unwrap();
            }
        }
    });
}

/// A server and a client TLS 1.3 config around a certificate for
/// `localhost` made now, both offering `alpn`.
fn tls_configs(alpn: &[&[u8]]) -> (Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = certified.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let mut server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    server.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let mut client = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    (Arc::new(server), Arc::new(client))
}

fn localhost() -> rustls::pki_types::ServerName<'static> {
    rustls::pki_types::ServerName::try_from("localhost").unwrap()
}

#[test]
fn tls13_handshake_and_a_four_mebibyte_echo() {
    each_backend(|| async {
        for path in PATHS {
            let (server_config, client_config) = tls_configs(&[]);
            let (client, server) = connection(path).await;
            let acceptor = tokio_rustls::TlsAcceptor::from(server_config);
            let echo = rentio_executor::spawn(async move {
                let tls = acceptor.accept(server).await.unwrap();
                let (mut r, mut w) = tokio::io::split(tls);
                tokio::io::copy(&mut r, &mut w).await.unwrap();
                w.shutdown().await.unwrap();
            });
            let connector = tokio_rustls::TlsConnector::from(client_config);
            let tls = connector.connect(localhost(), client).await.unwrap();
            assert_eq!(
                tls.get_ref().1.protocol_version(),
                Some(rustls::ProtocolVersion::TLSv1_3)
            );
            let (mut r, mut w) = tokio::io::split(tls);
            let data = pattern(4 << 20);
            let sent = data.clone();
            let writer = rentio_executor::spawn(async move {
                w.write_all(&sent).await.unwrap();
                w.shutdown().await.unwrap();
            });
            let mut got = Vec::new();
            r.read_to_end(&mut got).await.unwrap();
            writer.await.unwrap();
            echo.await.unwrap();
            assert!(got == data, "{path:?}: the TLS echo differs");
        }
    });
}

#[test]
fn http2_over_tls_by_alpn() {
    each_backend(|| async {
        for path in PATHS {
            let (server_config, client_config) = tls_configs(&[b"h2", b"http/1.1"]);
            let (client, server) = connection(path).await;
            let acceptor = tokio_rustls::TlsAcceptor::from(server_config);
            let _server = rentio_executor::spawn(async move {
                let tls = acceptor.accept(server).await.unwrap();
                assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
                let hello = hyper::service::service_fn(|_: Request<hyper::body::Incoming>| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                        Bytes::from_static(b"hello over h2"),
                    )))
                });
                serve_connection(tls, hello).await.unwrap();
            });
            let connector = tokio_rustls::TlsConnector::from(client_config);
            let tls = connector.connect(localhost(), client).await.unwrap();
            assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
            let (mut sender, conn) =
                hyper::client::conn::http2::handshake(HyperExecutor, TokioIo::new(tls))
                    .await
                    .unwrap();
            let _conn = rentio_executor::spawn(conn);
            let request = Request::get("https://localhost/")
                .body(Empty::<Bytes>::new())
                .unwrap();
            let response = sender.send_request(request).await.unwrap();
            assert_eq!(response.version(), hyper::Version::HTTP_2);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"hello over h2", "{path:?}");
        }
    });
}

#[test]
fn axum_router_get_and_json_post() {
    use axum::routing::{get, post};
    each_backend(|| async {
        for path in PATHS {
            let router = axum::Router::new()
                .route("/", get(|| async { "hello from axum" }))
                .route(
                    "/add",
                    post(|axum::Json(v): axum::Json<serde_json::Value>| async move {
                        let n = v["n"].as_i64().unwrap_or(0);
                        axum::Json(serde_json::json!({ "n": n + 1 }))
                    }),
                );
            let (client, server) = connection(path).await;
            let _server = rentio_executor::spawn(async move {
                let service = hyper_util::service::TowerToHyperService::new(router);
                serve_connection(server, service).await.unwrap();
            });
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(client))
                .await
                .unwrap();
            let _conn = rentio_executor::spawn(conn);
            let response = sender
                .send_request(Request::get("/").body(Full::new(Bytes::new())).unwrap())
                .await
                .unwrap();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"hello from axum", "{path:?}");
            let request = Request::post("/add")
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from_static(br#"{"n":41}"#)))
                .unwrap();
            let response = sender.send_request(request).await.unwrap();
            assert_eq!(response.status(), 200, "{path:?}");
            let body = response.into_body().collect().await.unwrap().to_bytes();
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["n"], 42, "{path:?}");
        }
    });
}
