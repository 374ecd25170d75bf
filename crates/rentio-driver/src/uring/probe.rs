//! The opcodes the ring supports, from `IORING_REGISTER_PROBE`, less any
//! the builder masks.

use io_uring::opcode;

use super::ring::Probe;

/// A set of io_uring opcodes.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct OpcodeSet([u64; 4]);

/// The opcodes `Auto` requires before it picks io_uring: those the ops use
/// with no syscall fallback.
pub(crate) const REQUIRED: [(u8, &str); 20] = [
    (opcode::Nop::CODE, "NOP"),
    (opcode::Read::CODE, "READ"),
    (opcode::Write::CODE, "WRITE"),
    (opcode::Readv::CODE, "READV"),
    (opcode::Writev::CODE, "WRITEV"),
    (opcode::Recv::CODE, "RECV"),
    (opcode::Send::CODE, "SEND"),
    (opcode::RecvMsg::CODE, "RECVMSG"),
    (opcode::SendMsg::CODE, "SENDMSG"),
    (opcode::Accept::CODE, "ACCEPT"),
    (opcode::Connect::CODE, "CONNECT"),
    (opcode::Shutdown::CODE, "SHUTDOWN"),
    (opcode::Close::CODE, "CLOSE"),
    (opcode::OpenAt::CODE, "OPENAT"),
    (opcode::Statx::CODE, "STATX"),
    (opcode::Fsync::CODE, "FSYNC"),
    (opcode::Timeout::CODE, "TIMEOUT"),
    (opcode::AsyncCancel::CODE, "ASYNC_CANCEL"),
    (opcode::PollAdd::CODE, "POLL_ADD"),
    (opcode::LinkTimeout::CODE, "LINK_TIMEOUT"),
];

impl OpcodeSet {
    pub(crate) fn from_probe(probe: &Probe, masked: &[u8]) -> OpcodeSet {
        let mut set = OpcodeSet::default();
        for code in 0..=u8::MAX {
            if probe.is_supported(code) && !masked.contains(&code) {
                set.0[usize::from(code / 64)] |= 1 << (code % 64);
            }
        }
        set
    }

    pub(crate) fn from_list(codes: &[u8]) -> OpcodeSet {
        let mut set = OpcodeSet::default();
        for &code in codes {
            set.insert(code);
        }
        set
    }

    pub(crate) fn insert(&mut self, code: u8) {
        self.0[usize::from(code / 64)] |= 1 << (code % 64);
    }

    /// The opcodes in the set, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u8> + '_ {
        (0..=u8::MAX).filter(|&code| self.contains(code))
    }

    pub(crate) fn contains(&self, code: u8) -> bool {
        self.0[usize::from(code / 64)] & (1 << (code % 64)) != 0
    }

    /// The first required opcode missing from the set, by name.
    pub(crate) fn missing_required(&self) -> Option<&'static str> {
        REQUIRED
            .iter()
            .find(|(code, _)| !self.contains(*code))
            .map(|(_, name)| *name)
    }
}
