//! `AsyncBufRead` and `BufReader`: lines with CRLF and without a final
//! newline, invalid UTF-8, a 1-byte inner reader, coalesced and bypassed
//! reads.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::ErrorKind;

use rentio_io::buf::IoBufMut;
use rentio_io::{
    AsyncBufRead, AsyncBufReadExt, AsyncReadRent, AsyncReadRentExt, AsyncWriteRentExt, BufReader,
};
use support::{ChunkedReader, ChunkedWriter, block_on, pattern};

#[test]
fn read_line_keeps_crlf_and_returns_a_last_line_without_newline() {
    let mut reader = BufReader::new(&b"one\r\ntwo\nthree"[..]);
    block_on(async {
        let (res, line) = reader.read_line(String::new()).await;
        assert_eq!(res.unwrap(), 5);
        assert_eq!(line, "one\r\n");
        let (res, line) = reader.read_line(line).await;
        assert_eq!(res.unwrap(), 4);
        assert_eq!(line, "one\r\ntwo\n", "read_line appends");
        let (res, line) = reader.read_line(String::new()).await;
        assert_eq!(res.unwrap(), 5);
        assert_eq!(line, "three");
        let (res, line) = reader.read_line(String::new()).await;
        assert_eq!(res.unwrap(), 0);
        assert_eq!(line, "");
    });
}

#[test]
fn read_line_of_invalid_utf8_is_invalid_data_and_keeps_the_string() {
    let mut reader = BufReader::new(&b"ok\n\xff\xfe bad\nafter\n"[..]);
    block_on(async {
        let (res, line) = reader.read_line(String::new()).await;
        assert_eq!(res.unwrap(), 3);
        let (res, line) = reader.read_line(line).await;
        assert_eq!(res.unwrap_err().kind(), ErrorKind::InvalidData);
        assert_eq!(line, "ok\n", "the string keeps what it had");
        let (res, line) = reader.read_line(String::new()).await;
        assert_eq!(res.unwrap(), 6);
        assert_eq!(line, "after\n", "the bad line was consumed");
    });
}

#[test]
fn read_line_split_multibyte_char_across_one_byte_reads() {
    let text = "héllo wörld ✓\nzwei\n";
    let inner = ChunkedReader::new(text.as_bytes().to_vec(), 1);
    let mut reader = BufReader::with_capacity(1, inner);
    let (res, line) = block_on(reader.read_line(String::new()));
    assert_eq!(res.unwrap(), "héllo wörld ✓\n".len());
    assert_eq!(line, "héllo wörld ✓\n");
}

#[test]
fn read_until_appends_and_stops_after_the_delimiter() {
    let mut reader = BufReader::with_capacity(4, ChunkedReader::new(b"a,bcdefg,h".to_vec(), 3));
    block_on(async {
        let (res, buf) = reader.read_until(b',', b"<".to_vec()).await;
        assert_eq!(res.unwrap(), 2);
        assert_eq!(buf, b"<a,");
        let (res, buf) = reader.read_until(b',', Vec::new()).await;
        assert_eq!(res.unwrap(), 7);
        assert_eq!(buf, b"bcdefg,");
        let (res, buf) = reader.read_until(b',', Vec::new()).await;
        assert_eq!(res.unwrap(), 1);
        assert_eq!(buf, b"h");
    });
}

#[test]
fn lines_strip_line_endings() {
    let mut lines = BufReader::new(&b"a\r\n\nb\nc"[..]).lines();
    block_on(async {
        let mut got = Vec::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            got.push(line);
        }
        assert_eq!(got, ["a", "", "b", "c"]);
    });
}

#[test]
fn buf_reader_over_a_one_byte_reader_reads_everything() {
    let data = pattern(300);
    let inner = ChunkedReader::new(data.clone(), 1);
    let mut reader = BufReader::with_capacity(16, inner);
    block_on(async {
        assert_eq!(
            reader.read_u16().await.unwrap(),
            u16::from_be_bytes([data[0], data[1]])
        );
        let (res, rest) = reader.read_to_end(Vec::new()).await;
        assert_eq!(res.unwrap(), 298);
        assert_eq!(rest, &data[2..]);
    });
    assert_eq!(
        reader.get_ref().reads,
        301,
        "one inner read per byte, plus EOF"
    );
}

#[test]
fn buf_reader_coalesces_small_reads() {
    let data = pattern(100);
    let mut reader = BufReader::with_capacity(32, ChunkedReader::new(data.clone(), 1000));
    let mut got = Vec::new();
    block_on(async {
        for _ in 0..100 {
            got.push(reader.read_u8().await.unwrap());
        }
        assert_eq!(
            reader.read_u8().await.unwrap_err().kind(),
            ErrorKind::UnexpectedEof
        );
    });
    assert_eq!(got, data);
    assert_eq!(
        reader.get_ref().reads,
        4 + 1,
        "100 bytes in 32-byte refills, plus EOF"
    );
}

#[test]
fn buf_reader_read_appends_to_the_callers_buffer() {
    let mut reader = BufReader::with_capacity(4, &b"defgh"[..]);
    let mut buf = Vec::with_capacity(3);
    buf.extend_from_slice(b"abc");
    buf.reserve(2);
    let (res, buf) = block_on(reader.read(buf.slice_mut(..5)));
    assert_eq!(res.unwrap(), 2);
    assert_eq!(buf.into_inner(), b"abcde");
    assert_eq!(reader.buffer(), b"fg");
}

#[test]
fn buf_reader_large_read_bypasses_an_empty_buffer() {
    let data = pattern(100);
    let mut reader = BufReader::with_capacity(8, ChunkedReader::new(data.clone(), 50));
    block_on(async {
        let (res, buf) = reader.read(Vec::with_capacity(64).slice_mut(..64)).await;
        assert_eq!(
            res.unwrap(),
            50,
            "one inner read, straight into the caller's buffer"
        );
        assert_eq!(&buf[..], &data[..50]);
        assert!(reader.buffer().is_empty());
        // A small read fills the buffer; a large one then drains it first.
        assert_eq!(reader.read_u8().await.unwrap(), data[50]);
        assert_eq!(reader.buffer(), &data[51..58]);
        let (res, buf) = reader.read(Vec::with_capacity(64).slice_mut(..64)).await;
        assert_eq!(res.unwrap(), 7);
        assert_eq!(&buf[..], &data[51..58]);
    });
    assert_eq!(reader.get_ref().reads, 2);
}

#[test]
fn buf_reader_fill_buf_and_consume() {
    let mut reader = BufReader::with_capacity(4, ChunkedReader::new(b"abcdefg".to_vec(), 10));
    block_on(async {
        assert_eq!(reader.fill_buf().await.unwrap(), b"abcd");
        reader.consume(3);
        assert_eq!(reader.fill_buf().await.unwrap(), b"d");
        reader.consume(100);
        assert_eq!(reader.buffer(), b"");
        assert_eq!(reader.fill_buf().await.unwrap(), b"efg");
        reader.consume(3);
        assert_eq!(reader.fill_buf().await.unwrap(), b"");
    });
    assert_eq!(reader.capacity(), 4);
    let inner = reader.into_inner();
    assert_eq!(inner.reads, 3);
}

#[test]
fn buf_reader_vectored_reads_go_through_the_buffer() {
    let data = pattern(40);
    let mut reader = BufReader::with_capacity(16, ChunkedReader::new(data.clone(), 5));
    let bufs = vec![
        Vec::with_capacity(3).slice_mut(..3),
        Vec::with_capacity(9).slice_mut(..9),
    ];
    let (res, bufs) = block_on(reader.read_vectored_exact(bufs));
    assert_eq!(res.unwrap(), 12);
    assert_eq!(&bufs[0][..], &data[..3]);
    assert_eq!(&bufs[1][..], &data[3..12]);
}

#[test]
fn buf_reader_passes_writes_through() {
    let mut stream = BufReader::new(ChunkedWriter::new(2));
    let (res, _) = block_on(stream.write_all(b"hello".to_vec()));
    assert_eq!(res.unwrap(), 5);
    assert_eq!(stream.get_mut().data, b"hello");
}
