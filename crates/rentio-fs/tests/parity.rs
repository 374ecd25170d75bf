//! rentio-fs against std::fs: the same random sequences of calls on twin
//! directories give the same results and the same `io::ErrorKind`s
//! (NotFound, AlreadyExists, IsADirectory, NotADirectory,
//! DirectoryNotEmpty, InvalidInput, …), on every setup.

#![allow(clippy::unwrap_used)]

mod support;

use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use support::{Setup, runtime, scratch, setups};

const NAMES: [&str; 6] = ["a", "b", "d", "d/c", "d/e/f", "a/x"];

#[derive(Clone, Debug)]
enum Step {
    Write(usize, Vec<u8>),
    Read(usize),
    ReadToString(usize),
    CreateDir(usize),
    CreateDirAll(usize),
    RemoveFile(usize),
    RemoveDir(usize),
    RemoveDirAll(usize),
    Rename(usize, usize),
    HardLink(usize, usize),
    Symlink(usize, usize),
    ReadLink(usize),
    Metadata(usize),
    SymlinkMetadata(usize),
    TryExists(usize),
    CreateNew(usize),
    OpenRead(usize),
    Copy(usize, usize),
    ReadDir(usize),
    SetLen(usize, u64),
}

/// What a call gave, comparable across the two sides.
#[derive(Debug, PartialEq)]
enum Out {
    Unit,
    Bytes(Vec<u8>),
    Text(String),
    Meta {
        dir: bool,
        file: bool,
        symlink: bool,
        len: Option<u64>,
    },
    Bool(bool),
    Path(PathBuf),
    Names(Vec<OsString>),
    Count(u64),
    Err(ErrorKind),
}

fn out<T>(r: std::io::Result<T>, f: impl FnOnce(T) -> Out) -> Out {
    match r {
        Ok(v) => f(v),
        Err(e) => Out::Err(e.kind()),
    }
}

fn step() -> impl Strategy<Value = Step> {
    let n = 0..NAMES.len();
    prop_oneof![
        (n.clone(), proptest::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(a, b)| Step::Write(a, b)),
        n.clone().prop_map(Step::Read),
        n.clone().prop_map(Step::ReadToString),
        n.clone().prop_map(Step::CreateDir),
        n.clone().prop_map(Step::CreateDirAll),
        n.clone().prop_map(Step::RemoveFile),
        n.clone().prop_map(Step::RemoveDir),
        n.clone().prop_map(Step::RemoveDirAll),
        (n.clone(), n.clone()).prop_map(|(a, b)| Step::Rename(a, b)),
        (n.clone(), n.clone()).prop_map(|(a, b)| Step::HardLink(a, b)),
        (n.clone(), n.clone()).prop_map(|(a, b)| Step::Symlink(a, b)),
        n.clone().prop_map(Step::ReadLink),
        n.clone().prop_map(Step::Metadata),
        n.clone().prop_map(Step::SymlinkMetadata),
        n.clone().prop_map(Step::TryExists),
        n.clone().prop_map(Step::CreateNew),
        n.clone().prop_map(Step::OpenRead),
        (n.clone(), n.clone()).prop_map(|(a, b)| Step::Copy(a, b)),
        n.clone().prop_map(Step::ReadDir),
        (n, 0u64..100).prop_map(|(a, l)| Step::SetLen(a, l)),
    ]
}

fn meta(m: (bool, bool, bool, u64)) -> Out {
    let (dir, file, symlink, len) = m;
    Out::Meta {
        dir,
        file,
        symlink,
        // A directory's size is the file system's business.
        len: (!dir).then_some(len),
    }
}

fn std_step(root: &Path, step: &Step) -> Out {
    let p = |i: usize| root.join(NAMES[i]);
    match step {
        Step::Write(a, bytes) => out(std::fs::write(p(*a), bytes), |()| Out::Unit),
        Step::Read(a) => out(std::fs::read(p(*a)), Out::Bytes),
        Step::ReadToString(a) => out(std::fs::read_to_string(p(*a)), Out::Text),
        Step::CreateDir(a) => out(std::fs::create_dir(p(*a)), |()| Out::Unit),
        Step::CreateDirAll(a) => out(std::fs::create_dir_all(p(*a)), |()| Out::Unit),
        Step::RemoveFile(a) => out(std::fs::remove_file(p(*a)), |()| Out::Unit),
        Step::RemoveDir(a) => out(std::fs::remove_dir(p(*a)), |()| Out::Unit),
        Step::RemoveDirAll(a) => out(std::fs::remove_dir_all(p(*a)), |()| Out::Unit),
        Step::Rename(a, b) => out(std::fs::rename(p(*a), p(*b)), |()| Out::Unit),
        Step::HardLink(a, b) => out(std::fs::hard_link(p(*a), p(*b)), |()| Out::Unit),
        Step::Symlink(a, b) => out(std::os::unix::fs::symlink(NAMES[*a], p(*b)), |()| Out::Unit),
        Step::ReadLink(a) => out(std::fs::read_link(p(*a)), Out::Path),
        Step::Metadata(a) => out(std::fs::metadata(p(*a)), |m| {
            meta((m.is_dir(), m.is_file(), m.is_symlink(), m.len()))
        }),
        Step::SymlinkMetadata(a) => out(std::fs::symlink_metadata(p(*a)), |m| {
            meta((m.is_dir(), m.is_file(), m.is_symlink(), m.len()))
        }),
        Step::TryExists(a) => out(std::fs::exists(p(*a)), Out::Bool),
        Step::CreateNew(a) => out(std::fs::File::create_new(p(*a)), |_| Out::Unit),
        Step::OpenRead(a) => out(std::fs::File::open(p(*a)), |_| Out::Unit),
        Step::Copy(a, b) => out(std::fs::copy(p(*a), p(*b)), Out::Count),
        Step::ReadDir(a) => out(
            std::fs::read_dir(p(*a)).and_then(|it| {
                let mut names = it
                    .map(|e| e.map(|e| e.file_name()))
                    .collect::<Result<Vec<_>, _>>()?;
                names.sort();
                Ok(names)
            }),
            Out::Names,
        ),
        Step::SetLen(a, len) => out(
            std::fs::OpenOptions::new()
                .write(true)
                .open(p(*a))
                .and_then(|f| f.set_len(*len)),
            |()| Out::Unit,
        ),
    }
}

async fn rentio_step(root: &Path, step: &Step) -> Out {
    use rentio_fs as fs;
    let p = |i: usize| root.join(NAMES[i]);
    match step {
        Step::Write(a, bytes) => out(fs::write(p(*a), bytes.clone()).await, |()| Out::Unit),
        Step::Read(a) => out(fs::read(p(*a)).await, Out::Bytes),
        Step::ReadToString(a) => out(fs::read_to_string(p(*a)).await, Out::Text),
        Step::CreateDir(a) => out(fs::create_dir(p(*a)).await, |()| Out::Unit),
        Step::CreateDirAll(a) => out(fs::create_dir_all(p(*a)).await, |()| Out::Unit),
        Step::RemoveFile(a) => out(fs::remove_file(p(*a)).await, |()| Out::Unit),
        Step::RemoveDir(a) => out(fs::remove_dir(p(*a)).await, |()| Out::Unit),
        Step::RemoveDirAll(a) => out(fs::remove_dir_all(p(*a)).await, |()| Out::Unit),
        Step::Rename(a, b) => out(fs::rename(p(*a), p(*b)).await, |()| Out::Unit),
        Step::HardLink(a, b) => out(fs::hard_link(p(*a), p(*b)).await, |()| Out::Unit),
        Step::Symlink(a, b) => out(fs::symlink(NAMES[*a], p(*b)).await, |()| Out::Unit),
        Step::ReadLink(a) => out(fs::read_link(p(*a)).await, Out::Path),
        Step::Metadata(a) => out(fs::metadata(p(*a)).await, |m| {
            meta((m.is_dir(), m.is_file(), m.is_symlink(), m.len()))
        }),
        Step::SymlinkMetadata(a) => out(fs::symlink_metadata(p(*a)).await, |m| {
            meta((m.is_dir(), m.is_file(), m.is_symlink(), m.len()))
        }),
        Step::TryExists(a) => out(fs::try_exists(p(*a)).await, Out::Bool),
        Step::CreateNew(a) => out(fs::File::create_new(p(*a)).await, |_| Out::Unit),
        Step::OpenRead(a) => out(fs::File::open(p(*a)).await, |_| Out::Unit),
        Step::Copy(a, b) => out(fs::copy(p(*a), p(*b)).await, Out::Count),
        Step::ReadDir(a) => {
            let names = async {
                let mut it = fs::read_dir(p(*a)).await?;
                let mut names = Vec::new();
                while let Some(entry) = it.next_entry().await? {
                    names.push(entry.file_name());
                }
                names.sort();
                Ok(names)
            };
            out(names.await, Out::Names)
        }
        Step::SetLen(a, len) => {
            let r = async {
                let f = fs::OpenOptions::new().write(true).open(p(*a)).await?;
                f.set_len(*len).await
            };
            out(r.await, |()| Out::Unit)
        }
    }
}

fn run(setup: Setup, steps: &[Step]) -> Result<(), TestCaseError> {
    let (ours, theirs) = (scratch("parity-rentio"), scratch("parity-std"));
    let rt = runtime(setup);
    let result = rt.block_on(async {
        for (i, step) in steps.iter().enumerate() {
            let want = std_step(&theirs, step);
            let got = rentio_step(&ours, step).await;
            if got != want {
                return Err(TestCaseError::fail(format!(
                    "{setup:?}, step {i} {step:?}: rentio gave {got:?}, std gave {want:?}"
                )));
            }
        }
        Ok(())
    });
    std::fs::remove_dir_all(&ours).unwrap();
    std::fs::remove_dir_all(&theirs).unwrap();
    result
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn same_calls_same_results(steps in proptest::collection::vec(step(), 1..24)) {
        for setup in setups() {
            run(setup, &steps)?;
        }
    }
}

/// The error kinds the issue names, each reached on purpose.
#[test]
fn each_named_error_kind() {
    use Step::*;
    let steps = [
        Read(0),           // NotFound
        Write(0, vec![1]), //
        CreateDir(0),      // AlreadyExists
        CreateDir(2),      //
        Write(3, vec![2]), //
        RemoveFile(2),     // IsADirectory
        Read(5),           // NotADirectory ("a" is a file)
        RemoveDir(2),      // DirectoryNotEmpty
        ReadDir(0),        // NotADirectory
        CreateNew(3),      // AlreadyExists
        RemoveDir(0),      // NotADirectory
        Rename(2, 3),      // a directory onto a file: NotADirectory
        Metadata(4),       // NotFound
    ];
    for setup in setups() {
        run(setup, &steps).unwrap();
    }
}

/// Non-UTF-8 names round-trip; a path with a NUL is `InvalidInput`.
#[test]
fn odd_names() {
    use std::os::unix::ffi::OsStrExt;
    for setup in setups() {
        let dir = scratch("odd");
        let rt = runtime(setup);
        rt.block_on(async {
            let name = std::ffi::OsStr::from_bytes(b"not-\xff-utf8");
            rentio_fs::write(dir.join(name), b"odd".to_vec())
                .await
                .unwrap();
            let mut it = rentio_fs::read_dir(&dir).await.unwrap();
            let entry = it.next_entry().await.unwrap().unwrap();
            assert_eq!(entry.file_name(), name);
            assert!(entry.file_type().await.unwrap().is_file());
            assert_eq!(entry.metadata().await.unwrap().len(), 3);
            assert!(it.next_entry().await.unwrap().is_none());
            assert_eq!(rentio_fs::read(dir.join(name)).await.unwrap(), b"odd");
            for e in [
                rentio_fs::metadata("a\0b").await.unwrap_err(),
                rentio_fs::remove_file("a\0b").await.unwrap_err(),
                rentio_fs::create_dir("a\0b").await.unwrap_err(),
                rentio_fs::rename("a\0b", "c").await.unwrap_err(),
            ] {
                assert_eq!(e.kind(), ErrorKind::InvalidInput, "{setup:?}: {e}");
            }
        });
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// `read` and `write` work on a FIFO, which has no offsets, as std's do.
#[test]
fn read_and_write_a_fifo() {
    for setup in setups() {
        let dir = scratch("fifo");
        let fifo = dir.join("fifo");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .unwrap();
        let rt = runtime(setup);
        // A std writer, then a std reader, on the other end.
        let writer = std::thread::spawn({
            let fifo = fifo.clone();
            move || std::fs::write(fifo, b"through a pipe").unwrap()
        });
        let got = rt.block_on(rentio_fs::read(&fifo)).unwrap();
        writer.join().unwrap();
        assert_eq!(got, b"through a pipe", "{setup:?}");
        let reader = std::thread::spawn({
            let fifo = fifo.clone();
            move || std::fs::read(fifo).unwrap()
        });
        rt.block_on(rentio_fs::write(&fifo, b"and back".to_vec()))
            .unwrap();
        assert_eq!(reader.join().unwrap(), b"and back", "{setup:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
