//! Hardened mode's registrations on the ring: the restrictions, then
//! enabling a ring set up disabled (see `Builder::restrict_opcodes`).

use std::io;
use std::os::fd::AsFd;

use rustix::io_uring::IoringRegisterOp;

use super::ring::Ring;

impl Ring {
    /// `IORING_REGISTER_RESTRICTIONS` on a ring set up disabled: only
    /// `ops` may be submitted, and no register operation but unregistering
    /// the ring fd (the drop's) is allowed.
    /// With `direct`, SQEs may also name direct descriptors
    /// (`IOSQE_FIXED_FILE`) and the table's slots may be updated
    /// (`IORING_REGISTER_FILES_UPDATE`).
    pub(crate) fn restrict(&self, ops: &super::OpcodeSet, direct: bool) -> io::Result<()> {
        /// `struct io_uring_restriction`: 16 bytes.
        #[repr(C)]
        #[derive(Clone, Copy)]
        struct Restriction {
            opcode: u16,
            /// `register_op`, `sqe_op` or `sqe_flags` (a union of `u8`s).
            arg: u8,
            resv: u8,
            resv2: [u32; 3],
        }
        const RESTRICTION_REGISTER_OP: u16 = 0;
        const RESTRICTION_SQE_OP: u16 = 1;
        const RESTRICTION_SQE_FLAGS_ALLOWED: u16 = 2;
        /// `IOSQE_IO_LINK`: the driver links an op to its timeout.
        const IOSQE_IO_LINK: u8 = 1 << 2;
        /// `IOSQE_FIXED_FILE`: an SQE names a direct descriptor.
        const IOSQE_FIXED_FILE: u8 = 1 << 0;
        let mut list: Vec<Restriction> = ops
            .iter()
            .map(|code| Restriction {
                opcode: RESTRICTION_SQE_OP,
                arg: code,
                resv: 0,
                resv2: [0; 3],
            })
            .collect();
        // Without this, the kernel allows no SQE flag at all.
        list.push(Restriction {
            opcode: RESTRICTION_SQE_FLAGS_ALLOWED,
            arg: if direct {
                IOSQE_IO_LINK | IOSQE_FIXED_FILE
            } else {
                IOSQE_IO_LINK
            },
            resv: 0,
            resv2: [0; 3],
        });
        if direct {
            list.push(Restriction {
                opcode: RESTRICTION_REGISTER_OP,
                arg: IoringRegisterOp::RegisterFilesUpdate as u8,
                resv: 0,
                resv2: [0; 3],
            });
        }
        list.push(Restriction {
            opcode: RESTRICTION_REGISTER_OP,
            arg: IoringRegisterOp::UnregisterRingFds as u8,
            resv: 0,
            resv2: [0; 3],
        });
        // SAFETY: `list` is an array of `list.len()` restrictions laid out
        // as the kernel's `struct io_uring_restriction`, alive for the
        // call, which only reads it.
        unsafe {
            rustix::io_uring::io_uring_register(
                self.fd.as_fd(),
                IoringRegisterOp::RegisterRestrictions,
                list.as_mut_ptr().cast(),
                list.len() as u32,
            )
        }?;
        Ok(())
    }

    /// `IORING_REGISTER_ENABLE_RINGS`: starts a ring set up disabled.
    pub(crate) fn enable(&self) -> io::Result<()> {
        // SAFETY: the operation takes no argument.
        unsafe {
            rustix::io_uring::io_uring_register(
                self.fd.as_fd(),
                IoringRegisterOp::RegisterEnableRings,
                std::ptr::null_mut(),
                0,
            )
        }?;
        Ok(())
    }
}
