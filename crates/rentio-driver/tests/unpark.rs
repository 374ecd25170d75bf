//! The unparker wakes a parked driver from another thread, and an unpark
//! that comes before the park keeps the park from blocking. Each wait has a
//! long timeout that a lost wake would run into; the bound checked is far
//! below it, so the test measures a lost wake, not speed.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use support::each_backend;

const LONG: Duration = Duration::from_secs(30);
const LOST: Duration = Duration::from_secs(20);

#[test]
fn an_unpark_from_another_thread_wakes_a_parked_driver() {
    each_backend(|driver| {
        // Arm the ring's eventfd watch first.
        driver.poll(Some(Duration::ZERO)).unwrap();
        for _ in 0..3 {
            let unparker = driver.unparker();
            let barrier = Arc::new(Barrier::new(2));
            let b2 = barrier.clone();
            let thread = std::thread::spawn(move || {
                b2.wait();
                std::thread::sleep(Duration::from_millis(5));
                unparker.unpark();
            });
            let parks = driver.stats().parks;
            barrier.wait();
            let start = Instant::now();
            driver.poll(Some(LONG)).unwrap();
            // The wake may land before the park (then no park happens).
            assert!(start.elapsed() < LOST, "the unpark was lost");
            assert!(driver.stats().parks <= parks + 1);
            thread.join().unwrap();
        }
    });
}

#[test]
fn an_unpark_before_the_park_is_not_lost() {
    each_backend(|driver| {
        driver.poll(Some(Duration::ZERO)).unwrap();
        let parks = driver.stats().parks;
        driver.unparker().unpark();
        let start = Instant::now();
        driver.poll(Some(LONG)).unwrap();
        assert!(
            start.elapsed() < LOST,
            "a pending unpark must keep poll from blocking"
        );
        assert_eq!(driver.stats().parks, parks, "the driver did not block");
    });
}
