//! Direct descriptors: a sparse table of files registered with the ring
//! (`Builder::direct_descriptors`), and the SQEs that name a slot of it
//! (`IOSQE_FIXED_FILE`) in place of an fd.
//!
//! The table maps an fd to its slot. An op whose SQE names its one fd in
//! the `fd` field ([`OpCode::direct_fd`](crate::OpCode::direct_fd)), and
//! that the kernel resolves at submission (not `LATE_FDS`), is pointed at
//! the slot as it is pushed. The slot goes when the fd is released or
//! closed through the driver (`Core::release`, a `Close` op), after the
//! SQEs queued before are submitted: those have taken their file by then,
//! so, as with fd numbers (invariant 11), no op lands on another file that
//! reuses the slot.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, RawFd};

use io_uring::squeue;
use rustix::io_uring::IoringRegisterOp;

use super::Uring;
use super::ring::Ring;

/// The fds registered in the ring's table and the slots still free.
#[derive(Debug)]
pub(crate) struct DirectTable {
    by_fd: HashMap<RawFd, u32>,
    free: Vec<u32>,
    /// SQEs pointed at a slot so far.
    pub(crate) sqes: u64,
}

/// `IORING_RSRC_REGISTER_SPARSE`.
const RSRC_REGISTER_SPARSE: u32 = 1;

impl Ring {
    /// Registers an empty table of `slots` files
    /// (`IORING_REGISTER_FILES2` with `IORING_RSRC_REGISTER_SPARSE`).
    pub(crate) fn register_sparse_files(&self, slots: u32) -> io::Result<()> {
        /// `struct io_uring_rsrc_register`.
        #[repr(C)]
        struct RsrcRegister {
            nr: u32,
            flags: u32,
            resv2: u64,
            data: u64,
            tags: u64,
        }
        let mut reg = RsrcRegister {
            nr: slots,
            flags: RSRC_REGISTER_SPARSE,
            resv2: 0,
            data: 0,
            tags: 0,
        };
        // SAFETY: `reg` is one `io_uring_rsrc_register`, read by the call;
        // a sparse table names no memory.
        unsafe {
            rustix::io_uring::io_uring_register(
                self.fd.as_fd(),
                IoringRegisterOp::RegisterFiles2,
                (&raw mut reg).cast(),
                size_of::<RsrcRegister>() as u32,
            )
        }?;
        Ok(())
    }

    /// Puts `fd` (or `-1`, an empty slot) in slot `slot` of the table
    /// (`IORING_REGISTER_FILES_UPDATE`).
    fn update_file(&self, slot: u32, fd: RawFd) -> io::Result<()> {
        /// `struct io_uring_files_update`.
        #[repr(C)]
        struct FilesUpdate {
            offset: u32,
            resv: u32,
            fds: u64,
        }
        let fds = [fd];
        let mut update = FilesUpdate {
            offset: slot,
            resv: 0,
            fds: fds.as_ptr() as u64,
        };
        // SAFETY: `update` names one fd in `fds`, both alive for the
        // call, which only reads them.
        let updated = unsafe {
            rustix::io_uring::io_uring_register(
                self.fd.as_fd(),
                IoringRegisterOp::RegisterFilesUpdate,
                (&raw mut update).cast(),
                1,
            )
        }?;
        if updated != 1 {
            return Err(io::Error::other(
                "rentio-driver: the kernel updated no slot of the file table",
            ));
        }
        Ok(())
    }
}

impl DirectTable {
    pub(crate) fn new(slots: u32) -> DirectTable {
        DirectTable {
            by_fd: HashMap::new(),
            free: (0..slots).rev().collect(),
            sqes: 0,
        }
    }
}

impl Uring {
    /// Registers `fd` in the table: `Ok(true)`, or `Ok(false)` when the
    /// ring has no table or it is full (the fd then goes by its number).
    pub(crate) fn register_direct(&mut self, fd: RawFd) -> io::Result<bool> {
        let Some(table) = &mut self.direct else {
            return Ok(false);
        };
        if table.by_fd.contains_key(&fd) {
            return Ok(true);
        }
        let Some(slot) = table.free.pop() else {
            return Ok(false);
        };
        if let Err(e) = self.ring.update_file(slot, fd) {
            table.free.push(slot);
            return Err(e);
        }
        table.by_fd.insert(fd, slot);
        Ok(true)
    }

    /// `fd`'s slot, if it has one.
    #[inline]
    pub(crate) fn direct_slot(&self, fd: RawFd) -> Option<u32> {
        let table = self.direct.as_ref()?;
        if table.by_fd.is_empty() {
            return None;
        }
        table.by_fd.get(&fd).copied()
    }

    /// Counts an SQE pointed at a slot.
    #[inline]
    pub(crate) fn note_direct_sqe(&mut self) {
        if let Some(table) = &mut self.direct {
            table.sqes += 1;
        }
    }

    /// SQEs pointed at a slot so far.
    pub(crate) fn direct_sqes(&self) -> u64 {
        self.direct.as_ref().map_or(0, |t| t.sqes)
    }

    /// Takes `fd` out of the table, after the caller's release tried to
    /// submit the SQEs queued before. A slot that a queued SQE may still
    /// name (the ring would not take them all), or whose clearing failed,
    /// is never used again: such an SQE finds the slot empty (`EBADF`),
    /// never another file.
    pub(crate) fn release_direct(&mut self, fd: RawFd) {
        let Some(table) = &mut self.direct else {
            return;
        };
        let Some(slot) = table.by_fd.remove(&fd) else {
            return;
        };
        let drained = self.ring.sq_pending() == 0;
        match self.ring.update_file(slot, -1) {
            Ok(()) if drained => table.free.push(slot),
            Ok(()) => {}
            Err(e) => tracing::warn!(
                target: "rentio_driver",
                fd,
                slot,
                "rentio-driver: could not clear a direct descriptor ({e}); \
                 its file stays open until the ring closes"
            ),
        }
    }
}

/// `entry`, naming direct descriptor `slot` in place of its fd
/// (`IOSQE_FIXED_FILE`).
#[inline]
pub(crate) fn to_direct(entry: squeue::Entry, slot: u32) -> squeue::Entry {
    // SAFETY: an `Entry` is a `repr(C)` SQE of 64 bytes, every bit
    // pattern of which is a valid `[u8; 64]` and back; the `fd` field is
    // the `i32` at bytes 4..8.
    let mut raw: [u8; 64] = unsafe { std::mem::transmute(entry) };
    raw[4..8].copy_from_slice(&(slot as i32).to_ne_bytes());
    // SAFETY: as above; only the `fd` field changed.
    let entry: squeue::Entry = unsafe { std::mem::transmute(raw) };
    entry.flags(squeue::Flags::FIXED_FILE)
}
