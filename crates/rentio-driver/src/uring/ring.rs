//! The ring itself: `io_uring_setup`, the three shared mappings, and the
//! SQ and CQ head/tail protocol of io_uring(7), kept in one place.
//!
//! The `io-uring` crate builds our SQEs; this type owns the memory they go
//! into. Owning it lets the hot paths keep the SQ tail and CQ head in the
//! struct (one store publishes each, with no queue object built and
//! dropped per push) and read a CQE in place (the crate hands CQEs out
//! through an out-of-line clone).
//!
//! The protocol, for a single issuer:
//! - SQ: we own the tail. An SQE is written at `tail & mask`, then the new
//!   tail is stored with `Release`, so the kernel sees the whole SQE when
//!   it sees the tail. The kernel owns the head; an `Acquire` load of it
//!   says which slots it has consumed and may be written again.
//! - CQ: the kernel owns the tail; an `Acquire` load of it makes the CQEs
//!   before it readable. We own the head; storing it with `Release` after
//!   a CQE is copied out hands its slot back.

use std::ffi::c_void;
use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering, fence};
use std::time::Duration;

use io_uring::squeue;

use crate::slot::Cqe;
use rustix::io_uring::{
    IORING_OFF_CQ_RING, IORING_OFF_SQ_RING, IORING_OFF_SQES, IoringEnterFlags, IoringFeatureFlags,
    IoringRegisterOp, IoringSetupFlags, IoringSqFlags, io_uring_getevents_arg, io_uring_params,
    io_uring_ptr, io_uring_rsrc_update,
};

/// One CQE as the kernel lays it out (without the `CQE32` tail).
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub(crate) struct RawCqe {
    pub(crate) user_data: u64,
    pub(crate) res: i32,
    pub(crate) flags: u32,
}

/// What `io_uring_setup` is asked for.
pub(crate) struct Setup {
    pub(crate) entries: u32,
    pub(crate) cq_entries: Option<u32>,
    /// `IORING_SETUP_*` bits (`CLAMP` and `CQSIZE` are added here).
    pub(crate) flags: u32,
    pub(crate) sq_thread_idle: u32,
}

/// An error after `io_uring_setup` succeeded: the setup tiers step down on
/// `EINVAL` from setup alone, so an `EINVAL` here keeps its message but not
/// its errno.
fn not_a_flag(e: io::Error, what: &str) -> io::Error {
    match e.raw_os_error() {
        Some(libc::EINVAL) => io::Error::new(e.kind(), format!("rentio-driver: {what}: {e}")),
        _ => e,
    }
}

/// A shared mapping of part of the ring, unmapped on drop.
struct Map {
    addr: NonNull<c_void>,
    len: usize,
}

impl Map {
    fn new(fd: &OwnedFd, offset: u64, len: usize) -> io::Result<Map> {
        let offset = libc::off_t::try_from(offset)
            .map_err(|_| io::Error::other("rentio-driver: ring mmap offset out of range"))?;
        // SAFETY: a fresh shared mapping of the ring fd, at an offset the
        // kernel defines and a length computed from the sizes it reported;
        // nothing else refers to the range it returns.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd.as_raw_fd(),
                offset,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(not_a_flag(io::Error::last_os_error(), "mapping the ring"));
        }
        let addr = NonNull::new(addr).ok_or_else(|| io::Error::other("mmap returned null"))?;
        Ok(Map { addr, len })
    }

    /// Keeps a forked child from sharing (and scribbling on) the ring.
    fn dontfork(&self) -> io::Result<()> {
        // SAFETY: the range is this mapping's own.
        match unsafe { libc::madvise(self.addr.as_ptr(), self.len, libc::MADV_DONTFORK) } {
            0 => Ok(()),
            _ => Err(not_a_flag(
                io::Error::last_os_error(),
                "MADV_DONTFORK on the ring",
            )),
        }
    }

    /// A pointer `offset` bytes into the mapping.
    fn at<T>(&self, offset: u32) -> *mut T {
        debug_assert!(offset as usize + size_of::<T>() <= self.len);
        // SAFETY: the kernel's offsets lie within the length it sized the
        // mapping by (checked in debug builds).
        unsafe { self.addr.as_ptr().cast::<u8>().add(offset as usize).cast() }
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        // SAFETY: the range was mapped by `Map::new` and is unmapped once;
        // the pointers into it die with the `Ring` that owns this map.
        unsafe { libc::munmap(self.addr.as_ptr(), self.len) };
    }
}

/// The ring: its fd, its mappings, and our ends of the two queues.
pub(crate) struct Ring {
    // SQ
    sq_head: *const AtomicU32,
    sq_ktail: *const AtomicU32,
    sq_flags: *const AtomicU32,
    sq_mask: u32,
    sq_entries: u32,
    sqes: *mut squeue::Entry,
    /// Our tail (published on every push).
    sq_tail: u32,
    // CQ
    cq_khead: *const AtomicU32,
    cq_tail: *const AtomicU32,
    cq_mask: u32,
    cqes: *const RawCqe,
    /// Our head (published after each CQE is copied out).
    cq_head: u32,
    features: IoringFeatureFlags,
    /// What `io_uring_enter` is given as the ring: the fd, or its index in
    /// this thread's registered rings, with `IORING_ENTER_REGISTERED_RING`
    /// in `enter_flags`.
    enter_fd: i32,
    enter_flags: u32,
    /// Never `Send`: a registered ring's index means something only in the
    /// registering thread, which must also be the one to unregister it.
    /// (The raw pointers already make it so; this says it on purpose.)
    _not_send: PhantomData<*mut ()>,
    // Unmapped before the fd closes (field order).
    maps: Vec<Map>,
    pub(super) fd: OwnedFd,
}

impl Ring {
    /// `io_uring_setup` and the mappings. `EINVAL` means the kernel refused
    /// a flag; any error is the kernel's.
    pub(crate) fn new(setup: &Setup) -> io::Result<Ring> {
        let mut p = io_uring_params::default();
        let mut flags = setup.flags | IoringSetupFlags::CLAMP.bits();
        if let Some(cq) = setup.cq_entries {
            flags |= IoringSetupFlags::CQSIZE.bits();
            p.cq_entries = cq.max(setup.entries);
        }
        p.flags = IoringSetupFlags::from_bits_retain(flags);
        p.sq_thread_idle = setup.sq_thread_idle;
        // SAFETY: `p` is a valid `io_uring_params` the kernel fills in.
        let fd = unsafe { rustix::io_uring::io_uring_setup(setup.entries, &mut p) }?;
        Ring::map(fd, &p)
    }

    fn map(fd: OwnedFd, p: &io_uring_params) -> io::Result<Ring> {
        let no_sqarray = p.flags.contains(IoringSetupFlags::NO_SQARRAY);
        let sq_len = if no_sqarray {
            // No index array after the SQ ring's words.
            let o = &p.sq_off;
            [
                o.head,
                o.tail,
                o.ring_mask,
                o.ring_entries,
                o.flags,
                o.dropped,
            ]
            .into_iter()
            .max()
            .unwrap_or(0) as usize
                + size_of::<u32>()
        } else {
            p.sq_off.array as usize + p.sq_entries as usize * size_of::<u32>()
        };
        let cq_len = p.cq_off.cqes as usize + p.cq_entries as usize * size_of::<RawCqe>();
        let sqe_len = p.sq_entries as usize * size_of::<squeue::Entry>();
        let sqe_map = Map::new(&fd, IORING_OFF_SQES, sqe_len)?;
        let (sq_map, cq_map) = if p.features.contains(IoringFeatureFlags::SINGLE_MMAP) {
            (Map::new(&fd, IORING_OFF_SQ_RING, sq_len.max(cq_len))?, None)
        } else {
            (
                Map::new(&fd, IORING_OFF_SQ_RING, sq_len)?,
                Some(Map::new(&fd, IORING_OFF_CQ_RING, cq_len)?),
            )
        };
        let cq_ring = cq_map.as_ref().unwrap_or(&sq_map);
        // The masks and sizes are written by the kernel at setup and never
        // change.
        // SAFETY: the offsets are the kernel's, within the mappings, and
        // point at aligned `u32`s.
        let (sq_mask, sq_entries, cq_mask) = unsafe {
            (
                sq_map.at::<u32>(p.sq_off.ring_mask).read(),
                sq_map.at::<u32>(p.sq_off.ring_entries).read(),
                cq_ring.at::<u32>(p.cq_off.ring_mask).read(),
            )
        };
        // The SQ array maps ring slots to SQE indices: the identity, set
        // once, so slot `i` is always SQE `i`. (With `NO_SQARRAY` the kernel
        // reads slot `i` as SQE `i` by itself.)
        if !no_sqarray {
            let array = sq_map.at::<u32>(p.sq_off.array);
            for i in 0..sq_entries {
                // SAFETY: the array has `sq_entries` elements; no SQE has
                // been submitted, so the kernel does not read it yet.
                unsafe { array.add(i as usize).write_volatile(i) };
            }
        }
        let sq_head = sq_map.at::<AtomicU32>(p.sq_off.head);
        let sq_ktail = sq_map.at::<AtomicU32>(p.sq_off.tail);
        let cq_khead = cq_ring.at::<AtomicU32>(p.cq_off.head);
        let cq_tail = cq_ring.at::<AtomicU32>(p.cq_off.tail);
        // SAFETY: the head and tail words are aligned `u32`s in the
        // mappings, which the kernel updates only atomically.
        let (sq_tail, cq_head) = unsafe {
            (
                (*sq_ktail).load(Ordering::Relaxed),
                (*cq_khead).load(Ordering::Relaxed),
            )
        };
        let mut ring = Ring {
            sq_head,
            sq_ktail,
            sq_flags: sq_map.at::<AtomicU32>(p.sq_off.flags),
            sq_mask,
            sq_entries,
            sqes: sqe_map.at::<squeue::Entry>(0),
            sq_tail,
            cq_khead,
            cq_tail,
            cq_mask,
            cqes: cq_ring.at::<RawCqe>(p.cq_off.cqes),
            cq_head,
            features: p.features,
            enter_fd: fd.as_raw_fd(),
            enter_flags: 0,
            _not_send: PhantomData,
            maps: Vec::with_capacity(3),
            fd,
        };
        ring.maps.push(sqe_map);
        ring.maps.push(sq_map);
        ring.maps.extend(cq_map);
        Ok(ring)
    }

    /// Registers the ring fd with the calling thread
    /// (`IORING_REGISTER_RING_FDS`, Linux 5.18), so that each enter skips
    /// looking the fd up; `false` (and nothing changes) if the kernel
    /// refuses. Only this thread may enter the ring afterwards; the ring is
    /// `!Send`, so no other thread can.
    pub(crate) fn register_ring_fd(&mut self) -> bool {
        if self.enter_flags & IoringEnterFlags::REGISTERED_RING.bits() != 0 {
            return true;
        }
        let mut update = io_uring_rsrc_update::default();
        // "Any free slot."
        update.offset = u32::MAX;
        update.data = io_uring_ptr::new(self.fd.as_raw_fd() as usize as *mut c_void);
        // SAFETY: `update` is one valid, writable `io_uring_rsrc_update`
        // naming this ring's fd; the kernel writes the slot it picked back
        // into it.
        let registered = unsafe {
            rustix::io_uring::io_uring_register(
                self.fd.as_fd(),
                IoringRegisterOp::RegisterRingFds,
                (&raw mut update).cast(),
                1,
            )
        };
        match (registered, i32::try_from(update.offset)) {
            (Ok(1), Ok(index)) => {
                self.enter_fd = index;
                self.enter_flags = IoringEnterFlags::REGISTERED_RING.bits();
                true
            }
            _ => false,
        }
    }

    /// A duplicate of the ring's fd (`F_DUPFD_CLOEXEC`).
    pub(crate) fn fd_dup(&self) -> Option<OwnedFd> {
        self.fd.try_clone().ok()
    }

    /// Whether enters go through the registered ring index.
    pub(crate) fn ring_fd_registered(&self) -> bool {
        self.enter_flags != 0
    }

    /// Marks the mappings `MADV_DONTFORK`.
    pub(crate) fn dontfork(&self) -> io::Result<()> {
        self.maps.iter().try_for_each(Map::dontfork)
    }

    /// Whether the kernel has feature `flag` (`IORING_FEAT_*`).
    pub(crate) fn has_feature(&self, flag: IoringFeatureFlags) -> bool {
        self.features.contains(flag)
    }

    /// Copies `entry` into the SQ and publishes it; `false` if the SQ is
    /// full.
    ///
    /// # Safety
    ///
    /// The memory `entry` points to must stay valid (and, for reads into
    /// it, unaliased) until its CQE is reaped.
    #[inline]
    pub(crate) unsafe fn push(&mut self, entry: &squeue::Entry) -> bool {
        if self.sq_room() == 0 {
            return false;
        }
        let index = (self.sq_tail & self.sq_mask) as usize;
        // SAFETY: `index` is within the SQE array; the slot was consumed by
        // the kernel (the room check) and is ours until the tail passes it.
        // An `Entry` is a plain `repr(C)` SQE, so a byte copy is a copy.
        unsafe { std::ptr::copy_nonoverlapping(entry, self.sqes.add(index), 1) };
        self.sq_tail = self.sq_tail.wrapping_add(1);
        // SAFETY: the tail word is an aligned `u32` of the mapping; the
        // `Release` store makes the SQE above visible before the tail.
        unsafe { (*self.sq_ktail).store(self.sq_tail, Ordering::Release) };
        true
    }

    /// Writes the entry `f` builds into the next SQ slot and publishes it.
    /// Building the SQE in the call lets it be written straight into the
    /// slot. The caller has just seen room (the kernel only ever adds room).
    ///
    /// # Safety
    ///
    /// As [`push`](Ring::push), and [`sq_room`](Ring::sq_room) returned
    /// more than 0 since the last push.
    #[inline(always)]
    pub(crate) unsafe fn push_with_unchecked(&mut self, f: impl FnOnce() -> squeue::Entry) {
        debug_assert!(self.sq_room() > 0);
        let index = (self.sq_tail & self.sq_mask) as usize;
        // SAFETY: as in `push`: the slot is within the array and ours (the
        // caller saw room).
        unsafe { self.sqes.add(index).write(f()) };
        self.sq_tail = self.sq_tail.wrapping_add(1);
        // SAFETY: as in `push`.
        unsafe { (*self.sq_ktail).store(self.sq_tail, Ordering::Release) };
    }

    /// Copies `entries` into the SQ and publishes them together (a linked
    /// chain must not be seen by an SQ thread half-written); `false`, with
    /// nothing pushed, if they do not fit.
    ///
    /// # Safety
    ///
    /// As [`push`](Ring::push), for each entry.
    pub(crate) unsafe fn push_all(&mut self, entries: &[squeue::Entry]) -> bool {
        if (self.sq_room() as usize) < entries.len() {
            return false;
        }
        for entry in entries {
            let index = (self.sq_tail & self.sq_mask) as usize;
            // SAFETY: as in `push`; the room check covered every entry.
            unsafe { std::ptr::copy_nonoverlapping(entry, self.sqes.add(index), 1) };
            self.sq_tail = self.sq_tail.wrapping_add(1);
        }
        // SAFETY: as in `push`.
        unsafe { (*self.sq_ktail).store(self.sq_tail, Ordering::Release) };
        true
    }

    /// Points every queued SQE (pushed, not yet consumed by the kernel)
    /// that names `fd` at `-1` instead, so it fails with `EBADF` rather
    /// than act on whatever file the number names by the time it is
    /// submitted (a `Socket` SQE's domain and a registered file's index are
    /// left alone). The fallback of a release whose flush failed; returns
    /// how many SQEs it changed. Only for a ring without an SQ thread,
    /// which could be reading the entries meanwhile.
    pub(crate) fn retarget_queued(&mut self, fd: RawFd) -> usize {
        // SAFETY: an aligned `u32` of the mapping, written by the kernel.
        let head = unsafe { (*self.sq_head).load(Ordering::Acquire) };
        let mut changed = 0;
        let mut at = head;
        while at != self.sq_tail {
            let index = (at & self.sq_mask) as usize;
            at = at.wrapping_add(1);
            // SAFETY: `index` is within the SQE array, and slots from the
            // kernel's head to our tail are ours: the kernel reads them only
            // when an enter submits them, and no SQ thread runs (the
            // caller's contract). An `Entry` is a `repr(C)` SQE whose
            // `flags` byte is at offset 1 and `fd` at offset 4.
            let sqe = unsafe { self.sqes.add(index).cast::<u8>() };
            // SAFETY: as above, byte 1 of the SQE.
            let flags = unsafe { sqe.add(1).read() };
            // SAFETY: as above, byte 0 of the SQE.
            let opcode = unsafe { sqe.read() };
            if flags & IOSQE_FIXED_FILE != 0 || opcode == IORING_OP_SOCKET {
                // A registered file's index, or a socket's domain: not an
                // fd number.
                continue;
            }
            // SAFETY: as above; bytes 4..8 of the 8-aligned SQE.
            let field = unsafe { sqe.add(4).cast::<i32>() };
            // SAFETY: as above.
            if unsafe { field.read() } == fd {
                // SAFETY: as above.
                unsafe { field.write(-1) };
                changed += 1;
            }
        }
        changed
    }

    /// Free SQ slots.
    #[inline]
    pub(crate) fn sq_room(&self) -> u32 {
        self.sq_entries - self.sq_pending()
    }

    /// SQEs pushed that the kernel has not consumed.
    #[inline]
    pub(crate) fn sq_pending(&self) -> u32 {
        // SAFETY: an aligned `u32` of the mapping, written by the kernel.
        let head = unsafe { (*self.sq_head).load(Ordering::Acquire) };
        self.sq_tail.wrapping_sub(head)
    }

    /// Whether an SQ thread sleeps and must be woken (`IORING_SQ_NEED_WAKEUP`)
    /// to see what was pushed. The full fence orders the tail stores before
    /// the flag load: the SQ thread sets the flag, fences, then reads the
    /// tail, so one of the two sides always sees the other (as liburing's
    /// `sq_ring_needs_enter`).
    #[inline]
    pub(crate) fn sq_need_wakeup(&self) -> bool {
        fence(Ordering::SeqCst);
        self.sq_flags() & IoringSqFlags::NEED_WAKEUP.bits() != 0
    }

    /// The SQ ring's flags word (`IORING_SQ_*`).
    #[inline]
    pub(crate) fn sq_flags(&self) -> u32 {
        // SAFETY: an aligned `u32` of the mapping, written by the kernel.
        unsafe { (*self.sq_flags).load(Ordering::Acquire) }
    }

    /// Our CQ head and the kernel's tail: the CQEs in `head..tail` are
    /// ready to be read with [`cqe_at`](Ring::cqe_at).
    #[inline]
    pub(crate) fn cq_window(&self) -> (u32, u32) {
        // SAFETY: an aligned `u32` of the mapping, written by the kernel;
        // the `Acquire` load makes the CQEs before it readable.
        let tail = unsafe { (*self.cq_tail).load(Ordering::Acquire) };
        (self.cq_head, tail)
    }

    /// The CQE at position `at` of the CQ: its `user_data`, and its result
    /// and flags as one word, read with one load (they sit side by side).
    /// The caller has seen `at` inside the window of
    /// [`cq_window`](Ring::cq_window), at or past our head; our head moves
    /// with [`release_cqes_to`](Ring::release_cqes_to).
    #[inline(always)]
    pub(crate) fn cqe_at(&self, at: u32) -> (u64, Cqe) {
        let index = (at & self.cq_mask) as usize;
        // SAFETY: `index` is within the CQE array, and the kernel wrote this
        // CQE before the tail the window was read with (`Acquire`); it does
        // not touch the slot until the published head passes it. `res` and
        // `flags` are the aligned second word of the `repr(C)` CQE.
        let (user_data, word) = unsafe {
            let cqe = self.cqes.add(index);
            let words = cqe.cast::<u64>();
            (words.read(), words.add(1).read())
        };
        // `res` is the first of the two in memory; `Cqe` keeps it low.
        let word = if cfg!(target_endian = "little") {
            word
        } else {
            word.rotate_left(32)
        };
        (user_data, Cqe::from_word(word))
    }

    /// Moves our head to `head` (past the CQEs read with
    /// [`cqe_at`](Ring::cqe_at)) without telling the kernel yet.
    #[inline]
    pub(crate) fn consume_to(&mut self, head: u32) {
        self.cq_head = head;
    }

    /// Moves our head to `head` (past the CQEs read with
    /// [`cqe_at`](Ring::cqe_at)) and hands their slots back to the kernel:
    /// one store for a whole batch.
    #[inline]
    pub(crate) fn release_cqes_to(&mut self, head: u32) {
        self.cq_head = head;
        // SAFETY: an aligned `u32` of the mapping; `Release` keeps the reads
        // of the taken CQEs before their slots go back to the kernel.
        unsafe { (*self.cq_khead).store(head, Ordering::Release) };
    }

    /// The CQE at our head, whose slot goes back to the kernel at once.
    #[cfg(test)]
    pub(crate) fn pop_cqe(&mut self) -> RawCqe {
        let (user_data, cqe) = self.cqe_at(self.cq_head);
        self.release_cqes_to(self.cq_head.wrapping_add(1));
        RawCqe {
            user_data,
            res: cqe.res(),
            flags: cqe.flags(),
        }
    }

    /// `io_uring_enter`; with a `timeout`, waits at most that long
    /// (`IORING_ENTER_EXT_ARG`).
    pub(crate) fn enter(
        &self,
        to_submit: u32,
        min_complete: u32,
        flags: u32,
        timeout: Option<Duration>,
        min_wait_usec: u32,
    ) -> io::Result<u32> {
        let mut flags = flags | self.enter_flags;
        let mut ts;
        let arg;
        let (argp, argsz): (*const c_void, usize) = match (timeout, min_wait_usec) {
            (None, 0) => (std::ptr::null(), 0),
            (timeout, min_wait_usec) => {
                let ts_ptr = match timeout {
                    Some(timeout) => {
                        ts = crate::sys::kernel_timespec(timeout);
                        io_uring_ptr::new((&raw mut ts).cast())
                    }
                    None => io_uring_ptr::null(),
                };
                arg = io_uring_getevents_arg {
                    ts: ts_ptr,
                    min_wait_usec,
                    ..Default::default()
                };
                flags |= IoringEnterFlags::EXT_ARG.bits();
                ((&raw const arg).cast(), size_of::<io_uring_getevents_arg>())
            }
        };
        // The raw syscall, as `enter_fd` may be a registered ring's index
        // rather than an fd.
        // SAFETY: `enter_fd` names this ring (its fd, or its registered
        // index with the flag that says so); `argp` is null or points to an
        // `io_uring_getevents_arg` of `argsz` bytes whose timespec outlives
        // the call; SQE memory is the caller's contract (`push`).
        let n = unsafe {
            libc::syscall(
                libc::SYS_io_uring_enter,
                libc::c_long::from(self.enter_fd),
                libc::c_long::from(to_submit),
                libc::c_long::from(min_complete),
                libc::c_long::from(flags),
                argp,
                argsz,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as u32)
    }

    /// `IORING_REGISTER_PROBE`: which opcodes the kernel has.
    pub(crate) fn probe(&self) -> io::Result<Probe> {
        let mut probe = Probe::new();
        // SAFETY: the buffer is an `io_uring_probe` with room for
        // `PROBE_OPS` ops, zeroed as the kernel requires, and outlives the
        // call.
        unsafe {
            rustix::io_uring::io_uring_register(
                self.fd.as_fd(),
                IoringRegisterOp::RegisterProbe,
                (&raw mut probe.0).cast(),
                PROBE_OPS as u32,
            )
        }?;
        Ok(probe)
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        if !self.ring_fd_registered() {
            return;
        }
        // The registration holds a reference to the ring: without this the
        // ring would live on until the thread exits.
        let mut update = io_uring_rsrc_update::default();
        update.offset = self.enter_fd as u32;
        // SAFETY: `update` is one valid `io_uring_rsrc_update` naming the
        // slot this ring was registered in.
        let _ = unsafe {
            rustix::io_uring::io_uring_register(
                self.fd.as_fd(),
                IoringRegisterOp::UnregisterRingFds,
                (&raw mut update).cast(),
                1,
            )
        };
    }
}

/// `IOSQE_FIXED_FILE`: the SQE's `fd` is an index into registered files.
const IOSQE_FIXED_FILE: u8 = 1 << 0;
/// `IORING_OP_SOCKET`, whose SQE carries the domain where others carry
/// an fd.
const IORING_OP_SOCKET: u8 = io_uring::opcode::Socket::CODE;
const PROBE_OPS: usize = 256;
const IO_URING_OP_SUPPORTED: u16 = 1;

/// An `io_uring_probe` with room for every opcode: a 16-byte header, then
/// 8 bytes per op (`op: u8, resv: u8, flags: u16, resv2: u32`).
#[repr(C, align(8))]
pub(crate) struct Probe([u8; 16 + 8 * PROBE_OPS]);

impl Probe {
    fn new() -> Probe {
        Probe([0; 16 + 8 * PROBE_OPS])
    }

    /// Whether the kernel reported `code` as supported.
    pub(crate) fn is_supported(&self, code: u8) -> bool {
        let ops_len = usize::from(self.0[1]);
        (0..ops_len.min(PROBE_OPS)).any(|i| {
            let op = &self.0[16 + 8 * i..16 + 8 * i + 8];
            op[0] == code && u16::from_ne_bytes([op[2], op[3]]) & IO_URING_OP_SUPPORTED != 0
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> Ring {
        Ring::new(&Setup {
            entries: 4,
            cq_entries: None,
            flags: 0,
            sq_thread_idle: 0,
        })
        .expect("io_uring setup")
    }

    /// A NOP round trip through our own SQ and CQ handling.
    fn nop_round_trip(ring: &mut Ring, user_data: u64) {
        let entry = io_uring::opcode::Nop::new().build().user_data(user_data);
        // SAFETY: a NOP points at no memory.
        assert!(unsafe { ring.push(&entry) });
        assert_eq!(ring.sq_pending(), 1);
        let submitted = ring.enter(1, 1, 1, None, 0).expect("enter");
        assert_eq!(submitted, 1);
        let (head, tail) = ring.cq_window();
        assert_eq!(tail.wrapping_sub(head), 1);
        let cqe = ring.pop_cqe();
        assert_eq!((cqe.user_data, cqe.res), (user_data, 0));
        assert_eq!(ring.cq_window().0, tail, "the slot went back");
    }

    /// The fallback of a release whose flush failed: queued SQEs that name
    /// the fd are pointed at -1 and fail with EBADF; others, and SQEs on
    /// registered files, keep their fd.
    #[test]
    fn retarget_points_queued_sqes_of_one_fd_at_minus_one() {
        use io_uring::{opcode, squeue, types};
        let mut r = ring();
        let (a, b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
        let buf = [7u8; 1];
        let send = |fd: RawFd, user_data: u64| {
            opcode::Send::new(types::Fd(fd), buf.as_ptr(), 1)
                .build()
                .user_data(user_data)
        };
        let fixed = opcode::Send::new(types::Fixed(a.as_raw_fd() as u32), buf.as_ptr(), 1)
            .build()
            .flags(squeue::Flags::FIXED_FILE)
            .user_data(3);
        // A socket whose domain happens to equal `a`'s number.
        let socket = opcode::Socket::new(a.as_raw_fd(), libc::SOCK_STREAM, 0)
            .build()
            .user_data(4);
        for entry in [
            send(a.as_raw_fd(), 1),
            send(b.as_raw_fd(), 2),
            fixed,
            socket,
        ] {
            // SAFETY: `buf` outlives the enter and the reap below.
            assert!(unsafe { r.push(&entry) });
        }
        assert_eq!(
            r.retarget_queued(a.as_raw_fd()),
            1,
            "one plain SQE names `a`"
        );
        let fds: Vec<i32> = (0..4usize)
            .map(|i| {
                // SAFETY: slot `i` of the 4-entry SQE array holds the i-th
                // entry pushed above (a new ring starts at 0), unsubmitted.
                unsafe { r.sqes.add(i).cast::<u8>().add(4).cast::<i32>().read() }
            })
            .collect();
        let (fa, fb) = (a.as_raw_fd(), b.as_raw_fd());
        assert_eq!(
            fds,
            [-1, fb, fa, fa],
            "only the plain SQE naming `a` changed"
        );
        r.enter(4, 4, 1, None, 0).expect("enter");
        let mut results = Vec::new();
        for _ in 0..4 {
            let cqe = r.pop_cqe();
            results.push((cqe.user_data, cqe.res));
        }
        results.sort_unstable();
        assert_eq!(results[0], (1, -libc::EBADF), "retargeted");
        assert_eq!(results[1], (2, 1), "another fd's SQE is untouched");
        // No files are registered: the kernel refuses the index, whatever it is.
        assert_eq!(results[2].0, 3);
        assert!(results[2].1 < 0);
        let (user_data, res) = results[3];
        assert_eq!(user_data, 4);
        if res >= 0 {
            // SAFETY: the kernel just made this fd for us.
            drop(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(res) });
        }
    }

    #[test]
    fn a_full_sq_refuses_and_wraps_around() {
        let mut r = ring();
        let nop = io_uring::opcode::Nop::new().build();
        for _ in 0..4 {
            // SAFETY: a NOP points at no memory.
            assert!(unsafe { r.push(&nop) });
        }
        // SAFETY: as above.
        assert!(!unsafe { r.push(&nop) }, "4 entries, all in use");
        // SAFETY: as above.
        assert!(!unsafe { r.push_all(std::slice::from_ref(&nop)) });
        r.enter(4, 4, 1, None, 0).expect("enter");
        let (mut head, tail) = r.cq_window();
        while head != tail {
            r.pop_cqe();
            head = head.wrapping_add(1);
        }
        for round in 0..10 {
            nop_round_trip(&mut r, round);
        }
    }

    #[test]
    fn a_ring_without_the_sq_array_takes_sqes_in_ring_order() {
        let mut r = Ring::new(&Setup {
            entries: 4,
            cq_entries: None,
            flags: IoringSetupFlags::NO_SQARRAY.bits(),
            sq_thread_idle: 0,
        })
        .expect("NO_SQARRAY is Linux 6.6; this machine has it");
        // Past the end of the ring a few times, so slots are reused.
        for round in 0..10 {
            nop_round_trip(&mut r, round);
        }
    }

    #[test]
    fn a_registered_ring_is_entered_by_index_and_unregistered_on_drop() {
        // The kernel allows 16 registered rings per thread: were a dropped
        // ring's registration leaked, the 17th would fail.
        for round in 0..40 {
            let mut r = ring();
            assert!(r.register_ring_fd(), "round {round}: registration failed");
            assert!(r.ring_fd_registered());
            nop_round_trip(&mut r, round);
        }
    }
}
