//! A wrapper dropped with a read and a write in flight leaks no fd and no
//! memory, and a wrapper in steady state allocates nothing per read or
//! write: tests of the process (the fd count and the counting allocator
//! are process-wide), run without libtest's threads.

#![allow(clippy::unwrap_used)]

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::pin::Pin;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::task::Poll;
use std::time::Duration;

use rentio_compat::Compat;
use rentio_driver::BackendChoice;
use rentio_executor::Runtime;
use rentio_net::UnixStream;
use support::fd_count;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static ALLOCS: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded from the caller.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded from the caller.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// One round on a fresh runtime: a wrapper whose read waits on a silent
/// peer and whose writes fill the socket (a write op left in flight) is
/// dropped, then the peer and the runtime go.
fn run_once(choice: BackendChoice) {
    let rt = Runtime::builder().backend(choice).build().unwrap();
    rt.block_on(async {
        let (a, peer) = UnixStream::pair().unwrap();
        let mut compat = Compat::new(a);
        let chunk = vec![9u8; 64 * 1024];
        let mut waiting_read = false;
        let mut writes = 0;
        std::future::poll_fn(|cx| {
            let mut space = [0u8; 64];
            let mut buf = ReadBuf::new(&mut space);
            if Pin::new(&mut compat).poll_read(cx, &mut buf).is_pending() {
                waiting_read = true;
            }
            // Write until the wrapper's buffer is full behind a write op
            // the full socket keeps in flight (bounded).
            while writes < 256 {
                match Pin::new(&mut compat).poll_write(cx, &chunk) {
                    Poll::Ready(Ok(_)) => writes += 1,
                    Poll::Ready(Err(e)) => panic!("write: {e}"),
                    Poll::Pending => return Poll::Ready(()),
                }
            }
            Poll::Ready(())
        })
        .await;
        assert!(waiting_read, "the read did not wait");
        assert!(writes < 256, "the writes never waited");
        drop(compat);
        drop(peer);
        // Let the driver reap the cancelled ops before the runtime goes.
        rentio_executor::time::sleep(Duration::from_millis(10)).await;
    });
    drop(rt);
}

fn main() {
    a_wrapper_dropped_mid_read_and_mid_write_leaks_nothing();
    println!("test a_wrapper_dropped_mid_read_and_mid_write_leaks_nothing ... ok");
    no_allocation_per_read_or_write_in_steady_state();
    println!("test no_allocation_per_read_or_write_in_steady_state ... ok");
}

/// Ping-pong through two wrappers: after a warm-up, rounds of write,
/// flush and read allocate nothing (buffers and op boxes are reused).
fn no_allocation_per_read_or_write_in_steady_state() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    for choice in support::backends() {
        let rt = Runtime::builder().backend(choice).build().unwrap();
        let allocs = rt.block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            let (mut a, mut b) = (Compat::new(a), Compat::new(b));
            let mut got = [0u8; 100];
            let mut round = async |rounds: usize| {
                for i in 0..rounds {
                    let msg = [i as u8; 100];
                    a.write_all(&msg).await.unwrap();
                    a.flush().await.unwrap();
                    b.read_exact(&mut got).await.unwrap();
                    assert_eq!(got, msg);
                    b.write_all(&got).await.unwrap();
                    b.flush().await.unwrap();
                    a.read_exact(&mut got).await.unwrap();
                    assert_eq!(got, msg);
                }
            };
            round(50).await;
            let before = ALLOCS.load(Ordering::Relaxed);
            round(1000).await;
            ALLOCS.load(Ordering::Relaxed) - before
        });
        assert_eq!(
            allocs, 0,
            "[{choice:?}] {allocs} allocations in 1000 rounds"
        );
    }
}

fn a_wrapper_dropped_mid_read_and_mid_write_leaks_nothing() {
    for choice in support::backends() {
        // Warm up once: lazily initialized statics are not leaks.
        run_once(choice);
        let fds = fd_count();
        let live = LIVE.load(Ordering::Relaxed);
        run_once(choice);
        assert_eq!(fd_count(), fds, "[{choice:?}] fds leaked");
        let after = LIVE.load(Ordering::Relaxed);
        assert_eq!(after, live, "[{choice:?}] {} bytes leaked", after - live);
    }
}
