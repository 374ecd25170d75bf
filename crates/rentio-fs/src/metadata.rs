//! `Metadata` and `FileType`, from `statx(2)`, with std's accessors.

use std::fmt;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime};

/// A file's metadata, as [`std::fs::Metadata`]: `len`, `file_type`,
/// `permissions`, the times, and `std::os::unix::fs::MetadataExt`'s
/// numbers (`dev`, `ino`, `mode`, `nlink`, `uid`, `gid`, `rdev`,
/// `size`, `blksize`, `blocks` and the seconds and nanoseconds of each
/// time).
#[derive(Clone, Copy)]
pub struct Metadata {
    stx: libc::statx,
}

impl Metadata {
    pub(crate) fn from_statx(stx: libc::statx) -> Metadata {
        Metadata { stx }
    }

    /// The file type.
    pub fn file_type(&self) -> FileType {
        FileType {
            mode: u32::from(self.stx.stx_mode),
        }
    }

    /// A directory?
    pub fn is_dir(&self) -> bool {
        self.file_type().is_dir()
    }

    /// A regular file?
    pub fn is_file(&self) -> bool {
        self.file_type().is_file()
    }

    /// A symlink? (Only from [`symlink_metadata`](crate::symlink_metadata).)
    pub fn is_symlink(&self) -> bool {
        self.file_type().is_symlink()
    }

    /// The size in bytes.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u64 {
        self.stx.stx_size
    }

    /// The permission bits.
    pub fn permissions(&self) -> std::fs::Permissions {
        std::fs::Permissions::from_mode(u32::from(self.stx.stx_mode))
    }

    /// The last modification.
    ///
    /// # Errors
    ///
    /// `InvalidData` for a time out of `SystemTime`'s range, as std.
    pub fn modified(&self) -> io::Result<SystemTime> {
        time(self.stx.stx_mtime)
    }

    /// The last access.
    ///
    /// # Errors
    ///
    /// `InvalidData` for a time out of `SystemTime`'s range, as std.
    pub fn accessed(&self) -> io::Result<SystemTime> {
        time(self.stx.stx_atime)
    }

    /// The birth.
    ///
    /// # Errors
    ///
    /// `Unsupported` where the file system keeps no birth time, as std.
    pub fn created(&self) -> io::Result<SystemTime> {
        if self.stx.stx_mask & libc::STATX_BTIME == 0 {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "creation time is not available for the filesystem",
            ));
        }
        time(self.stx.stx_btime)
    }

    /// The device the file is on.
    pub fn dev(&self) -> u64 {
        libc::makedev(self.stx.stx_dev_major, self.stx.stx_dev_minor)
    }

    /// The inode number.
    pub fn ino(&self) -> u64 {
        self.stx.stx_ino
    }

    /// The mode: type and permission bits.
    pub fn mode(&self) -> u32 {
        u32::from(self.stx.stx_mode)
    }

    /// The number of hard links.
    pub fn nlink(&self) -> u64 {
        u64::from(self.stx.stx_nlink)
    }

    /// The owner's user id.
    pub fn uid(&self) -> u32 {
        self.stx.stx_uid
    }

    /// The owner's group id.
    pub fn gid(&self) -> u32 {
        self.stx.stx_gid
    }

    /// The device a special file stands for.
    pub fn rdev(&self) -> u64 {
        libc::makedev(self.stx.stx_rdev_major, self.stx.stx_rdev_minor)
    }

    /// The size in bytes (as [`len`](Self::len)).
    pub fn size(&self) -> u64 {
        self.stx.stx_size
    }

    /// Last access, seconds since the epoch.
    pub fn atime(&self) -> i64 {
        self.stx.stx_atime.tv_sec
    }

    /// Last access, the nanoseconds.
    pub fn atime_nsec(&self) -> i64 {
        i64::from(self.stx.stx_atime.tv_nsec)
    }

    /// Last modification, seconds since the epoch.
    pub fn mtime(&self) -> i64 {
        self.stx.stx_mtime.tv_sec
    }

    /// Last modification, the nanoseconds.
    pub fn mtime_nsec(&self) -> i64 {
        i64::from(self.stx.stx_mtime.tv_nsec)
    }

    /// Last status change, seconds since the epoch.
    pub fn ctime(&self) -> i64 {
        self.stx.stx_ctime.tv_sec
    }

    /// Last status change, the nanoseconds.
    pub fn ctime_nsec(&self) -> i64 {
        i64::from(self.stx.stx_ctime.tv_nsec)
    }

    /// The preferred IO block size.
    pub fn blksize(&self) -> u64 {
        u64::from(self.stx.stx_blksize)
    }

    /// 512-byte blocks allocated.
    pub fn blocks(&self) -> u64 {
        self.stx.stx_blocks
    }
}

fn time(ts: libc::statx_timestamp) -> io::Result<SystemTime> {
    let invalid = || io::Error::new(io::ErrorKind::InvalidData, "invalid timestamp");
    if ts.tv_nsec >= 1_000_000_000 {
        return Err(invalid());
    }
    let secs = Duration::from_secs(ts.tv_sec.unsigned_abs());
    let whole = if ts.tv_sec >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(secs)
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(secs)
    };
    whole
        .and_then(|t| t.checked_add(Duration::new(0, ts.tv_nsec)))
        .ok_or_else(invalid)
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metadata")
            .field("file_type", &self.file_type())
            .field("len", &self.len())
            .field("permissions", &self.permissions())
            .field("modified", &self.modified())
            .finish_non_exhaustive()
    }
}

/// A file's type, as [`std::fs::FileType`] with
/// `std::os::unix::fs::FileTypeExt`'s tests.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileType {
    mode: u32,
}

impl FileType {
    pub(crate) fn from_std(ty: std::fs::FileType) -> FileType {
        use std::os::unix::fs::FileTypeExt;
        let mode = if ty.is_dir() {
            libc::S_IFDIR
        } else if ty.is_file() {
            libc::S_IFREG
        } else if ty.is_symlink() {
            libc::S_IFLNK
        } else if ty.is_block_device() {
            libc::S_IFBLK
        } else if ty.is_char_device() {
            libc::S_IFCHR
        } else if ty.is_fifo() {
            libc::S_IFIFO
        } else if ty.is_socket() {
            libc::S_IFSOCK
        } else {
            0
        };
        FileType { mode }
    }

    fn is(&self, kind: u32) -> bool {
        self.mode & libc::S_IFMT == kind
    }

    /// A directory?
    pub fn is_dir(&self) -> bool {
        self.is(libc::S_IFDIR)
    }

    /// A regular file?
    pub fn is_file(&self) -> bool {
        self.is(libc::S_IFREG)
    }

    /// A symlink?
    pub fn is_symlink(&self) -> bool {
        self.is(libc::S_IFLNK)
    }

    /// A block device?
    pub fn is_block_device(&self) -> bool {
        self.is(libc::S_IFBLK)
    }

    /// A character device?
    pub fn is_char_device(&self) -> bool {
        self.is(libc::S_IFCHR)
    }

    /// A FIFO?
    pub fn is_fifo(&self) -> bool {
        self.is(libc::S_IFIFO)
    }

    /// A Unix socket?
    pub fn is_socket(&self) -> bool {
        self.is(libc::S_IFSOCK)
    }
}

impl fmt::Debug for FileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.mode & libc::S_IFMT {
            libc::S_IFDIR => "dir",
            libc::S_IFREG => "file",
            libc::S_IFLNK => "symlink",
            libc::S_IFBLK => "block device",
            libc::S_IFCHR => "char device",
            libc::S_IFIFO => "fifo",
            libc::S_IFSOCK => "socket",
            _ => "unknown",
        };
        f.write_str(kind)
    }
}
