//! `OpenOptions` and `DirBuilder`, as std's.

use std::io;
use std::path::Path;

use rentio_driver::op::{MkdirAt, OpenAt};

use crate::File;

/// How to open a file, as [`std::fs::OpenOptions`] (with
/// `std::os::unix::fs::OpenOptionsExt`'s `mode` and `custom_flags`).
///
/// # Examples
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// rentio_executor::Runtime::new()?.block_on(async {
///     let path = std::env::temp_dir().join(format!("rentio-fs-opts-{}", std::process::id()));
///     let file = rentio_fs::OpenOptions::new()
///         .write(true)
///         .create_new(true)
///         .mode(0o600)
///         .open(&path)
///         .await?;
///     file.write_all_at(b"new".to_vec(), 0).await.0?;
///     let again = rentio_fs::OpenOptions::new().write(true).create_new(true).open(&path).await;
///     assert_eq!(again.unwrap_err().kind(), std::io::ErrorKind::AlreadyExists);
///     rentio_fs::remove_file(&path).await
/// })
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions {
    read: bool,
    write: bool,
    append: bool,
    truncate: bool,
    create: bool,
    create_new: bool,
    mode: u32,
    custom_flags: i32,
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions::new()
    }
}

impl OpenOptions {
    /// All options off, mode `0o666` (less the umask).
    pub fn new() -> OpenOptions {
        OpenOptions {
            read: false,
            write: false,
            append: false,
            truncate: false,
            create: false,
            create_new: false,
            mode: 0o666,
            custom_flags: 0,
        }
    }

    /// Open for reading.
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.read = read;
        self
    }

    /// Open for writing.
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.write = write;
        self
    }

    /// Open for appending (implies writing). Positional writes on a file
    /// opened so still go to its end: Linux ignores the offset.
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.append = append;
        self
    }

    /// Cut the file to length 0 (needs `write`).
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.truncate = truncate;
        self
    }

    /// Create the file if it does not exist (needs `write` or `append`).
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.create = create;
        self
    }

    /// Create the file, failing with `AlreadyExists` if it exists (needs
    /// `write` or `append`; `create` and `truncate` are then ignored).
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.create_new = create_new;
        self
    }

    /// The permission bits of a created file (less the umask).
    pub fn mode(&mut self, mode: u32) -> &mut OpenOptions {
        self.mode = mode;
        self
    }

    /// Extra `O_*` flags (`O_DIRECT`, `O_NOATIME`, …); the access mode
    /// bits are ignored, as std does.
    pub fn custom_flags(&mut self, flags: i32) -> &mut OpenOptions {
        self.custom_flags = flags;
        self
    }

    /// Opens `path`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for options that cannot go together (as std: no
    /// access mode, `truncate` without `write`, `create` without `write`
    /// or `append`) or a path holding a NUL byte; else what `openat(2)`
    /// says (`NotFound`, `AlreadyExists`, `PermissionDenied`, …).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes closes the file if the
    /// kernel opened it (the driver does).
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let flags = self.flags()?;
        let driver = crate::driver()?;
        let op = OpenAt::new(path, flags, self.mode)?;
        let fd = driver.op(op).await?;
        let file = File::from_parts(fd, driver);
        if flags & libc::O_DIRECT != 0 {
            return file.with_direct_alignment().await;
        }
        Ok(file)
    }

    /// The `open(2)` flags, or std's `InvalidInput` for a bad combination.
    fn flags(&self) -> io::Result<i32> {
        let invalid = || Err(io::Error::from_raw_os_error(libc::EINVAL));
        let access = match (self.read, self.write, self.append) {
            (true, false, false) => libc::O_RDONLY,
            (false, true, false) => libc::O_WRONLY,
            (true, true, false) => libc::O_RDWR,
            (false, _, true) => libc::O_WRONLY | libc::O_APPEND,
            (true, _, true) => libc::O_RDWR | libc::O_APPEND,
            (false, false, false) => return invalid(),
        };
        match (self.write, self.append) {
            (true, false) => {}
            (false, false) if self.truncate || self.create || self.create_new => return invalid(),
            (_, true) if self.truncate && !self.create_new => return invalid(),
            _ => {}
        }
        let creation = match (self.create, self.truncate, self.create_new) {
            (false, false, false) => 0,
            (true, false, false) => libc::O_CREAT,
            (false, true, false) => libc::O_TRUNC,
            (true, true, false) => libc::O_CREAT | libc::O_TRUNC,
            (_, _, true) => libc::O_CREAT | libc::O_EXCL,
        };
        Ok(access | creation | (self.custom_flags & !libc::O_ACCMODE))
    }
}

/// Makes directories, as [`std::fs::DirBuilder`].
#[derive(Clone, Debug)]
pub struct DirBuilder {
    recursive: bool,
    mode: u32,
}

impl Default for DirBuilder {
    fn default() -> DirBuilder {
        DirBuilder::new()
    }
}

impl DirBuilder {
    /// Not recursive, mode `0o777` (less the umask).
    pub fn new() -> DirBuilder {
        DirBuilder {
            recursive: false,
            mode: 0o777,
        }
    }

    /// Make missing parents too, and take an existing directory as done.
    pub fn recursive(&mut self, recursive: bool) -> &mut DirBuilder {
        self.recursive = recursive;
        self
    }

    /// The permission bits of the directories made.
    pub fn mode(&mut self, mode: u32) -> &mut DirBuilder {
        self.mode = mode;
        self
    }

    /// Makes `path`.
    ///
    /// # Errors
    ///
    /// As std's: `AlreadyExists` (not recursive), `NotFound` for a missing
    /// parent (not recursive), `NotADirectory`, `PermissionDenied`, …
    pub async fn create(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let path = path.as_ref();
        if !self.recursive {
            return mkdir(path, self.mode).await;
        }
        // As std: walk up to the first ancestor that exists, then make
        // each missing one on the way down. A directory made meanwhile by
        // someone else is fine.
        let mut missing = Vec::new();
        let mut at = path;
        loop {
            if at.as_os_str().is_empty() {
                break;
            }
            match mkdir(at, self.mode).await {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    missing.push(at);
                    match at.parent() {
                        Some(parent) => at = parent,
                        None => return Err(e),
                    }
                }
                Err(_) if is_dir(at).await => break,
                Err(e) => return Err(e),
            }
        }
        while let Some(dir) = missing.pop() {
            match mkdir(dir, self.mode).await {
                Ok(()) => {}
                Err(_) if is_dir(dir).await => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

async fn mkdir(path: &Path, mode: u32) -> io::Result<()> {
    crate::driver()?.op(MkdirAt::new(path, mode)?).await
}

async fn is_dir(path: &Path) -> bool {
    crate::metadata(path).await.is_ok_and(|m| m.is_dir())
}
