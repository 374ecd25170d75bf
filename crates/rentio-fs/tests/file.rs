//! `File` on every setup: opening, positional and vectored IO, the cursor
//! with `rentio_io::copy`, metadata, length, sync, space and hints,
//! permissions, close, std round trips, offsets past 4 GiB, bad input.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;

use rentio_fs::{Advice, File, OpenOptions};
use rentio_io::{AsyncReadRentExt, AsyncWriteRent};
use support::{each_setup, scratch};

#[test]
fn open_write_read_and_metadata() {
    each_setup(|setup| async move {
        let dir = scratch("basic");
        let path = dir.join("f");
        let e = File::open(&path).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{setup:?}: {e}");
        let file = File::create_new(&path).await.unwrap();
        let e = File::create_new(&path).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);

        let (n, _) = file.write_all_at(b"hello, world".to_vec(), 0).await;
        assert_eq!(n.unwrap(), 12);
        let (n, buf) = file.read_at(Vec::with_capacity(64), 7).await;
        assert_eq!(n.unwrap(), 5);
        assert_eq!(buf, b"world");
        // At the end: 0.
        let (n, _) = file.read_at(Vec::with_capacity(8), 12).await;
        assert_eq!(n.unwrap(), 0);
        let (n, buf) = file.read_exact_at(Vec::with_capacity(20), 0).await;
        assert_eq!(n.unwrap_err().kind(), ErrorKind::UnexpectedEof);
        assert_eq!(buf, b"hello, world");

        // Vectored.
        let (n, _) = file
            .writev_at(vec![b"ab".to_vec(), b"cd".to_vec()], 12)
            .await;
        assert_eq!(n.unwrap(), 4);
        let (n, bufs) = file
            .readv_at(vec![Vec::with_capacity(3), Vec::with_capacity(5)], 10)
            .await;
        assert_eq!(n.unwrap(), 6);
        assert_eq!(bufs[0], b"lda");
        assert_eq!(bufs[1], b"bcd");

        let meta = file.metadata().await.unwrap();
        assert!(meta.is_file() && !meta.is_dir() && !meta.is_symlink());
        assert_eq!(meta.len(), 16);
        let std_meta = std::fs::metadata(&path).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_eq!(meta.ino(), std_meta.ino());
        assert_eq!(meta.dev(), std_meta.dev());
        assert_eq!(meta.mode(), std_meta.mode());
        assert_eq!(meta.nlink(), std_meta.nlink());
        assert_eq!(meta.modified().unwrap(), std_meta.modified().unwrap());
        assert_eq!(meta.accessed().unwrap(), std_meta.accessed().unwrap());
        assert_eq!(meta.created().ok(), std_meta.created().ok());
        assert_eq!(meta.blocks(), std_meta.blocks());

        file.set_len(3).await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"hel");
        file.allocate(0, 1 << 16).await.unwrap();
        assert_eq!(file.metadata().await.unwrap().len(), 1 << 16);
        file.advise(0, 0, Advice::Sequential).await.unwrap();
        file.sync_range(0, 0).await.unwrap();
        file.sync_data().await.unwrap();
        file.sync_all().await.unwrap();
        file.set_permissions(std::fs::Permissions::from_mode(0o640))
            .await
            .unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        file.close().await.unwrap();

        // Read-only: writes fail as std's do.
        let ro = File::open(&path).await.unwrap();
        let (n, _) = ro.write_at(b"x".to_vec(), 0).await;
        let std_err =
            std::io::Write::write(&mut std::fs::File::open(&path).unwrap(), b"x").unwrap_err();
        assert_eq!(n.unwrap_err().kind(), std_err.kind());
        let e = ro.set_len(0).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        drop(ro);
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

#[test]
fn options_as_std() {
    each_setup(|_| async move {
        let dir = scratch("options");
        let path = dir.join("f");
        // Bad combinations: InvalidInput, as std.
        for opts in [
            OpenOptions::new(),
            OpenOptions::new().read(true).truncate(true).clone(),
            OpenOptions::new().read(true).create(true).clone(),
            OpenOptions::new().append(true).truncate(true).clone(),
        ] {
            let e = opts.open(&path).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{opts:?}");
        }
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)
            .await
            .unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        file.write_all_at(b"one".to_vec(), 0).await.0.unwrap();
        // Append ignores the offset.
        file.write_all_at(b"two".to_vec(), 0).await.0.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"onetwo");
        drop(file);
        let file = OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)
            .await
            .unwrap();
        drop(file);
        assert_eq!(std::fs::read(&path).unwrap(), b"");
        let e = File::open("a\0b").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

/// Offsets past 4 GiB on a sparse file.
#[test]
fn offsets_past_four_gibibytes() {
    each_setup(|_| async move {
        let dir = scratch("sparse");
        let path = dir.join("f");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .open(&path)
            .await
            .unwrap();
        let far = (6u64 << 30) + 12345;
        file.write_all_at(b"far away".to_vec(), far)
            .await
            .0
            .unwrap();
        assert_eq!(file.metadata().await.unwrap().len(), far + 8);
        let (n, buf) = file.read_exact_at(Vec::with_capacity(8), far).await;
        n.unwrap();
        assert_eq!(buf, b"far away");
        // A hole reads as zeros.
        let (n, buf) = file.read_exact_at(Vec::with_capacity(4), 5 << 30).await;
        n.unwrap();
        assert_eq!(buf, [0; 4]);
        drop(file);
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

/// A file and a socket through `rentio_io::copy`, by way of cursors.
#[test]
fn cursors_copy_a_file_through_a_socket() {
    each_setup(|_| async move {
        let dir = scratch("cursor");
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(dir.join("src"), &data).unwrap();
        let src = File::open(dir.join("src")).await.unwrap();
        let dst = File::create(dir.join("dst")).await.unwrap();
        let (a, b) = rentio_net::UnixStream::pair().unwrap();
        let (mut b_read, _b_write) = b.into_split();
        let (_a_read, mut a_write) = a.into_split();
        let sender = rentio_executor::spawn(async move {
            let mut from = src.cursor();
            let n = rentio_io::copy(&mut from, &mut a_write).await.unwrap();
            a_write.shutdown().await.unwrap();
            n
        });
        let mut to = dst.cursor();
        let n = rentio_io::copy(&mut b_read, &mut to).await.unwrap();
        assert_eq!(n, data.len() as u64);
        assert_eq!(to.position(), n);
        to.flush().await.unwrap();
        assert_eq!(sender.await.unwrap(), n);
        assert!(std::fs::read(dir.join("dst")).unwrap() == data);
        // read_exact through a cursor.
        let src = File::open(dir.join("src")).await.unwrap();
        let mut cursor = src.cursor_at(1000);
        let (n, buf) = cursor.read_exact(Vec::with_capacity(10)).await;
        n.unwrap();
        assert_eq!(buf, &data[1000..1010]);
        assert_eq!(cursor.position(), 1010);
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

/// `from_std`, `into_std`, and a dropped file closing its fd.
#[test]
fn std_round_trips_and_no_leaked_fd() {
    each_setup(|_| async move {
        let dir = scratch("std");
        let path = dir.join("f");
        std::fs::write(&path, b"std").unwrap();
        let file = File::from_std(std::fs::File::open(&path).unwrap()).unwrap();
        let (n, buf) = file.read_at(Vec::with_capacity(8), 0).await;
        n.unwrap();
        assert_eq!(buf, b"std");
        let mut back = file.into_std();
        let mut s = String::new();
        std::io::Read::read_to_string(&mut back, &mut s).unwrap();
        assert_eq!(s, "std");
        drop(back);
        for _ in 0..20 {
            let file = File::open(&path).await.unwrap();
            // Dropped with a read in flight.
            let mut read = Box::pin(file.read_at(Vec::with_capacity(4), 0));
            let _ = std::future::poll_fn(|cx| {
                std::task::Poll::Ready(std::future::Future::poll(read.as_mut(), cx))
            })
            .await;
            drop(read);
            drop(file);
        }
        // Let the driver finish the closes.
        rentio_executor::time::sleep(std::time::Duration::from_millis(20)).await;
        assert_eq!(support::fds_open_on(&path), 0, "fds leaked");
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

/// `O_DIRECT` with an aligned buffer works; a misaligned buffer, length
/// or offset is a clear `InvalidInput` before any IO.
#[test]
fn direct_io_with_an_aligned_buffer() {
    use rentio_buf::AlignedBuf;
    each_setup(|setup| async move {
        let dir = scratch("direct");
        let path = dir.join("f");
        let file = match OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .custom_flags(libc::O_DIRECT)
            .open(&path)
            .await
        {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::InvalidInput => {
                eprintln!("skipped: {} takes no O_DIRECT here ({e})", dir.display());
                return;
            }
            Err(e) => panic!("{setup:?}: {e}"),
        };
        let mut block = AlignedBuf::with_capacity(8192, 4096);
        block.extend_from_slice(&[7u8; 8192]);
        let (n, _) = file.write_all_at(block, 4096).await;
        assert_eq!(n.unwrap(), 8192);
        let (n, back) = file
            .read_exact_at(AlignedBuf::with_capacity(8192, 4096), 4096)
            .await;
        n.unwrap();
        assert!(back.iter().all(|&b| b == 7));
        // Misaligned: memory, length, offset.
        // One byte past an aligned address: misaligned for any alignment
        // a file system asks.
        let mut odd = AlignedBuf::with_capacity(8192, 4096);
        odd.extend_from_slice(&[1u8; 8192]);
        let (n, _) = file
            .write_at(rentio_buf::IoBuf::slice(odd, 1..4097), 0)
            .await;
        let e = n.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("O_DIRECT"), "{e}");
        let (n, _) = file.read_at(AlignedBuf::with_capacity(100, 4096), 0).await;
        assert_eq!(n.unwrap_err().kind(), ErrorKind::InvalidInput);
        let (n, _) = file
            .read_at(AlignedBuf::with_capacity(4096, 4096), 100)
            .await;
        assert_eq!(n.unwrap_err().kind(), ErrorKind::InvalidInput);
        drop(file);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 12288);
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

/// A read of more than `u32::MAX` bytes is a short count (what the kernel
/// takes at once, 2 GiB less a page), not an error or a wrapped length.
///
/// It copies 2 GiB, so it runs once per backend (the masked setup reads
/// through the same op as io_uring).
#[test]
fn a_read_longer_than_u32_max_is_short() {
    each_setup(|setup| async move {
        if let support::Setup::UringMasked = setup {
            return;
        }
        let dir = scratch("huge");
        let path = dir.join("sparse");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .open(&path)
            .await
            .unwrap();
        file.set_len(5 << 30).await.unwrap();
        // Only the pages the kernel writes are touched.
        let want = (u32::MAX as usize) + 4096;
        let (n, buf) = file.read_at(Vec::with_capacity(want), 0).await;
        let n = n.unwrap();
        assert!(n > 0 && n < want, "read {n} of {want}");
        assert_eq!(n, (2 << 30) - 4096, "the kernel's MAX_RW_COUNT");
        assert_eq!(buf.len(), n);
        drop(buf);
        drop(file);
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

/// A runtime dropped with file ops in flight (reads, metadata, directory
/// reads, writes) shuts down cleanly and leaves no fd open.
#[test]
fn runtime_shutdown_with_ops_in_flight() {
    for setup in support::setups() {
        let dir = scratch("shutdown");
        let path = dir.join("f");
        std::fs::write(&path, vec![3u8; 4 << 20]).unwrap();
        let rt = support::runtime(setup);
        rt.block_on(async {
            for i in 0..16u64 {
                let path = path.clone();
                let dir = dir.clone();
                drop(rentio_executor::spawn(async move {
                    let file = File::open(&path).await.unwrap();
                    loop {
                        let (n, _) = file.read_at(Vec::with_capacity(1 << 20), i << 16).await;
                        n.unwrap();
                        rentio_fs::metadata(&path).await.unwrap();
                        let mut entries = rentio_fs::read_dir(&dir).await.unwrap();
                        while entries.next_entry().await.unwrap().is_some() {}
                        rentio_fs::write(dir.join(format!("w{i}")), vec![1u8; 4096])
                            .await
                            .unwrap();
                    }
                }));
            }
            rentio_executor::time::sleep(std::time::Duration::from_millis(30)).await;
        });
        drop(rt);
        assert_eq!(support::fds_open_on(&path), 0, "{setup:?}: fds left open");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// Registered buffers: `write_fixed_at`/`read_fixed_at` at offsets near
/// and past 4 GiB; `READ_FIXED`/`WRITE_FIXED` on io_uring (the pool
/// registered), the plain ops on readiness.
#[test]
fn registered_buffers_write_and_read_a_file() {
    each_setup(|setup| async move {
        let dir = scratch("fixed");
        let path = dir.join("f");
        let file = rentio_fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .open(&path)
            .await
            .unwrap();
        let driver = rentio_executor::current_driver().unwrap();
        let pool = rentio_driver::FixedBufPool::new(&driver, 2, 8192).unwrap();
        assert_eq!(
            pool.is_registered(),
            driver.backend() == rentio_driver::Backend::Uring,
            "{setup:?}"
        );
        let data: Vec<u8> = (0..8192u32).map(|i| (i % 251) as u8).collect();
        for pos in [0u64, (4 << 30) - 4096, (5 << 30) + 7] {
            let mut buf = pool.take().await;
            buf.extend_from_slice(&data);
            let (n, buf) = file.write_fixed_at(buf, pos).await;
            assert_eq!(n.unwrap(), 8192);
            drop(buf);
            let mut back = pool.take().await;
            back.clear();
            let (n, back) = file.read_fixed_at(back, pos).await;
            assert_eq!(n.unwrap(), 8192);
            assert!(back[..] == data[..], "{setup:?}: the bytes at {pos}");
        }
        assert_eq!(pool.available(), 2);
        drop(file);
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

/// Direct descriptors: a registered file reads and writes through its
/// slot; `close()` (a `Close` op) and a drop each give the slot back (a
/// one-slot table takes the next file).
#[test]
fn a_registered_file_gives_its_slot_back_on_close_and_drop() {
    if std::env::var("RENTIO_DRIVER").ok().as_deref() == Some("poll") {
        eprintln!("skipped: direct descriptors are io_uring's, and RENTIO_DRIVER=poll");
        return;
    }
    let mut builder = rentio_executor::Runtime::builder();
    builder.backend(rentio_driver::BackendChoice::Uring);
    builder.driver().direct_descriptors(1);
    let rt = builder.build().unwrap();
    rt.block_on(async {
        let dir = scratch("direct");
        let driver = rentio_executor::current_driver().unwrap();
        for round in 0..3 {
            let path = dir.join(format!("f{round}"));
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .open(&path)
                .await
                .unwrap();
            assert!(
                file.register_direct().unwrap(),
                "round {round}: the slot is free"
            );
            let before = driver.direct_sqes();
            let (n, _) = file.write_at(b"direct".to_vec(), 3).await;
            assert_eq!(n.unwrap(), 6);
            let (n, buf) = file.read_at(Vec::with_capacity(16), 0).await;
            assert_eq!(n.unwrap(), 9);
            assert_eq!(buf, b"\0\0\0direct");
            assert!(driver.direct_sqes() >= before + 2, "round {round}: by slot");
            file.sync_all().await.unwrap();
            if round % 2 == 0 {
                file.close().await.unwrap();
            } else {
                drop(file);
            }
            assert_eq!(support::fds_open_on(&path), 0);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    });
}
