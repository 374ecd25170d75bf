//! `#[rentio::main]` reports a runtime that cannot start as an error, never
//! a panic: a `main` returning `Result<_, E>` with `E: From<io::Error>`
//! returns it; any other `main` prints `error: ...` and exits with status 1.
//!
//! Each case runs in a child process (this test binary, filtered to
//! [`child`], with `RENTIO_MACROS_CASE` naming the case) whose runtime
//! cannot start because `RENTIO_DRIVER` names no backend: the builder's
//! typed `InvalidInput` error, whatever the machine's io_uring allows.

#![allow(clippy::unwrap_used)]

use std::io;
use std::process::{Command, Output};

const CASE: &str = "RENTIO_MACROS_CASE";
/// Printed by a body that ran: it must not.
const BODY_RAN: &str = "the body ran";
/// Printed by a child whose `main` returned.
const RETURNED: &str = "main returned:";

/// The child side: runs the `#[rentio::main]` the case names. Without the
/// variable (the ordinary test run) it does nothing.
#[test]
fn child() {
    let Ok(case) = std::env::var(CASE) else {
        return;
    };
    match case.as_str() {
        "unit" => {
            #[rentio::main]
            async fn main() {
                println!("{BODY_RAN}");
            }
            main();
        }
        "u32" => {
            #[rentio::main(entries = 64)]
            async fn main() -> u32 {
                println!("{BODY_RAN}");
                7
            }
            println!("{RETURNED} {}", main());
        }
        "io_result" => {
            #[rentio::main]
            async fn main() -> io::Result<()> {
                println!("{BODY_RAN}");
                Ok(())
            }
            let e = main().unwrap_err();
            println!("{RETURNED} {:?} {e}", e.kind());
        }
        "boxed_result" => {
            #[rentio::main]
            async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
                println!("{BODY_RAN}");
                Ok(())
            }
            let e = main().unwrap_err();
            let kind = e.downcast_ref::<io::Error>().map(io::Error::kind);
            println!("{RETURNED} {kind:?} {e}");
        }
        "own_error" => {
            /// A user's error type that converts from `io::Error` (and
            /// has the name of a struct the expansion could have used).
            #[derive(Debug)]
            struct Fail(io::ErrorKind);
            impl From<io::Error> for Fail {
                fn from(e: io::Error) -> Fail {
                    Fail(e.kind())
                }
            }
            #[rentio::main]
            async fn main() -> Result<(), Fail> {
                println!("{BODY_RAN}");
                Ok(())
            }
            let Fail(kind) = main().unwrap_err();
            println!("{RETURNED} Fail({kind:?})");
        }
        "string_result" => {
            // `String` is not `From<io::Error>`: nothing to return it as.
            #[rentio::main]
            async fn main() -> Result<(), String> {
                println!("{BODY_RAN}");
                Ok(())
            }
            println!("{RETURNED} {:?}", main());
        }
        "threads" => {
            #[rentio::main(threads = 2)]
            async fn main() {
                println!("{BODY_RAN}");
            }
            main();
        }
        other => panic!("unknown case {other}"),
    }
    println!("{RETURNED} (end of child)");
}

/// Runs [`child`] in a new process for `case`, with a `RENTIO_DRIVER`
/// that no runtime can start with.
fn run(case: &str) -> Output {
    let exe = std::env::current_exe().unwrap();
    Command::new(exe)
        .args(["child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CASE, case)
        .env("RENTIO_DRIVER", "no-such-backend")
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap()
}

/// Asserts that the child exited with status 1 after printing the
/// builder's error, with no panic and without running the body.
fn assert_exits_with_the_error(case: &str, out: &Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let both = format!(
        "{case}: status {:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    assert_eq!(out.status.code(), Some(1), "{both}");
    assert!(
        stderr.contains("error: ") && stderr.contains("RENTIO_DRIVER=\"no-such-backend\""),
        "the builder's error on stderr: {both}"
    );
    assert!(!stderr.contains("panicked"), "no panic: {both}");
    assert!(!stderr.contains("stack backtrace"), "no backtrace: {both}");
    assert!(!stdout.contains(BODY_RAN), "{both}");
    assert!(!stdout.contains(RETURNED), "{both}");
}

/// Asserts that `main` returned the error (the child goes on and passes),
/// printing what it got as `line`.
fn assert_returns_the_error(case: &str, out: &Output, line: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let both = format!(
        "{case}: status {:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    assert!(out.status.success(), "{both}");
    assert!(stdout.contains(line), "expected {line:?}: {both}");
    assert!(!stdout.contains(BODY_RAN), "{both}");
    assert!(!stderr.contains("panicked"), "no panic: {both}");
}

#[test]
fn a_unit_main_that_cannot_start_prints_the_error_and_exits_1() {
    assert_exits_with_the_error("unit", &run("unit"));
}

#[test]
fn a_main_returning_a_plain_value_exits_1_too() {
    assert_exits_with_the_error("u32", &run("u32"));
}

#[test]
fn a_main_whose_error_is_not_from_io_error_exits_1() {
    assert_exits_with_the_error("string_result", &run("string_result"));
}

#[test]
fn a_threaded_main_that_cannot_start_exits_1() {
    assert_exits_with_the_error("threads", &run("threads"));
}

#[test]
fn an_io_result_main_returns_the_error() {
    let out = run("io_result");
    assert_returns_the_error(
        "io_result",
        &out,
        &format!("{RETURNED} InvalidInput RENTIO_DRIVER=\"no-such-backend\""),
    );
}

#[test]
fn a_boxed_error_main_returns_the_error_converted() {
    let out = run("boxed_result");
    assert_returns_the_error(
        "boxed_result",
        &out,
        &format!("{RETURNED} Some(InvalidInput) RENTIO_DRIVER=\"no-such-backend\""),
    );
}

#[test]
fn a_main_with_its_own_error_type_gets_it_through_from() {
    let out = run("own_error");
    assert_returns_the_error("own_error", &out, &format!("{RETURNED} Fail(InvalidInput)"));
}
