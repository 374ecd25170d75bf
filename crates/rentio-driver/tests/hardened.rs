//! Hardened mode (`Builder::restrict_opcodes`): a ring restricted to a
//! list of opcodes runs them, refuses any other with a clear
//! `PermissionDenied` before the kernel sees it, and the kernel itself
//! refuses one pushed anyway (`EACCES`).

#![allow(clippy::unwrap_used)]

mod support;

use std::os::fd::AsRawFd;

use io_uring::opcode;
use rentio_driver::op::{Nop, Read, Recv};
use rentio_driver::{BackendChoice, Builder, Driver};
use support::{block_on, socketpair};

fn restricted(unchecked: bool) -> Option<Driver> {
    let mut b = Builder::new();
    b.backend(BackendChoice::Uring)
        .restrict_opcodes(&[opcode::Nop::CODE, opcode::Recv::CODE]);
    if unchecked {
        b.restrict_opcodes_unchecked();
    }
    match b.build() {
        Ok(driver) => Some(driver),
        Err(e) => {
            eprintln!("skipped: a restricted io_uring cannot start here: {e}");
            None
        }
    }
}

#[test]
fn a_restricted_ring_runs_its_opcodes_and_refuses_the_rest() {
    let Some(driver) = restricted(false) else {
        return;
    };
    block_on(&driver, driver.op(Nop)).unwrap();
    // A recv (in the list) works, and waits in the kernel as usual.
    let (a, b) = socketpair();
    rustix::io::write(&b, b"hi").unwrap();
    let (n, buf) = block_on(
        &driver,
        driver.op(Recv::new(a.as_raw_fd(), Vec::with_capacity(8))),
    );
    assert_eq!(n.unwrap(), 2);
    assert_eq!(buf, b"hi");
    // One that waits: the driver parks and is woken through the ring.
    let writer = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(20));
        rustix::io::write(&b, b"later").unwrap();
        b
    });
    let (n, buf) = block_on(
        &driver,
        driver.op(Recv::new(a.as_raw_fd(), Vec::with_capacity(8))),
    );
    assert_eq!(n.unwrap(), 5);
    assert_eq!(buf, b"later");
    let _b = writer.join().unwrap();
    // A linked timeout (IOSQE_IO_LINK is allowed): the recv times out.
    let (r, _) = block_on(
        &driver,
        driver
            .op(Recv::new(a.as_raw_fd(), Vec::with_capacity(8)))
            .with_link_timeout(std::time::Duration::from_millis(10)),
    );
    let e = r.unwrap_err();
    assert_ne!(
        e.raw_os_error(),
        Some(libc::EACCES),
        "the link is allowed: {e}"
    );
    // A read (not in the list) is refused, clearly.
    let (r, _) = block_on(
        &driver,
        driver.op(Read::new(a.as_raw_fd(), Vec::with_capacity(8))),
    );
    let e = r.unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}");
    assert!(e.to_string().contains("restricted"), "{e}");
}

#[test]
fn the_kernel_refuses_an_opcode_outside_the_list() {
    let Some(driver) = restricted(true) else {
        return;
    };
    let (a, b) = socketpair();
    rustix::io::write(&b, b"hi").unwrap();
    let (r, _) = block_on(
        &driver,
        driver.op(Read::new(a.as_raw_fd(), Vec::with_capacity(8))),
    );
    assert_eq!(r.unwrap_err().raw_os_error(), Some(libc::EACCES));
    // The ring goes on.
    block_on(&driver, driver.op(Nop)).unwrap();
}
