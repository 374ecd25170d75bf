//! Unix signals as async streams: [`ctrl_c`] and [`unix::signal`].
//!
//! A signal's first listener installs a handler for it (for the life of
//! the process, as tokio does: its default action, such as terminating on
//! `SIGINT`, no longer happens). The handler runs on whichever thread the
//! kernel picks, so no thread's signal mask matters and none can "steal"
//! a signal: it marks the signal pending and writes a byte to a pipe per
//! listening runtime. Each runtime with listeners reads its pipe with an
//! op of its own driver (a read on io_uring, the poller on readiness),
//! and the first to wake wakes every listener of the pending signals, in
//! every runtime. Signals that come faster than a listener takes them are
//! merged, as with tokio: [`Signal::recv`](unix::Signal::recv) says "at least one since the
//! last".

use std::collections::HashMap;
use std::io;
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

use rentio_driver::op::Read;

/// Signals 1 to 64 (`SIGRTMAX` on Linux).
const SIGNALS: usize = 65;
/// Runtimes that may listen at once, process-wide.
const PIPES: usize = 64;

/// Set by the handler, taken by the dispatch.
static PENDING: [AtomicBool; SIGNALS] = [const { AtomicBool::new(false) }; SIGNALS];
/// Each runtime slot's pipe: its write end, for the handler (-1: none
/// yet). A pipe, once made, is never closed, so the handler can never
/// write into a number that was reused.
static WRITE_FDS: [AtomicI32; PIPES] = [const { AtomicI32::new(-1) }; PIPES];

/// The handler: async-signal-safe (atomics and `write(2)`).
extern "C" fn on_signal(signum: libc::c_int) {
    if let Some(pending) = usize::try_from(signum).ok().and_then(|i| PENDING.get(i)) {
        pending.store(true, Ordering::SeqCst);
    }
    // SAFETY: errno is thread-local; the handler must leave it as found.
    let errno = unsafe { *libc::__errno_location() };
    for fd in &WRITE_FDS {
        let fd = fd.load(Ordering::SeqCst);
        if fd >= 0 {
            // SAFETY: a non-blocking pipe end that is never closed; a full
            // pipe (EAGAIN) already holds a wake-up.
            unsafe { libc::write(fd, [1u8].as_ptr().cast(), 1) };
        }
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

/// What listeners share, process-wide.
struct Registry {
    /// Per signal: how many times it was dispatched.
    generations: [AtomicU64; SIGNALS],
    /// Per signal: whether its handler is installed.
    installed: Mutex<[bool; SIGNALS]>,
    /// Per signal: the wakers of its listeners, by listener id.
    wakers: Mutex<HashMap<u64, (usize, Waker)>>,
    next_id: AtomicU64,
    /// Per slot: its pipe's read end, and whether a runtime holds it.
    pipes: Mutex<[(RawFd, bool); PIPES]>,
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry {
        generations: [const { AtomicU64::new(0) }; SIGNALS],
        installed: Mutex::new([false; SIGNALS]),
        wakers: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(0),
        pipes: Mutex::new([(-1, false); PIPES]),
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Takes the pending signals and wakes their listeners.
fn dispatch() {
    let reg = registry();
    let mut fired = [false; SIGNALS];
    let mut any = false;
    for (i, pending) in PENDING.iter().enumerate() {
        if pending.swap(false, Ordering::SeqCst) {
            reg.generations[i].fetch_add(1, Ordering::SeqCst);
            fired[i] = true;
            any = true;
        }
    }
    if any {
        // Woken outside the lock: a waker may poll at once.
        let wakers: Vec<Waker> = lock(&reg.wakers)
            .values()
            .filter(|(sig, _)| fired[*sig])
            .map(|(_, waker)| waker.clone())
            .collect();
        for waker in wakers {
            waker.wake();
        }
    }
}

fn install(signum: usize) -> io::Result<()> {
    let reg = registry();
    let mut installed = lock(&reg.installed);
    if installed[signum] {
        return Ok(());
    }
    // SAFETY: a zeroed sigaction is valid; the fields are set below.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
    action.sa_flags = libc::SA_RESTART;
    // SAFETY: an empty mask for the handler's run.
    unsafe { libc::sigemptyset(&raw mut action.sa_mask) };
    // SAFETY: a valid action for a signal number checked by the caller.
    if unsafe { libc::sigaction(signum as libc::c_int, &action, std::ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    installed[signum] = true;
    Ok(())
}

thread_local! {
    /// The runtimes on this thread that read a pipe (their ids).
    static READERS: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Makes sure the current runtime reads a signal pipe.
fn ensure_reader() -> io::Result<()> {
    let id = crate::context::with_current(|shared| shared.id).ok_or_else(|| {
        io::Error::other("rentio: signals are listened to inside a runtime (block_on or a task)")
    })?;
    if READERS.with(|r| r.borrow().contains(&id)) {
        return Ok(());
    }
    let driver = crate::current_driver()?;
    let slot = claim_pipe(driver.backend() == rentio_driver::Backend::Poll)?;
    // Signals whose bytes the claim drained (outside the pipes' lock).
    dispatch();
    READERS.with(|r| r.borrow_mut().push(id));
    // The slot is given back when this buffer drops: after the task, and
    // after the driver is done with a read in flight (which could
    // otherwise take the next holder's byte).
    let mut buf = SlotBuf {
        buf: Vec::with_capacity(64),
        _release: Release { slot, id },
    };
    drop(crate::spawn(async move {
        let fd = slot_read_fd(slot);
        loop {
            buf.buf.clear();
            let (n, b) = driver.op(Read::new(fd, buf)).await;
            buf = b;
            match n {
                Ok(_) => dispatch(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // The runtime is going, or the pipe broke: stop reading
                // (another runtime's reader, or the next listener here,
                // takes over).
                Err(_) => return,
            }
        }
    }));
    Ok(())
}

/// The reader's buffer, which holds its pipe slot.
struct SlotBuf {
    buf: Vec<u8>,
    _release: Release,
}

// SAFETY: every method is the inner `Vec`'s, whose heap memory does not
// move with the value; the guard beside it touches no buffer.
unsafe impl rentio_driver::buf::IoBuf for SlotBuf {
    fn as_buf_ptr(&self) -> *const u8 {
        self.buf.as_buf_ptr()
    }

    fn buf_len(&self) -> usize {
        self.buf.buf_len()
    }

    fn buf_capacity(&self) -> usize {
        self.buf.buf_capacity()
    }
}

// SAFETY: as above.
unsafe impl rentio_driver::buf::IoBufMut for SlotBuf {
    fn as_buf_mut_ptr(&mut self) -> *mut u8 {
        self.buf.as_buf_mut_ptr()
    }

    unsafe fn set_buf_init(&mut self, len: usize) {
        // SAFETY: the caller's obligations, passed on.
        unsafe { self.buf.set_buf_init(len) }
    }
}

/// Gives the pipe slot back when the reader's buffer drops.
struct Release {
    slot: usize,
    id: u64,
}

impl Drop for Release {
    fn drop(&mut self) {
        lock(&registry().pipes)[self.slot].1 = false;
        let _ = READERS.try_with(|r| r.borrow_mut().retain(|&id| id != self.id));
    }
}

fn slot_read_fd(slot: usize) -> RawFd {
    lock(&registry().pipes)[slot].0
}

/// Claims a pipe slot, making its pipe on first use: the read end
/// blocking for io_uring (which then waits in the kernel), non-blocking
/// for the readiness backend; the write end non-blocking, for the handler.
fn claim_pipe(nonblocking_read: bool) -> io::Result<usize> {
    let mut pipes = lock(&registry().pipes);
    let Some(slot) = pipes.iter().position(|&(_, taken)| !taken) else {
        return Err(io::Error::other(format!(
            "rentio: more than {PIPES} runtimes listen for signals at once"
        )));
    };
    if pipes[slot].0 < 0 {
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two fds into the array. Both ends start
        // non-blocking: the handler must never block on a full pipe.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
            return Err(io::Error::last_os_error());
        }
        pipes[slot].0 = fds[0];
        WRITE_FDS[slot].store(fds[1], Ordering::SeqCst);
    }
    let read = pipes[slot].0;
    // SAFETY: the read end is open for good (never closed).
    let fd = unsafe { BorrowedFd::borrow_raw(read) };
    // What an earlier holder left unread, read without blocking (the
    // caller dispatches the signals behind it).
    set_nonblocking(fd, true)?;
    let mut scratch = [0u8; 256];
    while matches!(rustix::io::read(fd, &mut scratch[..]), Ok(n) if n > 0) {}
    set_nonblocking(fd, nonblocking_read)?;
    pipes[slot].1 = true;
    Ok(slot)
}

fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    use rustix::fs::OFlags;
    let flags = rustix::fs::fcntl_getfl(fd)?;
    let flags = if on {
        flags | OFlags::NONBLOCK
    } else {
        flags - OFlags::NONBLOCK
    };
    Ok(rustix::fs::fcntl_setfl(fd, flags)?)
}

/// Resolves at the next `SIGINT` (ctrl-c) the process gets.
///
/// From the first call on, `SIGINT` no longer ends the process, even once
/// the future is dropped: the program decides what ctrl-c does.
///
/// # Errors
///
/// Outside a runtime, or if the handler cannot be installed.
///
/// # Examples
///
/// ```no_run
/// # fn main() -> std::io::Result<()> {
/// rentio_executor::Runtime::new()?.block_on(async {
///     rentio_executor::signal::ctrl_c().await?;
///     println!("ctrl-c: shutting down");
///     Ok(())
/// })
/// # }
/// ```
pub async fn ctrl_c() -> io::Result<()> {
    let mut signal = unix::signal(unix::SignalKind::interrupt())?;
    signal.recv().await;
    Ok(())
}

/// Signals by kind, as `tokio::signal::unix`.
pub mod unix {
    use super::*;

    /// A signal to listen for.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct SignalKind(libc::c_int);

    impl SignalKind {
        /// Any signal by number.
        pub const fn from_raw(signum: libc::c_int) -> SignalKind {
            SignalKind(signum)
        }
        /// The number.
        pub const fn as_raw_value(&self) -> libc::c_int {
            self.0
        }
        /// `SIGINT` (ctrl-c).
        pub const fn interrupt() -> SignalKind {
            SignalKind(libc::SIGINT)
        }
        /// `SIGTERM`.
        pub const fn terminate() -> SignalKind {
            SignalKind(libc::SIGTERM)
        }
        /// `SIGHUP`.
        pub const fn hangup() -> SignalKind {
            SignalKind(libc::SIGHUP)
        }
        /// `SIGQUIT`.
        pub const fn quit() -> SignalKind {
            SignalKind(libc::SIGQUIT)
        }
        /// `SIGUSR1`.
        pub const fn user_defined1() -> SignalKind {
            SignalKind(libc::SIGUSR1)
        }
        /// `SIGUSR2`.
        pub const fn user_defined2() -> SignalKind {
            SignalKind(libc::SIGUSR2)
        }
        /// `SIGCHLD`.
        pub const fn child() -> SignalKind {
            SignalKind(libc::SIGCHLD)
        }
        /// `SIGPIPE`.
        pub const fn pipe() -> SignalKind {
            SignalKind(libc::SIGPIPE)
        }
        /// `SIGALRM`.
        pub const fn alarm() -> SignalKind {
            SignalKind(libc::SIGALRM)
        }
        /// `SIGWINCH`.
        pub const fn window_change() -> SignalKind {
            SignalKind(libc::SIGWINCH)
        }
    }

    /// A stream of one signal's arrivals ([`signal`]).
    ///
    /// # Cancel safety
    ///
    /// [`recv`](Signal::recv) is cancel safe: a signal that came is kept
    /// until a `recv` takes it.
    #[derive(Debug)]
    pub struct Signal {
        signum: usize,
        seen: u64,
        id: u64,
    }

    /// Listens for `kind` from now on, on the current runtime.
    ///
    /// From the first call for a kind on, that signal's default action
    /// (ending the process, for most) no longer happens, for the life of
    /// the process, as with tokio.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a signal that cannot be handled (`SIGKILL`,
    /// `SIGSTOP`, or the faults `SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`)
    /// or out of range; outside a runtime; a failed `sigaction` or pipe.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use rentio_executor::signal::unix::{SignalKind, signal};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// rentio_executor::Runtime::new()?.block_on(async {
    ///     let mut hangups = signal(SignalKind::hangup())?;
    ///     while hangups.recv().await.is_some() {
    ///         println!("SIGHUP: reloading");
    ///     }
    ///     Ok(())
    /// })
    /// # }
    /// ```
    pub fn signal(kind: SignalKind) -> io::Result<Signal> {
        let signum = usize::try_from(kind.0)
            .ok()
            .filter(|&s| s > 0 && s < SIGNALS)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("rentio: no signal number {}", kind.0),
                )
            })?;
        if [
            libc::SIGKILL,
            libc::SIGSTOP,
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGILL,
            libc::SIGFPE,
        ]
        .contains(&kind.0)
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("rentio: signal {} cannot be listened for", kind.0),
            ));
        }
        ensure_reader()?;
        install(signum)?;
        // Signals that came before: dispatched now, so they are not news
        // to this listener.
        dispatch();
        let reg = registry();
        Ok(Signal {
            signum,
            // Only what comes from now on.
            seen: reg.generations[signum].load(Ordering::SeqCst),
            id: reg.next_id.fetch_add(1, Ordering::Relaxed),
        })
    }

    impl Signal {
        /// The next arrival (signals that came since the last merge into
        /// one); never `None` (the `Option` is tokio's).
        pub async fn recv(&mut self) -> Option<()> {
            std::future::poll_fn(|cx| self.poll_recv(cx)).await
        }

        /// Polls for the next arrival.
        pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
            // This runtime's reader, again if one ended (or the signal was
            // moved to another runtime's task).
            let _ = ensure_reader();
            let reg = registry();
            let generation = &reg.generations[self.signum];
            let now = generation.load(Ordering::SeqCst);
            if now != self.seen {
                self.seen = now;
                return Poll::Ready(Some(()));
            }
            lock(&reg.wakers).insert(self.id, (self.signum, cx.waker().clone()));
            // A dispatch between the load and the insert woke nobody.
            let now = generation.load(Ordering::SeqCst);
            if now != self.seen {
                self.seen = now;
                lock(&reg.wakers).remove(&self.id);
                return Poll::Ready(Some(()));
            }
            Poll::Pending
        }
    }

    impl Drop for Signal {
        fn drop(&mut self) {
            lock(&registry().wakers).remove(&self.id);
        }
    }
}
