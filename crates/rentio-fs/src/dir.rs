//! `read_dir`: a directory's entries, read in batches on the blocking pool
//! (there is no getdents opcode).

use std::collections::VecDeque;
use std::ffi::OsString;
use std::future::poll_fn;
use std::io;
use std::path::{Path, PathBuf};
use std::task::{Context, Poll, ready};

use rentio_executor::JoinHandle;

use crate::{FileType, Metadata};

/// Entries read per trip to the blocking pool.
const BATCH: usize = 128;

/// The entries of the directory `path` (not `.` and `..`), in no
/// particular order, as [`std::fs::read_dir`] gives them.
///
/// # Errors
///
/// As [`std::fs::read_dir`] (`NotFound`, `NotADirectory`,
/// `PermissionDenied`).
///
/// # Examples
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// rentio_executor::Runtime::new()?.block_on(async {
///     let mut entries = rentio_fs::read_dir("/").await?;
///     let mut names = Vec::new();
///     while let Some(entry) = entries.next_entry().await? {
///         names.push(entry.file_name());
///     }
///     assert!(names.iter().any(|n| n == "tmp"));
///     Ok(())
/// })
/// # }
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path = path.as_ref().to_path_buf();
    let mut dir = ReadDir {
        state: State::Idle(None),
        ready: VecDeque::new(),
        done: false,
    };
    // Open it (and read the first batch) now, so a bad path fails here.
    let batch = rentio_executor::spawn_blocking(move || {
        let iter = std::fs::read_dir(path)?;
        Ok(next_batch(iter))
    });
    let (iter, entries) = join(batch).await?;
    dir.take(iter, entries);
    Ok(dir)
}

/// A directory's entries ([`read_dir`]), as tokio's `ReadDir`: take them
/// with [`next_entry`](ReadDir::next_entry).
///
/// # Cancel safety
///
/// `next_entry` is cancel safe: a batch in flight is kept for the next
/// call.
#[derive(Debug)]
pub struct ReadDir {
    state: State,
    ready: VecDeque<io::Result<DirEntry>>,
    done: bool,
}

type Batch = (Option<std::fs::ReadDir>, Vec<io::Result<DirEntry>>);

#[derive(Debug)]
enum State {
    /// The iterator, between batches (`None` once it is used up).
    Idle(Option<std::fs::ReadDir>),
    Reading(JoinHandle<io::Result<Batch>>),
}

/// Reads up to `BATCH` entries; the iterator comes back unless it ended.
fn next_batch(mut iter: std::fs::ReadDir) -> Batch {
    let mut entries = Vec::with_capacity(BATCH);
    for _ in 0..BATCH {
        match iter.next() {
            Some(entry) => entries.push(entry.map(DirEntry::from_std)),
            None => return (None, entries),
        }
    }
    (Some(iter), entries)
}

async fn join(handle: JoinHandle<io::Result<Batch>>) -> io::Result<Batch> {
    handle
        .await
        .map_err(|e| io::Error::other(format!("rentio-fs: the directory read failed: {e}")))?
}

impl ReadDir {
    fn take(&mut self, iter: Option<std::fs::ReadDir>, entries: Vec<io::Result<DirEntry>>) {
        self.done = iter.is_none();
        self.state = State::Idle(iter);
        self.ready.extend(entries);
    }

    /// The next entry; `Ok(None)` at the end.
    ///
    /// # Errors
    ///
    /// An entry the directory could not give (the iteration goes on).
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        poll_fn(|cx| self.poll_next_entry(cx)).await
    }

    /// Polls for the next entry; `Ready(Ok(None))` at the end.
    ///
    /// # Errors
    ///
    /// As [`next_entry`](ReadDir::next_entry).
    pub fn poll_next_entry(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<DirEntry>>> {
        loop {
            if let Some(entry) = self.ready.pop_front() {
                return Poll::Ready(entry.map(Some));
            }
            if self.done {
                return Poll::Ready(Ok(None));
            }
            match &mut self.state {
                State::Idle(iter) => match iter.take() {
                    Some(iter) => {
                        self.state = State::Reading(rentio_executor::spawn_blocking(move || {
                            Ok(next_batch(iter))
                        }));
                    }
                    None => self.done = true,
                },
                State::Reading(handle) => {
                    let joined = ready!(std::pin::Pin::new(handle).poll(cx));
                    let batch = joined.map_err(|e| {
                        io::Error::other(format!("rentio-fs: the directory read failed: {e}"))
                    });
                    match batch.and_then(|b| b) {
                        Ok((iter, entries)) => self.take(iter, entries),
                        Err(e) => {
                            self.done = true;
                            self.state = State::Idle(None);
                            return Poll::Ready(Err(e));
                        }
                    }
                }
            }
        }
    }
}

/// An entry of a directory ([`ReadDir`]).
#[derive(Debug)]
pub struct DirEntry {
    path: PathBuf,
    name: OsString,
    ino: u64,
    file_type: io::Result<FileType>,
}

impl DirEntry {
    fn from_std(entry: std::fs::DirEntry) -> DirEntry {
        use std::os::unix::fs::DirEntryExt;
        DirEntry {
            path: entry.path(),
            name: entry.file_name(),
            ino: entry.ino(),
            // From the entry itself (d_type) where the file system gives
            // it, else an lstat on the pool thread, as std.
            file_type: entry.file_type().map(FileType::from_std),
        }
    }

    /// The full path: the directory's path joined with the name.
    pub fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// The name, without the directory.
    pub fn file_name(&self) -> OsString {
        self.name.clone()
    }

    /// The inode number (`DirEntryExt::ino`).
    pub fn ino(&self) -> u64 {
        self.ino
    }

    /// The entry's type (a symlink is a symlink: not followed).
    ///
    /// # Errors
    ///
    /// As [`std::fs::DirEntry::file_type`].
    pub async fn file_type(&self) -> io::Result<FileType> {
        match &self.file_type {
            Ok(ty) => Ok(*ty),
            Err(e) => Err(match e.raw_os_error() {
                Some(errno) => io::Error::from_raw_os_error(errno),
                None => io::Error::new(e.kind(), e.to_string()),
            }),
        }
    }

    /// The entry's metadata, a symlink not followed (as std's).
    ///
    /// # Errors
    ///
    /// As [`std::fs::DirEntry::metadata`] (`NotFound` if it went since).
    pub async fn metadata(&self) -> io::Result<Metadata> {
        crate::symlink_metadata(&self.path).await
    }
}
