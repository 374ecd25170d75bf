//! What every benchmark server shares, so each stays equally simple: the
//! command line, the HTTP/1.1 request handling (a fixed 13-byte body,
//! keep-alive, pipelined requests answered in order), and the hyper hello
//! service with the load generator's parser for its responses.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};

/// The fixed HTTP response.
pub const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!";

/// The request the load generator sends.
pub const REQUEST: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: bench\r\n\r\n";

/// Buffer size of every server's reads.
pub const BUF_SIZE: usize = 16 * 1024;

/// What a server serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Every byte back.
    Echo,
    /// HTTP/1.1 plaintext.
    Http,
    /// The [`hello`] service through hyper-util's auto (HTTP/1.1 and
    /// HTTP/2) connection builder.
    Hyper,
}

/// A server's command line: `<echo|http> <addr> [variant]`.
#[derive(Debug)]
pub struct Args {
    /// Echo or HTTP.
    pub mode: Mode,
    /// Where to listen.
    pub addr: SocketAddr,
    /// A runtime-specific variant (`uring`, `poll`, `legacy`, `copy`, …).
    pub variant: Option<String>,
}

impl Args {
    /// Parses the process's arguments.
    ///
    /// # Errors
    ///
    /// A usage message.
    pub fn parse() -> io::Result<Args> {
        let mut args = std::env::args().skip(1);
        let usage = || {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "usage: server <echo|http|hyper> <addr> [variant]",
            )
        };
        let mode = match args.next().as_deref() {
            Some("echo") => Mode::Echo,
            Some("http") => Mode::Http,
            Some("hyper") => Mode::Hyper,
            _ => return Err(usage()),
        };
        let addr = args.next().and_then(|a| a.parse().ok()).ok_or_else(usage)?;
        Ok(Args {
            mode,
            addr,
            variant: args.next(),
        })
    }
}

/// Answers every complete request at the front of `input` (appending the
/// responses to `out`, in order) and removes them; a partial request stays.
/// Requests carry no body (GET), so each ends at the first blank line.
pub fn answer_http(input: &mut Vec<u8>, out: &mut Vec<u8>) {
    let mut start = 0;
    while let Some(end) = find_blank_line(&input[start..]) {
        out.extend_from_slice(RESPONSE);
        start += end;
    }
    input.drain(..start);
}

/// The body of the hyper hello service's answer.
pub const HELLO: &[u8] = b"Hello, World!";

/// The request the load generator sends to a hyper server.
pub const HYPER_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n";

/// The hyper hello service every hyper server runs: whatever the request,
/// `200 OK` with [`HELLO`].
///
/// # Errors
///
/// None.
#[allow(clippy::unused_async)] // hyper's `service_fn` wants a future
pub async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(HELLO))))
}

/// One complete `200 OK` response with body [`HELLO`] at the front of
/// `input`: `Ok(Some(len))` with its length, `Ok(None)` while it is
/// incomplete, `Err` if it is anything else. Headers may come in any order
/// and case (hyper adds `date` and `content-length`).
///
/// # Errors
///
/// What is wrong with the response.
pub fn parse_response(input: &[u8]) -> Result<Option<usize>, String> {
    let Some(head_len) = find_blank_line(input) else {
        if input.len() > 8 * 1024 {
            return Err("a response head longer than 8 KiB".into());
        }
        return Ok(None);
    };
    let head = std::str::from_utf8(&input[..head_len]).map_err(|e| e.to_string())?;
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    if !status.starts_with("HTTP/1.1 200 ") {
        return Err(format!("status line {status:?}"));
    }
    let mut length = None;
    for line in lines {
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            length = Some(value.trim().parse::<usize>().map_err(|e| e.to_string())?);
        }
    }
    let length = length.ok_or("a response without content-length")?;
    if input.len() < head_len + length {
        return Ok(None);
    }
    if &input[head_len..head_len + length] != HELLO {
        return Err(format!(
            "body {:?}",
            String::from_utf8_lossy(&input[head_len..head_len + length])
        ));
    }
    Ok(Some(head_len + length))
}

/// The offset just past the first `\r\n\r\n`.
fn find_blank_line(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyper_responses_are_parsed_in_pieces_and_checked() {
        let one = b"HTTP/1.1 200 OK\r\ncontent-length: 13\r\ndate: Wed, 02 Dec 2026 06:15:31 GMT\r\n\r\nHello, World!";
        let mut two = one.to_vec();
        two.extend_from_slice(one);
        assert_eq!(parse_response(&two), Ok(Some(one.len())));
        for cut in 0..one.len() {
            assert_eq!(parse_response(&one[..cut]), Ok(None), "cut at {cut}");
        }
        let wrong = one
            .to_vec()
            .iter()
            .map(|&b| if b == b'W' { b'w' } else { b })
            .collect::<Vec<_>>();
        assert!(parse_response(&wrong).is_err(), "a changed body is caught");
        assert!(parse_response(b"HTTP/1.1 500 Oops\r\ncontent-length: 0\r\n\r\n").is_err());
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\n\r\n").is_err(),
            "no length"
        );
    }

    #[test]
    fn pipelined_requests_are_answered_in_order_and_partials_kept() {
        let mut input = Vec::new();
        input.extend_from_slice(REQUEST);
        input.extend_from_slice(REQUEST);
        input.extend_from_slice(&REQUEST[..10]);
        let mut out = Vec::new();
        answer_http(&mut input, &mut out);
        assert_eq!(out.len(), 2 * RESPONSE.len());
        assert_eq!(input, &REQUEST[..10]);
        input.extend_from_slice(&REQUEST[10..]);
        out.clear();
        answer_http(&mut input, &mut out);
        assert_eq!(out, RESPONSE);
        assert!(input.is_empty());
    }
}
