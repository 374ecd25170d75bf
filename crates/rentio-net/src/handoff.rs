//! Moving a connection to another core: [`Detached`].

use std::fmt;
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, OwnedFd};

use crate::socket::Socket;
use crate::{TcpStream, UnixStream};

/// A stream on its way to another runtime: its fd, released by the driver
/// it left, with no op of that driver in flight on it. It is `Send`; the
/// runtime that calls [`attach`](Detached::attach) adopts it.
///
/// Made by [`TcpStream::detach`] and [`UnixStream::detach`]. Bytes the
/// peer sent wait in the kernel's socket buffer meanwhile: none is lost
/// on the way, and the other core reads on where this one stopped (what
/// a user-space buffer such as a `BufReader` holds is the caller's to
/// carry along).
///
/// ```no_run
/// use rentio_net::{Detached, TcpListener, TcpStream};
///
/// # async fn f(listener: TcpListener) -> std::io::Result<()> {
/// let (stream, _) = listener.accept().await?;
/// let moving: Detached<TcpStream> = stream.detach().await;
/// let other = rentio_executor::tpc::handle(1).expect("a launched core 1");
/// other.spawn(move || async move {
///     let stream = moving.attach();
///     // … serve `stream` on core 1
/// #   drop(stream);
/// });
/// # Ok(())
/// # }
/// ```
pub struct Detached<S> {
    fd: OwnedFd,
    kind: PhantomData<fn() -> S>,
}

/// The stream types a [`Detached`] can carry.
pub trait Attach: sealed::Sealed + Sized {
    #[doc(hidden)]
    fn from_detached_fd(fd: OwnedFd) -> Self;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::TcpStream {}
    impl Sealed for crate::UnixStream {}
}

impl Attach for TcpStream {
    fn from_detached_fd(fd: OwnedFd) -> TcpStream {
        TcpStream::from(fd)
    }
}

impl Attach for UnixStream {
    fn from_detached_fd(fd: OwnedFd) -> UnixStream {
        UnixStream::from(fd)
    }
}

impl<S: Attach> Detached<S> {
    pub(crate) async fn leave(mut socket: Socket) -> Detached<S> {
        socket.quiesce().await;
        Detached {
            fd: socket.into_fd(),
            kind: PhantomData,
        }
    }

    /// The stream, joined to the current runtime (the first runtime to use
    /// it, when called outside one).
    pub fn attach(self) -> S {
        S::from_detached_fd(self.fd)
    }

    /// The fd itself, for a runtime or library of another kind.
    pub fn into_fd(self) -> OwnedFd {
        self.fd
    }
}

impl<S> fmt::Debug for Detached<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Detached")
            .field("fd", &self.fd.as_raw_fd())
            .field("kind", &std::any::type_name::<S>())
            .finish()
    }
}
