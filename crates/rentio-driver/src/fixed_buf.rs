//! Registered buffers: [`FixedBufPool`], buffers registered with a
//! driver's io_uring (`IORING_REGISTER_BUFFERS`), and [`FixedBuf`], one
//! of them checked out, which goes back to the pool when dropped.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::ptr::NonNull;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use crate::Driver;
use crate::buf_ring::{alloc_bytes, free_bytes, page};

/// The most buffers one registration takes (the kernel's
/// `IORING_MAX_REG_BUFFERS`).
pub const MAX_FIXED_BUFFERS: u16 = 1 << 14;

/// The largest registered buffer (the kernel's limit, 1 GiB).
const MAX_FIXED_SIZE: usize = 1 << 30;

/// `count` buffers of `size` bytes, registered with a driver's io_uring
/// (`IORING_REGISTER_BUFFERS`), so that a read or write into one
/// ([`ReadFixed`](crate::op::ReadFixed), [`WriteFixed`](crate::op::WriteFixed),
/// and `read_fixed`/`write_fixed` on rentio's files and sockets) skips the
/// kernel's per-op page pinning and lookup: the pages were pinned once, at
/// registration.
///
/// Take a buffer with [`try_take`](FixedBufPool::try_take) or
/// [`take`](FixedBufPool::take); dropping the [`FixedBuf`] gives it back.
/// The registration ends when the pool and every buffer of it are gone
/// (an op in flight holds its buffer, so never before the kernel is done).
///
/// On the readiness backend, with `READ_FIXED`/`WRITE_FIXED` masked or
/// missing, or on a restricted ring (which refuses registrations), the
/// pool is the same buffers unregistered, and the `*_fixed` calls run the
/// plain ops: [`is_registered`](FixedBufPool::is_registered) says which.
///
/// A ring has one table of registered buffers: a second pool on the same
/// driver, while the first lives, is an error (`ResourceBusy`). `!Send`:
/// it belongs to its driver's thread; cloning gives another handle.
///
/// Buffers start at page boundaries when `size` is a multiple of the page
/// size, so they also suit `O_DIRECT`.
///
/// ```
/// use rentio_driver::{Driver, FixedBufPool};
///
/// let driver = Driver::new()?;
/// let pool = FixedBufPool::new(&driver, 4, 4096)?;
/// let mut buf = pool.try_take().expect("a free buffer");
/// buf.extend_from_slice(b"hello");
/// assert_eq!(&buf[..], b"hello");
/// drop(buf); // back to the pool
/// assert_eq!(pool.available(), 4);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Kernel support
///
/// `IORING_REGISTER_BUFFERS`, `IORING_OP_READ_FIXED` and
/// `IORING_OP_WRITE_FIXED`, Linux 5.1. The pinned pages count against
/// `RLIMIT_MEMLOCK` (unless the process has `CAP_IPC_LOCK`); a
/// registration over it fails with a message that says so.
#[derive(Clone)]
pub struct FixedBufPool {
    shared: Rc<Shared>,
}

struct Shared {
    /// A duplicate of the ring's fd, for the unregister at drop; `None`
    /// when the buffers are not registered.
    ring_fd: Option<OwnedFd>,
    /// The driver whose ring has the registration (`Driver::id`).
    driver_id: u64,
    count: u16,
    size: usize,
    /// `count * size` bytes, page-aligned.
    bufs: NonNull<u8>,
    free: RefCell<Vec<u16>>,
    waiters: RefCell<Vec<Waker>>,
    /// Buffers checked out.
    out: Cell<u16>,
}

impl FixedBufPool {
    /// Allocates `count` buffers (1 to [`MAX_FIXED_BUFFERS`]) of `size`
    /// bytes (1 byte to 1 GiB) and registers them with `driver`'s ring
    /// where it can (see the type's docs).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a count or size out of range; `OutOfMemory`;
    /// `ResourceBusy` if the ring already has registered buffers (another
    /// live pool); the registration's own error, as `ENOMEM` when the
    /// pages exceed `RLIMIT_MEMLOCK`.
    pub fn new(driver: &Driver, count: u16, size: usize) -> io::Result<FixedBufPool> {
        if count == 0 || count > MAX_FIXED_BUFFERS || size == 0 || size > MAX_FIXED_SIZE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "rentio-driver: a fixed buffer pool takes 1 to 16384 buffers of 1 byte to 1 GiB",
            ));
        }
        let total = usize::from(count).checked_mul(size).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "rentio-driver: fixed buffer pool too large",
            )
        })?;
        let bufs = alloc_bytes(total, page())?;
        let mut shared = Shared {
            ring_fd: None,
            driver_id: driver.id(),
            count,
            size,
            bufs,
            free: RefCell::new((0..count).rev().collect()),
            waiters: RefCell::new(Vec::new()),
            out: Cell::new(0),
        };
        if driver.is_supported(io_uring::opcode::ReadFixed::CODE)
            && driver.is_supported(io_uring::opcode::WriteFixed::CODE)
            && !driver.is_restricted()
            && let Some(fd) = driver.ring_fd_dup()
        {
            let iovecs: Vec<libc::iovec> = (0..count)
                .map(|i| libc::iovec {
                    iov_base: shared.buf_ptr(i).cast(),
                    iov_len: size,
                })
                .collect();
            // SAFETY: `iovecs` is `count` valid iovecs, read by the call;
            // the memory they name lives until the unregister (in
            // `Shared::drop`). On an error `shared` drops unregistered
            // and frees it.
            let registered = unsafe {
                rustix::io_uring::io_uring_register(
                    fd.as_fd(),
                    rustix::io_uring::IoringRegisterOp::RegisterBuffers,
                    iovecs.as_ptr().cast(),
                    u32::from(count),
                )
            };
            match registered {
                Ok(_) => shared.ring_fd = Some(fd),
                Err(rustix::io::Errno::BUSY) => {
                    return Err(io::Error::new(
                        io::ErrorKind::ResourceBusy,
                        "rentio-driver: this ring already has registered buffers: \
                         one FixedBufPool per driver at a time (share it by cloning)",
                    ));
                }
                Err(rustix::io::Errno::NOMEM) => {
                    return Err(io::Error::new(
                        io::ErrorKind::OutOfMemory,
                        "rentio-driver: registering the buffers failed with ENOMEM: \
                         the pinned pages exceed RLIMIT_MEMLOCK (raise `ulimit -l`) \
                         or memory is short",
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(FixedBufPool {
            shared: Rc::new(shared),
        })
    }

    /// Whether the buffers are registered with the ring (else the
    /// `*_fixed` calls run the plain ops).
    pub fn is_registered(&self) -> bool {
        self.shared.ring_fd.is_some()
    }

    /// How many buffers the pool holds.
    pub fn count(&self) -> u16 {
        self.shared.count
    }

    /// Each buffer's size.
    pub fn buf_size(&self) -> usize {
        self.shared.size
    }

    /// Buffers free to take.
    pub fn available(&self) -> u16 {
        self.shared.count - self.shared.out.get()
    }

    /// A free buffer, empty; `None` when all are out.
    pub fn try_take(&self) -> Option<FixedBuf> {
        let index = self.shared.free.borrow_mut().pop()?;
        self.shared.out.set(self.shared.out.get() + 1);
        Some(FixedBuf {
            shared: self.shared.clone(),
            index,
            len: 0,
        })
    }

    /// Polls for a free buffer: `Pending` (woken when one comes back)
    /// while all are out.
    pub fn poll_take(&self, cx: &mut Context<'_>) -> Poll<FixedBuf> {
        if let Some(buf) = self.try_take() {
            return Poll::Ready(buf);
        }
        let mut waiters = self.shared.waiters.borrow_mut();
        if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
            waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// A free buffer, once one is.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a buffer is taken only when this returns it.
    pub async fn take(&self) -> FixedBuf {
        poll_fn(|cx| self.poll_take(cx)).await
    }
}

impl Shared {
    fn buf_ptr(&self, index: u16) -> *mut u8 {
        // SAFETY: `index < count`, so the offset is inside the allocation.
        unsafe { self.bufs.as_ptr().add(usize::from(index) * self.size) }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(fd) = &self.ring_fd {
            // SAFETY: an unregister names no memory.
            let unregistered = unsafe {
                rustix::io_uring::io_uring_register(
                    fd.as_fd(),
                    rustix::io_uring::IoringRegisterOp::UnregisterBuffers,
                    std::ptr::null(),
                    0,
                )
            };
            if unregistered.is_err() {
                // The kernel still has the pages: leak, never free
                // (invariant 3).
                return;
            }
        }
        // SAFETY: allocated in `new` with this layout; no `FixedBuf` is
        // left (each holds a clone of this `Rc`), so no op uses it.
        unsafe { free_bytes(self.bufs, usize::from(self.count) * self.size, page()) };
    }
}

impl fmt::Debug for FixedBufPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FixedBufPool")
            .field("count", &self.shared.count)
            .field("size", &self.shared.size)
            .field("registered", &self.is_registered())
            .field("available", &self.available())
            .finish()
    }
}

/// One buffer of a [`FixedBufPool`], checked out: a rent buffer
/// ([`IoBuf`](rentio_buf::IoBuf), [`IoBufMut`](rentio_buf::IoBufMut)) of
/// the pool's size, whose initialized bytes are a slice. Dropping it
/// gives it back to the pool.
pub struct FixedBuf {
    shared: Rc<Shared>,
    index: u16,
    len: usize,
}

impl FixedBuf {
    /// The buffer's index in the ring's table (`buf_index` of a fixed
    /// op).
    pub fn index(&self) -> u16 {
        self.index
    }

    /// Whether the buffer is registered with `driver`'s ring, so a fixed
    /// op on `driver` may name it.
    pub fn is_registered_with(&self, driver: &Driver) -> bool {
        self.shared.ring_fd.is_some() && self.shared.driver_id == driver.id()
    }

    /// Empties the buffer (its capacity stays).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Appends `bytes` after the initialized part.
    ///
    /// # Panics
    ///
    /// If they do not fit in the buffer's capacity.
    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        assert!(
            end <= self.shared.size,
            "FixedBuf::extend_from_slice past the buffer's capacity"
        );
        // SAFETY: `end <= size`: the copy stays in this buffer, which is
        // this `FixedBuf`'s alone.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.shared.buf_ptr(self.index).add(self.len),
                bytes.len(),
            );
        }
        self.len = end;
    }
}

impl std::ops::Deref for FixedBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: the buffer is this `FixedBuf`'s alone until it drops,
        // and its `len` bytes are initialized (allocated zeroed).
        unsafe { std::slice::from_raw_parts(self.shared.buf_ptr(self.index), self.len) }
    }
}

impl std::ops::DerefMut for FixedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` is unique.
        unsafe { std::slice::from_raw_parts_mut(self.shared.buf_ptr(self.index), self.len) }
    }
}

impl Drop for FixedBuf {
    fn drop(&mut self) {
        let shared = &self.shared;
        shared.free.borrow_mut().push(self.index);
        shared.out.set(shared.out.get() - 1);
        let waiters = std::mem::take(&mut *shared.waiters.borrow_mut());
        for waker in waiters {
            waker.wake();
        }
    }
}

impl fmt::Debug for FixedBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FixedBuf")
            .field("index", &self.index)
            .field("len", &self.len)
            .finish()
    }
}

// SAFETY: the pointer is to the buffer's own `size` bytes in the pool's
// heap allocation, which does not move and lives while this `FixedBuf`
// (which holds the `Rc`) does; `len <= size` bytes are initialized.
unsafe impl rentio_buf::IoBuf for FixedBuf {
    fn as_buf_ptr(&self) -> *const u8 {
        self.shared.buf_ptr(self.index)
    }

    fn buf_len(&self) -> usize {
        self.len
    }

    fn buf_capacity(&self) -> usize {
        self.shared.size
    }
}

// SAFETY: as for `IoBuf`; `set_buf_init` keeps `len` within `size`.
unsafe impl rentio_buf::IoBufMut for FixedBuf {
    fn as_buf_mut_ptr(&mut self) -> *mut u8 {
        self.shared.buf_ptr(self.index)
    }

    unsafe fn set_buf_init(&mut self, len: usize) {
        self.len = len.min(self.shared.size);
    }
}
