//! What every benchmark server shares, so each stays equally simple: the
//! command line and the HTTP/1.1 request handling (a fixed 13-byte body,
//! keep-alive, pipelined requests answered in order).

use std::io;
use std::net::SocketAddr;

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
}

/// A server's command line: `<echo|http> <addr> [variant]`.
#[derive(Debug)]
pub struct Args {
    /// Echo or HTTP.
    pub mode: Mode,
    /// Where to listen.
    pub addr: SocketAddr,
    /// A runtime-specific variant (`uring`, `poll`, `legacy`).
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
                "usage: server <echo|http> <addr> [variant]",
            )
        };
        let mode = match args.next().as_deref() {
            Some("echo") => Mode::Echo,
            Some("http") => Mode::Http,
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
