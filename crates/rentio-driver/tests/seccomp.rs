//! io_uring denied by a seccomp filter (as a container's default profile
//! does): `Auto` falls back to readiness and says why; a forced io_uring is
//! an error that names the cause.
//!
//! The test re-executes its own binary with a filter installed in
//! `pre_exec` that answers `io_uring_setup` with `EPERM`, and again with
//! `ENOSYS`; the child runs the checks and prints a marker.

#![allow(clippy::unwrap_used)]

use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

use rentio_driver::{Backend, BackendChoice, Driver};

const CHILD_ENV: &str = "RENTIO_SECCOMP_CHILD";
const MARKER: &str = "rentio-seccomp-child-ok";

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;

#[test]
fn io_uring_denied_by_seccomp() {
    match std::env::var(CHILD_ENV).ok().as_deref() {
        Some("EPERM") => child(libc::EPERM),
        Some("ENOSYS") => child(libc::ENOSYS),
        Some(other) => panic!("unknown {CHILD_ENV}={other}"),
        None => {
            parent(libc::EPERM, "EPERM");
            parent(libc::ENOSYS, "ENOSYS");
        }
    }
}

fn parent(errno: i32, name: &str) {
    let filter = filter(errno as u32);
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "io_uring_denied_by_seccomp",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ENV, name)
    .env_remove("RENTIO_DRIVER");
    // SAFETY: the closure only calls prctl (async-signal-safe) with a
    // filter built before the fork and moved into it.
    unsafe {
        cmd.pre_exec(move || install(&filter));
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains(MARKER),
        "child with io_uring_setup -> {name} failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
}

fn child(errno: i32) {
    // Auto falls back, recording the reason.
    let driver = Driver::builder()
        .backend(BackendChoice::Auto)
        .build()
        .unwrap();
    assert_eq!(driver.backend(), Backend::Poll);
    let reason = driver.fallback_reason().unwrap().to_string();
    // Forced io_uring fails with an error that says why.
    let err = Driver::builder()
        .backend(BackendChoice::Uring)
        .build()
        .unwrap_err();
    match errno {
        libc::EPERM => {
            assert!(reason.contains("seccomp"), "reason: {reason}");
            assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");
            assert!(err.to_string().contains("seccomp"), "{err}");
        }
        _ => {
            assert!(reason.contains("ENOSYS"), "reason: {reason}");
            assert_eq!(err.kind(), io::ErrorKind::Unsupported, "{err}");
            assert!(err.to_string().contains("ENOSYS"), "{err}");
        }
    }
    // The readiness driver works.
    let file = std::fs::File::open("/dev/zero").unwrap();
    let mut op = driver
        .submit(rentio_driver::op::Read::at(
            std::os::fd::AsRawFd::as_raw_fd(&file),
            Vec::with_capacity(16),
            0,
        ))
        .unwrap();
    let (n, _) = loop {
        if let Some(out) = op.try_complete() {
            break out;
        }
        driver
            .poll(Some(std::time::Duration::from_secs(5)))
            .unwrap();
    };
    assert_eq!(n.unwrap(), 16);
    println!("{MARKER}: {reason}");
}

fn filter(errno: u32) -> Vec<libc::sock_filter> {
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let jump = |code: u32, k: u32, jt: u8, jf: u8| libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    };
    // struct seccomp_data { int nr; __u32 arch; ... }
    vec![
        stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 4),
        jump(
            libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
            AUDIT_ARCH,
            1,
            0,
        ),
        stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW),
        stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0),
        jump(
            libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
            libc::SYS_io_uring_setup as u32,
            0,
            1,
        ),
        stmt(
            libc::BPF_RET | libc::BPF_K,
            libc::SECCOMP_RET_ERRNO | (errno & 0xffff),
        ),
        stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW),
    ]
}

fn install(filter: &[libc::sock_filter]) -> io::Result<()> {
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `prog` points at `filter`, both alive for the call; the
    // kernel copies the program.
    if unsafe { libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &prog) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
