//! The handles a [`Server`](super::Server) gives out: [`Drain`] and
//! [`Monitor`], and the cross-thread event the drain is.

use super::*;

/// Starts a [`Server`]'s drain from anywhere (`Send + Sync + Clone`).
#[derive(Clone, Debug, Default)]
pub struct Drain {
    inner: Arc<Event>,
}

impl Drain {
    /// A drain not started.
    pub fn new() -> Drain {
        Drain::default()
    }

    /// Starts the drain: every core stops accepting, and live connections
    /// get the server's grace period. Idempotent.
    pub fn start(&self) {
        self.inner.fire();
    }

    /// Whether [`start`](Drain::start) was called.
    pub fn is_started(&self) -> bool {
        self.inner.fired.load(SeqCst)
    }

    /// Resolves once the drain starts.
    pub async fn started(&self) {
        self.inner.wait().await;
    }
}

/// Reads a running [`Server`]'s per-core figures from any thread
/// (`Send + Sync + Clone`).
#[derive(Clone, Debug, Default)]
pub struct Monitor {
    handles: Arc<Mutex<Vec<Option<rentio_executor::Handle>>>>,
}

impl Monitor {
    /// Each core's [`RuntimeMetrics`](rentio_executor::RuntimeMetrics),
    /// by index, once the core has started (empty before `run`).
    pub fn metrics(&self) -> Vec<Option<rentio_executor::RuntimeMetrics>> {
        self.handles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|h| h.as_ref().map(rentio_executor::Handle::metrics))
            .collect()
    }

    pub(super) fn register(&self, index: usize, handle: rentio_executor::Handle) {
        let mut handles = self.handles.lock().unwrap_or_else(PoisonError::into_inner);
        if handles.len() <= index {
            handles.resize(index + 1, None);
        }
        handles[index] = Some(handle);
    }
}

/// A one-shot event across threads: a flag and the wakers waiting on it,
/// one slot per waiting future, freed when it ends (so the list stays
/// bounded by the waiters alive).
#[derive(Debug, Default)]
pub(super) struct Event {
    pub(super) fired: AtomicBool,
    wakers: Mutex<slab::Slab<Waker>>,
}

impl Event {
    pub(super) fn fire(&self) {
        if self.fired.swap(true, SeqCst) {
            return;
        }
        let wakers =
            std::mem::take(&mut *self.wakers.lock().unwrap_or_else(PoisonError::into_inner));
        for (_, waker) in wakers {
            waker.wake();
        }
    }

    pub(super) fn wait(&self) -> EventWait<'_> {
        EventWait {
            event: self,
            slot: None,
        }
    }
}

/// [`Event::wait`]'s future.
pub(super) struct EventWait<'a> {
    event: &'a Event,
    slot: Option<usize>,
}

impl Future for EventWait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        let event = self.event;
        if event.fired.load(SeqCst) {
            return Poll::Ready(());
        }
        let mut wakers = event.wakers.lock().unwrap_or_else(PoisonError::into_inner);
        // Checked again under the lock: `fire` sets the flag before it
        // takes the wakers.
        if event.fired.load(SeqCst) {
            return Poll::Ready(());
        }
        match self.slot.and_then(|i| wakers.get_mut(i)) {
            Some(w) => {
                if !w.will_wake(cx.waker()) {
                    *w = cx.waker().clone();
                }
            }
            None => {
                let slot = wakers.insert(cx.waker().clone());
                drop(wakers);
                self.slot = Some(slot);
            }
        }
        Poll::Pending
    }
}

impl Drop for EventWait<'_> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            let mut wakers = self
                .event
                .wakers
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            // Once fired, `fire` has taken every slot (and none is handed
            // out again): nothing of this waiter's is left to remove.
            if !self.event.fired.load(SeqCst) {
                wakers.try_remove(slot);
            }
        }
    }
}
