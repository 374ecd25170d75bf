//! `copy` and `read_to_end` reproduce their input through chunked readers
//! and writers, including a proptest over random data and chunk sizes.

#![allow(clippy::unwrap_used)]

mod support;

use proptest::prelude::*;
use rentio_io::{AsyncReadRentExt, copy};
use support::{ChunkedReader, ChunkedWriter, block_on, pattern};

#[test]
fn copy_one_mebibyte_through_chunked_reader_and_writer() {
    let data = pattern(1 << 20);
    let mut reader = ChunkedReader::with_chunks(data.clone(), vec![7000, 1, 65_536, 333]);
    let mut writer = ChunkedWriter::new(4093);
    let n = block_on(copy(&mut reader, &mut writer)).unwrap();
    assert_eq!(n, 1 << 20);
    assert!(writer.data == data, "the copied bytes differ");
    assert_eq!(writer.flushes, 1, "copy flushes at the end");
}

#[test]
fn copy_of_an_empty_reader_copies_nothing_and_flushes() {
    let mut reader: &[u8] = b"";
    let mut writer = ChunkedWriter::new(8);
    assert_eq!(block_on(copy(&mut reader, &mut writer)).unwrap(), 0);
    assert_eq!(writer.writes, 0);
    assert_eq!(writer.flushes, 1);
}

#[test]
fn copy_reports_a_writer_that_takes_nothing() {
    let mut reader: &[u8] = b"abc";
    let mut writer = ChunkedWriter::new(0);
    let err = block_on(copy(&mut reader, &mut writer)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::WriteZero);
}

proptest! {
    #[test]
    fn read_to_end_and_copy_reproduce_the_data(
        data in proptest::collection::vec(any::<u8>(), 0..20_000),
        chunks in proptest::collection::vec(1usize..5000, 1..8),
        write_max in 1usize..5000,
    ) {
        let mut reader = ChunkedReader::with_chunks(data.clone(), chunks.clone());
        let (res, got) = block_on(reader.read_to_end(Vec::new()));
        prop_assert_eq!(res.unwrap(), data.len());
        prop_assert_eq!(&got, &data);

        let mut reader = ChunkedReader::with_chunks(data.clone(), chunks);
        let mut writer = ChunkedWriter::new(write_max);
        let n = block_on(copy(&mut reader, &mut writer)).unwrap();
        prop_assert_eq!(n, data.len() as u64);
        prop_assert_eq!(&writer.data, &data);
    }
}
