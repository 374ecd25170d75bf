//! Shared helpers for the driver's integration tests.
//!
//! Every IO test runs on both backends through [`each_backend`], which
//! builds each driver explicitly and names the backend in a failure.
//! `RENTIO_DRIVER=uring|poll` narrows which backends run; it never widens
//! them. A backend that cannot start here makes the test fail, except
//! io_uring under `RENTIO_DRIVER=poll`.

#![allow(dead_code, unused_imports, clippy::unwrap_used)]

use std::future::Future;
use std::os::fd::{AsRawFd, OwnedFd};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use rentio_driver::buf::{IoBuf, IoBufMut};
use rentio_driver::{Backend, BackendChoice, Builder, Driver, Reactor};

/// A backend to test: the choice and, for readiness, its reactor.
#[derive(Clone, Copy, Debug)]
pub struct Target(pub BackendChoice, pub Reactor);

/// The backends this run covers: io_uring, and readiness on both its
/// reactors (epoll directly, and the portable `polling` crate).
pub fn backends() -> Vec<Target> {
    let uring = [Target(BackendChoice::Uring, Reactor::Epoll)];
    let poll = [
        Target(BackendChoice::Poll, Reactor::Epoll),
        Target(BackendChoice::Poll, Reactor::Polling),
    ];
    match std::env::var("RENTIO_DRIVER").ok().as_deref() {
        Some("uring") => uring.to_vec(),
        Some("poll") => poll.to_vec(),
        _ => uring.into_iter().chain(poll).collect(),
    }
}

/// Builds a driver for `target` with the builder's other settings.
pub fn driver(target: Target, configure: impl Fn(&mut Builder)) -> Driver {
    let Target(choice, reactor) = target;
    let mut builder = Driver::builder();
    builder.backend(choice).reactor(reactor);
    configure(&mut builder);
    match builder.build() {
        Ok(driver) => driver,
        Err(e) => panic!("[{target:?}] driver failed to start: {e}"),
    }
}

/// Runs `test` once per backend, naming the backend if it panics.
pub fn each_backend(test: impl Fn(&Driver)) {
    each_backend_with(|_| {}, test);
}

/// Like [`each_backend`] with builder settings.
pub fn each_backend_with(configure: impl Fn(&mut Builder), test: impl Fn(&Driver)) {
    for target in backends() {
        let driver = driver(target, &configure);
        let backend = match target.1 {
            Reactor::Polling if driver.backend() == Backend::Poll => {
                "readiness (polling crate)".to_string()
            }
            _ => driver.backend().to_string(),
        };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| test(&driver)));
        if let Err(panic) = result {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("test failed on the {backend} backend: {msg}");
        }
    }
}

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Runs a future to completion on `driver`: polls it, and ticks the driver
/// (parking) until it is woken. Panics after `limit` ticks.
pub fn block_on<F: Future>(driver: &Driver, fut: F) -> F::Output {
    let flag = Arc::new(Flag(AtomicBool::new(true)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    for _ in 0..100_000 {
        if flag.0.swap(false, Ordering::SeqCst)
            && let Poll::Ready(out) = fut.as_mut().poll(&mut cx)
        {
            return out;
        }
        driver
            .poll(Some(Duration::from_secs(10)))
            .unwrap_or_else(|e| panic!("driver poll failed: {e}"));
    }
    panic!("block_on: the future did not finish");
}

/// Polls two futures concurrently until both finish.
pub async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = pin!(a);
    let mut b = pin!(b);
    let mut out_a = None;
    let mut out_b = None;
    std::future::poll_fn(|cx| {
        if out_a.is_none()
            && let Poll::Ready(v) = a.as_mut().poll(cx)
        {
            out_a = Some(v);
        }
        if out_b.is_none()
            && let Poll::Ready(v) = b.as_mut().poll(cx)
        {
            out_b = Some(v);
        }
        if out_a.is_some() && out_b.is_some() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    (out_a.unwrap(), out_b.unwrap())
}

/// A connected Unix stream socket pair (blocking, CLOEXEC).
pub fn socketpair() -> (OwnedFd, OwnedFd) {
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    (a.into(), b.into())
}

/// A pipe: (read end, write end).
pub fn pipe() -> (OwnedFd, OwnedFd) {
    rustix_pipe()
}

fn rustix_pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two fds pipe2 writes.
    let ret = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(ret, 0, "pipe2: {}", std::io::Error::last_os_error());
    use std::os::fd::FromRawFd;
    // SAFETY: pipe2 just created both fds and nobody else owns them.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// The number of open fds of this process.
pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Ticks the driver without blocking until `done()` or `ticks` run out.
pub fn tick_until(driver: &Driver, ticks: usize, mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..ticks {
        if done() {
            return true;
        }
        driver.poll(Some(Duration::from_millis(50))).unwrap();
    }
    done()
}

/// The raw fd of anything that has one.
pub fn raw(fd: &impl AsRawFd) -> i32 {
    fd.as_raw_fd()
}

/// Whether the driver is on io_uring.
pub fn is_uring(driver: &Driver) -> bool {
    driver.backend() == Backend::Uring
}

/// A buffer that records when it is freed.
pub struct Tracked {
    inner: Vec<u8>,
    freed: std::rc::Rc<std::cell::Cell<bool>>,
}

impl Tracked {
    pub fn new(capacity: usize) -> (Tracked, std::rc::Rc<std::cell::Cell<bool>>) {
        let freed = std::rc::Rc::new(std::cell::Cell::new(false));
        let buf = Tracked {
            inner: Vec::with_capacity(capacity),
            freed: freed.clone(),
        };
        (buf, freed)
    }

    pub fn bytes(&self) -> &[u8] {
        &self.inner
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.freed.set(true);
    }
}

// SAFETY: delegates to Vec<u8>, whose heap memory does not move with it.
unsafe impl rentio_driver::buf::IoBuf for Tracked {
    fn as_buf_ptr(&self) -> *const u8 {
        self.inner.as_buf_ptr()
    }
    fn buf_len(&self) -> usize {
        self.inner.buf_len()
    }
    fn buf_capacity(&self) -> usize {
        self.inner.buf_capacity()
    }
}

// SAFETY: delegates to Vec<u8>.
unsafe impl rentio_driver::buf::IoBufMut for Tracked {
    fn as_buf_mut_ptr(&mut self) -> *mut u8 {
        self.inner.as_buf_mut_ptr()
    }
    unsafe fn set_buf_init(&mut self, len: usize) {
        // SAFETY: forwarded from the caller.
        unsafe { self.inner.set_buf_init(len) }
    }
}

/// Writes all of `data` to `fd` with one write(2) (small payloads).
pub fn write_fd(fd: &impl AsRawFd, data: &[u8]) {
    // SAFETY: `data` is a live slice of the given length.
    let n = unsafe { libc::write(fd.as_raw_fd(), data.as_ptr().cast(), data.len()) };
    assert_eq!(
        n,
        data.len() as isize,
        "write: {}",
        std::io::Error::last_os_error()
    );
}
