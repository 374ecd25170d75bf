//! [`Lines`]: the lines of an [`AsyncBufRead`] as `String`s.

use std::io;

use crate::{AsyncBufRead, AsyncBufReadExt};

/// The lines of a reader, made by [`AsyncBufReadExt::lines`].
///
/// Each line comes without its `\n` or `\r\n`.
#[derive(Debug)]
pub struct Lines<R> {
    reader: R,
}

impl<R> Lines<R> {
    /// Wraps `reader`.
    pub(crate) fn new(reader: R) -> Self {
        Self { reader }
    }

    /// Returns a reference to the reader.
    pub fn get_ref(&self) -> &R {
        &self.reader
    }

    /// Returns a mutable reference to the reader.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    /// Unwraps the reader; the bytes it buffered stay in it.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

impl<R: AsyncBufRead> Lines<R> {
    /// Returns the next line without its line ending, or `None` at the end
    /// of the stream.
    ///
    /// # Errors
    ///
    /// As [`AsyncBufReadExt::read_line`]: `InvalidData` for a line that is
    /// not UTF-8 (it is skipped), or the reader's error.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping the future loses the part of the line read
    /// so far.
    pub async fn next_line(&mut self) -> io::Result<Option<String>> {
        let (res, mut line) = self.reader.read_line(String::new()).await;
        if res? == 0 {
            return Ok(None);
        }
        if line.ends_with('\n') {
            line.pop();
            if line.ends_with('\r') {
                line.pop();
            }
        }
        Ok(Some(line))
    }
}
