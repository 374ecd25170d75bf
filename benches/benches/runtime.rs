//! `runtime`: the executor against its peers, side by side in one run:
//! rentio, tokio `current_thread` (with `tokio::spawn`, and with a
//! `LocalSet`), and monoio (io_uring driver, timers enabled).
//!
//! - `spawn::*`: spawn 100k empty tasks, then join them all.
//! - `yield::*`: two tasks that each yield 50k times (ping-pong through
//!   the run queue).
//! - `timers::*`: 100k sleeps registered (polled once) and cancelled
//!   (dropped).
//! - `timer_lateness::*`: how late a 1 ms sleep wakes while 64 tasks keep
//!   the run queue busy (the reported "time" is the mean lateness).
//!
//! Run: `cargo bench -p rentio-benches --bench runtime`.

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

const TASKS: usize = 100_000;
const YIELDS: usize = 50_000;
const TIMERS: usize = 100_000;

/// A one-time yield, for monoio, which has no `yield_now` (the same as
/// rentio's: wake itself, return `Pending` once).
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx: &mut Context<'_>| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await;
}

/// Polls each future once (registering it), then drops them all.
async fn register_and_cancel<F: Future<Output = ()>>(mut sleeps: Vec<Pin<Box<F>>>) {
    std::future::poll_fn(|cx: &mut Context<'_>| {
        for s in &mut sleeps {
            let _ = s.as_mut().poll(cx);
        }
        Poll::Ready(())
    })
    .await;
    drop(sleeps);
}

fn spawn(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn");
    group.sample_size(20);
    let rt = rentio_executor::Runtime::new().expect("rentio");
    group.bench_function("rentio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let handles: Vec<_> = (0..TASKS)
                    .map(|i| rentio_executor::spawn(async move { i }))
                    .collect();
                for h in handles {
                    black_box(h.await.expect("join"));
                }
            })
        })
    });
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio");
    group.bench_function("tokio_current_thread", |b| {
        b.iter(|| {
            tokio_rt.block_on(async {
                let handles: Vec<_> = (0..TASKS).map(|i| tokio::spawn(async move { i })).collect();
                for h in handles {
                    black_box(h.await.expect("join"));
                }
            })
        })
    });
    group.bench_function("tokio_local_set", |b| {
        b.iter(|| {
            let local = tokio::task::LocalSet::new();
            local.block_on(&tokio_rt, async {
                let handles: Vec<_> = (0..TASKS)
                    .map(|i| tokio::task::spawn_local(async move { i }))
                    .collect();
                for h in handles {
                    black_box(h.await.expect("join"));
                }
            })
        })
    });
    let mut monoio_rt = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
        .build()
        .expect("monoio");
    group.bench_function("monoio", |b| {
        b.iter(|| {
            monoio_rt.block_on(async {
                let handles: Vec<_> = (0..TASKS)
                    .map(|i| monoio::spawn(async move { i }))
                    .collect();
                for h in handles {
                    black_box(h.await);
                }
            })
        })
    });
    group.finish();
}

fn yields(c: &mut Criterion) {
    let mut group = c.benchmark_group("yield");
    group.sample_size(20);
    let rt = rentio_executor::Runtime::new().expect("rentio");
    group.bench_function("rentio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let a = rentio_executor::spawn(async {
                    for _ in 0..YIELDS {
                        rentio_executor::yield_now().await;
                    }
                });
                let b = rentio_executor::spawn(async {
                    for _ in 0..YIELDS {
                        rentio_executor::yield_now().await;
                    }
                });
                a.await.expect("a");
                b.await.expect("b");
            })
        })
    });
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio");
    group.bench_function("tokio_current_thread", |b| {
        b.iter(|| {
            tokio_rt.block_on(async {
                let a = tokio::spawn(async {
                    for _ in 0..YIELDS {
                        tokio::task::yield_now().await;
                    }
                });
                let b = tokio::spawn(async {
                    for _ in 0..YIELDS {
                        tokio::task::yield_now().await;
                    }
                });
                a.await.expect("a");
                b.await.expect("b");
            })
        })
    });
    group.bench_function("tokio_local_set", |b| {
        b.iter(|| {
            let local = tokio::task::LocalSet::new();
            local.block_on(&tokio_rt, async {
                let a = tokio::task::spawn_local(async {
                    for _ in 0..YIELDS {
                        tokio::task::yield_now().await;
                    }
                });
                let b = tokio::task::spawn_local(async {
                    for _ in 0..YIELDS {
                        tokio::task::yield_now().await;
                    }
                });
                a.await.expect("a");
                b.await.expect("b");
            })
        })
    });
    let mut monoio_rt = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
        .build()
        .expect("monoio");
    group.bench_function("monoio", |b| {
        b.iter(|| {
            monoio_rt.block_on(async {
                let a = monoio::spawn(async {
                    for _ in 0..YIELDS {
                        yield_once().await;
                    }
                });
                let b = monoio::spawn(async {
                    for _ in 0..YIELDS {
                        yield_once().await;
                    }
                });
                a.await;
                b.await;
            })
        })
    });
    group.finish();
}

fn timers(c: &mut Criterion) {
    let mut group = c.benchmark_group("timers");
    group.sample_size(20);
    let far = Duration::from_secs(3600);
    let rt = rentio_executor::Runtime::new().expect("rentio");
    group.bench_function("rentio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let sleeps = (0..TIMERS)
                    .map(|i| {
                        Box::pin(rentio_executor::time::sleep(
                            far + Duration::from_millis(i as u64),
                        ))
                    })
                    .collect();
                register_and_cancel(sleeps).await;
            })
        })
    });
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio");
    group.bench_function("tokio_current_thread", |b| {
        b.iter(|| {
            tokio_rt.block_on(async {
                let sleeps = (0..TIMERS)
                    .map(|i| Box::pin(tokio::time::sleep(far + Duration::from_millis(i as u64))))
                    .collect();
                register_and_cancel(sleeps).await;
            })
        })
    });
    group.bench_function("tokio_local_set", |b| {
        b.iter(|| {
            let local = tokio::task::LocalSet::new();
            local.block_on(&tokio_rt, async {
                let sleeps = (0..TIMERS)
                    .map(|i| Box::pin(tokio::time::sleep(far + Duration::from_millis(i as u64))))
                    .collect();
                register_and_cancel(sleeps).await;
            })
        })
    });
    let mut monoio_rt = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
        .enable_timer()
        .build()
        .expect("monoio");
    group.bench_function("monoio", |b| {
        b.iter(|| {
            monoio_rt.block_on(async {
                let sleeps = (0..TIMERS)
                    .map(|i| Box::pin(monoio::time::sleep(far + Duration::from_millis(i as u64))))
                    .collect();
                register_and_cancel(sleeps).await;
            })
        })
    });
    group.finish();
}

/// Timer lateness while the run queue is busy: 64 tasks keep yielding
/// while one task sleeps 1 ms at a time; the figure criterion reports is
/// the mean lateness per timer (wake instant minus deadline), measured with
/// `iter_custom`, not a duration of work.
fn lateness(c: &mut Criterion) {
    let mut group = c.benchmark_group("timer_lateness");
    group.sample_size(10);
    const BUSY: usize = 64;
    const SLEEPS: u32 = 20;
    let rt = rentio_executor::Runtime::new().expect("rentio");
    group.bench_function("rentio", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += rt.block_on(async {
                    let stop = std::rc::Rc::new(std::cell::Cell::new(false));
                    let busy: Vec<_> = (0..BUSY)
                        .map(|_| {
                            let stop = stop.clone();
                            rentio_executor::spawn(async move {
                                while !stop.get() {
                                    rentio_executor::yield_now().await;
                                }
                            })
                        })
                        .collect();
                    let mut late = Duration::ZERO;
                    for _ in 0..SLEEPS {
                        let deadline = std::time::Instant::now() + Duration::from_millis(1);
                        rentio_executor::time::sleep_until(deadline).await;
                        late += std::time::Instant::now() - deadline;
                    }
                    stop.set(true);
                    for h in busy {
                        h.await.expect("busy");
                    }
                    late / SLEEPS
                });
            }
            total
        })
    });
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio");
    group.bench_function("tokio_local_set", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let local = tokio::task::LocalSet::new();
                total += local.block_on(&tokio_rt, async {
                    let stop = std::rc::Rc::new(std::cell::Cell::new(false));
                    let busy: Vec<_> = (0..BUSY)
                        .map(|_| {
                            let stop = stop.clone();
                            tokio::task::spawn_local(async move {
                                while !stop.get() {
                                    tokio::task::yield_now().await;
                                }
                            })
                        })
                        .collect();
                    let mut late = Duration::ZERO;
                    for _ in 0..SLEEPS {
                        let deadline = tokio::time::Instant::now() + Duration::from_millis(1);
                        tokio::time::sleep_until(deadline).await;
                        late += tokio::time::Instant::now() - deadline;
                    }
                    stop.set(true);
                    for h in busy {
                        h.await.expect("busy");
                    }
                    late / SLEEPS
                });
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, spawn, yields, timers, lateness);
criterion_main!(benches);
