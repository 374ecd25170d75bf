//! `AsyncReadRentExt`: reads append, `read_exact` fills the spare capacity or
//! fails with the partial bytes kept, vectored reads, `read_to_end`, integers.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::ErrorKind;

use rentio_io::buf::{IoBuf, IoBufMut};
use rentio_io::{AsyncReadRent, AsyncReadRentExt, AsyncWriteRentExt};
use support::{ChunkedReader, block_on, pattern};

#[test]
fn read_appends_after_existing_content() {
    let mut buf = Vec::with_capacity(16);
    buf.extend_from_slice(b"abc");
    let mut reader: &[u8] = b"defgh";
    let (res, buf) = block_on(reader.read(buf));
    assert_eq!(res.unwrap(), 5);
    assert_eq!(buf, b"abcdefgh");
    assert!(reader.is_empty());
}

#[test]
fn read_into_a_full_buffer_reads_zero_at_once() {
    let mut full = b"full".to_vec();
    full.shrink_to_fit();
    let mut reader: &[u8] = b"data";
    let (res, full) = block_on(reader.read(full));
    assert_eq!(res.unwrap(), 0);
    assert_eq!(full, b"full");
    assert_eq!(reader, b"data");
    let (res, full) = block_on(reader.read_exact(full));
    assert_eq!(res.unwrap(), 0);
    assert_eq!(full, b"full");
}

#[test]
fn read_exact_fills_spare_capacity_across_short_reads() {
    let data = pattern(100);
    let mut reader = ChunkedReader::new(data.clone(), 7);
    let mut buf = Vec::with_capacity(50);
    buf.extend_from_slice(b"xy");
    let spare = buf.spare_len();
    let (res, buf) = block_on(reader.read_exact(buf));
    assert_eq!(res.unwrap(), spare);
    assert_eq!(&buf[..2], b"xy");
    assert_eq!(&buf[2..], &data[..spare]);
    assert_eq!(reader.reads, spare.div_ceil(7));
}

#[test]
fn read_exact_into_a_slice_mut_reads_exactly_its_range() {
    let mut reader = ChunkedReader::new(b"0123456789".to_vec(), 3);
    let (res, view) = block_on(reader.read_exact(Vec::with_capacity(64).slice_mut(..4)));
    assert_eq!(res.unwrap(), 4);
    assert_eq!(view.into_inner(), b"0123");
    let (res, rest) = block_on(reader.read_to_end(Vec::new()));
    assert_eq!(res.unwrap(), 6);
    assert_eq!(rest, b"456789");
}

#[test]
fn read_exact_short_stream_is_unexpected_eof_and_keeps_partial_bytes() {
    let mut reader = ChunkedReader::new(b"hello".to_vec(), 2);
    let mut buf = Vec::with_capacity(10);
    buf.extend_from_slice(b">");
    let (res, buf) = block_on(reader.read_exact(buf.slice_mut(..10)));
    assert_eq!(res.unwrap_err().kind(), ErrorKind::UnexpectedEof);
    assert_eq!(buf.into_inner(), b">hello");
}

#[test]
fn read_vectored_exact_fills_every_buffer_in_order() {
    let data = pattern(64);
    let mut reader = ChunkedReader::new(data.clone(), 5);
    let mut first = Vec::with_capacity(8);
    first.push(b'!');
    let bufs = vec![
        first.slice_mut(..8),
        Vec::new().slice_mut(..0),
        Vec::with_capacity(12).slice_mut(..12),
        Vec::with_capacity(3).slice_mut(..3),
    ];
    let (res, bufs) = block_on(reader.read_vectored_exact(bufs));
    assert_eq!(res.unwrap(), 7 + 12 + 3);
    let bufs: Vec<Vec<u8>> = bufs.into_iter().map(|b| b.into_inner()).collect();
    assert_eq!(bufs[0][0], b'!');
    assert_eq!(&bufs[0][1..], &data[..7]);
    assert!(bufs[1].is_empty());
    assert_eq!(bufs[2], &data[7..19]);
    assert_eq!(bufs[3], &data[19..22]);
    assert_eq!(reader.reads, 22usize.div_ceil(5));
}

#[test]
fn read_vectored_exact_short_stream_keeps_partial_bytes() {
    let mut reader = ChunkedReader::new(b"abcdef".to_vec(), 4);
    let bufs = [
        Vec::with_capacity(4).slice_mut(..4),
        Vec::with_capacity(4).slice_mut(..4),
    ];
    let (res, [a, b]) = block_on(reader.read_vectored_exact(bufs));
    assert_eq!(res.unwrap_err().kind(), ErrorKind::UnexpectedEof);
    assert_eq!(a.into_inner(), b"abcd");
    assert_eq!(b.into_inner(), b"ef");
}

#[test]
fn read_to_end_appends_and_grows() {
    let data = pattern(10_000);
    let mut reader = ChunkedReader::new(data.clone(), 999);
    let (res, buf) = block_on(reader.read_to_end(b"head:".to_vec()));
    assert_eq!(res.unwrap(), data.len());
    assert_eq!(&buf[..5], b"head:");
    assert_eq!(&buf[5..], &data[..]);
}

#[test]
fn read_to_end_of_an_empty_stream_reads_zero() {
    let mut reader: &[u8] = b"";
    let (res, buf) = block_on(reader.read_to_end(Vec::new()));
    assert_eq!(res.unwrap(), 0);
    assert!(buf.is_empty());
}

#[test]
fn integers_round_trip_in_both_byte_orders() {
    let mut out = Vec::new();
    block_on(async {
        out.write_u8(0xab).await.unwrap();
        out.write_i8(-2).await.unwrap();
        out.write_u16(0x0102).await.unwrap();
        out.write_u16_le(0x0102).await.unwrap();
        out.write_i32(-3).await.unwrap();
        out.write_u32_le(0xdead_beef).await.unwrap();
        out.write_u64(u64::MAX - 1).await.unwrap();
        out.write_i64_le(i64::MIN).await.unwrap();
        out.write_u128(1 << 100).await.unwrap();
        out.write_i128_le(-5).await.unwrap();
        out.write_f32(1.5).await.unwrap();
        out.write_f64_le(-0.25).await.unwrap();
    });
    assert_eq!(&out[..6], [0xab, 0xfe, 1, 2, 2, 1]);
    let mut reader = ChunkedReader::new(out, 3);
    block_on(async {
        assert_eq!(reader.read_u8().await.unwrap(), 0xab);
        assert_eq!(reader.read_i8().await.unwrap(), -2);
        assert_eq!(reader.read_u16().await.unwrap(), 0x0102);
        assert_eq!(reader.read_u16_le().await.unwrap(), 0x0102);
        assert_eq!(reader.read_i32().await.unwrap(), -3);
        assert_eq!(reader.read_u32_le().await.unwrap(), 0xdead_beef);
        assert_eq!(reader.read_u64().await.unwrap(), u64::MAX - 1);
        assert_eq!(reader.read_i64_le().await.unwrap(), i64::MIN);
        assert_eq!(reader.read_u128().await.unwrap(), 1 << 100);
        assert_eq!(reader.read_i128_le().await.unwrap(), -5);
        assert_eq!(reader.read_f32().await.unwrap(), 1.5);
        assert_eq!(reader.read_f64_le().await.unwrap(), -0.25);
        let err = reader.read_u8().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
    });
}

#[test]
fn integer_read_of_a_short_stream_is_unexpected_eof() {
    let mut reader: &[u8] = &[1, 2, 3];
    let err = block_on(reader.read_u32()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
    assert!(reader.is_empty());
}

#[test]
fn read_exact_through_forwarding_impls() {
    let mut reader = ChunkedReader::new(b"abcdef".to_vec(), 1);
    let mut boxed: Box<ChunkedReader> = Box::new(reader.clone());
    let by_ref = &mut reader;
    let (res, buf) = block_on(by_ref.read_exact(Vec::with_capacity(3).slice_mut(..3)));
    assert_eq!(res.unwrap(), 3);
    assert_eq!(&buf[..], b"abc");
    let (res, buf) = block_on(boxed.read_exact(Vec::with_capacity(6).slice_mut(..6)));
    assert_eq!(res.unwrap(), 6);
    assert_eq!(&buf[..], b"abcdef");
    assert_eq!(buf.get_ref().buf_len(), 6);
}
