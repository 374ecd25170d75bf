//! Networking for rentio: TCP, UDP and Unix sockets whose reads and writes
//! rent their buffers (see `rentio-io`), on io_uring or on the readiness
//! backend alike.
//!
//! Every socket is created `CLOEXEC`; sends use `MSG_NOSIGNAL`, so a reset
//! peer is an `EPIPE`/`ECONNRESET` error, never a `SIGPIPE`. Sockets are
//! `!Send`: they belong to the runtime (thread) that created them.
//!
//! ```no_run
//! use rentio_io::{AsyncReadRent, AsyncWriteRentExt};
//! use rentio_net::TcpListener;
//!
//! # fn main() -> std::io::Result<()> {
//! rentio_executor::Runtime::new()?.block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0")?;
//!     let (mut stream, _) = listener.accept().await?;
//!     let mut buf = Vec::with_capacity(4096);
//!     loop {
//!         buf.clear();
//!         let (n, b) = stream.read(buf).await;
//!         if n? == 0 {
//!             return Ok(());
//!         }
//!         let (written, b) = stream.write_all(b).await;
//!         written?;
//!         buf = b;
//!     }
//! })
//! # }
//! ```

mod accept;
mod cancel;
mod cancellable;
mod handoff;
mod recv_stream;
mod registered;
mod resolve;
pub mod serve;
mod socket;
pub mod splice;
mod split;
mod tcp;
mod udp;
mod unix;

pub use cancel::{CancelHandle, Canceller};
pub use cancellable::Cancellable;
pub use handoff::{Attach, Detached};
pub use recv_stream::RecvStream;
pub use rentio_driver::{BufRing, FixedBuf, FixedBufPool, RingBuf};
pub use resolve::ToSocketAddrs;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReuniteError, Split};
pub use tcp::{Incoming, TcpListener, TcpSocket, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};
