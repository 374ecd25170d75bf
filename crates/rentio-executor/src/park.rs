//! The seam between the scheduler and the IO driver.
//!
//! The scheduler parks through [`Park`] and is woken through [`Unpark`]; it
//! knows nothing else of the driver, so the task system and the inbox can
//! be tested (and model checked) with a plain thread parker.

use std::io;
use std::time::Duration;

/// Wakes a parked scheduler from any thread.
pub trait Unpark: Send + Sync + 'static {
    /// Wakes the scheduler if it is parked, or keeps its next park from
    /// blocking. Never blocks, never loses a wake.
    fn unpark(&self);
}

/// What the scheduler parks on.
pub trait Park {
    /// Its unparker.
    type Unparker: Unpark;

    /// A handle that wakes this parker from any thread.
    fn unparker(&self) -> Self::Unparker;

    /// Makes progress (reaps IO, runs wakers) and, unless `timeout` is
    /// zero, blocks until woken, IO completes, or the timeout passes.
    ///
    /// # Errors
    ///
    /// Whatever the driver reports.
    fn park(&mut self, timeout: Option<Duration>) -> io::Result<()>;
}

impl Unpark for rentio_driver::Unparker {
    fn unpark(&self) {
        rentio_driver::Unparker::unpark(self);
    }
}

impl Park for rentio_driver::Driver {
    type Unparker = rentio_driver::Unparker;

    fn unparker(&self) -> rentio_driver::Unparker {
        rentio_driver::Driver::unparker(self)
    }

    fn park(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.poll(timeout)
    }
}
