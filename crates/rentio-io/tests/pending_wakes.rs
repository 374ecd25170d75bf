//! The ext loops, `BufReader`, `BufWriter` and `copy` survive a stream that
//! returns `Pending` (and wakes) before every call: each call costs exactly
//! one wake, and no future returns `Pending` without arranging a wake.

#![allow(clippy::unwrap_used)]

mod support;

use rentio_io::buf::IoBufMut;
use rentio_io::{
    AsyncBufRead, AsyncBufReadExt, AsyncReadRentExt, AsyncWriteRent, AsyncWriteRentExt, BufReader,
    BufWriter, copy,
};
use support::{
    ChunkedReader, ChunkedWriter, PendingFirst, block_on, block_on_counting, pattern, poll_once,
};

#[test]
fn read_exact_waits_out_pending_before_every_read() {
    let data = pattern(20);
    let mut reader = PendingFirst {
        inner: ChunkedReader::new(data.clone(), 3),
    };
    let ((res, buf), wakes) =
        block_on_counting(reader.read_exact(Vec::with_capacity(20).slice_mut(..20)));
    assert_eq!(res.unwrap(), 20);
    assert_eq!(&buf[..], &data[..]);
    assert_eq!(reader.inner.reads, 7);
    assert_eq!(wakes, 7, "one Pending per read");
}

#[test]
fn read_vectored_exact_and_read_to_end_wait_out_pending() {
    let data = pattern(30);
    let mut reader = PendingFirst {
        inner: ChunkedReader::new(data.clone(), 4),
    };
    let bufs = vec![
        Vec::with_capacity(5).slice_mut(..5),
        Vec::with_capacity(5).slice_mut(..5),
    ];
    let ((res, _), wakes) = block_on_counting(reader.read_vectored_exact(bufs));
    assert_eq!(res.unwrap(), 10);
    assert_eq!(wakes, 3);
    let ((res, rest), wakes) = block_on_counting(reader.read_to_end(Vec::new()));
    assert_eq!(res.unwrap(), 20);
    assert_eq!(rest, &data[10..]);
    assert_eq!(wakes, 6, "5 reads of data and the EOF read");
}

#[test]
fn write_all_and_write_vectored_all_wait_out_pending() {
    let mut writer = PendingFirst {
        inner: ChunkedWriter::new(3),
    };
    let ((res, _), wakes) = block_on_counting(writer.write_all(pattern(10)));
    assert_eq!(res.unwrap(), 10);
    assert_eq!(wakes, 4);
    let ((res, _), wakes) =
        block_on_counting(writer.write_vectored_all(vec![pattern(4), pattern(4)]));
    assert_eq!(res.unwrap(), 8);
    assert_eq!(wakes, 3);
    let mut want = pattern(10);
    want.extend(pattern(4));
    want.extend(pattern(4));
    assert_eq!(writer.inner.data, want);
}

#[test]
fn buffered_reader_and_writer_wait_out_pending() {
    let text = b"alpha\nbeta\ngamma\n".to_vec();
    let mut reader = BufReader::with_capacity(
        4,
        PendingFirst {
            inner: ChunkedReader::new(text.clone(), 2),
        },
    );
    let mut writer = BufWriter::with_capacity(
        8,
        PendingFirst {
            inner: ChunkedWriter::new(5),
        },
    );
    let (lines, wakes) = block_on_counting(async {
        let mut n = 0;
        loop {
            let (res, line) = reader.read_line(String::new()).await;
            if res.unwrap() == 0 {
                break;
            }
            n += 1;
            writer.write_all(line.into_bytes()).await.0.unwrap();
        }
        writer.shutdown().await.unwrap();
        n
    });
    assert_eq!(lines, 3);
    assert_eq!(writer.get_ref().inner.data, text);
    assert_eq!(writer.get_ref().inner.shutdowns, 1);
    let inner_calls = reader.get_ref().inner.reads
        + writer.get_ref().inner.writes
        + writer.get_ref().inner.shutdowns;
    assert_eq!(wakes, inner_calls, "one wake per inner call");
}

#[test]
fn copy_waits_out_pending() {
    let data = pattern(200_000);
    let mut reader = PendingFirst {
        inner: ChunkedReader::new(data.clone(), 30_000),
    };
    let mut writer = PendingFirst {
        inner: ChunkedWriter::new(7_000),
    };
    let (n, wakes) = block_on_counting(copy(&mut reader, &mut writer));
    assert_eq!(n.unwrap(), 200_000);
    assert!(writer.inner.data == data);
    let calls = reader.inner.reads + writer.inner.writes + writer.inner.flushes;
    assert_eq!(wakes, calls);
}

#[test]
fn dropped_refill_keeps_the_buf_reader_usable() {
    let mut reader = BufReader::with_capacity(
        4,
        PendingFirst {
            inner: ChunkedReader::new(b"abcdef".to_vec(), 10),
        },
    );
    // Buffer some bytes, then drop a refill while it waits.
    assert_eq!(block_on(reader.read_u8()).unwrap(), b'a');
    assert_eq!(reader.buffer(), b"bcd");
    block_on(reader.read_exact(Vec::with_capacity(3).slice_mut(..3)))
        .0
        .unwrap();
    assert!(reader.buffer().is_empty());
    assert!(poll_once(reader.fill_buf()).is_pending());
    // The dropped refill never ran; the next one allocates a new buffer.
    let (res, rest) = block_on(reader.read_to_end(Vec::new()));
    assert_eq!(res.unwrap(), 2);
    assert_eq!(rest, b"ef");
}

#[test]
fn dropped_flush_drops_the_bytes_it_had_rented_out() {
    let mut writer = BufWriter::with_capacity(
        16,
        PendingFirst {
            inner: ChunkedWriter::new(16),
        },
    );
    block_on(writer.write_all(b"queued".to_vec())).0.unwrap();
    assert_eq!(writer.buffer(), b"queued");
    assert!(poll_once(writer.flush()).is_pending());
    // As documented: the buffer was rented to the inner write, which was
    // dropped with it.
    assert!(writer.buffer().is_empty());
    block_on(writer.write_all(b"next".to_vec())).0.unwrap();
    block_on(writer.flush()).unwrap();
    assert_eq!(writer.get_ref().inner.data, b"next");
}
