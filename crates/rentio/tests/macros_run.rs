//! `#[rentio::test]` runs on both backends and names the failing one.

#![allow(clippy::unwrap_used)]

use std::cell::Cell;
use std::rc::Rc;

thread_local! {
    static RUNS: Cell<usize> = const { Cell::new(0) };
}

#[rentio::test]
async fn runs_once_per_backend() {
    let value = Rc::new(1);
    let v = value.clone();
    assert_eq!(rentio::spawn(async move { *v + 1 }).await.unwrap(), 2);
    RUNS.with(|r| r.set(r.get() + 1));
}

#[test]
fn the_test_macro_ran_the_body_on_every_backend() {
    RUNS.with(|r| r.set(0));
    runs_once_per_backend();
    let expected = rentio::__private::test_backends().len();
    assert_eq!(RUNS.with(Cell::get), expected);
}

#[rentio::test]
#[should_panic(expected = "failed on the io_uring backend: boom")]
async fn a_failure_names_the_backend() {
    if std::hint::black_box(true) {
        panic!("boom");
    }
}

#[rentio::test]
async fn a_result_test_may_use_question_marks() -> std::io::Result<()> {
    rentio::time::sleep(std::time::Duration::from_millis(1)).await;
    let rt_backend_is_known = true;
    assert!(rt_backend_is_known);
    Ok(())
}

#[test]
fn main_runs_with_options() {
    #[rentio::main(backend = "poll", entries = 64)]
    async fn main() -> u32 {
        rentio::spawn(async { 5 }).await.unwrap()
    }
    assert_eq!(main(), 5);
}

#[test]
fn main_runs_on_several_threads() {
    static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    #[rentio::main(threads = 2)]
    async fn main() {
        rentio::yield_now().await;
        COUNT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    main();
    assert_eq!(COUNT.load(std::sync::atomic::Ordering::SeqCst), 2);
}
