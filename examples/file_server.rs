//! A static file server: `GET /name` answers the file `DIR/name` over
//! plain HTTP/1.1 with its `Content-Length` (keep-alive), 404 for a file
//! that is not there, 403 for a path that leaves `DIR` (`..`, or a symlink
//! out), 405 for another method. Files are opened, read and sent with
//! rent IO (`rentio::fs`, `rentio::net`), one 64 KiB buffer per
//! connection, reused.
//!
//! It takes the directory, then the address (`127.0.0.1:8080` unless
//! given; port 0 picks a free one), and prints the address it listens on.
//!
//! Run and exercise it:
//!
//! ```sh
//! cargo run -p rentio-examples --example file_server -- . 127.0.0.1:8080
//! # in another shell:
//! curl -s http://127.0.0.1:8080/Cargo.toml | head
//! curl -si http://127.0.0.1:8080/no-such-file          # 404
//! curl -si --path-as-is http://127.0.0.1:8080/../etc/passwd  # 403
//! ```
//!
//! `RENTIO_DRIVER=uring` or `RENTIO_DRIVER=poll` picks the backend.

use std::io;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use rentio::fs::File;
use rentio::io::{AsyncReadRent, AsyncWriteRentExt};
use rentio::net::{TcpListener, TcpStream};

/// The most a request head may take.
const MAX_HEAD: usize = 16 * 1024;
const CHUNK: usize = 64 * 1024;

#[rentio::main]
async fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: file_server DIR [ADDR]");
        std::process::exit(2);
    };
    let root = Rc::new(rentio::fs::canonicalize(&dir).await?);
    if !rentio::fs::metadata(root.as_path()).await?.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotADirectory,
            format!("{dir} is not a directory"),
        ));
    }
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let listener = TcpListener::bind(addr.as_str())?;
    println!(
        "serving {} on http://{} ({} backend)",
        root.display(),
        listener.local_addr()?,
        rentio::current_driver()?.backend()
    );
    loop {
        let (stream, _) = listener.accept().await?;
        let root = root.clone();
        drop(rentio::spawn(async move {
            if let Err(e) = serve(stream, &root).await {
                eprintln!("connection: {e}");
            }
        }));
    }
}

/// Serves requests on one connection until the client closes it.
async fn serve(mut stream: TcpStream, root: &Path) -> io::Result<()> {
    let mut head = Vec::with_capacity(MAX_HEAD);
    let mut chunk = Vec::with_capacity(CHUNK);
    loop {
        // Read up to the end of the head; what follows is the next request.
        let end = loop {
            if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            if head.len() >= MAX_HEAD {
                respond(&mut stream, "431 Request Header Fields Too Large", "").await?;
                return Ok(());
            }
            let (n, buf) = stream.read(head).await;
            head = buf;
            if n? == 0 {
                return Ok(());
            }
        };
        let request = String::from_utf8_lossy(&head[..end]).into_owned();
        head.drain(..end);
        let mut words = request.split_ascii_whitespace();
        let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        if method != "GET" {
            respond(&mut stream, "405 Method Not Allowed", "only GET\n").await?;
            continue;
        }
        let path = match resolve(root, target).await {
            Resolved::File(path) => path,
            Resolved::Outside => {
                let body = "outside the served directory\n";
                respond(&mut stream, "403 Forbidden", body).await?;
                continue;
            }
            Resolved::Missing => {
                respond(&mut stream, "404 Not Found", "not found\n").await?;
                continue;
            }
        };
        let file = match open_file(&path).await {
            Ok(Some(file)) => file,
            Ok(None) => {
                respond(&mut stream, "404 Not Found", "not found\n").await?;
                continue;
            }
            Err(e) => {
                respond(&mut stream, "500 Internal Server Error", &format!("{e}\n")).await?;
                continue;
            }
        };
        let len = file.metadata().await?.len();
        let header = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nContent-Type: application/octet-stream\r\n\r\n"
        );
        stream.write_all(header.into_bytes()).await.0?;
        // The file, a chunk at a time, the same buffer each time.
        let mut pos = 0;
        while pos < len {
            chunk.clear();
            let (n, buf) = file.read_at(chunk, pos).await;
            chunk = buf;
            let n = n?;
            if n == 0 {
                // The file shrank: the promised length cannot be kept.
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank"));
            }
            let (sent, buf) = stream.write_all(chunk).await;
            chunk = buf;
            sent?;
            pos += n as u64;
        }
        file.close().await?;
    }
}

enum Resolved {
    File(PathBuf),
    Outside,
    Missing,
}

/// The file `target` names under `root`, symlinks resolved.
async fn resolve(root: &Path, target: &str) -> Resolved {
    let target = target.split(['?', '#']).next().unwrap_or("");
    let relative = Path::new(target.trim_start_matches('/'));
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        || target.contains('\0')
    {
        return Resolved::Outside;
    }
    // A symlink out of the root is refused too.
    match rentio::fs::canonicalize(root.join(relative)).await {
        Ok(real) if real.starts_with(root) => Resolved::File(real),
        Ok(_) => Resolved::Outside,
        Err(_) => Resolved::Missing,
    }
}

/// Opens a regular file; `None` if there is none there. The canonical
/// path has no symlinks left: `O_NOFOLLOW` refuses one swapped in since
/// (`ELOOP`), and `O_NONBLOCK` keeps a FIFO from holding a thread.
async fn open_file(path: &Path) -> io::Result<Option<File>> {
    let opened = File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .await;
    match opened {
        Ok(file) if file.metadata().await?.is_file() => Ok(Some(file)),
        Ok(_) => Ok(None),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) || e.raw_os_error() == Some(libc::ELOOP) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

async fn respond(stream: &mut TcpStream, status: &str, body: &str) -> io::Result<()> {
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.into_bytes()).await.0.map(drop)
}
