//! The errors the read and write loops share.

use std::io;

/// The stream ended before a buffer was full.
pub(crate) fn unexpected_eof() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the stream ended before the buffer was filled",
    )
}

/// A write of a non-empty buffer wrote nothing.
pub(crate) fn write_zero() -> io::Error {
    io::Error::new(
        io::ErrorKind::WriteZero,
        "the writer accepted 0 bytes of a non-empty buffer",
    )
}

/// Checks a count a reader or writer reported against the `max` bytes it was
/// offered.
///
/// # Errors
///
/// `InvalidData` if `n > max`: an implementation of the rent traits that
/// claims more bytes than it was given is broken, and trusting it would
/// corrupt the caller's bookkeeping.
pub(crate) fn check_count(n: usize, max: usize) -> io::Result<usize> {
    if n > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("an IO implementation reported {n} bytes of a {max}-byte buffer"),
        ));
    }
    Ok(n)
}
