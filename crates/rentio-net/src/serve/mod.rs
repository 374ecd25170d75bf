//! A TCP server on every core: [`Server`], with `SO_REUSEPORT` or a
//! load-aware dispatcher ([`Balance`]), connection moves off an
//! overloaded core ([`Conn::rebalance`]), and a graceful drain
//! ([`Drain`], [`Report`]).

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::net::{self, SocketAddr};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use rentio_executor::tpc::{self, Launcher};
use rentio_executor::{JoinHandle, spawn, time};

use crate::{Canceller, TcpListener, TcpSocket, TcpStream};

mod conn;
mod handles;

pub use conn::Conn;
use conn::place;
pub use handles::{Drain, Monitor};

/// How a [`Server`] spreads connections over its cores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Balance {
    /// Every core binds its own listener with `SO_REUSEPORT` and the
    /// kernel spreads connections by a hash of their addresses: no
    /// cross-core work, blind to load.
    #[default]
    ReusePort,
    /// Core 0 accepts and places each new connection on the core with
    /// the least load (recent busy time, then run-queue length, then live
    /// connections); a handler that calls [`Conn::rebalance`] between
    /// requests lets a long-lived connection move off a core that stays
    /// overloaded.
    LeastLoaded,
}

/// What a server did, returned when it has drained.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// Connections accepted.
    pub accepted: u64,
    /// Connections live when the drain started that finished within the
    /// grace period.
    pub drained: u64,
    /// Connections still live at the end of the grace period, cancelled
    /// (their handlers dropped, their sockets closed).
    pub cancelled: u64,
    /// Moves of a live connection to another core ([`Conn::rebalance`]).
    pub moved: u64,
    /// Handlers that panicked (the panic is caught and the connection
    /// closed; the server goes on).
    pub panicked: u64,
    /// Each core's figures, by index.
    pub cores: Vec<CoreReport>,
}

/// One core's part of a [`Report`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CoreReport {
    /// Connections that started on this core (placed or moved here).
    pub served: u64,
    /// The core's busy time while it served (see
    /// [`RuntimeMetrics::busy`](rentio_executor::RuntimeMetrics::busy)).
    pub busy: Duration,
}

type Handler = dyn Fn(TcpStream, Conn) -> Pin<Box<dyn Future<Output = ()>>> + Send + Sync;

/// A TCP server on every core, drained on demand.
///
/// ```no_run
/// use std::time::Duration;
/// use rentio_io::{AsyncReadRent, AsyncWriteRentExt};
/// use rentio_net::serve::{Balance, Server};
///
/// # fn main() -> std::io::Result<()> {
/// let report = Server::bind("127.0.0.1:8080")?
///     .balance(Balance::LeastLoaded)
///     .grace(Duration::from_secs(5))
///     .drain_on_signals(true) // SIGINT and SIGTERM
///     .run(|mut stream, mut conn| async move {
///         let mut buf = Vec::with_capacity(4096);
///         loop {
///             buf.clear();
///             let (n, b) = stream.read(buf).await;
///             if !matches!(n, Ok(n) if n > 0) {
///                 return;
///             }
///             let (w, b) = stream.write_all(b).await;
///             if w.is_err() {
///                 return;
///             }
///             buf = b;
///             // Between requests: may move to a less loaded core.
///             match conn.rebalance(stream).await {
///                 Some(s) => stream = s,
///                 None => return,
///             }
///         }
///     })?;
/// println!("drained {}, cancelled {}", report.drained, report.cancelled);
/// # Ok(())
/// # }
/// ```
pub struct Server {
    addr: SocketAddr,
    /// Bound on the calling thread, so the address (and a port 0's pick)
    /// is known and every core's listener takes connections before `run`:
    /// one per core with reuseport, one (core 0's) with the dispatcher.
    listeners: Vec<net::TcpListener>,
    /// A listener that could not be bound, reported by `run`.
    bind_error: Option<io::Error>,
    balance: Balance,
    grace: Duration,
    signals: bool,
    launcher: Launcher,
    drain: Drain,
    monitor: Monitor,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .field("balance", &self.balance)
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

/// The default grace period of a drain.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);

impl Server {
    /// Binds the address (`SO_REUSEADDR`, and `SO_REUSEPORT` so every core
    /// can bind it too). Port 0 picks one port for all cores.
    ///
    /// # Errors
    ///
    /// As `bind(2)`; `AddrInUse` while another process listens there.
    pub fn bind<A: net::ToSocketAddrs>(addr: A) -> io::Result<Server> {
        let mut last = None;
        for addr in addr.to_socket_addrs()? {
            match bind_reuseport(addr) {
                Ok(first) => {
                    let addr = first.local_addr()?;
                    return Ok(Server {
                        addr,
                        listeners: vec![first],
                        bind_error: None,
                        balance: Balance::default(),
                        grace: DEFAULT_GRACE,
                        signals: false,
                        launcher: Launcher::new(),
                        drain: Drain::new(),
                        monitor: Monitor::default(),
                    }
                    .fit_listeners());
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "rentio-net: no address to bind",
            )
        }))
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Binds or closes listeners so there is one per core with
    /// reuseport, one with the dispatcher.
    fn fit_listeners(mut self) -> Server {
        let want = match self.balance {
            Balance::ReusePort => self.launcher.core_count(),
            Balance::LeastLoaded => 1,
        };
        self.listeners.truncate(want.max(1));
        while self.listeners.len() < want && self.bind_error.is_none() {
            match bind_reuseport(self.addr) {
                Ok(l) => self.listeners.push(l),
                Err(e) => self.bind_error = Some(e),
            }
        }
        self
    }

    /// How connections are spread (default [`Balance::ReusePort`]).
    pub fn balance(mut self, balance: Balance) -> Server {
        self.balance = balance;
        self.fit_listeners()
    }

    /// How long a drain lets live connections run before it cancels them
    /// (default [`DEFAULT_GRACE`], 5 s).
    pub fn grace(mut self, grace: Duration) -> Server {
        self.grace = grace;
        self
    }

    /// Whether SIGINT (ctrl-c) and SIGTERM start the drain (default off:
    /// a library does not take signals unasked).
    pub fn drain_on_signals(mut self, on: bool) -> Server {
        self.signals = on;
        self
    }

    /// The launcher that starts the cores (default: one pinned core per
    /// CPU this process may use).
    pub fn launcher(mut self, launcher: Launcher) -> Server {
        self.launcher = launcher;
        self.fit_listeners()
    }

    /// A handle that starts the drain.
    pub fn drain_handle(&self) -> Drain {
        self.drain.clone()
    }

    /// A handle that reads every core's figures while the server runs.
    pub fn monitor(&self) -> Monitor {
        self.monitor.clone()
    }

    /// Serves until drained: `handler` runs once per connection on the
    /// core that holds it. Returns when every core has drained, with the
    /// counts.
    ///
    /// The drain: every core cancels its accept and awaits the cancel,
    /// then closes its listener, so the port is free before `run` returns
    /// (a supervisor's restart binds at once); live connections get the
    /// grace period, and [`Conn::draining`] tells handlers to finish;
    /// then the rest are cancelled (their futures dropped, their sockets
    /// closed through their driver).
    ///
    /// # Errors
    ///
    /// A core that could not start (its runtime, its listener) or whose
    /// task panicked.
    pub fn run<F, Fut>(self, handler: F) -> io::Result<Report>
    where
        F: Fn(TcpStream, Conn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        if let Some(e) = self.bind_error {
            return Err(io::Error::new(
                e.kind(),
                format!(
                    "rentio-net: a core's listener on {} could not bind: {e}",
                    self.addr
                ),
            ));
        }
        let handler: Arc<Handler> =
            Arc::new(move |stream, conn| Box::pin(handler(stream, conn)) as Pin<Box<_>>);
        let listeners = Mutex::new(self.listeners.into_iter().map(Some).collect());
        let shared = Arc::new(Shared {
            balance: self.balance,
            grace: self.grace,
            signals: self.signals,
            drain: self.drain,
            monitor: self.monitor,
            handler,
            cores: Mutex::new(Vec::new()),
            in_transit: AtomicUsize::new(0),
            accepted: AtomicU64::new(0),
            drained: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            moved: AtomicU64::new(0),
            panicked: AtomicU64::new(0),
            listeners,
        });
        let s = shared.clone();
        let results = self.launcher.run(move |core| {
            let shared = s.clone();
            async move { run_core(shared, core.index).await }
        });
        let mut cores = Vec::with_capacity(results.len());
        let mut failure = None;
        for (index, result) in results.into_iter().enumerate() {
            match result {
                Ok(Ok(core)) => cores.push(core),
                Ok(Err(e)) => {
                    failure.get_or_insert(io::Error::new(
                        e.kind(),
                        format!("rentio-net: core {index} of the server failed: {e}"),
                    ));
                    cores.push(CoreReport::default());
                }
                Err(e) => {
                    failure.get_or_insert(io::Error::other(format!(
                        "rentio-net: core {index} of the server did not run: {e:?}"
                    )));
                    cores.push(CoreReport::default());
                }
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        Ok(Report {
            accepted: shared.accepted.load(SeqCst),
            drained: shared.drained.load(SeqCst),
            cancelled: shared.cancelled.load(SeqCst),
            moved: shared.moved.load(SeqCst),
            panicked: shared.panicked.load(SeqCst),
            cores,
        })
    }
}

fn bind_reuseport(addr: SocketAddr) -> io::Result<net::TcpListener> {
    let socket = TcpSocket::for_addr(&addr)?;
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    let listener = socket.listen(1024)?;
    Ok(listener.into_std())
}

/// What every core of one server shares.
struct Shared {
    balance: Balance,
    grace: Duration,
    signals: bool,
    drain: Drain,
    monitor: Monitor,
    handler: Arc<Handler>,
    /// Each core's load, once it has started.
    cores: Mutex<Vec<Arc<Load>>>,
    /// Connections between two cores (placed or moved, not yet started
    /// on the target); a core's drain waits for them too.
    in_transit: AtomicUsize,
    accepted: AtomicU64,
    drained: AtomicU64,
    cancelled: AtomicU64,
    moved: AtomicU64,
    panicked: AtomicU64,
    /// Each core's listener, taken by the core.
    listeners: Mutex<Vec<Option<net::TcpListener>>>,
}

/// One core's load, as the others see it.
#[derive(Debug, Default)]
struct Load {
    index: usize,
    /// Recent busy time, in thousandths of the wall time (an average
    /// over about 50 ms, sampled every 10 ms).
    busy_permille: AtomicU64,
    run_queue: AtomicU64,
    live: AtomicUsize,
    /// Connections placed or moved here, not yet started: counted with
    /// `live`, so placements in a burst see each other.
    arriving: AtomicUsize,
    /// Since when (ms on the server's clock) this core has been busier
    /// than the least loaded one by the margin; 0 if it is not.
    overloaded_since: AtomicU64,
    /// When (ms) a connection last moved off this core.
    last_move: AtomicU64,
}

/// How much busier (thousandths) a core must be than the least loaded
/// one to count as overloaded, how long it must stay so before a
/// connection moves, and the least time between two moves off a core.
const MARGIN: u64 = 100;
const SUSTAIN_MS: u64 = 100;
const MOVE_EVERY_MS: u64 = 50;

impl Shared {
    fn loads(&self) -> Vec<Arc<Load>> {
        self.cores
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The least loaded core: busy time (in steps of 10%) first, then
    /// run queue, then live connections.
    fn least_loaded(&self) -> Option<Arc<Load>> {
        self.loads().into_iter().min_by_key(|l| {
            (
                // In steps of a tenth: below that, noise.
                l.busy_permille.load(Relaxed) / 100,
                l.run_queue.load(Relaxed),
                l.live.load(Relaxed) + l.arriving.load(Relaxed),
                l.index,
            )
        })
    }
}

fn now_ms() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1
}

/// This core's part of the server.
struct Local {
    index: usize,
    load: Arc<Load>,
    /// Connection tasks on this core, to cancel at the deadline.
    /// With each, whether its connection moved away (its handler is
    /// then not counted here).
    tasks: RefCell<slab::Slab<ConnTask>>,
    served: std::cell::Cell<u64>,
    /// Woken when `live` drops to 0.
    idle: RefCell<Option<Waker>>,
    /// Past the drain's deadline: a connection that arrives now is
    /// closed and counted cancelled.
    closing: std::cell::Cell<bool>,
}

/// A connection's task, and whether its connection moved away.
type ConnTask = (JoinHandle<()>, Rc<std::cell::Cell<bool>>);

thread_local! {
    static LOCAL: RefCell<Option<Rc<Local>>> = const { RefCell::new(None) };
}

fn local() -> Option<Rc<Local>> {
    LOCAL.with(|l| l.borrow().clone())
}

async fn run_core(shared: Arc<Shared>, index: usize) -> io::Result<CoreReport> {
    let load = Arc::new(Load {
        index,
        ..Load::default()
    });
    shared
        .cores
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(load.clone());
    let local = Rc::new(Local {
        index,
        load: load.clone(),
        tasks: RefCell::new(slab::Slab::new()),
        served: std::cell::Cell::new(0),
        idle: RefCell::new(None),
        closing: std::cell::Cell::new(false),
    });
    LOCAL.with(|l| *l.borrow_mut() = Some(local.clone()));
    let me = rentio_executor::Handle::current()?;
    shared.monitor.register(index, me.clone());
    let busy_at_start = me.metrics().busy;

    // The listener bound for this core, if any (core 0's with the
    // dispatcher; each core's with reuseport).
    let listener = {
        let mut listeners = shared
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if index == 0 {
            // A core that failed to start would leave its listener taking
            // a share of the connections that nobody accepts: close it.
            for (i, l) in listeners.iter_mut().enumerate() {
                if tpc::handle(i).is_none() {
                    l.take();
                }
            }
        }
        listeners
            .get_mut(index)
            .and_then(Option::take)
            .map(TcpListener::from_std)
    };

    // Load sampling, every 10 ms.
    let sampler = {
        let shared = shared.clone();
        let load = load.clone();
        let me = me.clone();
        spawn(async move { sample(&shared, &load, &me).await })
    };
    // Signals start the drain (one listener is enough: the drain is
    // process-wide).
    let signals = (shared.signals && index == 0).then(|| {
        let drain = shared.drain.clone();
        spawn(async move {
            use rentio_executor::signal::unix::{SignalKind, signal};
            let (Ok(mut int), Ok(mut term)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) else {
                return;
            };
            std::future::poll_fn(|cx| {
                if int.poll_recv(cx).is_ready() || term.poll_recv(cx).is_ready() {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
            .await;
            drain.start();
        })
    });

    if let Some(listener) = listener {
        accept_loop(&shared, &listener).await;
        // No accept in flight (`accept_cancellable` was awaited): closing
        // frees the port now.
        drop(listener);
    } else {
        shared.drain.started().await;
    }

    // The drain: live connections get the grace period.
    let deadline = time::Instant::now() + shared.grace;
    let _ = time::timeout_at(deadline, wait_idle(&shared, &local)).await;
    // From now on this core takes no connection: the others stop placing
    // here, and one that arrives anyway is closed.
    local.closing.set(true);
    shared
        .cores
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .retain(|l| l.index != index);
    let cancelled = {
        let tasks = std::mem::take(&mut *local.tasks.borrow_mut());
        let mut n = 0;
        for (_, (task, moved)) in &tasks {
            if !task.is_finished() {
                if !moved.get() {
                    n += 1;
                }
                task.abort();
            }
        }
        // Let the aborted tasks drop their futures (and close their
        // sockets) on this core.
        for (_, (task, _)) in tasks {
            let _ = task.await;
        }
        n
    };
    // A move still on its way to a core ends there, started or counted
    // cancelled by the guard that carries it; stay up for it a while.
    let transit_deadline = Instant::now() + Duration::from_secs(1);
    while (shared.in_transit.load(SeqCst) != 0 || load.arriving.load(SeqCst) != 0)
        && Instant::now() < transit_deadline
    {
        time::sleep(Duration::from_millis(1)).await;
    }
    shared.cancelled.fetch_add(cancelled, SeqCst);
    sampler.abort();
    if let Some(s) = signals {
        s.abort();
    }
    LOCAL.with(|l| *l.borrow_mut() = None);
    Ok(CoreReport {
        served: local.served.get(),
        busy: me.metrics().busy.saturating_sub(busy_at_start),
    })
}

/// Until every connection of this core has ended, and no move is on its
/// way between cores.
async fn wait_idle(shared: &Shared, local: &Local) {
    loop {
        if shared.in_transit.load(SeqCst) != 0 || local.load.arriving.load(SeqCst) != 0 {
            // It ends on another core, or here once detached: look again
            // soon.
            time::sleep(Duration::from_millis(1)).await;
            continue;
        }
        if local.load.live.load(SeqCst) == 0 {
            return;
        }
        std::future::poll_fn(|cx| {
            if local.load.live.load(SeqCst) == 0 {
                return Poll::Ready(());
            }
            *local.idle.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        })
        .await;
    }
}

/// Samples this core's load every 10 ms. Busy time is the CPU time of
/// the core's thread (`CLOCK_THREAD_CPUTIME_ID`): unlike the runtime's
/// own busy time (wall time not parked), it does not count the time
/// another process preempted the core, which is no work of this server
/// that moving a connection could relieve.
async fn sample(shared: &Shared, load: &Load, me: &rentio_executor::Handle) {
    let mut last = (Instant::now(), thread_cpu());
    loop {
        time::sleep(Duration::from_millis(10)).await;
        let m = me.metrics();
        let now = Instant::now();
        let cpu = thread_cpu();
        let wall = now.duration_since(last.0).as_nanos().max(1);
        let busy = cpu.saturating_sub(last.1).as_nanos();
        last = (now, cpu);
        let sample = (busy * 1000 / wall).min(1000) as u64;
        let old = load.busy_permille.load(Relaxed);
        // An average over about five samples.
        load.busy_permille.store((old * 4 + sample) / 5, Relaxed);
        load.run_queue.store(m.run_queue, Relaxed);
        let least = shared
            .loads()
            .iter()
            .filter(|l| l.index != load.index)
            .map(|l| l.busy_permille.load(Relaxed))
            .min();
        let over = least.is_some_and(|least| load.busy_permille.load(Relaxed) > least + MARGIN);
        if !over {
            load.overloaded_since.store(0, Relaxed);
        } else if load.overloaded_since.load(Relaxed) == 0 {
            load.overloaded_since.store(now_ms(), Relaxed);
        }
    }
}

/// The calling thread's CPU time.
fn thread_cpu() -> Duration {
    rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime)
        .try_into()
        .unwrap_or_default()
}

async fn accept_loop(shared: &Arc<Shared>, listener: &TcpListener) {
    let canceller = Rc::new(Canceller::new());
    let handle = canceller.handle();
    // The drain cancels the accept; the loop then ends.
    let stop = {
        let shared = shared.clone();
        let canceller = canceller.clone();
        spawn(async move {
            shared.drain.started().await;
            canceller.cancel();
        })
    };
    // After the cancel, what the kernel accepted before it still comes
    // (and is served, within the drain), then `ECANCELED`: nothing of the
    // listener is left in flight.
    loop {
        match listener.accept_cancellable(&handle).await {
            Ok((stream, _)) => {
                shared.accepted.fetch_add(1, SeqCst);
                place(shared, stream).await;
            }
            Err(e) if e.raw_os_error() == Some(libc::ECANCELED) => break,
            Err(_) if handle.is_cancelled() => {}
            Err(e) => {
                // Out of fds, a connection reset before accept: the server
                // goes on.
                tracing::warn!(
                    target: "rentio_net",
                    "rentio-net: accept failed ({e}); the server goes on"
                );
                time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    stop.abort();
}
