//! A TLS 1.3 echo server and client with tokio-rustls on rentio (rustls's
//! ring provider; the certificate is made at start-up with rcgen, for
//! `localhost`).
//!
//! `tls_echo server [ADDR]` serves until stopped: it prints the address it
//! listens on (`127.0.0.1:0` picks a free port; the default is
//! `127.0.0.1:50443`) and writes its certificate to `tls_echo_cert.pem` in
//! the current directory, so `openssl` can check it. `tls_echo client ADDR
//! [CERT]` connects, sends a line, and prints what comes back. With no
//! arguments, it runs both in one process and checks the round trip.
//!
//! ```sh
//! cargo run -p rentio-examples --example tls_echo
//! cargo run -p rentio-examples --example tls_echo -- server 127.0.0.1:50443
//! openssl s_client -connect 127.0.0.1:50443 -CAfile tls_echo_cert.pem -servername localhost -quiet
//! cargo run -p rentio-examples --example tls_echo -- client 127.0.0.1:50443 tls_echo_cert.pem
//! ```

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use rentio::net::{TcpListener, TcpStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

const CERT_FILE: &str = "tls_echo_cert.pem";

#[rentio::main]
async fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("server") => {
            let addr = parse(args.get(1).map_or("127.0.0.1:50443", String::as_str))?;
            let (config, cert) = server_config()?;
            std::fs::write(CERT_FILE, cert.pem())?;
            let listener = TcpListener::bind(addr)?;
            println!(
                "listening on {} (certificate in {CERT_FILE})",
                listener.local_addr()?
            );
            serve(listener, config).await
        }
        Some("client") => {
            let addr = parse(args.get(1).map_or("127.0.0.1:50443", String::as_str))?;
            let pem = std::fs::read_to_string(args.get(2).map_or(CERT_FILE, String::as_str))?;
            let cert = CertificateDer::from_pem_slice(pem.as_bytes()).map_err(invalid)?;
            let reply = client(addr, cert, b"hello over TLS 1.3\n").await?;
            print!("{}", String::from_utf8_lossy(&reply));
            Ok(())
        }
        Some(other) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unknown mode {other:?}: use `server [ADDR]` or `client ADDR [CERT]`"),
        )),
        None => {
            let (config, cert) = server_config()?;
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let addr = listener.local_addr()?;
            println!("listening on {addr}");
            rentio::spawn(async move {
                if let Err(e) = serve(listener, config).await {
                    eprintln!("server: {e}");
                }
            });
            let message = b"hello over TLS 1.3\n";
            let reply = client(addr, cert.der().clone(), message).await?;
            assert_eq!(&reply, message, "the echo differs");
            print!("echoed: {}", String::from_utf8_lossy(&reply));
            Ok(())
        }
    }
}

fn parse(addr: &str) -> io::Result<SocketAddr> {
    addr.parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("address: {e}")))
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A TLS 1.3 server config with a certificate for `localhost` made now.
fn server_config() -> io::Result<(Arc<rustls::ServerConfig>, rcgen::Certificate)> {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).map_err(invalid)?;
    let key = PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(invalid)?
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .map_err(invalid)?;
    Ok((Arc::new(config), certified.cert))
}

/// Accepts connections and echoes each over TLS until its peer closes.
async fn serve(listener: TcpListener, config: Arc<rustls::ServerConfig>) -> io::Result<()> {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    loop {
        let (stream, peer) = listener.accept().await?;
        let acceptor = acceptor.clone();
        rentio::spawn(async move {
            let echoed = async {
                let tls = acceptor.accept(rentio::compat::tokio_io(stream)).await?;
                let (mut r, mut w) = tokio::io::split(tls);
                tokio::io::copy(&mut r, &mut w).await?;
                w.shutdown().await
            };
            if let Err(e) = echoed.await {
                eprintln!("{peer}: {e}");
            }
        });
    }
}

/// Connects to `addr` trusting `cert`, sends `message`, and reads the
/// echo until the server closes its side.
async fn client(
    addr: SocketAddr,
    cert: CertificateDer<'static>,
    message: &[u8],
) -> io::Result<Vec<u8>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).map_err(invalid)?;
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(invalid)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let stream = TcpStream::connect(&addr).await?;
    let name = ServerName::try_from("localhost").map_err(invalid)?;
    let mut tls = connector
        .connect(name, rentio::compat::tokio_io(stream))
        .await?;
    tls.write_all(message).await?;
    tls.shutdown().await?;
    let mut reply = Vec::new();
    tls.read_to_end(&mut reply).await?;
    Ok(reply)
}
