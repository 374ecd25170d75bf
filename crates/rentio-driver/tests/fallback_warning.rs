//! When `Auto` falls back to readiness, the reason is said out loud: one
//! `tracing` warning per process, with the reason in it, and the reason
//! stays on `Driver::fallback_reason`. A binary of its own: the warning is
//! given once per process.

#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use io_uring::opcode;
use rentio_driver::{Backend, BackendChoice, Driver};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// A subscriber that keeps each event's level and fields as text.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<(Level, String)>>>);

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, "{}={} ", field.name(), value);
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut text = String::new();
        event.record(&mut Fields(&mut text));
        self.0
            .lock()
            .unwrap()
            .push((*event.metadata().level(), text));
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

#[test]
fn a_fallback_is_warned_once_with_its_reason() {
    if let Err(e) = Driver::builder().backend(BackendChoice::Uring).build() {
        // The fallback this test makes needs a working io_uring.
        eprintln!("skipped: io_uring cannot start here ({e})");
        return;
    }
    let recorder = Recorder::default();
    tracing::subscriber::with_default(recorder.clone(), || {
        for _ in 0..3 {
            // A required opcode masked: io_uring is there, but Auto falls back.
            let driver = Driver::builder()
                .backend(BackendChoice::Auto)
                .mask_opcode(opcode::RecvMsg::CODE)
                .build()
                .unwrap();
            assert_eq!(driver.backend(), Backend::Poll);
            assert!(driver.fallback_reason().unwrap().contains("RECVMSG"));
        }
        // A forced backend is no fallback, and says nothing.
        let driver = Driver::builder()
            .backend(BackendChoice::Poll)
            .build()
            .unwrap();
        assert_eq!(driver.fallback_reason(), None);
    });
    let events = recorder.0.lock().unwrap();
    let warnings: Vec<_> = events.iter().filter(|(l, _)| *l == Level::WARN).collect();
    assert_eq!(warnings.len(), 1, "one warning per process: {events:?}");
    let text = &warnings[0].1;
    assert!(
        text.contains("RECVMSG"),
        "the reason is in the warning: {text}"
    );
    assert!(
        text.contains("readiness"),
        "it names the backend taken: {text}"
    );
}
