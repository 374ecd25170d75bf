//! `IORING_OP_NOP`: does nothing; measures the driver's own overhead.

use std::io;

use io_uring::{opcode, squeue};

use super::{Completion, OpCode, Readiness};

/// An op that does nothing and completes with 0.
///
/// # Kernel support
///
/// `IORING_OP_NOP`, Linux 5.1. On readiness it completes at once.
#[derive(Debug, Default, Clone, Copy)]
pub struct Nop;

// SAFETY: a NOP's SQE carries no pointer.
unsafe impl OpCode for Nop {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::Nop::CODE;

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::Nop::new().build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Immediate
    }

    fn complete(self, completion: Completion) -> io::Result<()> {
        completion.result.map(drop)
    }
}
