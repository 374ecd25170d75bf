//! Provided buffer rings: [`BufRing`], a ring of equal buffers the kernel
//! picks from as data arrives, and [`RingBuf`], one of them handed to the
//! user, which goes back to the ring when dropped.

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::task::Waker;

use crate::Driver;

/// The most buffers a ring may hold (the kernel's limit).
pub const MAX_BUFFERS: u16 = 1 << 15;

/// A ring of `count` buffers of `size` bytes, registered with a driver's
/// io_uring as a provided-buffer group (`IORING_REGISTER_PBUF_RING`): a
/// multishot receive ([`RecvMulti`](crate::op::RecvMulti)) takes a buffer
/// only when data arrives, so an idle connection holds none. Each filled
/// buffer comes to the user as a [`RingBuf`], which returns to the ring
/// when dropped. When every buffer is out, a receive ends with `ENOBUFS`;
/// [`BufRing::wait_returned`] tells when to start it again.
///
/// On the readiness backend it is a pool of the same buffers in user
/// space ([`take`](BufRing::take)), for a plain `recv` into each.
///
/// `!Send`: it belongs to its driver's thread. Cloning gives another
/// handle on the same ring.
///
/// # Kernel support
///
/// `IORING_REGISTER_PBUF_RING`, Linux 5.19. Without it (or on readiness)
/// the ring is a user-space pool, and [`is_registered`](BufRing::is_registered)
/// says so.
#[derive(Clone)]
pub struct BufRing {
    shared: Rc<Shared>,
}

struct Shared {
    /// A duplicate of the ring's fd, for the unregister at drop (it keeps
    /// the ring alive until then); `None` for a user-space pool.
    ring_fd: Option<OwnedFd>,
    bgid: u16,
    count: u16,
    size: u32,
    /// `count` entries of 16 bytes, page-aligned, shared with the kernel;
    /// the tail is the first entry's last two bytes.
    entries: Option<NonNull<u8>>,
    /// The buffers, `count * size` bytes.
    bufs: NonNull<u8>,
    /// Our tail (the kernel reads the shared one).
    tail: Cell<u16>,
    /// A user-space pool's free buffers.
    free: RefCell<Vec<u16>>,
    /// Buffers handed out and not yet back.
    out: Cell<u32>,
    /// Woken when a buffer comes back.
    waiters: RefCell<Vec<Waker>>,
    /// Receives that ended with `ENOBUFS`.
    exhausted: Cell<u64>,
    /// Buffers given back so far (a receive that found the ring empty
    /// starts again only once this has moved).
    returned: Cell<u64>,
}

/// The ring's alignment: a page (the kernel maps it whole).
pub(crate) fn page() -> usize {
    // SAFETY: sysconf has no memory effects.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size)
        .ok()
        .filter(|s| s.is_power_of_two())
        .unwrap_or(4096)
}
const ENTRY: usize = 16;

/// `IORING_REGISTER_PBUF_RING` or `IORING_UNREGISTER_PBUF_RING`.
enum Register {
    Ring,
    Unring,
}

/// One (un)registration of a buffer ring with the ring `fd`.
///
/// # Safety
///
/// For a registration, the memory `reg` names is a page-aligned array
/// of `reg.ring_entries` entries that lives until the unregister.
unsafe fn pbuf_register(fd: &OwnedFd, op: Register, reg: &BufReg) -> io::Result<()> {
    use rustix::io_uring::IoringRegisterOp;
    let op = match op {
        Register::Ring => IoringRegisterOp::RegisterPbufRing,
        Register::Unring => IoringRegisterOp::UnregisterPbufRing,
    };
    // SAFETY: `reg` is one valid `io_uring_buf_reg`, read by the call;
    // the memory it names is the caller's contract.
    unsafe {
        rustix::io_uring::io_uring_register(
            fd.as_fd(),
            op,
            std::ptr::from_ref(reg).cast_mut().cast(),
            1,
        )
    }?;
    Ok(())
}

/// `struct io_uring_buf_reg`.
#[repr(C)]
struct BufReg {
    ring_addr: u64,
    ring_entries: u32,
    bgid: u16,
    flags: u16,
    resv: [u64; 3],
}

/// Buffer group ids, unique among the live rings of the process: a ring
/// only ever sees its own groups, so a receive that names another
/// driver's ring (or a user-space pool's id) finds no such group in its
/// kernel ring (`ENOBUFS`) rather than another ring's buffers.
mod groups {
    use std::sync::Mutex;

    static IN_USE: Mutex<[u64; 1024]> = Mutex::new([0; 1024]);

    pub(super) fn take() -> Option<u16> {
        let mut bits = IN_USE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (word, bit) = bits
            .iter()
            .enumerate()
            .find_map(|(i, w)| (*w != u64::MAX).then(|| (i, w.trailing_ones() as usize)))?;
        bits[word] |= 1 << bit;
        Some((word * 64 + bit) as u16)
    }

    pub(super) fn give_back(id: u16) {
        let mut bits = IN_USE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        bits[usize::from(id) / 64] &= !(1 << (id % 64));
    }
}

impl BufRing {
    /// A ring of `count` buffers (a power of two, at most
    /// [`MAX_BUFFERS`]) of `size` bytes each, for `driver`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a count that is not a power of two, or a size
    /// of 0; `OutOfMemory`; the registration's error (for example
    /// `ENOMEM` from the memlock limit).
    pub fn new(driver: &Driver, count: u16, size: u32) -> io::Result<BufRing> {
        if count == 0 || !count.is_power_of_two() || count > MAX_BUFFERS || size == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "rentio-driver: a buffer ring needs a power-of-two count (at most 32768) and a size above 0",
            ));
        }
        let total = usize::from(count)
            .checked_mul(size as usize)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "rentio-driver: buffer ring too large",
                )
            })?;
        let bufs = alloc_bytes(total, 64)?;
        let Some(bgid) = groups::take() else {
            // SAFETY: allocated just above with this layout, unused.
            unsafe { free_bytes(bufs, total, 64) };
            return Err(io::Error::other(
                "rentio-driver: all 65,536 buffer group ids are in use",
            ));
        };
        let mut shared = Shared {
            ring_fd: None,
            bgid,
            count,
            size,
            entries: None,
            bufs,
            tail: Cell::new(0),
            free: RefCell::new(Vec::new()),
            out: Cell::new(0),
            waiters: RefCell::new(Vec::new()),
            exhausted: Cell::new(0),
            returned: Cell::new(0),
        };
        if driver.supports(crate::Feature::BufRing)
            && let Some(fd) = driver.ring_fd_dup()
        {
            let entries = alloc_bytes(usize::from(count) * ENTRY, page())?;
            shared.entries = Some(entries);
            for bid in 0..count {
                shared.write_entry(bid, bid);
            }
            shared.publish_tail(count);
            let reg = BufReg {
                ring_addr: entries.as_ptr() as u64,
                ring_entries: u32::from(count),
                bgid,
                flags: 0,
                resv: [0; 3],
            };
            // SAFETY: the ring memory `reg` names is page-aligned, `count`
            // entries long, and lives until the unregister (in
            // `Shared::drop`).
            // On an error `shared` drops: not registered, so its memory is
            // freed.
            unsafe { pbuf_register(&fd, Register::Ring, &reg) }?;
            shared.ring_fd = Some(fd);
        } else {
            *shared.free.get_mut() = (0..count).rev().collect();
        }
        Ok(BufRing {
            shared: Rc::new(shared),
        })
    }

    /// Whether the kernel picks the buffers (io_uring with buffer rings);
    /// `false` for a user-space pool.
    pub fn is_registered(&self) -> bool {
        self.shared.ring_fd.is_some()
    }

    /// The group id a receive names (`IOSQE_BUFFER_SELECT`).
    pub fn group(&self) -> u16 {
        self.shared.bgid
    }

    /// Each buffer's size.
    pub fn buf_size(&self) -> u32 {
        self.shared.size
    }

    /// How many buffers the ring holds.
    pub fn count(&self) -> u16 {
        self.shared.count
    }

    /// Buffers handed out and not yet back.
    pub fn out(&self) -> u32 {
        self.shared.out.get()
    }

    /// How many multishot receives ended with `ENOBUFS` (every buffer
    /// out) so far.
    pub fn exhausted(&self) -> u64 {
        self.shared.exhausted.get()
    }

    pub(crate) fn note_exhausted(&self) {
        self.shared.exhausted.set(self.shared.exhausted.get() + 1);
    }

    /// Buffers given back so far: a receive that ended with `ENOBUFS`
    /// is worth starting again only once this has moved (the kernel may
    /// hold buffers whose completions nobody has taken yet, so a count
    /// of buffers out says less).
    pub fn returned(&self) -> u64 {
        self.shared.returned.get()
    }

    /// A user-space pool's free buffer, empty, to receive into; `None`
    /// when all are out, or on a registered ring (whose buffers the
    /// kernel takes).
    pub fn take(&self) -> Option<RingBuf> {
        let bid = self.shared.free.borrow_mut().pop()?;
        self.shared.out.set(self.shared.out.get() + 1);
        Some(RingBuf {
            shared: self.shared.clone(),
            bid,
            len: 0,
        })
    }

    /// Registers `waker` to be woken when a buffer comes back (after an
    /// `ENOBUFS`, or when [`take`](BufRing::take) found none).
    pub fn wait_returned(&self, waker: &Waker) {
        let mut waiters = self.shared.waiters.borrow_mut();
        if !waiters.iter().any(|w| w.will_wake(waker)) {
            waiters.push(waker.clone());
        }
    }

    /// The buffer `bid`, filled with `len` bytes by the kernel.
    ///
    /// # Safety
    ///
    /// The kernel handed buffer `bid` out with a completion of `len`
    /// bytes, and this is the only `RingBuf` made for that completion.
    pub(crate) unsafe fn filled(&self, bid: u16, len: u32) -> RingBuf {
        self.shared.out.set(self.shared.out.get() + 1);
        RingBuf {
            shared: self.shared.clone(),
            bid,
            len: len.min(self.shared.size) as usize,
        }
    }
}

impl Shared {
    fn buf_ptr(&self, bid: u16) -> *mut u8 {
        // SAFETY: `bid < count`, so the offset is inside the allocation.
        unsafe {
            self.bufs
                .as_ptr()
                .add(usize::from(bid) * self.size as usize)
        }
    }

    /// Writes ring slot `slot` (mod count) to offer buffer `bid`.
    fn write_entry(&self, slot: u16, bid: u16) {
        let Some(entries) = self.entries else { return };
        let index = usize::from(slot & (self.count - 1));
        // SAFETY: `index < count`; the slot is beyond the tail the kernel
        // has seen, so the kernel does not read it now. Field offsets are
        // those of `struct io_uring_buf`; the tail (bytes 14..16 of entry
        // 0) is not touched.
        unsafe {
            let entry = entries.as_ptr().add(index * ENTRY);
            entry.cast::<u64>().write(self.buf_ptr(bid) as u64);
            entry.add(8).cast::<u32>().write(self.size);
            entry.add(12).cast::<u16>().write(bid);
        }
    }

    /// Stores the tail the kernel reads, after the entries before it.
    fn publish_tail(&self, tail: u16) {
        self.tail.set(tail);
        let Some(entries) = self.entries else { return };
        // SAFETY: bytes 14..16 of the page-aligned entry array are the
        // ring's tail, an aligned `u16` the kernel reads with acquire
        // order; the release store publishes the entries written before.
        unsafe {
            let tail_ptr = entries.as_ptr().add(14).cast::<AtomicU16>();
            (*tail_ptr).store(tail, Ordering::Release);
        }
    }

    /// Buffer `bid` is back: offer it to the kernel again (or to the
    /// pool), and wake who waits for one.
    fn give_back(&self, bid: u16) {
        self.out.set(self.out.get().saturating_sub(1));
        self.returned.set(self.returned.get() + 1);
        if self.entries.is_some() {
            let tail = self.tail.get();
            self.write_entry(tail, bid);
            self.publish_tail(tail.wrapping_add(1));
        } else {
            self.free.borrow_mut().push(bid);
        }
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        for waker in waiters {
            waker.wake();
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let total = usize::from(self.count) * self.size as usize;
        if let Some(fd) = &self.ring_fd {
            let reg = BufReg {
                ring_addr: 0,
                ring_entries: 0,
                bgid: self.bgid,
                flags: 0,
                resv: [0; 3],
            };
            // SAFETY: an unregister names no memory.
            if unsafe { pbuf_register(fd, Register::Unring, &reg) }.is_err() {
                // The kernel may still pick these buffers: leak, never
                // free (invariant 3), and keep the group id taken.
                return;
            }
        }
        groups::give_back(self.bgid);
        // Unregistered (or never registered), and every op that named the
        // group held a clone of this `Rc`, so none is in flight: the
        // kernel is done with the memory.
        if let Some(entries) = self.entries {
            // SAFETY: allocated in `new` with this layout.
            unsafe { free_bytes(entries, usize::from(self.count) * ENTRY, page()) };
        }
        // SAFETY: allocated in `new` with this layout; no `RingBuf` is
        // left (each holds a clone of this `Rc`).
        unsafe { free_bytes(self.bufs, total, 64) };
    }
}

pub(crate) fn alloc_bytes(len: usize, align: usize) -> io::Result<NonNull<u8>> {
    let layout = Layout::from_size_align(len.max(1), align)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    // SAFETY: the layout has a non-zero size.
    NonNull::new(unsafe { alloc_zeroed(layout) }).ok_or_else(|| io::ErrorKind::OutOfMemory.into())
}

/// # Safety
///
/// `ptr` came from `alloc_bytes(len, align)` and is not used afterwards.
pub(crate) unsafe fn free_bytes(ptr: NonNull<u8>, len: usize, align: usize) {
    // SAFETY: the caller's contract; the layout is the one allocated with.
    unsafe {
        dealloc(
            ptr.as_ptr(),
            Layout::from_size_align_unchecked(len.max(1), align),
        );
    }
}

impl fmt::Debug for BufRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufRing")
            .field("group", &self.shared.bgid)
            .field("count", &self.shared.count)
            .field("size", &self.shared.size)
            .field("registered", &self.is_registered())
            .field("out", &self.shared.out.get())
            .finish()
    }
}

/// One buffer of a [`BufRing`], owned: its bytes (the data received) as
/// a slice; dropping it gives the buffer back to the ring. Also an
/// [`IoBufMut`](rentio_buf::IoBufMut) to receive into (a user-space
/// pool's buffers, from [`BufRing::take`]).
pub struct RingBuf {
    shared: Rc<Shared>,
    bid: u16,
    len: usize,
}

impl RingBuf {
    /// The buffer's id in its ring.
    pub fn id(&self) -> u16 {
        self.bid
    }
}

impl std::ops::Deref for RingBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: the buffer is this `RingBuf`'s alone until it drops (the
        // kernel handed it out, or the pool did), and `len` bytes of it
        // are initialized (allocated zeroed).
        unsafe { std::slice::from_raw_parts(self.shared.buf_ptr(self.bid), self.len) }
    }
}

impl std::ops::DerefMut for RingBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` is unique.
        unsafe { std::slice::from_raw_parts_mut(self.shared.buf_ptr(self.bid), self.len) }
    }
}

impl Drop for RingBuf {
    fn drop(&mut self) {
        self.shared.give_back(self.bid);
    }
}

impl fmt::Debug for RingBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingBuf")
            .field("id", &self.bid)
            .field("len", &self.len)
            .finish()
    }
}

// SAFETY: the pointer is to the buffer's own `size` bytes in the ring's
// heap allocation, which does not move and lives while this `RingBuf`
// (which holds the `Rc`) does; `len <= size` bytes are initialized.
unsafe impl rentio_buf::IoBuf for RingBuf {
    fn as_buf_ptr(&self) -> *const u8 {
        self.shared.buf_ptr(self.bid)
    }

    fn buf_len(&self) -> usize {
        self.len
    }

    fn buf_capacity(&self) -> usize {
        self.shared.size as usize
    }
}

// SAFETY: as for `IoBuf`; `set_init` only grows `len` within `size`
// after the kernel wrote that many bytes.
unsafe impl rentio_buf::IoBufMut for RingBuf {
    fn as_buf_mut_ptr(&mut self) -> *mut u8 {
        self.shared.buf_ptr(self.bid)
    }

    unsafe fn set_buf_init(&mut self, len: usize) {
        self.len = len.min(self.shared.size as usize);
    }
}
