//! The readiness source under the readiness backend.
//!
//! On Linux the driver talks to epoll directly through `rustix`: one
//! `epoll_wait` per tick, with fds registered once in edge mode and the
//! unparker's eventfd registered like any other fd. The portable `polling`
//! crate costs four more syscalls per wait here (it re-arms a timerfd for
//! the timeout and its notifier, both one-shot, on every `wait`), so it is
//! kept as the fallback for other systems and as a selectable reactor.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use rustix::buffer::spare_capacity;
use rustix::event::epoll;

use crate::unpark::ParkState;

/// Which readiness source the readiness backend uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reactor {
    /// epoll through `rustix`, one syscall per wait (Linux).
    #[default]
    Epoll,
    /// The portable `polling` crate.
    Polling,
}

/// The key under which the unparker's eventfd reports.
const NOTIFY_KEY: u64 = u64::MAX;

/// One readiness event.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ready {
    pub(crate) fd: RawFd,
    pub(crate) readable: bool,
    pub(crate) writable: bool,
    /// A short read may no longer mean the fd was drained, for good: its
    /// read side is closed (a FIN, a hangup, an error: readable from now on
    /// with no edge to come), or urgent data came (a read stops short at
    /// its mark with data behind it).
    pub(crate) read_sticky: bool,
}

pub(crate) enum Source {
    Epoll {
        epoll: OwnedFd,
        events: Vec<epoll::Event>,
        park: Arc<ParkState>,
    },
    Polling {
        poller: Arc<polling::Poller>,
        events: polling::Events,
    },
}

impl Source {
    /// A new source and the park state its unparkers signal.
    pub(crate) fn new(kind: Reactor) -> io::Result<(Source, Arc<ParkState>)> {
        match kind {
            Reactor::Epoll => {
                let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
                let park = Arc::new(ParkState::with_eventfd()?);
                if let Some(fd) = park.eventfd() {
                    epoll::add(
                        &epoll,
                        fd,
                        epoll::EventData::new_u64(NOTIFY_KEY),
                        epoll::EventFlags::IN | epoll::EventFlags::ET,
                    )?;
                }
                let source = Source::Epoll {
                    epoll,
                    events: Vec::with_capacity(1024),
                    park: park.clone(),
                };
                Ok((source, park))
            }
            Reactor::Polling => {
                let poller = Arc::new(polling::Poller::new()?);
                let park = Arc::new(ParkState::with_poller(poller.clone()));
                let source = Source::Polling {
                    poller,
                    events: polling::Events::new(),
                };
                Ok((source, park))
            }
        }
    }

    /// Registers `fd` for read and write edges.
    ///
    /// # Safety
    ///
    /// - `fd` is open, and is [`delete`](Source::delete)d before it closes.
    pub(crate) unsafe fn add(&self, fd: RawFd) -> io::Result<()> {
        match self {
            Source::Epoll { epoll, .. } => {
                // SAFETY: the caller guarantees `fd` is open now.
                let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
                // PRI: urgent data stops a read short at the mark with data
                // behind it (see `Ready::read_sticky`).
                let flags = epoll::EventFlags::IN
                    | epoll::EventFlags::OUT
                    | epoll::EventFlags::RDHUP
                    | epoll::EventFlags::PRI
                    | epoll::EventFlags::ET;
                epoll::add(epoll, borrowed, epoll::EventData::new_u64(fd as u64), flags)?;
                Ok(())
            }
            Source::Polling { poller, .. } => {
                let event = polling::Event::all(fd as usize);
                // SAFETY: forwarded from the caller: deleted before closed.
                unsafe { poller.add_with_mode(fd, event, polling::PollMode::Edge) }
            }
        }
    }

    /// Stops watching `fd` (before it is closed).
    pub(crate) fn delete(&self, fd: RawFd) {
        // SAFETY: callers delete an fd before they close it, so it is open.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        match self {
            Source::Epoll { epoll, .. } => {
                let _ = epoll::delete(epoll, borrowed);
            }
            Source::Polling { poller, .. } => {
                let _ = poller.delete(borrowed);
            }
        }
    }

    /// Waits up to `timeout` (`None`: forever) and appends what became
    /// ready to `out`. An interrupted wait returns no events.
    pub(crate) fn wait(
        &mut self,
        out: &mut Vec<Ready>,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        match self {
            Source::Epoll {
                epoll,
                events,
                park,
            } => {
                events.clear();
                const FOREVER: Duration = Duration::from_secs(1 << 40);
                let ts = timeout.map(|t| {
                    let t = t.min(FOREVER);
                    rustix::event::Timespec {
                        tv_sec: t.as_secs() as i64,
                        tv_nsec: t.subsec_nanos().into(),
                    }
                });
                match epoll::wait(epoll.as_fd(), spare_capacity(events), ts.as_ref()) {
                    Ok(_) => {}
                    Err(rustix::io::Errno::INTR) => return Ok(()),
                    Err(e) => return Err(e.into()),
                }
                for event in events.iter() {
                    let key = event.data.u64();
                    if key == NOTIFY_KEY {
                        park.drain();
                        continue;
                    }
                    let flags = event.flags;
                    let err = flags.intersects(epoll::EventFlags::ERR | epoll::EventFlags::HUP);
                    out.push(Ready {
                        fd: key as RawFd,
                        readable: err
                            || flags.intersects(
                                epoll::EventFlags::IN
                                    | epoll::EventFlags::RDHUP
                                    | epoll::EventFlags::PRI,
                            ),
                        writable: err || flags.contains(epoll::EventFlags::OUT),
                        read_sticky: err
                            || flags.intersects(epoll::EventFlags::RDHUP | epoll::EventFlags::PRI),
                    });
                }
                Ok(())
            }
            Source::Polling { poller, events } => {
                events.clear();
                match poller.wait(events, timeout) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
                    Err(e) => return Err(e),
                }
                out.extend(events.iter().map(|e| Ready {
                    fd: e.key as RawFd,
                    readable: e.readable,
                    writable: e.writable,
                    // `polling` does not say a hangup or urgent data apart
                    // on every platform: any read edge may be one.
                    read_sticky: e.readable,
                }));
                Ok(())
            }
        }
    }
}
