//! `File`: positional rent IO on an open file, and `FileCursor`, a
//! sequential view with its own position.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;

use rentio_buf::{BufResult, IoBuf, IoBufMut, IoVecBuf, IoVecBufMut};
use rentio_driver::Driver;
use rentio_driver::op::{
    Close, Fadvise, Fallocate, Fsync, Ftruncate, Read, Readv, Statx, SyncFileRange, Write, Writev,
};
use rentio_io::{AsyncReadRent, AsyncReadRentAt, AsyncWriteRent, AsyncWriteRentAt};

use crate::{Metadata, OpenOptions};

/// An open file: reads and writes at a position, renting their buffers
/// (see `rentio-io`), on io_uring or the blocking pool.
///
/// Every method takes `&self`: reads and writes at different positions
/// may run at once. [`cursor`](File::cursor) gives a sequential view with
/// its own position, for [`rentio_io::copy`] and the rent-IO helpers.
///
/// Dropping the file closes it through its driver, after the ops already
/// pushed for it (an op whose future was dropped still finishes on the
/// open file); [`close`](File::close) waits for the close and reports its
/// error.
///
/// # Examples
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// rentio_executor::Runtime::new()?.block_on(async {
///     let path = std::env::temp_dir().join(format!("rentio-fs-file-{}", std::process::id()));
///     let file = rentio_fs::File::options()
///         .read(true)
///         .write(true)
///         .create(true)
///         .truncate(true)
///         .open(&path)
///         .await?;
///     let (n, _) = file.write_all_at(b"0123456789".to_vec(), 0).await;
///     assert_eq!(n?, 10);
///     let (n, buf) = file.read_exact_at(Vec::with_capacity(4), 3).await;
///     assert_eq!(n?, 4);
///     assert_eq!(buf, b"3456");
///     file.sync_all().await?;
///     drop(file);
///     rentio_fs::remove_file(&path).await
/// })
/// # }
/// ```
#[derive(Debug)]
pub struct File {
    fd: Option<OwnedFd>,
    raw: RawFd,
    driver: Driver,
    /// Opened `O_DIRECT`: the alignments its reads and writes need.
    direct: Option<DirectAlign>,
}

/// `O_DIRECT`'s alignments: of the buffer's address, and of the length and
/// the file offset.
#[derive(Clone, Copy, Debug)]
struct DirectAlign {
    memory: u64,
    offset: u64,
}

/// Advice for [`File::advise`] (`posix_fadvise(2)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Advice {
    /// No particular pattern (the default).
    Normal,
    /// Read in order: read ahead more.
    Sequential,
    /// Read in no order: read ahead less.
    Random,
    /// Will be read soon: start reading it in.
    WillNeed,
    /// Will not be read soon: drop it from the page cache.
    DontNeed,
    /// Will be read once.
    NoReuse,
}

impl Advice {
    fn raw(self) -> i32 {
        match self {
            Advice::Normal => libc::POSIX_FADV_NORMAL,
            Advice::Sequential => libc::POSIX_FADV_SEQUENTIAL,
            Advice::Random => libc::POSIX_FADV_RANDOM,
            Advice::WillNeed => libc::POSIX_FADV_WILLNEED,
            Advice::DontNeed => libc::POSIX_FADV_DONTNEED,
            Advice::NoReuse => libc::POSIX_FADV_NOREUSE,
        }
    }
}

impl File {
    pub(crate) fn from_parts(fd: OwnedFd, driver: Driver) -> File {
        File {
            raw: fd.as_raw_fd(),
            fd: Some(fd),
            driver,
            direct: None,
        }
    }

    /// Learns the `O_DIRECT` alignments (`STATX_DIOALIGN`; 512 bytes where
    /// the kernel does not say).
    pub(crate) async fn with_direct_alignment(mut self) -> io::Result<File> {
        let stx = self.driver()?.op(Statx::fd(self.raw)).await?;
        let known = stx.stx_mask & libc::STATX_DIOALIGN != 0 && stx.stx_dio_offset_align != 0;
        self.direct = Some(if known {
            DirectAlign {
                memory: u64::from(stx.stx_dio_mem_align.max(1)),
                offset: u64::from(stx.stx_dio_offset_align),
            }
        } else {
            DirectAlign {
                memory: 512,
                offset: 512,
            }
        });
        Ok(self)
    }

    /// On an `O_DIRECT` file: whether a transfer of `len` bytes at `pos`
    /// from or to `addr` is aligned as the file needs.
    fn check_direct(&self, addr: *const u8, len: usize, pos: u64) -> io::Result<()> {
        let Some(align) = self.direct else {
            return Ok(());
        };
        if (addr as u64).is_multiple_of(align.memory)
            && (len as u64).is_multiple_of(align.offset)
            && pos.is_multiple_of(align.offset)
        {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                concat!(
                    "rentio-fs: an O_DIRECT read or write needs its buffer at a multiple of {} ",
                    "bytes and its length and file offset multiples of {} (rentio_buf::AlignedBuf ",
                    "gives such buffers); got address {:p}, length {}, offset {}"
                ),
                align.memory, align.offset, addr, len, pos
            ),
        ))
    }

    /// Opens `path` for reading.
    ///
    /// # Errors
    ///
    /// As [`OpenOptions::open`].
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Opens `path` for writing, creating it or cutting it to length 0.
    ///
    /// # Errors
    ///
    /// As [`OpenOptions::open`].
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Creates `path` for reading and writing, failing with
    /// `AlreadyExists` if it exists.
    ///
    /// # Errors
    ///
    /// As [`OpenOptions::open`].
    pub async fn create_new(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .await
    }

    /// The options to open a file with.
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Takes a std file, for the current runtime.
    ///
    /// # Errors
    ///
    /// Outside a runtime.
    pub fn from_std(file: std::fs::File) -> io::Result<File> {
        Ok(File::from_parts(file.into(), crate::driver()?))
    }

    /// The std file back. Ops of this file whose futures were dropped are
    /// submitted first; the fd leaves the driver (see
    /// `Driver::release_fd`).
    pub fn into_std(mut self) -> std::fs::File {
        let Some(fd) = self.fd.take() else {
            unreachable!("a file holds its fd until into_std, close or drop")
        };
        self.driver.release_fd(fd).into()
    }

    /// The driver to run an op on: the file's, if it is this thread's.
    fn driver(&self) -> io::Result<&Driver> {
        let current = crate::driver()?;
        if current.same_as(&self.driver) {
            Ok(&self.driver)
        } else {
            Err(io::Error::other(
                "rentio-fs: this file belongs to another runtime (files stay on the runtime that \
                 opened them)",
            ))
        }
    }

    /// Reads once at `pos` into `buf`'s spare capacity; `Ok(0)` with room
    /// to spare is end of file. A read of more than the kernel takes at
    /// once (2 GiB less a page) comes back short, as any read may.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future loses the buffer and what it read; the driver
    /// keeps the buffer alive until the kernel is done with it. No
    /// position moves, so reading again reads the same bytes.
    ///
    /// # Errors
    ///
    /// On an `O_DIRECT` file, `InvalidInput` (before any IO) unless the
    /// spare part's address, its length and `pos` are aligned as the file
    /// system needs (see [`rentio_buf::AlignedBuf`]).
    pub async fn read_at<T: IoBufMut>(&self, mut buf: T, pos: u64) -> BufResult<usize, T> {
        if let Err(e) = self.check_direct(buf.spare_ptr(), buf.spare_len(), pos) {
            return (Err(e), buf);
        }
        match self.driver() {
            Ok(driver) => driver.op(Read::at(self.raw, buf, pos)).await,
            Err(e) => (Err(e), buf),
        }
    }

    /// Writes once at `pos` from `buf`'s initialized part; the count may
    /// be short.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may leave the bytes written or not; writing
    /// them again at `pos` is harmless.
    ///
    /// # Errors
    ///
    /// On an `O_DIRECT` file, `InvalidInput` (before any IO) unless the
    /// buffer's address, its length and `pos` are aligned as the file
    /// system needs.
    pub async fn write_at<T: IoBuf>(&self, buf: T, pos: u64) -> BufResult<usize, T> {
        if let Err(e) = self.check_direct(buf.as_buf_ptr(), buf.buf_len(), pos) {
            return (Err(e), buf);
        }
        match self.driver() {
            Ok(driver) => driver.op(Write::at(self.raw, buf, pos)).await,
            Err(e) => (Err(e), buf),
        }
    }

    /// [`read_at`](File::read_at) into a registered buffer
    /// ([`FixedBufPool`](rentio_driver::FixedBufPool)):
    /// `IORING_OP_READ_FIXED`, whose pages the kernel pinned once at
    /// registration. A buffer not registered with this runtime's ring (a
    /// pool on readiness, a restricted ring, `READ_FIXED` masked) takes
    /// the plain read.
    ///
    /// ```no_run
    /// # rentio_executor::Runtime::new()?.block_on(async {
    /// let driver = rentio_executor::current_driver()?;
    /// let pool = rentio_driver::FixedBufPool::new(&driver, 8, 64 << 10)?;
    /// let file = rentio_fs::File::open("/etc/hostname").await?;
    /// let (n, buf) = file.read_fixed_at(pool.take().await, 0).await;
    /// println!("{:?}", std::str::from_utf8(&buf[..n?]));
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`read_at`](File::read_at).
    ///
    /// # Cancel safety
    ///
    /// As [`read_at`](File::read_at): a dropped read's buffer returns to
    /// the pool once the kernel is done with it.
    pub async fn read_fixed_at(
        &self,
        mut buf: rentio_driver::FixedBuf,
        pos: u64,
    ) -> BufResult<usize, rentio_driver::FixedBuf> {
        if let Err(e) = self.check_direct(buf.spare_ptr(), buf.spare_len(), pos) {
            return (Err(e), buf);
        }
        match self.driver() {
            Ok(driver) if buf.is_registered_with(driver) => {
                driver
                    .op(rentio_driver::op::ReadFixed::at(self.raw, buf, pos))
                    .await
            }
            Ok(driver) => driver.op(Read::at(self.raw, buf, pos)).await,
            Err(e) => (Err(e), buf),
        }
    }

    /// Registers the file in its runtime's table of direct descriptors
    /// (see [`Builder::direct_descriptors`](rentio_driver::Builder::direct_descriptors)):
    /// its reads and writes then name a slot of the ring's table instead
    /// of the fd, and the kernel skips the fd lookup on each (ops the
    /// kernel runs in its workers, as `fsync`, keep the fd). Closing or
    /// dropping the file takes it out of the table.
    ///
    /// Returns `false`, and nothing changes, where there is no table
    /// (readiness, a runtime built without `direct_descriptors`, a kernel
    /// before 5.19) or it is full.
    ///
    /// # Errors
    ///
    /// The kernel's refusal of the update.
    pub fn register_direct(&self) -> io::Result<bool> {
        let driver = self.driver()?;
        // SAFETY: the file's fd leaves only through this driver: the drop
        // closes it with `Driver::close`, `close()` with a `Close` op, and
        // `into_std` with `release_fd`.
        unsafe { driver.register_direct(self.as_fd()) }
    }

    /// [`write_at`](File::write_at) from a registered buffer
    /// (`IORING_OP_WRITE_FIXED`), as [`read_fixed_at`](File::read_fixed_at)
    /// reads.
    ///
    /// # Errors
    ///
    /// As [`write_at`](File::write_at).
    ///
    /// # Cancel safety
    ///
    /// As [`write_at`](File::write_at).
    pub async fn write_fixed_at(
        &self,
        buf: rentio_driver::FixedBuf,
        pos: u64,
    ) -> BufResult<usize, rentio_driver::FixedBuf> {
        if let Err(e) = self.check_direct(buf.as_buf_ptr(), buf.buf_len(), pos) {
            return (Err(e), buf);
        }
        match self.driver() {
            Ok(driver) if buf.is_registered_with(driver) => {
                driver
                    .op(rentio_driver::op::WriteFixed::at(self.raw, buf, pos))
                    .await
            }
            Ok(driver) => driver.op(Write::at(self.raw, buf, pos)).await,
            Err(e) => (Err(e), buf),
        }
    }

    /// Reads at `pos` until `buf`'s spare capacity is full.
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the file ends first (the bytes read are in the
    /// buffer), or the read's error.
    ///
    /// # Cancel safety
    ///
    /// As [`read_at`](File::read_at).
    pub async fn read_exact_at<T: IoBufMut>(
        &self,
        mut buf: T,
        mut pos: u64,
    ) -> BufResult<usize, T> {
        let mut total = 0usize;
        while buf.spare_len() > 0 {
            let (res, b) = self.read_at(buf, pos).await;
            buf = b;
            match res {
                Ok(0) => {
                    let eof =
                        io::Error::new(io::ErrorKind::UnexpectedEof, "failed to fill whole buffer");
                    return (Err(eof), buf);
                }
                Ok(n) => {
                    total += n;
                    pos += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (Err(e), buf),
            }
        }
        (Ok(total), buf)
    }

    /// Writes all of `buf`'s initialized part at `pos`, looping over short
    /// writes.
    ///
    /// # Errors
    ///
    /// `WriteZero` if a write takes nothing, or the write's error.
    ///
    /// # Cancel safety
    ///
    /// As [`write_at`](File::write_at): a prefix may be written.
    pub async fn write_all_at<T: IoBuf>(&self, mut buf: T, pos: u64) -> BufResult<usize, T> {
        let len = buf.buf_len();
        let mut written = 0;
        while written < len {
            let (res, slice) = self
                .write_at(buf.slice(written..len), pos + written as u64)
                .await;
            buf = slice.into_inner();
            match res {
                Ok(0) => {
                    let e =
                        io::Error::new(io::ErrorKind::WriteZero, "failed to write whole buffer");
                    return (Err(e), buf);
                }
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (Err(e), buf),
            }
        }
        (Ok(len), buf)
    }

    /// Reads at the file's own position (shared with `read(2)`), for
    /// files without positions (pipes, ttys), as std's `read` does.
    pub(crate) async fn read_here<T: IoBufMut>(&self, buf: T) -> BufResult<usize, T> {
        match self.driver() {
            Ok(driver) => driver.op(Read::new(self.raw, buf)).await,
            Err(e) => (Err(e), buf),
        }
    }

    /// Writes at the file's own position (see [`read_here`](File::read_here)).
    pub(crate) async fn write_here<T: IoBuf>(&self, buf: T) -> BufResult<usize, T> {
        match self.driver() {
            Ok(driver) => driver.op(Write::new(self.raw, buf)).await,
            Err(e) => (Err(e), buf),
        }
    }

    /// Reads once at `pos` into the buffers' spare capacity, in order
    /// (`preadv`). On an `O_DIRECT` file the alignment is the kernel's to
    /// check (`EINVAL`).
    ///
    /// # Cancel safety
    ///
    /// As [`read_at`](File::read_at).
    pub async fn readv_at<T: IoVecBufMut>(&self, bufs: T, pos: u64) -> BufResult<usize, T> {
        match self.driver() {
            Ok(driver) => driver.op(Readv::at(self.raw, bufs, pos)).await,
            Err(e) => (Err(e), bufs),
        }
    }

    /// Writes once at `pos` from the buffers, in order (`pwritev`).
    ///
    /// # Cancel safety
    ///
    /// As [`write_at`](File::write_at).
    pub async fn writev_at<T: IoVecBuf>(&self, bufs: T, pos: u64) -> BufResult<usize, T> {
        match self.driver() {
            Ok(driver) => driver.op(Writev::at(self.raw, bufs, pos)).await,
            Err(e) => (Err(e), bufs),
        }
    }

    /// The file's metadata (`statx` on the fd).
    ///
    /// # Errors
    ///
    /// What `statx(2)` says.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let stx = self.driver()?.op(Statx::fd(self.raw)).await?;
        Ok(Metadata::from_statx(stx))
    }

    /// Cuts the file to `len` bytes or grows it with zeros.
    ///
    /// # Errors
    ///
    /// `InvalidInput` on a file not open for writing, as std.
    pub async fn set_len(&self, len: u64) -> io::Result<()> {
        self.driver()?.op(Ftruncate::new(self.raw, len)).await
    }

    /// Flushes data and metadata to disk (`fsync`).
    ///
    /// # Errors
    ///
    /// What `fsync(2)` says.
    pub async fn sync_all(&self) -> io::Result<()> {
        self.driver()?.op(Fsync::new(self.raw)).await
    }

    /// Flushes data, and the metadata needed to read it back, to disk
    /// (`fdatasync`).
    ///
    /// # Errors
    ///
    /// What `fdatasync(2)` says.
    pub async fn sync_data(&self) -> io::Result<()> {
        self.driver()?.op(Fsync::data(self.raw)).await
    }

    /// Writes back `len` bytes from `offset` (0: to the end) and waits for
    /// them (`sync_file_range` with `WAIT_BEFORE | WRITE | WAIT_AFTER`).
    /// Not durable: metadata and the disk's cache are left alone; use it
    /// to pace writeback, and [`sync_data`](File::sync_data) to persist.
    ///
    /// # Errors
    ///
    /// What `sync_file_range(2)` says.
    pub async fn sync_range(&self, offset: u64, len: u64) -> io::Result<()> {
        let flags = libc::SYNC_FILE_RANGE_WAIT_BEFORE
            | libc::SYNC_FILE_RANGE_WRITE
            | libc::SYNC_FILE_RANGE_WAIT_AFTER;
        let driver = self.driver()?;
        if len == 0 {
            return driver
                .op(SyncFileRange::new(self.raw, offset, 0, flags))
                .await;
        }
        // Past what an offset can be: sync_file_range(2)'s EINVAL.
        let end = offset
            .checked_add(len)
            .filter(|&end| end <= i64::MAX as u64)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
        // The ring takes 32-bit lengths: a longer range goes in steps.
        const STEP: u64 = 1 << 31;
        let mut at = offset;
        while at < end {
            let n = (end - at).min(STEP);
            driver
                .op(SyncFileRange::new(self.raw, at, n, flags))
                .await?;
            at += n;
        }
        Ok(())
    }

    /// Allocates disk space for `len` bytes from `offset`, growing the
    /// file if needed (`fallocate` mode 0).
    ///
    /// # Errors
    ///
    /// What `fallocate(2)` says (`Unsupported` on a file system without
    /// it).
    pub async fn allocate(&self, offset: u64, len: u64) -> io::Result<()> {
        self.driver()?
            .op(Fallocate::new(self.raw, 0, offset, len))
            .await
    }

    /// Tells the kernel how `len` bytes from `offset` (0: to the end) will
    /// be read.
    ///
    /// # Errors
    ///
    /// What `posix_fadvise(2)` says.
    pub async fn advise(&self, offset: u64, len: u64, advice: Advice) -> io::Result<()> {
        self.driver()?
            .op(Fadvise::new(self.raw, offset, len, advice.raw()))
            .await
    }

    /// Sets the permission bits (`fchmod`, made at once: it does not
    /// block on IO).
    ///
    /// # Errors
    ///
    /// What `fchmod(2)` says.
    pub async fn set_permissions(&self, perm: std::fs::Permissions) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let mode = rustix::fs::Mode::from_raw_mode(perm.mode());
        Ok(rustix::fs::fchmod(self, mode)?)
    }

    /// Closes the file and reports the close's error (a delayed write
    /// error on some file systems). Dropping the file closes it too,
    /// without waiting.
    ///
    /// # Errors
    ///
    /// What `close(2)` says.
    pub async fn close(mut self) -> io::Result<()> {
        let Some(fd) = self.fd.take() else {
            unreachable!("a file holds its fd until into_std, close or drop")
        };
        match self.driver() {
            Ok(driver) => driver.op(Close::new(fd)).await,
            Err(e) => {
                self.driver.close(fd);
                Err(e)
            }
        }
    }

    /// A sequential view from position 0: reads and writes that move its
    /// own position (the file's, shared by every `read(2)`, is left
    /// alone).
    pub fn cursor(&self) -> FileCursor<'_> {
        self.cursor_at(0)
    }

    /// A sequential view from `pos`.
    pub fn cursor_at(&self, pos: u64) -> FileCursor<'_> {
        FileCursor { file: self, pos }
    }
}

impl Drop for File {
    fn drop(&mut self) {
        if let Some(fd) = self.fd.take() {
            self.driver.close(fd);
        }
    }
}

impl AsFd for File {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: `raw` is the fd `self.fd` holds until the file is
        // consumed; a `&self` borrow cannot outlive that.
        unsafe { BorrowedFd::borrow_raw(self.raw) }
    }
}

impl AsRawFd for File {
    fn as_raw_fd(&self) -> RawFd {
        self.raw
    }
}

impl AsyncReadRentAt for File {
    async fn read_at<T: IoBufMut>(&mut self, buf: T, pos: u64) -> BufResult<usize, T> {
        File::read_at(self, buf, pos).await
    }
}

impl AsyncWriteRentAt for File {
    async fn write_at<T: IoBuf>(&mut self, buf: T, pos: u64) -> BufResult<usize, T> {
        File::write_at(self, buf, pos).await
    }
}

/// A sequential view of a [`File`] ([`File::cursor`]): rent-IO reads and
/// writes at its own position, which each one moves by its count. With
/// it, [`rentio_io::copy`] and the `AsyncReadRentExt`/`AsyncWriteRentExt`
/// helpers work on files.
///
/// # Cancel safety
///
/// As [`File::read_at`] and [`File::write_at`]; a dropped op does not
/// move the position.
#[derive(Debug)]
pub struct FileCursor<'a> {
    file: &'a File,
    pos: u64,
}

impl FileCursor<'_> {
    /// The position of the next read or write.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Moves the position.
    pub fn set_position(&mut self, pos: u64) {
        self.pos = pos;
    }
}

impl AsyncReadRent for FileCursor<'_> {
    async fn read<T: IoBufMut>(&mut self, buf: T) -> BufResult<usize, T> {
        let (res, buf) = self.file.read_at(buf, self.pos).await;
        if let Ok(n) = res {
            self.pos += n as u64;
        }
        (res, buf)
    }

    async fn readv<T: IoVecBufMut>(&mut self, bufs: T) -> BufResult<usize, T> {
        let (res, bufs) = self.file.readv_at(bufs, self.pos).await;
        if let Ok(n) = res {
            self.pos += n as u64;
        }
        (res, bufs)
    }
}

impl AsyncWriteRent for FileCursor<'_> {
    async fn write<T: IoBuf>(&mut self, buf: T) -> BufResult<usize, T> {
        let (res, buf) = self.file.write_at(buf, self.pos).await;
        if let Ok(n) = res {
            self.pos += n as u64;
        }
        (res, buf)
    }

    async fn writev<T: IoVecBuf>(&mut self, bufs: T) -> BufResult<usize, T> {
        let (res, bufs) = self.file.writev_at(bufs, self.pos).await;
        if let Ok(n) = res {
            self.pos += n as u64;
        }
        (res, bufs)
    }

    /// Nothing is buffered: written bytes are in the page cache.
    async fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// Nothing to shut down on a file: flushes to disk (`fdatasync`).
    async fn shutdown(&mut self) -> io::Result<()> {
        self.file.sync_data().await
    }
}
