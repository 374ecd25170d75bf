//! Connections between the cores: placing a new one, starting its
//! handler, moving it ([`Conn::rebalance`]), and the guards that keep
//! the counts.

use super::*;

/// Puts a new connection on a core: this one with reuseport, the least
/// loaded one with the dispatcher.
pub(super) async fn place(shared: &Arc<Shared>, stream: TcpStream) {
    let Some(local) = local() else { return };
    let target = match shared.balance {
        Balance::ReusePort => None,
        Balance::LeastLoaded => shared.least_loaded().filter(|l| l.index != local.index),
    };
    match target {
        None => {
            if !start_here(shared, &local, stream) {
                shared.cancelled.fetch_add(1, SeqCst);
            }
        }
        Some(target) => send_to(shared, &target, stream, false).await,
    }
}

/// Starts the handler for `stream` on this core; `false` (the stream
/// closed) if the core is past its drain deadline.
fn start_here(shared: &Arc<Shared>, local: &Rc<Local>, stream: TcpStream) -> bool {
    if local.closing.get() {
        return false;
    }
    let moved = Rc::new(std::cell::Cell::new(false));
    let conn = Conn {
        shared: shared.clone(),
        core: local.index,
        moved: moved.clone(),
    };
    let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        (shared.handler)(stream, conn)
    }));
    let Ok(future) = made else {
        // The handler panicked before it returned its future: the
        // stream went with the unwinding.
        shared.panicked.fetch_add(1, SeqCst);
        return true;
    };
    local.load.live.fetch_add(1, SeqCst);
    local.served.set(local.served.get() + 1);
    let guard = LiveGuard {
        shared: shared.clone(),
        local: local.clone(),
        slot: std::cell::Cell::new(None),
        moved: moved.clone(),
    };
    let mut tasks = local.tasks.borrow_mut();
    let entry = tasks.vacant_entry();
    guard.slot.set(Some(entry.key()));
    // Queued, not run: the borrow ends before the task first runs.
    entry.insert((
        spawn(async move {
            let guard = guard;
            future.await;
            guard.finished();
        }),
        moved,
    ));
    true
}

/// Keeps a core's count of live connections: dropped when the handler
/// ends or is cancelled.
struct LiveGuard {
    shared: Arc<Shared>,
    local: Rc<Local>,
    slot: std::cell::Cell<Option<usize>>,
    /// The handler gave the connection to another core.
    moved: Rc<std::cell::Cell<bool>>,
}

impl LiveGuard {
    fn finished(&self) {
        if self.shared.drain.is_started() && !self.moved.get() {
            self.shared.drained.fetch_add(1, SeqCst);
        }
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        // The handler panicked (the task catches it): counted, so the
        // report's counts add up.
        if std::thread::panicking() {
            self.shared.panicked.fetch_add(1, SeqCst);
        }
        // Ended (or panicked): leave the list of tasks to cancel. Past the
        // deadline the list was taken and nothing is added any more.
        if !self.local.closing.get()
            && let Some(slot) = self.slot.take()
            && let Ok(mut tasks) = self.local.tasks.try_borrow_mut()
        {
            tasks.try_remove(slot);
        }
        if self.local.load.live.fetch_sub(1, SeqCst) == 1
            && let Some(waker) = self.local.idle.borrow_mut().take()
        {
            waker.wake();
        }
    }
}

/// Counts a connection as arriving at its target while it detaches (a
/// cancelled detach takes the count back).
struct DetachGuard<'a> {
    target: &'a Load,
    armed: bool,
}

impl DetachGuard<'_> {
    /// The detached stream; `arriving` stays counted, for `Transit` to
    /// take back.
    async fn detach(target: &Load, stream: TcpStream) -> crate::Detached<TcpStream> {
        let mut guard = DetachGuard {
            target,
            armed: true,
        };
        let detached = stream.detach().await;
        guard.armed = false;
        detached
    }
}

impl Drop for DetachGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.target.arriving.fetch_sub(1, SeqCst);
        }
    }
}

/// Carries a connection between cores; if the target never starts it
/// (its runtime gone), the drop counts it cancelled.
struct Transit {
    shared: Arc<Shared>,
    target: Arc<Load>,
    started: bool,
}

impl Drop for Transit {
    fn drop(&mut self) {
        if !self.started {
            self.shared.cancelled.fetch_add(1, SeqCst);
        }
        self.target.arriving.fetch_sub(1, SeqCst);
        self.shared.in_transit.fetch_sub(1, SeqCst);
    }
}

/// Detaches `stream` and starts its handler on core `target`.
async fn send_to(shared: &Arc<Shared>, target: &Arc<Load>, stream: TcpStream, moved: bool) {
    let Some(handle) = tpc::handle(target.index) else {
        if let Some(local) = local()
            && !start_here(shared, &local, stream)
        {
            shared.cancelled.fetch_add(1, SeqCst);
        }
        return;
    };
    target.arriving.fetch_add(1, SeqCst);
    let detached = DetachGuard::detach(target, stream).await;
    // In transit from here: the source's handler ends only after this, so
    // a drain sees the connection live on a core or in transit throughout
    // (and a handler cancelled during the detach counts once, as a task).
    shared.in_transit.fetch_add(1, SeqCst);
    let transit = Transit {
        shared: shared.clone(),
        target: target.clone(),
        started: false,
    };
    let shared = shared.clone();
    drop(handle.spawn(move || {
        let mut transit = transit;
        if let Some(local) = local() {
            transit.started = start_here(&shared, &local, detached.attach());
            if transit.started && moved {
                shared.moved.fetch_add(1, SeqCst);
            }
        }
        drop(transit);
        std::future::ready(())
    }));
}

/// A connection's link to its server, given to the handler.
pub struct Conn {
    pub(super) shared: Arc<Shared>,
    pub(super) core: usize,
    pub(super) moved: Rc<std::cell::Cell<bool>>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("core", &self.core)
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// The index of the core the connection is on.
    pub fn core(&self) -> usize {
        self.core
    }

    /// Whether the server is draining: finish the request in hand and
    /// close.
    pub fn is_draining(&self) -> bool {
        self.shared.drain.is_started()
    }

    /// Resolves when the drain starts (to end an idle keep-alive wait, or
    /// to start hyper's graceful shutdown).
    pub async fn draining(&self) {
        self.shared.drain.started().await;
    }

    /// Call between requests, handing the stream over: `Some(stream)` to
    /// go on here, or `None` when the connection has moved to a less
    /// loaded core, where the handler starts again with it (the bytes the
    /// client sent meanwhile wait in the socket). A connection moves only
    /// with [`Balance::LeastLoaded`], when this core has been busier than
    /// the least loaded by a tenth of its time for 100 ms, at most one
    /// connection every 50 ms per core, and never during a drain. Busy
    /// connections call it most often, so they are the likeliest to move.
    pub async fn rebalance(&mut self, stream: TcpStream) -> Option<TcpStream> {
        let shared = &self.shared;
        if shared.balance != Balance::LeastLoaded || shared.drain.is_started() {
            return Some(stream);
        }
        let Some(local) = local() else {
            return Some(stream);
        };
        let load = &local.load;
        let since = load.overloaded_since.load(Relaxed);
        let now = now_ms();
        if since == 0 || now - since < SUSTAIN_MS {
            return Some(stream);
        }
        let last = load.last_move.load(Relaxed);
        if now.saturating_sub(last) < MOVE_EVERY_MS
            || load
                .last_move
                .compare_exchange(last, now, Relaxed, Relaxed)
                .is_err()
        {
            return Some(stream);
        }
        let Some(target) = shared.least_loaded().filter(|t| t.index != local.index) else {
            return Some(stream);
        };
        self.moved.set(true);
        send_to(shared, &target, stream, true).await;
        None
    }
}
