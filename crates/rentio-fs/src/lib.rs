//! Files and directories for rentio: `std::fs`'s calls, call for call,
//! with rent IO on the file's contents.
//!
//! On io_uring every call is an op on the ring where the kernel has the
//! opcode (open, read, write, statx, fsync, fallocate, ftruncate, fadvise,
//! sync_file_range, unlink, rename, mkdir, symlink, link, close); where it
//! lacks one, and on the readiness backend, the call runs on the blocking
//! pool. Calls with no opcode at all (reading a directory, `read_link`,
//! `canonicalize`, `copy`, `remove_dir_all`) run on the blocking pool on
//! both backends, directory entries in batches.
//!
//! Files are `!Send`: they belong to the runtime (thread) that opened
//! them. Every error is the `io::Error` std gives for the same call, with
//! the same `ErrorKind`.
//!
//! ```
//! # fn main() -> std::io::Result<()> {
//! rentio_executor::Runtime::new()?.block_on(async {
//!     let dir = std::env::temp_dir().join(format!("rentio-fs-doc-{}", std::process::id()));
//!     rentio_fs::create_dir_all(&dir).await?;
//!     let path = dir.join("hello.txt");
//!     rentio_fs::write(&path, b"hello, file".to_vec()).await?;
//!     let file = rentio_fs::File::open(&path).await?;
//!     let (n, buf) = file.read_at(Vec::with_capacity(5), 7).await;
//!     assert_eq!(&buf[..n?], b"file");
//!     assert_eq!(file.metadata().await?.len(), 11);
//!     file.close().await?;
//!     rentio_fs::remove_dir_all(&dir).await
//! })
//! # }
//! ```

mod dir;
mod file;
mod metadata;
mod options;
mod path;

pub use dir::{DirEntry, ReadDir, read_dir};
pub use file::{Advice, File, FileCursor};
pub use metadata::{FileType, Metadata};
pub use options::{DirBuilder, OpenOptions};
pub use path::{
    canonicalize, copy, create_dir, create_dir_all, hard_link, metadata, read, read_link,
    read_to_string, remove_dir, remove_dir_all, remove_file, rename, symlink, symlink_metadata,
    try_exists, write,
};
pub use std::fs::Permissions;

/// The current runtime's driver.
fn driver() -> std::io::Result<rentio_driver::Driver> {
    rentio_executor::current_driver()
}
