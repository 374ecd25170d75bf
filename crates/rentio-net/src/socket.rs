//! The fd every socket type wraps, and the ops they share.

use std::cell::{Cell, OnceCell, RefCell};
use std::future::{Future, poll_fn};
use std::io;
use std::mem::ManuallyDrop;
use std::net::{self, SocketAddr};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::task::{Poll, ready};
use std::time::Duration;

use rentio_buf::{BufResult, IoBuf, IoBufMut, IoVecBuf, IoVecBufMut};
use rentio_driver::op::{
    CancelFd, Connect, PollAdd, PollMulti, ReadFixed, Readv, Recv, Send, SendMsg, Shutdown,
};
use rentio_driver::{Driver, FixedBuf, Interest, Multi, Op, OpCode, SockAddr};
use rustix::net::{AddressFamily, sockopt};

use crate::cancel::CancelHandle;

/// An open socket: its fd and the driver that watches it.
///
/// Every socket is non-blocking on both backends (as tokio's are), so
/// `into_std` gives back the same thing whichever backend ran. The driver
/// is the one of the runtime that first used the socket; using it from
/// another runtime is an error. Dropping the socket closes the fd through
/// that driver, in order with the ops already pushed for it (see
/// `Driver::close`).
#[derive(Debug)]
pub struct Socket {
    fd: Option<OwnedFd>,
    raw: RawFd,
    driver: OnceCell<Driver>,
    /// A short read means the socket was drained (TCP), so reads are
    /// hinted with `Recv::poll_first`. Not so on a Unix stream, where a
    /// read stops early at a message that carried fds or other
    /// credentials while more data waits behind it.
    short_read_drains: bool,
    /// The poll-io path's readiness, read then write (see `poll_ready`).
    ready: [Readiness; 2],
    /// The kernel refused a multishot poll (before Linux 5.13): waits are
    /// one-shot `PollAdd`s.
    one_shot_polls: Cell<bool>,
    /// An op was made for this socket through its driver: only then may a
    /// dropped future have left one on the fd (see `quiesce`).
    used: Cell<bool>,
}

/// One direction's readiness for the poll-io path, cached as tokio caches
/// it: the socket may be ready until a caller says it found it not ready
/// (`clear_ready`), and then it is not until the next readiness event.
#[derive(Debug)]
struct Readiness {
    /// The socket may be ready: try the syscall.
    ready: Cell<bool>,
    /// An event said the peer shut down, or an error: a read may now come
    /// back short with the end of stream behind it and no edge to follow,
    /// so readiness stays set.
    sticky: Cell<bool>,
    wait: RefCell<Wait>,
}

impl Default for Readiness {
    fn default() -> Readiness {
        // Nothing is known yet: try the syscall first.
        Readiness {
            ready: Cell::new(true),
            sticky: Cell::new(false),
            wait: RefCell::new(Wait::Idle),
        }
    }
}

/// Events after which a short read does not mean drained. Not `POLLPRI`
/// (read polls do not ask for it): a socket's data wake-up carries it,
/// and io_uring reports the wake-up's events that were asked for.
const STICKY: u32 = (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) as u32;

/// How a direction learns of readiness events.
#[derive(Debug)]
enum Wait {
    Idle,
    /// A multishot poll, armed at the first wait and kept: one completion
    /// per readiness edge (merged while unseen), so no re-arming per wait.
    Multi(Multi<PollMulti>),
    /// Where the kernel refuses multishot: a one-shot poll per wait.
    Once(Op<PollAdd>),
}

impl Socket {
    /// Wraps `fd`, making it non-blocking (already so when it comes from
    /// `socket`/`accept` here).
    pub(crate) fn from_fd(fd: OwnedFd) -> Socket {
        let raw = fd.as_raw_fd();
        let mut on: libc::c_int = 1;
        // SAFETY: FIONBIO reads one int from the pointer; a failure (not a
        // socket) leaves the fd as it was, and its ops then report errors.
        unsafe { libc::ioctl(raw, libc::FIONBIO, &raw mut on) };
        Socket::adopt(fd)
    }

    /// Wraps an fd that is already non-blocking.
    pub(crate) fn adopt(fd: OwnedFd) -> Socket {
        let raw = fd.as_raw_fd();
        let driver = OnceCell::new();
        if let Ok(current) = rentio_executor::current_driver() {
            let _ = driver.set(current);
        }
        Socket {
            fd: Some(fd),
            raw,
            driver,
            short_read_drains: false,
            ready: Default::default(),
            one_shot_polls: Cell::new(false),
            used: Cell::new(false),
        }
    }

    /// Marks a TCP stream's socket: a short read drains it (see
    /// `short_read_drains`).
    pub(crate) fn with_short_reads_draining(mut self) -> Socket {
        self.short_read_drains = true;
        self
    }

    /// A stream read, hinted where a short read means drained.
    pub(crate) fn stream_recv<T: IoBufMut>(&self, buf: T) -> Recv<T> {
        let recv = Recv::new(self.raw, buf);
        if self.short_read_drains {
            recv.poll_first()
        } else {
            recv
        }
    }

    /// A new CLOEXEC socket.
    pub(crate) fn new(domain: i32, ty: i32) -> io::Result<Socket> {
        // SAFETY: plain syscall with integer arguments.
        let fd = unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the kernel just created `fd`; nobody else owns it.
        Ok(Socket::adopt(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    pub(crate) fn raw(&self) -> RawFd {
        self.raw
    }

    pub(crate) fn driver(&self) -> io::Result<Driver> {
        self.used.set(true);
        let current = rentio_executor::current_driver()?;
        let driver = self.driver.get_or_init(|| current.clone());
        if driver.same_as(&current) {
            Ok(current)
        } else {
            Err(io::Error::other(
                "rentio-net: this socket belongs to another runtime (sockets stay on the \
                 runtime that first used them)",
            ))
        }
    }

    /// Gives up the fd, released by its driver first (invariant 11): SQEs
    /// queued for it are submitted and it leaves the poller, so no op of
    /// this socket acts on the number once the caller owns it (see
    /// `Driver::release_fd`: rarely, that is a duplicate of the fd).
    /// A stream's socket, whole: only split halves share it, and
    /// `reunite` drops one half before it makes a stream again.
    pub(crate) fn unshare(socket: std::rc::Rc<Socket>) -> Socket {
        match std::rc::Rc::try_unwrap(socket) {
            Ok(socket) => socket,
            Err(_) => unreachable!("a stream never shares its socket"),
        }
    }

    /// Ends the ops this socket's driver still holds on the fd (ops whose
    /// futures were dropped, the poll-io path's readiness waits) before
    /// the fd leaves the driver ([`Detached`](crate::Detached)): on
    /// io_uring one `CancelFd` for them all, awaited, so none of them acts
    /// on the file after it moves; on readiness, releasing the fd fails
    /// them. Outside the socket's own runtime, the release alone.
    pub(crate) async fn quiesce(&mut self) {
        self.drop_ready_waits();
        let Some(driver) = self.driver.get().cloned() else {
            return;
        };
        let on_its_runtime =
            rentio_executor::current_driver().is_ok_and(|current| current.same_as(&driver));
        if self.used.get() && driver.backend() == rentio_driver::Backend::Uring && on_its_runtime {
            // Before Linux 5.19 the kernel refuses the flags (`EINVAL`):
            // the ops a dropped future left may then run on (a dropped
            // read may still take bytes, as it may anywhere).
            let _ = driver.op(CancelFd::new(self.raw)).await;
        }
    }

    pub(crate) fn into_fd(mut self) -> OwnedFd {
        self.drop_ready_waits();
        let Some(fd) = self.fd.take() else {
            // `fd` is only taken here and in drop, and `self` is consumed.
            unreachable!("a socket always holds its fd until into_fd")
        };
        match self.driver.get() {
            Some(driver) => driver.release_fd(fd),
            None => fd,
        }
    }

    /// `Ready` while the socket may be ready for `interest`; after
    /// [`clear_ready`](Self::clear_ready), `Pending` until the next
    /// readiness event (through the driver: a multishot `PollAdd` on
    /// io_uring, armed once and kept, or a one-shot one per wait where the
    /// kernel lacks multishot; the poller's edge-triggered registration on
    /// readiness). Events are edges: one that came after the last
    /// `clear_ready` always shows, one before it may show too (a spurious
    /// wake: the caller's syscall then finds nothing and clears again).
    pub(crate) fn poll_ready(
        &self,
        cx: &mut std::task::Context<'_>,
        interest: Interest,
    ) -> Poll<io::Result<()>> {
        let readiness = self.readiness(interest);
        if readiness.ready.get() {
            return Poll::Ready(Ok(()));
        }
        let mut wait = readiness.wait.borrow_mut();
        let events = ready!(self.poll_wait(&mut wait, cx, interest))?;
        readiness.ready.set(true);
        // Only reads care (io_uring adds `POLLRDHUP` to a write poll's
        // events too, once the peer shut down its side).
        if interest == Interest::Read && events & STICKY != 0 {
            readiness.sticky.set(true);
        }
        Poll::Ready(Ok(()))
    }

    /// Marks the socket not ready for `interest`: the caller's non-blocking
    /// syscall said `EAGAIN`. The next `poll_ready` waits for a readiness
    /// event (one is to come: a socket at end of stream reads 0, never
    /// `EAGAIN`).
    pub(crate) fn clear_ready(&self, interest: Interest) {
        self.readiness(interest).ready.set(false);
    }

    /// A short stream read drained the socket: as `clear_ready(Read)`,
    /// unless an event said the peer shut down (or an error): a read there
    /// may stop short at end of stream, and no edge would follow.
    pub(crate) fn read_drained(&self) {
        let readiness = self.readiness(Interest::Read);
        if !readiness.sticky.get() {
            readiness.ready.set(false);
        }
    }

    /// Drops the readiness waits and forgets what they said, for a stream
    /// going back to rent IO (nothing left armed to wake a task).
    pub(crate) fn reset_ready(&self) {
        for readiness in &self.ready {
            if let Ok(mut wait) = readiness.wait.try_borrow_mut() {
                *wait = Wait::Idle;
            }
            readiness.ready.set(true);
            readiness.sticky.set(false);
        }
    }

    fn readiness(&self, interest: Interest) -> &Readiness {
        match interest {
            Interest::Read => &self.ready[0],
            Interest::Write => &self.ready[1],
        }
    }

    /// Polls `wait` for an event, arming it first if idle: its events.
    fn poll_wait(
        &self,
        wait: &mut Wait,
        cx: &mut std::task::Context<'_>,
        interest: Interest,
    ) -> Poll<io::Result<u32>> {
        loop {
            match wait {
                Wait::Idle => {
                    let driver = self.driver()?;
                    *wait = if self.one_shot_polls.get() {
                        Wait::Once(driver.op(PollAdd::new(self.raw, interest)))
                    } else {
                        Wait::Multi(driver.multi(PollMulti::new(self.raw, interest)))
                    };
                }
                Wait::Once(op) => {
                    let result = ready!(Pin::new(op).poll(cx));
                    *wait = Wait::Idle;
                    return Poll::Ready(result);
                }
                Wait::Multi(multi) => {
                    // What came since the last look (the driver merges
                    // unseen edges into one), or the waker is registered.
                    match multi.poll_next(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Some(completion)) => {
                            return match completion.result {
                                Ok(events) => Poll::Ready(Ok(events)),
                                // Multishot poll is Linux 5.13+: wait one
                                // shot at a time instead. (Any `EINVAL`
                                // does: a poll of a socket has no other
                                // cause for one, and one-shot waits are
                                // right everywhere, only slower.)
                                Err(e)
                                    if e.raw_os_error() == Some(libc::EINVAL)
                                        && !self.one_shot_polls.get() =>
                                {
                                    self.one_shot_polls.set(true);
                                    *wait = Wait::Idle;
                                    continue;
                                }
                                Err(e) => {
                                    *wait = Wait::Idle;
                                    Poll::Ready(Err(e))
                                }
                            };
                        }
                        // The kernel ended it (its last completion was
                        // taken above): arm a new one.
                        Poll::Ready(None) => *wait = Wait::Idle,
                    }
                }
            }
        }
    }

    /// Drops the readiness waits, before the fd is closed or handed back.
    fn drop_ready_waits(&mut self) {
        for readiness in &mut self.ready {
            *readiness = Readiness::default();
        }
    }

    /// A datagram send (or a stream's, not as a hot path), cancelled
    /// through `cancel` when given.
    pub(crate) async fn send_with<T: IoBuf>(
        &self,
        buf: T,
        cancel: Option<&CancelHandle>,
    ) -> BufResult<usize, T> {
        self.run(Send::new(self.raw, buf), cancel).await
    }

    /// A datagram receive, cancelled through `cancel` when given.
    pub(crate) async fn recv_with<T: IoBufMut>(
        &self,
        buf: T,
        cancel: Option<&CancelHandle>,
    ) -> BufResult<usize, T> {
        self.run(Recv::new(self.raw, buf), cancel).await
    }

    pub(crate) async fn recv<T: IoBufMut>(&self, buf: T) -> BufResult<usize, T> {
        match self.driver() {
            Ok(driver) => driver.op(Recv::new(self.raw, buf)).await,
            Err(e) => (Err(e), buf),
        }
    }

    /// A stream socket's read. On TCP it is marked so
    /// (`Recv::poll_first`), since a short read drains the socket: the
    /// readiness backend then waits for the next edge instead of trying a
    /// `recv` bound to fail, when the socket was drained since its last
    /// edge. A Unix stream's read tries its `recv` until one says `EAGAIN`.
    pub(crate) async fn recv_stream<T: IoBufMut>(&self, buf: T) -> BufResult<usize, T> {
        match self.driver() {
            Ok(driver) => driver.op(self.stream_recv(buf)).await,
            Err(e) => (Err(e), buf),
        }
    }

    pub(crate) async fn send<T: IoBuf>(&self, buf: T) -> BufResult<usize, T> {
        match self.driver() {
            Ok(driver) => driver.op(Send::new(self.raw, buf)).await,
            Err(e) => (Err(e), buf),
        }
    }

    /// [`send_zc`](Socket::send_zc), cancelled through `handle`: the
    /// zero-copy send is cancelled in the kernel and still resolves, with
    /// its count and, after the notification, its buffer.
    pub(crate) async fn send_zc_cancellable<T: IoBuf>(
        &self,
        buf: T,
        handle: &CancelHandle,
    ) -> BufResult<usize, T> {
        let driver = match self.driver() {
            Ok(driver)
                if driver.backend() == rentio_driver::Backend::Uring
                    && driver.is_supported(rentio_driver::op::SendZc::<T>::CODE) =>
            {
                driver
            }
            _ => return self.run(Send::new(self.raw, buf), Some(handle)).await,
        };
        if handle.is_cancelled() {
            return (Err(io::Error::from_raw_os_error(libc::ECANCELED)), buf);
        }
        let send = driver.send_zc(rentio_driver::op::SendZc::new(self.raw, buf));
        until_cancelled(send, handle, |send| Poll::Ready(send.cancel())).await
    }

    /// A zero-copy send where the ring has it, else a plain one.
    pub(crate) async fn send_zc<T: IoBuf>(&self, buf: T) -> BufResult<usize, T> {
        match self.driver() {
            Ok(driver)
                if driver.backend() == rentio_driver::Backend::Uring
                    && driver.is_supported(rentio_driver::op::SendZc::<T>::CODE) =>
            {
                driver
                    .send_zc(rentio_driver::op::SendZc::new(self.raw, buf))
                    .await
            }
            Ok(driver) => driver.op(Send::new(self.raw, buf)).await,
            Err(e) => (Err(e), buf),
        }
    }

    /// A stream read into a registered buffer: `READ_FIXED` when the
    /// buffer is registered with this socket's ring, else the plain read.
    pub(crate) async fn read_fixed(&self, buf: FixedBuf) -> BufResult<usize, FixedBuf> {
        match self.driver() {
            Ok(driver) if buf.is_registered_with(&driver) => {
                driver.op(ReadFixed::new(self.raw, buf)).await
            }
            Ok(driver) => driver.op(self.stream_recv(buf)).await,
            Err(e) => (Err(e), buf),
        }
    }

    /// A stream write from a registered buffer: a send (`MSG_NOSIGNAL`).
    /// `WRITE_FIXED` would be `write(2)` on the socket, which raises
    /// `SIGPIPE` at a reset peer; and a socket copies what it sends into
    /// its own buffers, so the registration saves a send nothing.
    pub(crate) async fn write_fixed(&self, buf: FixedBuf) -> BufResult<usize, FixedBuf> {
        match self.driver() {
            Ok(driver) => driver.op(Send::new(self.raw, buf)).await,
            Err(e) => (Err(e), buf),
        }
    }

    pub(crate) async fn readv<T: IoVecBufMut>(&self, bufs: T) -> BufResult<usize, T> {
        match self.driver() {
            Ok(driver) => driver.op(Readv::new(self.raw, bufs)).await,
            Err(e) => (Err(e), bufs),
        }
    }

    /// A vectored send (`sendmsg` with `MSG_NOSIGNAL`: `writev` would raise
    /// `SIGPIPE` on a reset peer).
    pub(crate) async fn writev<T: IoVecBuf>(&self, bufs: T) -> BufResult<usize, T> {
        match self.driver() {
            Ok(driver) => driver.op(SendMsg::new(self.raw, bufs, None)).await,
            Err(e) => (Err(e), bufs),
        }
    }

    /// A recv that ends with `TimedOut` (and the buffer) after `timeout`:
    /// an io_uring linked timeout, or a timer on the readiness backend.
    pub(crate) async fn recv_timeout<T: IoBufMut>(
        &self,
        buf: T,
        timeout: Duration,
    ) -> BufResult<usize, T> {
        match self.driver() {
            Ok(driver) => {
                let (result, buf) = driver
                    .op(self.stream_recv(buf))
                    .with_link_timeout(timeout)
                    .await;
                (result.map_err(timed_out), buf)
            }
            Err(e) => (Err(e), buf),
        }
    }

    /// Runs `op` on the socket's driver, cancelled through `cancel` when
    /// given (see [`cancellable`]). Without a driver the op completes with
    /// that error, so its buffer still comes back.
    pub(crate) async fn run<T: OpCode>(&self, op: T, cancel: Option<&CancelHandle>) -> T::Output {
        if cancel.is_some_and(CancelHandle::is_cancelled) {
            // Cancelled already: the op never starts (pushed, it would
            // run before the cancel behind it reached the kernel).
            return op.complete(rentio_driver::op::Completion {
                result: Err(io::Error::from_raw_os_error(libc::ECANCELED)),
                flags: 0,
            });
        }
        match self.driver() {
            Ok(driver) => match cancel {
                None => driver.op(op).await,
                Some(handle) => cancellable(&driver, driver.op(op), handle).await,
            },
            Err(e) => op.complete(rentio_driver::op::Completion {
                result: Err(e),
                flags: 0,
            }),
        }
    }

    /// A shutdown, cancelled through `cancel` when given; a peer already
    /// gone is not an error.
    pub(crate) async fn shutdown_with(
        &self,
        how: net::Shutdown,
        cancel: Option<&CancelHandle>,
    ) -> io::Result<()> {
        match self.run(Shutdown::new(self.raw, how), cancel).await {
            // The peer is gone already: nothing left to shut down.
            Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => Ok(()),
            other => other,
        }
    }

    pub(crate) async fn connect(&self, addr: SockAddr) -> io::Result<()> {
        self.driver()?.op(Connect::new(self.raw, addr)).await
    }

    pub(crate) async fn shutdown(&self, how: net::Shutdown) -> io::Result<()> {
        self.shutdown_with(how, None).await
    }

    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        sockaddr_of(self.raw, libc::getsockname)?
            .as_socket()
            .ok_or_else(not_ip)
    }

    pub(crate) fn peer_addr(&self) -> io::Result<SocketAddr> {
        sockaddr_of(self.raw, libc::getpeername)?
            .as_socket()
            .ok_or_else(not_ip)
    }

    /// The fd, borrowed (for `rustix`'s socket options).
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        // SAFETY: `raw` stays open while `self` lives: only `Drop` closes
        // it and only `into_fd` gives it away, and both end every borrow
        // of `self` first.
        unsafe { BorrowedFd::borrow_raw(self.raw) }
    }

    /// Sets the hop limit of outgoing unicast packets: `IP_TTL` on an IPv4
    /// socket; `IPV6_UNICAST_HOPS` on an IPv6 one, and its `IP_TTL` too,
    /// for the IPv4 traffic of a dual-stack socket (an IPv4-mapped peer).
    /// A value outside 1..=255 is `InvalidInput` and changes nothing.
    pub(crate) fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        let hops = u8::try_from(ttl)
            .ok()
            .filter(|&hops| hops > 0)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "rentio-net: a TTL (hop limit) is from 1 to 255",
                )
            })?;
        sockopt::set_ip_ttl(self.fd(), ttl)?;
        if self.is_ipv6()? {
            sockopt::set_ipv6_unicast_hops(self.fd(), Some(hops))?;
        }
        Ok(())
    }

    /// The hop limit of outgoing unicast packets: `IP_TTL` on an IPv4
    /// socket, `IPV6_UNICAST_HOPS` on an IPv6 one.
    pub(crate) fn ttl(&self) -> io::Result<u32> {
        if self.is_ipv6()? {
            Ok(sockopt::ipv6_unicast_hops(self.fd())?.into())
        } else {
            Ok(sockopt::ip_ttl(self.fd())?)
        }
    }

    /// Whether this is an `AF_INET6` socket (`SO_DOMAIN`).
    fn is_ipv6(&self) -> io::Result<bool> {
        Ok(sockopt::socket_domain(self.fd())? == AddressFamily::INET6)
    }

    /// Runs `f` on the fd as a std type, without giving the fd up.
    pub(crate) fn with_std<S: FromRawFd + AsRawFd, R>(&self, f: impl FnOnce(&S) -> R) -> R {
        // SAFETY: the std value borrows our fd and is never dropped
        // (ManuallyDrop), so the fd is not closed twice.
        let std = ManuallyDrop::new(unsafe { S::from_raw_fd(self.raw) });
        f(&std)
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.drop_ready_waits();
        if let (Some(driver), Some(fd)) = (self.driver.get(), self.fd.take()) {
            driver.close(fd);
        }
    }
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.raw
    }
}

/// Awaits `op`, cancelling it through the driver once `handle` fires; the
/// op's output (with its buffer) comes back either way.
pub(crate) async fn cancellable<T: OpCode>(
    driver: &Driver,
    op: rentio_driver::Op<T>,
    handle: &CancelHandle,
) -> T::Output {
    until_cancelled(op, handle, |op| match op.key() {
        Some(key) => Poll::Ready(driver.cancel(key)),
        // Not pushed yet (the task's budget ran out): the op's own poll
        // has arranged a wake; cancel on the next poll.
        None => Poll::Pending,
    })
    .await
}

/// Awaits `future`; once `handle` fires, asks `cancel` to stop it (once:
/// `Pending` means "not yet", an error "try again next tick") and goes on
/// awaiting it, so its output, with its buffer, comes back either way.
pub(crate) async fn until_cancelled<F: Future + Unpin>(
    mut future: F,
    handle: &CancelHandle,
    mut cancel: impl FnMut(&mut F) -> Poll<io::Result<()>>,
) -> F::Output {
    let mut asked = false;
    let mut registration = handle.registration();
    poll_fn(|cx| {
        loop {
            if let Poll::Ready(out) = Pin::new(&mut future).poll(cx) {
                return Poll::Ready(out);
            }
            if asked {
                return Poll::Pending;
            }
            if handle.is_cancelled() {
                match cancel(&mut future) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(_)) => {
                        // The cancel could not be queued: again next tick.
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    Poll::Ready(Ok(())) => {
                        asked = true;
                        // The readiness backend finishes the op at once:
                        // poll again.
                        continue;
                    }
                }
            }
            registration.register(cx.waker());
            if !handle.is_cancelled() {
                return Poll::Pending;
            }
        }
    })
    .await
}

type AddrFn = unsafe extern "C" fn(i32, *mut libc::sockaddr, *mut libc::socklen_t) -> i32;

fn sockaddr_of(fd: RawFd, f: AddrFn) -> io::Result<SockAddr> {
    // SAFETY: an all-zero sockaddr_storage is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: the kernel writes at most `len` bytes into `storage`.
    let ret = unsafe { f(fd, (&raw mut storage).cast(), &raw mut len) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(SockAddr::from_raw(storage, len))
}

fn not_ip() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "rentio-net: not an IP socket address",
    )
}

/// A linked timeout cancels the op with `ECANCELED`: report it as a
/// timeout.
pub(crate) fn timed_out(e: io::Error) -> io::Error {
    if e.raw_os_error() == Some(libc::ECANCELED) {
        io::Error::new(io::ErrorKind::TimedOut, "rentio-net: the op timed out")
    } else {
        e
    }
}

/// The address family of `addr`, for `socket(2)`.
pub(crate) fn domain_of(addr: &SocketAddr) -> i32 {
    match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    }
}
