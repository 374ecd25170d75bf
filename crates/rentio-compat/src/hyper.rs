//! hyper on rentio (the `hyper` feature): hyper's runtime traits
//! ([`HyperExecutor`], [`HyperTimer`]) and [`serve_connection`], which
//! serves one connection with hyper-util's HTTP/1 + HTTP/2 builder.
//!
//! hyper reads and writes through its own `rt::Read`/`rt::Write`; a
//! rentio stream gets them from [`hyper_util::rt::TokioIo`] around its
//! tokio form: `TokioIo::new(rentio_compat::tokio_io(stream))` (the
//! zero-copy path), or `TokioIo::new(Compat::new(stream))` (the copy path).

use std::error::Error;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::body::{Body, Incoming};
use hyper::rt::{Executor, Sleep, Timer};
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rentio_executor::{Handle, SendSleep};

/// A boxed error, as hyper's and hyper-util's connections return.
pub type BoxError = Box<dyn Error + Send + Sync>;

/// hyper's [`Executor`]: spawns each future on the current rentio runtime,
/// as a local task (`!Send` futures welcome: hyper's HTTP/2 spawns one per
/// stream).
///
/// # Panics
///
/// `execute` outside a rentio runtime, as `rentio::spawn` does (hyper
/// calls it from the connection's future, which runs on one).
#[derive(Clone, Copy, Debug, Default)]
pub struct HyperExecutor;

impl<F: Future + 'static> Executor<F> for HyperExecutor {
    fn execute(&self, future: F) {
        rentio_executor::spawn(future);
    }
}

/// hyper's [`Timer`]: sleeps on the timers of the runtime it was made on,
/// as `Send + Sync` futures (hyper requires that of its `Sleep`), which
/// that runtime fires wherever they are polled.
#[derive(Clone, Debug)]
pub struct HyperTimer {
    handle: Handle,
}

impl HyperTimer {
    /// A timer on the current runtime.
    ///
    /// # Errors
    ///
    /// Outside a rentio runtime.
    pub fn new() -> io::Result<HyperTimer> {
        Ok(HyperTimer::with_handle(Handle::current()?))
    }

    /// A timer on the runtime `handle` reaches.
    pub fn with_handle(handle: Handle) -> HyperTimer {
        HyperTimer { handle }
    }
}

impl Timer for HyperTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        Box::pin(HyperSleep(self.handle.sleep(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        Box::pin(HyperSleep(self.handle.sleep_until(deadline)))
    }
}

/// A [`SendSleep`] as hyper's [`Sleep`].
struct HyperSleep(SendSleep);

impl Future for HyperSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.get_mut().0).poll(cx)
    }
}

impl Sleep for HyperSleep {}

/// Serves one connection with hyper-util's auto builder: HTTP/1.1, or
/// HTTP/2 when the client opens with its preface (prior knowledge), with
/// [`HyperExecutor`] for HTTP/2's streams and [`HyperTimer`] for its
/// timeouts. `io` is a stream in its tokio form: [`tokio_io`](crate::tokio_io)
/// of a rentio stream (no copy), a [`Compat`](crate::Compat), or a TLS
/// stream on top of either.
///
/// # Errors
///
/// What the connection ends with (an IO error, a protocol error), boxed;
/// outside a rentio runtime, at once.
///
/// # Examples
///
/// ```no_run
/// use std::convert::Infallible;
///
/// use http_body_util::Full;
/// use hyper::body::Bytes;
/// use hyper::service::service_fn;
/// use hyper::{Request, Response};
///
/// rentio_executor::Runtime::new()?.block_on(async {
///     let listener = rentio_net::TcpListener::bind("127.0.0.1:0")?;
///     loop {
///         let (stream, _) = listener.accept().await?;
///         rentio_executor::spawn(async move {
///             let hello = service_fn(|_: Request<hyper::body::Incoming>| async {
///                 Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("hello"))))
///             });
///             let io = rentio_compat::tokio_io(stream);
///             let _ = rentio_compat::hyper::serve_connection(io, hello).await;
///         });
///     }
///     #[allow(unreachable_code)]
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn serve_connection<I, S, B>(io: I, service: S) -> Result<(), BoxError>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + 'static,
    S: Service<Request<Incoming>, Response = Response<B>> + 'static,
    S::Future: 'static,
    S::Error: Into<BoxError>,
    B: Body + 'static,
    B::Error: Into<BoxError>,
{
    auto_builder()?
        .serve_connection(TokioIo::new(io), service)
        .await
}

/// hyper-util's auto (HTTP/1.1 and HTTP/2) builder with rentio's
/// executor and timer.
fn auto_builder() -> io::Result<hyper_util::server::conn::auto::Builder<HyperExecutor>> {
    let timer = HyperTimer::new()?;
    let mut builder = hyper_util::server::conn::auto::Builder::new(HyperExecutor);
    builder.http1().timer(timer.clone());
    builder.http2().timer(timer);
    Ok(builder)
}

/// [`serve_connection`], shut down gracefully once `shutdown` resolves:
/// hyper finishes the requests in progress (HTTP/1.1 closes after the
/// current response; HTTP/2 sends `GOAWAY` and lets open streams end),
/// then the connection ends. Pass a server's drain signal, for example
/// `rentio_net::serve::Conn::draining`.
///
/// # Errors
///
/// As [`serve_connection`].
pub async fn serve_connection_until<I, S, B, F>(
    io: I,
    service: S,
    shutdown: F,
) -> Result<(), BoxError>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + 'static,
    S: Service<Request<Incoming>, Response = Response<B>> + 'static,
    S::Future: 'static,
    S::Error: Into<BoxError>,
    B: Body + 'static,
    B::Error: Into<BoxError>,
    F: Future<Output = ()>,
{
    let builder = auto_builder()?;
    let mut conn = std::pin::pin!(builder.serve_connection(TokioIo::new(io), service));
    let mut shutdown = std::pin::pin!(shutdown);
    let mut asked = false;
    let result = std::future::poll_fn(|cx| {
        if !asked && shutdown.as_mut().poll(cx).is_ready() {
            asked = true;
            conn.as_mut().graceful_shutdown();
        }
        conn.as_mut().poll(cx)
    })
    .await;
    match result {
        // A connection still waiting for its first bytes (hyper-util's
        // protocol detection) ends with an `Interrupted` "cancelled"
        // error when shut down: that is the shutdown asked for.
        Err(e)
            if asked
                && e.downcast_ref::<io::Error>()
                    .is_some_and(|e| e.kind() == io::ErrorKind::Interrupted) =>
        {
            Ok(())
        }
        other => other,
    }
}
