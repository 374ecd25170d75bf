//! std::fs's free functions on paths.

use std::io;
use std::path::{Path, PathBuf};

use rentio_driver::op::{LinkAt, RenameAt, Statx, SymlinkAt, UnlinkAt};

use crate::{DirBuilder, File, Metadata, OpenOptions};

/// Runs `f` on the blocking pool (calls with no opcode). Paths are owned
/// by the closure, and no fd crosses over: nothing the pool thread uses
/// can be closed under it.
async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> io::Result<R> + Send + 'static,
) -> io::Result<R> {
    rentio_executor::spawn_blocking(f)
        .await
        .map_err(|e| io::Error::other(format!("rentio-fs: the blocking call failed: {e}")))?
}

/// The metadata of `path`, following symlinks.
///
/// # Errors
///
/// As [`std::fs::metadata`]; `InvalidInput` for a path holding a NUL.
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let stx = crate::driver()?.op(Statx::path(path)?).await?;
    Ok(Metadata::from_statx(stx))
}

/// The metadata of `path` itself: a symlink is not followed.
///
/// # Errors
///
/// As [`std::fs::symlink_metadata`].
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let stx = crate::driver()?.op(Statx::symlink(path)?).await?;
    Ok(Metadata::from_statx(stx))
}

/// Whether `path` exists (following symlinks): `Ok(false)` when it does
/// not, an error when that cannot be told (as [`std::fs::exists`]).
///
/// # Errors
///
/// Any error but `NotFound` (`PermissionDenied` on a parent, say).
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    match metadata(path).await {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Makes the directory `path` (mode `0o777` less the umask).
///
/// # Errors
///
/// As [`std::fs::create_dir`].
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    DirBuilder::new().create(path).await
}

/// Makes `path` and its missing parents; an existing directory is fine.
///
/// # Errors
///
/// As [`std::fs::create_dir_all`].
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    DirBuilder::new().recursive(true).create(path).await
}

/// Removes the file (or symlink) `path`.
///
/// # Errors
///
/// As [`std::fs::remove_file`] (`IsADirectory` for a directory).
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    crate::driver()?.op(UnlinkAt::file(path)?).await
}

/// Removes the empty directory `path`.
///
/// # Errors
///
/// As [`std::fs::remove_dir`] (`DirectoryNotEmpty`, `NotADirectory`).
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    crate::driver()?.op(UnlinkAt::dir(path)?).await
}

/// Removes `path` and everything under it, on the blocking pool with
/// std's `remove_dir_all` (which does not follow symlinks and guards
/// against their races).
///
/// # Errors
///
/// As [`std::fs::remove_dir_all`].
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_path_buf();
    blocking(move || std::fs::remove_dir_all(path)).await
}

/// Renames `from` to `to`, replacing what `to` named.
///
/// # Errors
///
/// As [`std::fs::rename`].
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    crate::driver()?.op(RenameAt::new(from, to)?).await
}

/// Makes `link` a hard link to `original`.
///
/// # Errors
///
/// As [`std::fs::hard_link`].
pub async fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    crate::driver()?.op(LinkAt::new(original, link)?).await
}

/// Makes `link` a symbolic link to `original` (as
/// `std::os::unix::fs::symlink`).
///
/// # Errors
///
/// As `std::os::unix::fs::symlink`.
pub async fn symlink(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    crate::driver()?.op(SymlinkAt::new(original, link)?).await
}

/// What the symlink `path` points at (on the blocking pool).
///
/// # Errors
///
/// As [`std::fs::read_link`].
pub async fn read_link(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = path.as_ref().to_path_buf();
    blocking(move || std::fs::read_link(path)).await
}

/// The absolute path with every symlink resolved (on the blocking pool).
///
/// # Errors
///
/// As [`std::fs::canonicalize`].
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = path.as_ref().to_path_buf();
    blocking(move || std::fs::canonicalize(path)).await
}

/// Copies the contents and permissions of `from` to `to`, on the blocking
/// pool with std's `copy` (`copy_file_range`, in the kernel, falling back
/// to `sendfile` and `splice` where a file system refuses it); returns the
/// bytes copied.
///
/// # Errors
///
/// As [`std::fs::copy`].
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    let (from, to) = (from.as_ref().to_path_buf(), to.as_ref().to_path_buf());
    blocking(move || std::fs::copy(from, to)).await
}

/// The whole contents of the file `path`.
///
/// # Errors
///
/// As [`std::fs::read`].
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let file = File::open(path).await?;
    // The size is a hint: the file may grow or shrink meanwhile.
    let hint = file.metadata().await.map_or(0, |m| m.len() as usize);
    let mut buf = Vec::with_capacity(hint.saturating_add(1).max(64));
    loop {
        if buf.len() == buf.capacity() {
            buf.reserve(buf.capacity().max(8192));
        }
        // At the file's own position: a pipe or a tty has no offsets.
        let (res, b) = file.read_here(buf).await;
        buf = b;
        match res {
            Ok(0) => return Ok(buf),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The whole contents of the file `path`, as UTF-8.
///
/// # Errors
///
/// As [`std::fs::read_to_string`]: `InvalidData` for bytes that are not
/// UTF-8.
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let bytes = read(path).await?;
    String::from_utf8(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

/// Writes `contents` as the whole of the file `path`, creating it or
/// cutting it first.
///
/// # Errors
///
/// As [`std::fs::write`].
pub async fn write(path: impl AsRef<Path>, contents: impl rentio_buf::IoBuf) -> io::Result<()> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .await?;
    // At the file's own position (from 0 after the truncation): a pipe or
    // a tty has no offsets.
    let mut buf = contents;
    let len = buf.buf_len();
    let mut written = 0;
    while written < len {
        let (res, slice) = file.write_here(buf.slice(written..len)).await;
        buf = slice.into_inner();
        match res {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "failed to write whole buffer",
                ));
            }
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
