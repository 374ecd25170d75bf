//! The in-memory impls: `&[u8]`, `Cursor`, `Vec<u8>`, positional reads and
//! writes on `Vec<u8>` and `[u8]`, and the forwarding impls.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::{Cursor, ErrorKind};

use rentio_io::buf::IoBufMut;
use rentio_io::{
    AsyncReadRent, AsyncReadRentAt, AsyncReadRentExt, AsyncWriteRent, AsyncWriteRentAt,
    AsyncWriteRentExt,
};
use support::block_on;

#[test]
fn slice_readv_fills_buffers_in_order_and_advances() {
    let mut reader: &[u8] = b"abcdefgh";
    let bufs = [
        Vec::with_capacity(3).slice_mut(..3),
        Vec::with_capacity(2).slice_mut(..2),
    ];
    let (res, [a, b]) = block_on(reader.readv(bufs));
    assert_eq!(res.unwrap(), 5);
    assert_eq!((&a[..], &b[..]), (&b"abc"[..], &b"de"[..]));
    assert_eq!(reader, b"fgh");
}

#[test]
fn cursor_reads_from_its_position_and_advances() {
    let mut cursor = Cursor::new(b"0123456789".to_vec());
    cursor.set_position(4);
    let (res, buf) = block_on(cursor.read(Vec::with_capacity(3).slice_mut(..3)));
    assert_eq!(res.unwrap(), 3);
    assert_eq!(&buf[..], b"456");
    assert_eq!(cursor.position(), 7);
    let (res, buf) = block_on(cursor.read_to_end(Vec::new()));
    assert_eq!(res.unwrap(), 3);
    assert_eq!(buf, b"789");
    cursor.set_position(100);
    let (res, _) = block_on(cursor.read(Vec::with_capacity(8)));
    assert_eq!(res.unwrap(), 0, "past the end reads nothing");
}

#[test]
fn cursor_readv_reads_in_order() {
    let mut cursor = Cursor::new(&b"abcdef"[..]);
    let bufs = vec![
        Vec::with_capacity(2).slice_mut(..2),
        Vec::with_capacity(8).slice_mut(..8),
    ];
    let (res, bufs) = block_on(cursor.readv(bufs));
    assert_eq!(res.unwrap(), 6);
    assert_eq!(&bufs[0][..], b"ab");
    assert_eq!(&bufs[1][..], b"cdef");
}

#[test]
fn vec_writer_appends() {
    let mut out = b">".to_vec();
    block_on(async {
        let (res, _) = out.write(b"ab".to_vec()).await;
        assert_eq!(res.unwrap(), 2);
        let (res, _) = out
            .writev(vec![b"c".to_vec(), Vec::new(), b"de".to_vec()])
            .await;
        assert_eq!(res.unwrap(), 3);
        out.flush().await.unwrap();
        out.shutdown().await.unwrap();
    });
    assert_eq!(out, b">abcde");
}

#[test]
fn cursor_vec_writer_overwrites_then_extends_and_zero_fills() {
    let mut cursor = Cursor::new(b"abcdef".to_vec());
    cursor.set_position(4);
    block_on(async {
        let (res, _) = cursor.write(b"XYZ".to_vec()).await;
        assert_eq!(res.unwrap(), 3);
        cursor.set_position(9);
        let (res, _) = cursor.writev([b"1".to_vec(), b"2".to_vec()]).await;
        assert_eq!(res.unwrap(), 2);
    });
    assert_eq!(cursor.get_ref(), b"abcdXYZ\x00\x0012");
    assert_eq!(cursor.position(), 11);
}

#[test]
fn cursor_over_borrowed_storage_writes() {
    let mut store = Vec::new();
    let mut cursor = Cursor::new(&mut store);
    block_on(cursor.write_all(b"borrowed".to_vec())).0.unwrap();
    assert_eq!(store, b"borrowed");

    let mut fixed = [0u8; 4];
    let mut cursor = Cursor::new(&mut fixed[..]);
    let (res, _) = block_on(cursor.writev([b"ab".to_vec(), b"cdef".to_vec()]));
    assert_eq!(res.unwrap(), 4, "a slice takes what fits");
    let (res, _) = block_on(cursor.write_all(b"more".to_vec()));
    assert_eq!(res.unwrap_err().kind(), ErrorKind::WriteZero);
    assert_eq!(&fixed, b"abcd");
}

#[test]
fn vec_write_at_past_the_end_zero_fills() {
    let mut file = b"head".to_vec();
    block_on(async {
        let (res, _) = file.write_at(b"tail".to_vec(), 8).await;
        assert_eq!(res.unwrap(), 4);
        assert_eq!(file, b"head\0\0\0\0tail");
        let (res, _) = file.write_at(b"EAD\0X".to_vec(), 1).await;
        assert_eq!(res.unwrap(), 5);
        assert_eq!(file, b"hEAD\0X\0\0tail");
        let (res, _) = file.write_at(b"LONGER".to_vec(), 10).await;
        assert_eq!(res.unwrap(), 6);
        assert_eq!(file, b"hEAD\0X\0\0taLONGER");
    });
}

#[test]
fn vec_write_at_an_unaddressable_position_is_invalid_input() {
    let mut file = Vec::new();
    let (res, buf) = block_on(file.write_at(b"x".to_vec(), u64::MAX));
    assert_eq!(res.unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(buf, b"x");
    assert!(file.is_empty());
}

#[test]
fn read_at_does_not_move_and_appends() {
    let mut file = b"0123456789".to_vec();
    let mut buf = b"<".to_vec();
    buf.reserve(3);
    let (res, buf) = block_on(file.read_at(buf.slice_mut(..4), 6));
    assert_eq!(res.unwrap(), 3);
    assert_eq!(buf.into_inner(), b"<678");
    let (res, buf) = block_on(file.read_at(Vec::with_capacity(8), 10));
    assert_eq!(res.unwrap(), 0);
    assert!(buf.is_empty());
    let mut slice: &[u8] = b"abc";
    let (res, buf) = block_on(slice.read_at(Vec::with_capacity(8), 1));
    assert_eq!(res.unwrap(), 2);
    assert_eq!(buf, b"bc");
    assert_eq!(slice, b"abc");
    let (res, _) = block_on(slice.read_at(Vec::with_capacity(8), u64::MAX));
    assert_eq!(res.unwrap(), 0);
}

#[test]
fn slice_write_at_takes_what_fits_through_the_forwarding_impls() {
    let mut boxed: Box<[u8]> = vec![0u8; 6].into_boxed_slice();
    block_on(async {
        let (res, _) = boxed.write_at(b"abcd".to_vec(), 4).await;
        assert_eq!(res.unwrap(), 2);
        let (res, _) = boxed.write_at(b"abcd".to_vec(), 6).await;
        assert_eq!(res.unwrap(), 0);
        let (res, _) = boxed.write_at(b"abcd".to_vec(), u64::MAX).await;
        assert_eq!(res.unwrap(), 0);
    });
    assert_eq!(&boxed[..], b"\0\0\0\0ab");
    let mut arr = [0u8; 3];
    let by_ref: &mut [u8] = &mut arr;
    let (res, buf) = block_on(by_ref.read_at(Vec::with_capacity(3).slice_mut(..3), 0));
    assert_eq!(res.unwrap(), 3);
    assert_eq!(&buf[..], [0, 0, 0]);
    let mut by_ref_ref = &mut *by_ref;
    let (res, _) = block_on((&mut by_ref_ref).write_at(b"z".to_vec(), 2));
    assert_eq!(res.unwrap(), 1);
    assert_eq!(arr, [0, 0, b'z']);
}

#[test]
fn boxed_and_borrowed_writers_forward() {
    let mut boxed: Box<Vec<u8>> = Box::default();
    block_on(boxed.write_all(b"boxed".to_vec())).0.unwrap();
    block_on(boxed.flush()).unwrap();
    block_on(boxed.shutdown()).unwrap();
    let mut inner = Vec::new();
    let mut by_ref = &mut inner;
    block_on(by_ref.write_vectored_all([b"by".to_vec(), b"ref".to_vec()]))
        .0
        .unwrap();
    block_on(AsyncWriteRent::flush(&mut by_ref)).unwrap();
    assert_eq!(*boxed, b"boxed");
    assert_eq!(inner, b"byref");
}
