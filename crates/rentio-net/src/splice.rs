//! Moving bytes between fds through pipes, without copying them into user
//! space: [`copy`], and [`copy_tee`], which also mirrors them to a second
//! destination.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use rentio_driver::op::{PollAdd, Splice, Tee};
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
        // Into the pipe.
        let n = fill(&driver, (from.fd, &mut from_off), &pipe_w, len, total).await?;
        if n == 0 {
            break;
        }
        // Out of it, all of it.
        drain(&driver, &pipe_r, (to.fd.as_raw_fd(), &mut to_off), n).await?;
        total += n as u64;
    }
    Ok(total)
}

/// [`copy`], to two destinations at once: every byte read from `from` goes
/// to `to` and to `mirror` (a proxy that records what passes, a stream
/// fanned out to two peers). The bytes stay in the kernel: `from` is
/// spliced into a pipe, `tee(2)` duplicates the pipe's bytes into a
/// second pipe without consuming them, and each pipe is spliced into its
/// destination. Returns the count read from `from` (each destination got
/// all of it).
///
/// On io_uring the tee is `IORING_OP_TEE` (Linux 5.8) and the splices
/// `IORING_OP_SPLICE`; elsewhere, or where the ring lacks them, they run
/// on the blocking pool.
///
/// ```no_run
/// # async fn f(
/// #     client: rentio_net::TcpStream,
/// #     upstream: rentio_net::TcpStream,
/// #     log: std::fs::File,
/// # ) -> std::io::Result<()> {
/// use rentio_net::splice::{self, End};
///
/// // Forward the client's bytes upstream, and keep a copy in a file.
/// splice::copy_tee(End::stream(&client), End::stream(&upstream), End::at(&log, 0), None).await?;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// As [`copy`]; a destination that takes nothing is `WriteZero`.
///
/// # Cancel safety
///
/// As [`copy`]: dropping the future stops both copies, and what was in
/// the pipes is lost; either destination may then have more than the
/// other.
pub async fn copy_tee(
    from: End<'_>,
    to: End<'_>,
    mirror: End<'_>,
    len: Option<u64>,
) -> io::Result<u64> {
    let driver = rentio_executor::current_driver()?;
    let (a_r, a_w) = pipe()?;
    let (b_r, b_w) = pipe()?;
    let mut from_off = from.offset;
    let mut to_off = to.offset;
    let mut mirror_off = mirror.offset;
    let mut total = 0u64;
    loop {
        let n = fill(&driver, (from.fd, &mut from_off), &a_w, len, total).await?;
        if n == 0 {
            break;
        }
        let mut left = n;
        while left > 0 {
            // Duplicate what is at the head of pipe a (pipe b is empty,
            // so this is short only if b is the smaller pipe), then move
            // exactly that much out of each.
            let m = driver
                .op(Tee::new(a_r.as_raw_fd(), b_w.as_raw_fd(), left, 0))
                .await?;
            if m == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "rentio-net: tee: the mirror's pipe took nothing",
                ));
            }
            drain(&driver, &a_r, (to.fd.as_raw_fd(), &mut to_off), m).await?;
            drain(&driver, &b_r, (mirror.fd.as_raw_fd(), &mut mirror_off), m).await?;
            left -= m;
        }
        total += n as u64;
    }
    Ok(total)
}

/// Splices the next chunk of a copy from `(fd, offset)` into the pipe
/// `pipe` (at most `len - total` bytes, if `len` is given), moving the
/// offset; 0 at the end of input or once `len` bytes were copied.
async fn fill(
    driver: &Driver,
    (fd, offset): (BorrowedFd<'_>, &mut Option<u64>),
    pipe: &OwnedFd,
    len: Option<u64>,
    total: u64,
) -> io::Result<usize> {
    let want = match len {
        Some(len) if total >= len => return Ok(0),
        Some(len) => (len - total).min(CHUNK as u64) as usize,
        None => CHUNK,
    };
    let n = splice_ready(
        driver,
        (fd.as_raw_fd(), *offset),
        (pipe.as_raw_fd(), None),
        want,
        Interest::Read,
    )
    .await?;
    if let Some(off) = offset {
        *off += n as u64;
    }
    Ok(n)
}

/// Moves exactly `len` bytes from the pipe `pipe` into `(fd, offset)`.
async fn drain(
    driver: &Driver,
    pipe: &OwnedFd,
    (fd, offset): (RawFd, &mut Option<u64>),
    mut len: usize,
) -> io::Result<()> {
    while len > 0 {
        let m = splice_ready(
            driver,
            (pipe.as_raw_fd(), None),
            (fd, *offset),
            len,
            Interest::Write,
        )
        .await?;
        if m == 0 {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "rentio-net: splice: the destination took nothing",
            ));
        }
        len -= m;
        if let Some(off) = offset {
            *off += m as u64;
        }
    }
    Ok(())
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
