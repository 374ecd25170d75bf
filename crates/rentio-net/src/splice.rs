//! Moving bytes between two fds through a pipe, without copying them into
//! user space: [`copy`].

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use rentio_driver::op::{PollAdd, Splice};
use rentio_driver::{Driver, Interest};

/// How much one splice moves at most (and the pipe's size, where the
/// kernel allows it).
const CHUNK: usize = 1 << 20;

/// One end of a [`copy`]: an fd, and for a file, where to start (its own
/// position is used, and moved, with `None`; sockets and pipes take
/// `None`).
#[derive(Clone, Copy, Debug)]
pub struct End<'a> {
    fd: BorrowedFd<'a>,
    offset: Option<u64>,
}

impl<'a> End<'a> {
    /// A socket or pipe (or a file at its own position).
    pub fn stream(fd: &'a impl AsFd) -> End<'a> {
        End {
            fd: fd.as_fd(),
            offset: None,
        }
    }

    /// A file, from `offset`.
    pub fn at(fd: &'a impl AsFd, offset: u64) -> End<'a> {
        End {
            fd: fd.as_fd(),
            offset: Some(offset),
        }
    }
}

/// Moves up to `len` bytes (to the end of input with `None`) from `from`
/// to `to` through a pipe, with `splice(2)` on both sides, so the data
/// never enters user space: a file to a socket (as `sendfile`), a socket
/// to a file, or between two sockets. Returns the count moved.
///
/// On io_uring both splices are ring ops (`IORING_OP_SPLICE`, Linux 5.7;
/// the kernel runs them in its workers); elsewhere they run on the
/// blocking pool. A socket that is not ready (`EAGAIN`) is waited for with
/// a poll, so non-blocking sockets (all of rentio's) work.
///
/// ```no_run
/// # async fn f(file: std::fs::File, stream: rentio_net::TcpStream) -> std::io::Result<()> {
/// use rentio_net::splice::{self, End};
///
/// let sent = splice::copy(End::at(&file, 0), End::stream(&stream), None).await?;
/// # let _ = sent;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// As `splice(2)` (`EINVAL` for an fd that cannot be spliced); `WriteZero`
/// if `to` takes nothing. What was moved before an error is not reported.
///
/// # Cancel safety
///
/// Dropping the future stops the copy; bytes already in the pipe are
/// lost with it (the pipe closes), and an op the kernel already runs
/// finishes (the driver keeps the fds it names open until then).
pub async fn copy(from: End<'_>, to: End<'_>, len: Option<u64>) -> io::Result<u64> {
    let driver = rentio_executor::current_driver()?;
    let (pipe_r, pipe_w) = pipe()?;
    let mut from_off = from.offset;
    let mut to_off = to.offset;
    let mut total = 0u64;
    loop {
        let want = match len {
            Some(len) if total >= len => break,
            Some(len) => (len - total).min(CHUNK as u64) as usize,
            None => CHUNK,
        };
        // Into the pipe.
        let n = splice_ready(
            &driver,
            (from.fd.as_raw_fd(), from_off),
            (pipe_w.as_raw_fd(), None),
            want,
            Interest::Read,
        )
        .await?;
        if n == 0 {
            break;
        }
        if let Some(off) = &mut from_off {
            *off += n as u64;
        }
        // Out of it, all of it.
        let mut left = n;
        while left > 0 {
            let m = splice_ready(
                &driver,
                (pipe_r.as_raw_fd(), None),
                (to.fd.as_raw_fd(), to_off),
                left,
                Interest::Write,
            )
            .await?;
            if m == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "rentio-net: splice: the destination took nothing",
                ));
            }
            left -= m;
            if let Some(off) = &mut to_off {
                *off += m as u64;
            }
        }
        total += n as u64;
    }
    Ok(total)
}

/// One splice from `(fd, offset)` to `(fd, offset)`, waiting on `EAGAIN`
/// for the end that is not our pipe (`from` when reading, `to` when
/// writing).
async fn splice_ready(
    driver: &Driver,
    (fd_in, off_in): (RawFd, Option<u64>),
    (fd_out, off_out): (RawFd, Option<u64>),
    len: usize,
    interest: Interest,
) -> io::Result<usize> {
    let wait_fd = if interest == Interest::Read {
        fd_in
    } else {
        fd_out
    };
    loop {
        match driver
            .op(Splice::new(fd_in, off_in, fd_out, off_out, len, 0))
            .await
        {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                driver.op(PollAdd::new(wait_fd, interest)).await?;
            }
            Err(e) => return Err(e),
        }
    }
}

/// A pipe, made as large as the kernel allows up to `CHUNK`.
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    // Best effort: a larger pipe moves more per splice.
    let _ = rustix::pipe::fcntl_setpipe_size(&w, CHUNK);
    Ok((r, w))
}
