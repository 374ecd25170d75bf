//! io_uring features that are flags of an opcode rather than opcodes, so
//! the opcode probe cannot see them: [`Feature`].

/// An io_uring feature a driver may have, beyond its opcodes (see
/// [`Driver::supports`](crate::Driver::supports)). Known from the kernel
/// version, as the kernel offers no probe for them; a builder can mask one
/// ([`Builder::mask_feature`](crate::Builder::mask_feature)) to exercise
/// the fallback. The readiness backend has none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Feature {
    /// `IORING_ACCEPT_MULTISHOT`: one accept SQE yields a completion per
    /// connection (Linux 5.19).
    MultishotAccept,
    /// Provided buffer rings (`IORING_REGISTER_PBUF_RING`) and multishot
    /// receive (`IORING_RECV_MULTISHOT`), Linux 6.0 (buffer rings came in
    /// 5.19, multishot receive in 6.0).
    BufRing,
    /// `IORING_FEAT_MIN_TIMEOUT`: an enter waits for a batch of
    /// completions, or a minimum time for any (`min_wait_usec`), Linux
    /// 6.12; used by [`Builder::batch_wakeups`](crate::Builder::batch_wakeups).
    MinTimeout,
    /// Direct descriptors ([`Builder::direct_descriptors`](crate::Builder::direct_descriptors)):
    /// sparse file tables came in Linux 5.19, but before 6.13 a cleared
    /// slot's file is only let go once every fixed-file op issued before
    /// it has finished (one idle keep-alive receive can hold a closed
    /// socket open), so rentio uses them from 6.13.
    DirectDescriptors,
}

impl Feature {
    /// Every feature.
    pub const ALL: [Feature; 4] = [
        Feature::MultishotAccept,
        Feature::BufRing,
        Feature::MinTimeout,
        Feature::DirectDescriptors,
    ];

    /// The first kernel version (major, minor) that has it.
    pub const fn min_kernel(self) -> (u32, u32) {
        match self {
            Feature::MultishotAccept => (5, 19),
            Feature::BufRing => (6, 0),
            Feature::MinTimeout => (6, 12),
            Feature::DirectDescriptors => (6, 13),
        }
    }

    pub(crate) const fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// The features of the running kernel, less `masked`.
pub(crate) fn probe(masked: &[Feature]) -> u32 {
    let Some(version) = kernel_version() else {
        return 0;
    };
    Feature::ALL
        .iter()
        .filter(|f| version >= f.min_kernel() && !masked.contains(f))
        .fold(0, |bits, f| bits | f.bit())
}

/// The kernel's (major, minor), from `uname`.
fn kernel_version() -> Option<(u32, u32)> {
    // SAFETY: an all-zero utsname is a valid value.
    let mut name: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uname writes into the struct it is given.
    if unsafe { libc::uname(&raw mut name) } != 0 {
        return None;
    }
    // SAFETY: the kernel NUL-terminates `release` within the array.
    let release = unsafe { std::ffi::CStr::from_ptr(name.release.as_ptr()) };
    parse_release(release.to_str().ok()?)
}

fn parse_release(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_parse() {
        assert_eq!(parse_release("6.18.44-fc-v1045"), Some((6, 18)));
        assert_eq!(parse_release("5.19.0"), Some((5, 19)));
        assert_eq!(parse_release("5.4.0-150-generic"), Some((5, 4)));
        assert_eq!(parse_release("garbage"), None);
    }

    #[test]
    fn masked_features_are_off() {
        assert_eq!(probe(&Feature::ALL), 0);
    }
}
