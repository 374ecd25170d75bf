//! `AsyncWriteRentExt`: `write_all` and `write_vectored_all` loop over short
//! writes, fail on zero-count or overlong writes, and integer writers.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::{self, ErrorKind};

use rentio_io::buf::{BufResult, IoBuf, IoVecBuf};
use rentio_io::{AsyncWriteRent, AsyncWriteRentExt};
use support::{ChunkedWriter, block_on, pattern};

/// A writer that claims to have written more than it was given.
struct Liar;

impl AsyncWriteRent for Liar {
    async fn write<T: IoBuf>(&mut self, buf: T) -> BufResult<usize, T> {
        (Ok(buf.buf_len() + 1), buf)
    }

    async fn writev<T: IoVecBuf>(&mut self, buf: T) -> BufResult<usize, T> {
        (Ok(buf.total_len() + 1), buf)
    }

    async fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    async fn shutdown(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn write_all_loops_over_three_byte_writes() {
    let data = pattern(20);
    let mut writer = ChunkedWriter::new(3);
    let (res, buf) = block_on(writer.write_all(data.clone()));
    assert_eq!(res.unwrap(), 20);
    assert_eq!(buf, data, "the buffer comes back whole");
    assert_eq!(writer.data, data);
    assert_eq!(writer.writes, 7);
    assert_eq!(writer.flushes, 0, "write_all does not flush");
}

#[test]
fn write_all_of_an_empty_buffer_writes_nothing() {
    let mut writer = ChunkedWriter::new(3);
    let (res, _) = block_on(writer.write_all(Vec::new()));
    assert_eq!(res.unwrap(), 0);
    assert_eq!(writer.writes, 0);
}

#[test]
fn write_all_zero_count_write_is_write_zero() {
    let mut writer = ChunkedWriter::new(0);
    let (res, buf) = block_on(writer.write_all(b"abc".to_vec()));
    assert_eq!(res.unwrap_err().kind(), ErrorKind::WriteZero);
    assert_eq!(buf, b"abc");
    assert_eq!(writer.writes, 1);
}

#[test]
fn write_all_rejects_an_overlong_count() {
    let (res, buf) = block_on(Liar.write_all(b"abc".to_vec()));
    assert_eq!(res.unwrap_err().kind(), ErrorKind::InvalidData);
    assert_eq!(buf, b"abc");
    let (res, _) = block_on(Liar.write_vectored_all(vec![b"abc".to_vec()]));
    assert_eq!(res.unwrap_err().kind(), ErrorKind::InvalidData);
}

#[test]
fn write_all_sends_only_the_initialized_part_of_a_slice() {
    let mut writer = ChunkedWriter::new(2);
    let (res, slice) = block_on(writer.write_all(b"0123456789".to_vec().slice(3..8)));
    assert_eq!(res.unwrap(), 5);
    assert_eq!(writer.data, b"34567");
    assert_eq!(slice.into_inner(), b"0123456789");
}

#[test]
fn write_vectored_all_resumes_across_buffers_after_short_writes() {
    let bufs = vec![
        b"ab".to_vec(),
        Vec::new(),
        b"cdefg".to_vec(),
        b"h".to_vec(),
        b"ijklmnopq".to_vec(),
    ];
    for max in 1..=20 {
        let mut writer = ChunkedWriter::new(max);
        let (res, back) = block_on(writer.write_vectored_all(bufs.clone()));
        assert_eq!(res.unwrap(), 17, "max {max}");
        assert_eq!(writer.data, b"abcdefghijklmnopq", "max {max}");
        assert_eq!(writer.writes, 17usize.div_ceil(max), "max {max}");
        assert_eq!(back, bufs);
    }
}

#[test]
fn write_vectored_all_zero_count_write_is_write_zero() {
    let mut writer = ChunkedWriter::new(0);
    let (res, _) = block_on(writer.write_vectored_all([b"x".to_vec()]));
    assert_eq!(res.unwrap_err().kind(), ErrorKind::WriteZero);
}

#[test]
fn integer_writers_use_the_named_byte_order() {
    let mut writer = ChunkedWriter::new(1);
    block_on(async {
        writer.write_u16(0x0102).await.unwrap();
        writer.write_u16_le(0x0102).await.unwrap();
        writer.write_u32(0x0304_0506).await.unwrap();
        writer.write_i64_le(-1).await.unwrap();
    });
    let mut want = vec![1, 2, 2, 1, 3, 4, 5, 6];
    want.extend_from_slice(&[0xff; 8]);
    assert_eq!(writer.data, want);
    assert_eq!(writer.writes, want.len());
}
