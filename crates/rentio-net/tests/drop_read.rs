//! A read dropped at every await point leaks no fd and no memory: one test
//! per process (the fd count and the counting allocator are process-wide).

#![allow(clippy::unwrap_used)]

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::task::Poll;
use std::time::Duration;

use rentio_driver::BackendChoice;
use rentio_executor::Runtime;
use rentio_io::{AsyncReadRent, AsyncReadRentExt, AsyncWriteRentExt};
use rentio_net::{TcpListener, TcpStream, UnixStream};
use support::fd_count;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
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

/// Polls `fut` until it has returned `Pending` `pendings` times (yielding
/// to the runtime in between), then drops it; `true` if it finished first.
async fn drop_after<F: Future>(fut: F, pendings: usize) -> bool {
    let mut fut = std::pin::pin!(fut);
    let mut seen = 0;
    std::future::poll_fn(|cx| match Pin::new(&mut fut).poll(cx) {
        Poll::Ready(_) => Poll::Ready(true),
        Poll::Pending if seen + 1 >= pendings => Poll::Ready(false),
        Poll::Pending => {
            seen += 1;
            Poll::Pending
        }
    })
    .await
}

/// One round on a fresh runtime: for each k, a `read_exact` of 4 pieces
/// that the peer sends one at a time is dropped after its k-th `Pending`,
/// and a plain read waiting on a silent peer is dropped; then every socket
/// and the runtime go.
fn run_once(choice: BackendChoice) {
    let rt = Runtime::builder().backend(choice).build().unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        for k in 1..=5 {
            let mut c = TcpStream::connect(&addr).await.unwrap();
            let (mut s, _) = listener.accept().await.unwrap();
            let feeder = rentio_executor::spawn(async move {
                for _ in 0..4 {
                    rentio_executor::time::sleep(Duration::from_millis(2)).await;
                    let (n, _) = s.write_all(vec![1u8; 256]).await;
                    if n.is_err() {
                        break;
                    }
                }
                s
            });
            let finished = drop_after(c.read_exact(Vec::with_capacity(1024)), k).await;
            assert!(!finished || k == 5, "k = {k}: read_exact ended early");
            drop(feeder.await.unwrap());
            drop(c);
        }
        let (mut a, b) = UnixStream::pair().unwrap();
        assert!(!drop_after(a.read(Vec::with_capacity(64)), 1).await);
        drop((a, b, listener));
        // Let the driver reap the cancelled ops before the runtime goes.
        rentio_executor::time::sleep(Duration::from_millis(10)).await;
    });
    drop(rt);
}

/// Runs without libtest (`harness = false`): the harness's own threads
/// allocate while a test runs, which a process-wide count would blame on
/// the test.
fn main() {
    reads_dropped_at_every_await_point_leak_no_fd_and_no_memory();
    println!("test reads_dropped_at_every_await_point_leak_no_fd_and_no_memory ... ok");
}

fn reads_dropped_at_every_await_point_leak_no_fd_and_no_memory() {
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
