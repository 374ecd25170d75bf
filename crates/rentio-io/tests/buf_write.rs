//! `BufWriter`: small writes coalesce, a full buffer is written out, large
//! writes go straight through, `flush` and `shutdown` write everything first.

#![allow(clippy::unwrap_used)]

mod support;

use rentio_io::buf::IoBuf;
use rentio_io::{AsyncReadRentExt, AsyncWriteRent, AsyncWriteRentExt, BufWriter};
use support::{ChunkedReader, ChunkedWriter, block_on, pattern};

#[test]
fn small_writes_coalesce_into_few_inner_writes() {
    let mut writer = BufWriter::with_capacity(16, ChunkedWriter::new(1024));
    block_on(async {
        for i in 0..40u8 {
            writer.write_u8(i).await.unwrap();
        }
        // 40 one-byte writes: two full 16-byte buffers went out, 8 bytes wait.
        assert_eq!(writer.get_ref().writes, 2);
        assert_eq!(writer.buffer().len(), 8);
        writer.flush().await.unwrap();
    });
    let inner = writer.get_ref();
    assert_eq!(inner.writes, 3);
    assert_eq!(inner.flushes, 1);
    assert_eq!(inner.data, (0..40u8).collect::<Vec<_>>());
    assert!(writer.buffer().is_empty());
}

#[test]
fn a_write_that_does_not_fit_writes_the_buffer_out_first() {
    let mut writer = BufWriter::with_capacity(8, ChunkedWriter::new(1024));
    block_on(async {
        let (res, _) = writer.write(b"abcde".to_vec()).await;
        assert_eq!(res.unwrap(), 5);
        assert!(writer.get_ref().data.is_empty());
        let (res, _) = writer.write(b"fghi".to_vec()).await;
        assert_eq!(res.unwrap(), 4);
        assert_eq!(writer.get_ref().data, b"abcde");
        assert_eq!(writer.buffer(), b"fghi");
    });
}

#[test]
fn a_large_write_goes_straight_to_the_inner_writer() {
    let mut writer = BufWriter::with_capacity(8, ChunkedWriter::new(1024));
    block_on(async {
        writer.write_all(b"ab".to_vec()).await.0.unwrap();
        let big = pattern(20);
        let (res, back) = writer.write(big.clone()).await;
        assert_eq!(res.unwrap(), 20);
        assert_eq!(back, big);
        let inner = writer.get_ref();
        assert_eq!(
            inner.writes, 2,
            "the buffered 2 bytes, then the 20 directly"
        );
        assert_eq!(&inner.data[..2], b"ab");
        assert_eq!(&inner.data[2..], &big[..]);
    });
}

#[test]
fn flush_loops_over_short_inner_writes() {
    let mut writer = BufWriter::with_capacity(64, ChunkedWriter::new(3));
    block_on(async {
        writer.write_all(pattern(50)).await.0.unwrap();
        assert_eq!(writer.get_ref().writes, 0);
        writer.flush().await.unwrap();
    });
    assert_eq!(writer.get_ref().data, pattern(50));
    assert_eq!(writer.get_ref().writes, 17);
}

#[test]
fn shutdown_writes_the_buffer_before_shutting_down() {
    let mut writer = BufWriter::new(ChunkedWriter::new(1024));
    block_on(async {
        writer.write_all(b"last words".to_vec()).await.0.unwrap();
        writer.shutdown().await.unwrap();
    });
    let inner = writer.into_inner();
    assert_eq!(inner.data, b"last words");
    assert_eq!(inner.shutdowns, 1);
}

#[test]
fn vectored_writes_are_buffered_too() {
    let mut writer = BufWriter::with_capacity(16, ChunkedWriter::new(1024));
    block_on(async {
        let (res, _) = writer
            .writev(vec![b"ab".to_vec(), Vec::new(), b"cde".to_vec()])
            .await;
        assert_eq!(res.unwrap(), 5);
        assert_eq!(writer.buffer(), b"abcde");
        let (res, _) = writer.write_vectored_all([pattern(10), pattern(10)]).await;
        assert_eq!(res.unwrap(), 20);
        writer.flush().await.unwrap();
    });
    let mut want = b"abcde".to_vec();
    want.extend(pattern(10));
    want.extend(pattern(10));
    assert_eq!(writer.get_ref().data, want);
    assert_eq!(writer.get_ref().writes, 2);
}

#[test]
fn into_parts_returns_the_unwritten_bytes() {
    let mut writer = BufWriter::with_capacity(16, Vec::new());
    block_on(writer.write_all(b"pending".to_vec())).0.unwrap();
    assert_eq!(writer.capacity(), 16);
    let (inner, buffered) = writer.into_parts();
    assert!(inner.is_empty());
    assert_eq!(buffered, b"pending");
    assert_eq!(buffered.buf_len(), 7);
}

#[test]
fn buf_writer_passes_reads_through() {
    let mut stream = BufWriter::new(ChunkedReader::new(b"xyz".to_vec(), 1));
    let (res, buf) = block_on(stream.read_to_end(Vec::new()));
    assert_eq!(res.unwrap(), 3);
    assert_eq!(buf, b"xyz");
}
