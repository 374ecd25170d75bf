//! Driver configuration and the backend choice.

use std::fmt;
use std::io;
use std::time::Duration;

use crate::driver::Driver;
use crate::poll::Reactor;
use crate::pool::{Pool, PoolConfig};

/// Which backend to use, as asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendChoice {
    /// io_uring if the ring can be set up and has the opcodes rentio uses,
    /// else readiness; the reason for a fallback is recorded.
    Auto,
    /// io_uring or an error that says why not.
    Uring,
    /// The readiness backend (epoll through `rustix`, or the `polling`
    /// crate: see [`Reactor`](crate::Reactor)).
    Poll,
}

/// The backend a driver runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// io_uring.
    Uring,
    /// Readiness: epoll (kqueue elsewhere) and the blocking pool.
    Poll,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Uring => "io_uring",
            Backend::Poll => "readiness",
        })
    }
}

/// io_uring setup flags, with the kernel's values (`IORING_SETUP_*`).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SetupFlags(u32);

impl SetupFlags {
    /// No flags.
    pub const EMPTY: SetupFlags = SetupFlags(0);
    /// `IORING_SETUP_SQPOLL`: a kernel thread polls the SQ.
    pub const SQPOLL: SetupFlags = SetupFlags(1 << 1);
    /// `IORING_SETUP_SUBMIT_ALL`: keep submitting after a failed SQE.
    pub const SUBMIT_ALL: SetupFlags = SetupFlags(1 << 7);
    /// `IORING_SETUP_COOP_TASKRUN`: no IPI to run completion work.
    pub const COOP_TASKRUN: SetupFlags = SetupFlags(1 << 8);
    /// `IORING_SETUP_TASKRUN_FLAG`: the kernel flags pending work in the SQ ring.
    pub const TASKRUN_FLAG: SetupFlags = SetupFlags(1 << 9);
    /// `IORING_SETUP_SINGLE_ISSUER`: one thread submits.
    pub const SINGLE_ISSUER: SetupFlags = SetupFlags(1 << 12);
    /// `IORING_SETUP_DEFER_TASKRUN`: completions are posted only when the
    /// owner enters with `GETEVENTS`.
    pub const DEFER_TASKRUN: SetupFlags = SetupFlags(1 << 13);
    /// `IORING_SETUP_NO_SQARRAY` (Linux 6.6): the kernel takes SQEs in ring
    /// order, without the SQ index array. Tried on top of every tier and
    /// dropped alone on `EINVAL`, as liburing does.
    pub const NO_SQARRAY: SetupFlags = SetupFlags(1 << 16);

    const NAMES: [(SetupFlags, &'static str); 7] = [
        (SetupFlags::SQPOLL, "SQPOLL"),
        (SetupFlags::SUBMIT_ALL, "SUBMIT_ALL"),
        (SetupFlags::COOP_TASKRUN, "COOP_TASKRUN"),
        (SetupFlags::TASKRUN_FLAG, "TASKRUN_FLAG"),
        (SetupFlags::SINGLE_ISSUER, "SINGLE_ISSUER"),
        (SetupFlags::DEFER_TASKRUN, "DEFER_TASKRUN"),
        (SetupFlags::NO_SQARRAY, "NO_SQARRAY"),
    ];

    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: SetupFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any flag of `other` is set.
    pub const fn intersects(self, other: SetupFlags) -> bool {
        self.0 & other.0 != 0
    }

    /// The tiers tried in order: each step drops what older kernels refuse.
    pub(crate) fn tiers(sqpoll: bool) -> [SetupFlags; 3] {
        use SetupFlags as F;
        if sqpoll {
            [
                F::SQPOLL | F::SINGLE_ISSUER | F::SUBMIT_ALL,
                F::SQPOLL,
                F::EMPTY,
            ]
        } else {
            [
                F::SINGLE_ISSUER | F::DEFER_TASKRUN | F::TASKRUN_FLAG | F::SUBMIT_ALL,
                F::COOP_TASKRUN | F::TASKRUN_FLAG | F::SUBMIT_ALL,
                F::EMPTY,
            ]
        }
    }
}

impl std::ops::BitOr for SetupFlags {
    type Output = SetupFlags;
    fn bitor(self, rhs: SetupFlags) -> SetupFlags {
        SetupFlags(self.0 | rhs.0)
    }
}

impl fmt::Debug for SetupFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("(none)");
        }
        let mut first = true;
        for (flag, name) in SetupFlags::NAMES {
            if self.contains(flag) {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

/// Builds a [`Driver`].
///
/// # Examples
///
/// ```
/// use rentio_driver::{BackendChoice, Driver};
///
/// let driver = Driver::builder().backend(BackendChoice::Auto).entries(256).build()?;
/// println!("running on {}", driver.backend());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    pub(crate) choice: Option<BackendChoice>,
    pub(crate) entries: u32,
    pub(crate) cq_entries: Option<u32>,
    pub(crate) sqpoll_idle: Option<Duration>,
    pub(crate) masked_flags: SetupFlags,
    pub(crate) masked_opcodes: Vec<u8>,
    pub(crate) masked_features: Vec<crate::Feature>,
    /// Hardened mode: the opcodes the ring may run (the driver's own
    /// added), or `None` for all.
    pub(crate) restricted: Option<Vec<u8>>,
    /// Tests only: push a refused opcode anyway, so the kernel's refusal
    /// is seen.
    pub(crate) restricted_unchecked: bool,
    /// Slots of the ring's table of direct descriptors, if any.
    pub(crate) direct_descriptors: Option<u32>,
    /// Batched wake-ups: how many completions a park waits for, and how
    /// long at most.
    pub(crate) batch_wakeups: Option<(u32, Duration)>,
    pub(crate) pool: Option<Pool>,
    pub(crate) pool_config: PoolConfig,
    pub(crate) reactor: Reactor,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// Defaults: backend from `RENTIO_DRIVER` or `Auto`, 1024 SQ entries,
    /// the kernel's CQ size (twice the SQ), no SQPOLL.
    pub fn new() -> Builder {
        Builder {
            choice: None,
            entries: 1024,
            cq_entries: None,
            sqpoll_idle: None,
            masked_flags: SetupFlags::EMPTY,
            masked_opcodes: Vec::new(),
            masked_features: Vec::new(),
            restricted: None,
            restricted_unchecked: false,
            direct_descriptors: None,
            batch_wakeups: None,
            pool: None,
            pool_config: PoolConfig::default(),
            reactor: Reactor::default(),
        }
    }

    /// Chooses the backend; this wins over `RENTIO_DRIVER`.
    pub fn backend(&mut self, choice: BackendChoice) -> &mut Builder {
        self.choice = Some(choice);
        self
    }

    /// SQ entries (rounded up to a power of two by the kernel, clamped to
    /// its maximum).
    pub fn entries(&mut self, entries: u32) -> &mut Builder {
        self.entries = entries.max(1);
        self
    }

    /// CQ entries (at least the SQ's).
    pub fn cq_entries(&mut self, entries: u32) -> &mut Builder {
        self.cq_entries = Some(entries.max(1));
        self
    }

    /// Coalesces wake-ups (io_uring), as a network card coalesces
    /// interrupts: a driver with nothing to do parks until `max_batch`
    /// completions have come, or `max_wait` has passed and at least one
    /// has (never past a timer's deadline). Each wake-up then takes a
    /// batch, so a server that is not saturated sleeps and wakes less
    /// often: fewer context switches, less CPU per request.
    ///
    /// The cost is latency, and with it the throughput of a closed loop
    /// of few connections: a completion may wait up to `max_wait` for
    /// company (a wake-up from another thread as long), and a lone
    /// connection waits `max_wait` every time. Measured on this
    /// project's echo benchmark (`rentio-uring-mshot`, 2 cores): at 128
    /// connections × 4 KiB, `(32, 200 µs)` took 15–25% less server CPU
    /// per request at the same throughput; at 16 connections the same
    /// setting halved the throughput. Off by default; worth it for a
    /// server with many busy connections and a latency budget above
    /// `max_wait`. `max_batch` of 0 or 1, or a zero `max_wait`, turns
    /// it off.
    ///
    /// # Kernel support
    ///
    /// `IORING_FEAT_MIN_TIMEOUT` (Linux 6.12) waits in one enter; before
    /// it, the park is an enter that waits at most `max_wait` for the
    /// batch, then, with nothing come, one more that waits for any. The
    /// readiness backend ignores this.
    pub fn batch_wakeups(&mut self, max_batch: u32, max_wait: Duration) -> &mut Builder {
        self.batch_wakeups = Some((max_batch, max_wait)).filter(|&(n, d)| n > 1 && !d.is_zero());
        self
    }

    /// Opts into `SQPOLL` with this idle time; drops the taskrun flags,
    /// which the kernel refuses with SQPOLL.
    pub fn sqpoll(&mut self, idle: Duration) -> &mut Builder {
        self.sqpoll_idle = Some(idle);
        self
    }

    /// Treats these setup flags as refused by the kernel, so the step-down
    /// path can be exercised on a kernel that has them all.
    pub fn mask_setup_flags(&mut self, flags: SetupFlags) -> &mut Builder {
        self.masked_flags = self.masked_flags | flags;
        self
    }

    /// Treats this opcode as missing from the probe.
    pub fn mask_opcode(&mut self, opcode: u8) -> &mut Builder {
        self.masked_opcodes.push(opcode);
        self
    }

    /// Treats this feature as missing from the kernel (see
    /// [`Driver::supports`](crate::Driver::supports)), so its fallback can
    /// be exercised on a kernel that has it.
    pub fn mask_feature(&mut self, feature: crate::Feature) -> &mut Builder {
        self.masked_features.push(feature);
        self
    }

    /// Hardened mode: the ring runs only these opcodes
    /// (`io_uring::opcode::X::CODE`; the driver adds the few it pushes
    /// itself: `POLL_ADD`, `ASYNC_CANCEL`, `LINK_TIMEOUT`). The ring is
    /// created disabled (`IORING_SETUP_R_DISABLED`), restricted with
    /// `IORING_REGISTER_RESTRICTIONS` (no register operation is allowed
    /// afterwards but unregistering the ring fd), then enabled, so code
    /// that takes over the process cannot use the ring to make other
    /// syscalls. An op outside the list fails with `PermissionDenied`
    /// before it reaches the kernel (which would refuse it with
    /// `EACCES`); it does not fall back to the blocking pool.
    /// Register operations are refused too, so a
    /// [`BufRing`](crate::BufRing) on a restricted ring is a user-space
    /// pool.
    ///
    /// # Kernel support
    ///
    /// Linux 5.10. A forced io_uring on an older kernel fails to build;
    /// `Auto` falls back to readiness, which has no ring to restrict.
    pub fn restrict_opcodes(&mut self, opcodes: &[u8]) -> &mut Builder {
        self.restricted = Some(opcodes.to_vec());
        self
    }

    /// Gives the ring a table of `slots` direct descriptors (registered
    /// files), so that sockets and files registered in it
    /// ([`Driver::register_direct`](crate::Driver::register_direct), and
    /// `register_direct` on rentio's streams and files) skip the kernel's
    /// fd lookup (`fget`/`fput`) on every op: their SQEs name a slot with
    /// `IOSQE_FIXED_FILE`. Off by default. The table is registered at
    /// setup, before any restriction, so a restricted ring has it too.
    ///
    /// # Kernel support
    ///
    /// Sparse tables (`IORING_RSRC_REGISTER_SPARSE`) came in Linux 5.19,
    /// but rentio asks for one only from 6.13 ([`Feature::DirectDescriptors`](crate::Feature::DirectDescriptors)):
    /// before it, a closed socket's file stayed in the kernel until every
    /// fixed-file op issued before its close had finished. Without a
    /// table (or on readiness) `register_direct` returns `false`: fds go
    /// by number, as they would anyway. Masking the feature shows that
    /// path.
    pub fn direct_descriptors(&mut self, slots: u32) -> &mut Builder {
        self.direct_descriptors = Some(slots);
        self
    }

    #[doc(hidden)]
    /// Tests only: with [`restrict_opcodes`](Builder::restrict_opcodes),
    /// push a refused opcode anyway so the kernel's `EACCES` shows.
    pub fn restrict_opcodes_unchecked(&mut self) -> &mut Builder {
        self.restricted_unchecked = true;
        self
    }

    /// Shares an existing blocking pool instead of making one.
    pub fn pool(&mut self, pool: Pool) -> &mut Builder {
        self.pool = Some(pool);
        self
    }

    /// Limits of the blocking pool the driver makes (unless one is given).
    pub fn pool_config(&mut self, config: PoolConfig) -> &mut Builder {
        self.pool_config = config;
        self
    }

    /// The readiness source of the readiness backend: epoll directly
    /// (default), or the portable `polling` crate.
    pub fn reactor(&mut self, reactor: Reactor) -> &mut Builder {
        self.reactor = reactor;
        self
    }

    /// Builds the driver on the calling thread, which then owns it.
    ///
    /// # Errors
    ///
    /// A forced io_uring that cannot start returns an error naming the cause
    /// (see [`UringUnavailable`](crate::UringUnavailable)); an unknown
    /// `RENTIO_DRIVER` value is `InvalidInput`; the readiness backend fails
    /// only if the poller or eventfd cannot be created.
    pub fn build(&self) -> io::Result<Driver> {
        let env = std::env::var("RENTIO_DRIVER").ok();
        let choice = resolve_choice(self.choice, env.as_deref())?;
        Driver::from_builder(self, choice)
    }
}

/// The precedence of invariant 7: an explicit builder choice, then
/// `RENTIO_DRIVER`, then `Auto`.
pub fn resolve_choice(
    explicit: Option<BackendChoice>,
    env: Option<&str>,
) -> io::Result<BackendChoice> {
    if let Some(choice) = explicit {
        return Ok(choice);
    }
    match env.map(str::trim) {
        None | Some("") | Some("auto") => Ok(BackendChoice::Auto),
        Some("uring") | Some("io_uring") => Ok(BackendChoice::Uring),
        Some("poll") | Some("readiness") | Some("epoll") => Ok(BackendChoice::Poll),
        Some(other) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("RENTIO_DRIVER={other:?} is not one of uring, poll, auto"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_builder_then_env_then_auto() {
        assert_eq!(
            resolve_choice(Some(BackendChoice::Poll), Some("uring")).unwrap(),
            BackendChoice::Poll
        );
        assert_eq!(
            resolve_choice(None, Some("uring")).unwrap(),
            BackendChoice::Uring
        );
        assert_eq!(
            resolve_choice(None, Some("poll")).unwrap(),
            BackendChoice::Poll
        );
        assert_eq!(
            resolve_choice(None, Some("auto")).unwrap(),
            BackendChoice::Auto
        );
        assert_eq!(resolve_choice(None, None).unwrap(), BackendChoice::Auto);
        let err = resolve_choice(None, Some("kqueue")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("kqueue"));
    }

    #[test]
    fn tiers_step_down_and_sqpoll_drops_taskrun() {
        let [first, second, last] = SetupFlags::tiers(false);
        assert!(first.contains(SetupFlags::DEFER_TASKRUN | SetupFlags::SINGLE_ISSUER));
        assert!(
            second.contains(SetupFlags::COOP_TASKRUN)
                && !second.contains(SetupFlags::DEFER_TASKRUN)
        );
        assert_eq!(last, SetupFlags::EMPTY);
        for tier in SetupFlags::tiers(true) {
            assert!(!tier.intersects(
                SetupFlags::DEFER_TASKRUN | SetupFlags::COOP_TASKRUN | SetupFlags::TASKRUN_FLAG
            ));
        }
        assert_eq!(
            format!("{:?}", SetupFlags::SQPOLL | SetupFlags::SUBMIT_ALL),
            "SQPOLL|SUBMIT_ALL"
        );
    }
}
