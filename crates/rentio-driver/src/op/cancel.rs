//! `IORING_OP_ASYNC_CANCEL`: cancel another op.

use std::io;

use io_uring::{opcode, squeue};

use super::{Completion, OpCode, Readiness};
use crate::key::Key;

/// Cancels the op with `key`. Succeeds if it was cancelled; `ENOENT` if it
/// had already finished; `EALREADY` if it is running and its CQE is still
/// coming.
///
/// # Kernel support
///
/// `IORING_OP_ASYNC_CANCEL`, Linux 5.5. On readiness: the driver completes
/// the target with `ECANCELED` unless the blocking pool runs it.
#[derive(Debug)]
pub struct AsyncCancel {
    target: u64,
}

impl AsyncCancel {
    /// A cancel of the op with `key`.
    pub fn new(key: Key) -> AsyncCancel {
        AsyncCancel {
            target: key.user_data(),
        }
    }
}

// SAFETY: no pointers.
unsafe impl OpCode for AsyncCancel {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::AsyncCancel::CODE;

    fn uring_entry(&mut self) -> squeue::Entry {
        opcode::AsyncCancel::new(self.target).build()
    }

    fn readiness(&self) -> Readiness {
        Readiness::Cancel(self.target)
    }

    fn complete(self, completion: Completion) -> io::Result<()> {
        completion.result.map(drop)
    }
}
