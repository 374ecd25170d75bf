//! Dropping a runtime whose idle tasks hold ops in flight leaks nothing:
//! no fd and no allocation. One test per process (the fd count and the
//! counting allocator are process-wide).

#![cfg(not(loom))]
#![allow(clippy::unwrap_used)]

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use rentio_driver::BackendChoice;
use rentio_driver::op::Recv;
use rentio_executor::{Runtime, spawn, yield_now};

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

fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Builds a runtime, parks 16 tasks in recvs that never complete, and
/// drops the runtime with them in flight. One more task's waker outlives
/// the runtime on another thread, which wakes it (too late) and drops it
/// there: the task, and its runtime's inbox, are freed on that thread.
fn run_once(choice: BackendChoice) {
    let stash: Arc<Mutex<Option<Waker>>> = Arc::default();
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let late = {
        let stash = stash.clone();
        std::thread::spawn(move || {
            wait.recv().unwrap();
            let waker = stash.lock().unwrap().take().unwrap();
            waker.wake();
        })
    };
    let pairs: Vec<_> = (0..16)
        .map(|_| std::os::unix::net::UnixStream::pair().unwrap())
        .collect();
    {
        let rt = Runtime::builder().backend(choice).build().unwrap();
        let driver = rt.driver().clone();
        rt.block_on(async {
            let mut handles = Vec::new();
            for (_, b) in &pairs {
                let fd = b.as_raw_fd();
                let driver = driver.clone();
                handles.push(spawn(async move {
                    let (res, _buf) = driver.op(Recv::new(fd, Vec::with_capacity(4096))).await;
                    res.map(drop)
                }));
            }
            let stash = stash.clone();
            drop(spawn(std::future::poll_fn(move |cx| {
                *stash.lock().unwrap() = Some(cx.waker().clone());
                Poll::<()>::Pending
            })));
            for _ in 0..4 {
                yield_now().await;
            }
            assert!(handles.iter().all(|h| !h.is_finished()));
            // Detach them: the runtime's drop must clean up on its own.
            drop(handles);
        });
        drop(driver);
    }
    go.send(()).unwrap();
    late.join().unwrap();
    drop(pairs);
}

/// Runs without libtest (`harness = false`): the harness's own threads
/// allocate while a test runs, which a process-wide count would blame on
/// the test.
fn main() {
    dropping_a_runtime_with_ops_in_flight_leaks_nothing();
    println!("test dropping_a_runtime_with_ops_in_flight_leaks_nothing ... ok");
}

fn dropping_a_runtime_with_ops_in_flight_leaks_nothing() {
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
