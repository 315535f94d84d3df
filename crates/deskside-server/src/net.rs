//! The server's network edge: its own accept loop over hyper's HTTP/1 connections, so that
//! clients with no credentials cannot hold every socket and file descriptor.
//!
//! A connection is *waiting* while the server waits for a complete request from it: from
//! accept to its first head (*fresh*), while a request body is still arriving, and between
//! requests on a kept-alive connection (*idle*). Only waiting connections are limited: in
//! number (per source address and in total), and heads in time (the header-read and idle
//! timeouts; a body may take as long as it needs while it is not crowding others out).
//! Once the request has arrived it runs as long as its handler needs, so an agent's
//! long-poll is never cut.
//!
//! Over a cap the *oldest* waiting connection is closed to make room, fresh ones before
//! idle ones, rather than refusing the newcomer: a flood of half-sent requests then only
//! ever evicts itself, while a real client's new connection (the newest) gets its head in
//! and established clients keep their kept-alive connections. A client whose idle
//! connection is closed simply opens a new one.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::http::client_addr::{TrustedProxies, canonical, client_scope};

/// Limits on connections that have not yet sent a complete request head.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// How long a new connection may take to send its first request head.
    pub header_read_timeout: Duration,
    /// How long a kept-alive connection may wait for its next request head.
    pub idle_timeout: Duration,
    /// Waiting connections from one source address, an IPv6 /64 counting as one (trusted
    /// proxies are exempt: every client behind them shares their address).
    pub max_waiting_per_address: usize,
    /// Waiting connections from all addresses together.
    pub max_waiting: usize,
    /// File descriptors never spent on connections, so the database, the log and the
    /// accept of a newcomer always find one (subtracted from the open-file limit).
    pub fd_reserve: u64,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(10),
            // Above nginx's 75 s, under reqwest's 90 s pool idle timeout would race; agents
            // reuse their connection well within a minute.
            idle_timeout: Duration::from_secs(60),
            max_waiting_per_address: 256,
            max_waiting: 4096,
            fd_reserve: 512,
        }
    }
}

/// How many connections may be open at once: the open-file limit minus the reserve. The
/// soft limit is raised to the hard one first (a default soft limit of 1,024 would cap a
/// server with thousands of agents for no reason).
fn connection_budget(limits: &ConnectionLimits) -> usize {
    #[cfg(unix)]
    let open_files = {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let mut limit = getrlimit(Resource::Nofile);
        if limit.current < limit.maximum {
            let raised = rustix::process::Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            };
            if setrlimit(Resource::Nofile, raised).is_ok() {
                limit = getrlimit(Resource::Nofile);
            }
        }
        limit.current
    };
    #[cfg(not(unix))]
    let open_files: Option<u64> = None;
    let open_files = open_files.unwrap_or(1 << 20);
    // Never so few that the server cannot serve anyone, whatever the reserve says.
    let budget = open_files.saturating_sub(limits.fd_reserve).max(32);
    tracing::debug!(open_files, budget, "connection budget");
    usize::try_from(budget).unwrap_or(usize::MAX)
}

/// Serves `router` on `listener` until `stopped` turns true, then closes every connection.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    trusted: Arc<TrustedProxies>,
    stopped: watch::Receiver<bool>,
) {
    let budget = connection_budget(&limits);
    let registry = Arc::new(Mutex::new(Registry::new(limits, budget)));
    let mut last_warning: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = until_stopped(stopped.clone()) => return,
        };
        match accepted {
            Ok((stream, remote)) => {
                let ip = canonical(remote.ip());
                let exempt = trusted.trusts(ip);
                let admitted = lock(&registry).admit(client_scope(ip), exempt, Instant::now());
                // Refused: every connection is busy with a request and the budget is spent;
                // dropping the stream closes it at once.
                let Some(admitted) = admitted else { continue };
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve_connection(
                    stream,
                    remote,
                    admitted,
                    router.clone(),
                    trusted.clone(),
                    registry.clone(),
                    stopped.clone(),
                ));
            }
            // The peer gave up before we took it: nothing to do.
            Err(error) if is_connection_error(&error) => {}
            Err(error) => {
                // Out of file descriptors (or memory) though under the budget: something else
                // holds them. Free a batch of the oldest waiting connections and pause briefly
                // instead of spinning on a listener that stays readable.
                {
                    let mut registry = lock(&registry);
                    for _ in 0..SHED_ON_ACCEPT_ERROR {
                        if !registry.evict_oldest(None) {
                            break;
                        }
                    }
                }
                let now = Instant::now();
                if last_warning.is_none_or(|at| now - at >= Duration::from_secs(5)) {
                    tracing::warn!(%error, "accept failed; shedding the oldest waiting connections");
                    last_warning = Some(now);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Waiting connections closed each time accepting fails for want of descriptors.
const SHED_ON_ACCEPT_ERROR: usize = 32;

fn is_connection_error(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// Resolves once `stopped` is true. A dropped sender is not a stop: the server runs on.
async fn until_stopped(mut stopped: watch::Receiver<bool>) {
    if stopped.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

fn lock(registry: &Mutex<Registry>) -> std::sync::MutexGuard<'_, Registry> {
    registry.lock().unwrap_or_else(|p| p.into_inner())
}

async fn serve_connection(
    stream: TcpStream,
    remote: SocketAddr,
    admitted: Admitted,
    router: Router,
    trusted: Arc<TrustedProxies>,
    registry: Arc<Mutex<Registry>>,
    stopped: watch::Receiver<bool>,
) {
    let Admitted { id, wake } = admitted;
    let service = {
        let registry = registry.clone();
        let wake = wake.clone();
        hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            // The head is complete: once the body is in too, the request takes the time its
            // handler needs.
            let has_body = !http_body::Body::is_end_stream(request.body());
            lock(&registry).request_started(id, has_body);
            let active = ActiveRequest {
                registry: registry.clone(),
                id,
                wake: wake.clone(),
            };
            let mut request = if has_body {
                let received = BodyReceived {
                    registry: registry.clone(),
                    id,
                };
                request.map(|body| {
                    Body::new(Arriving {
                        body,
                        received: Some(received),
                    })
                })
            } else {
                request.map(Body::new)
            };
            request.extensions_mut().insert(ConnectInfo(remote));
            request.extensions_mut().insert(trusted.clone());
            let router = router.clone();
            async move {
                let response = match router.oneshot(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                // Waiting again once the response body has been written (or dropped).
                Ok::<_, Infallible>(response.map(|body| {
                    Body::new(Tracked {
                        body,
                        _active: active,
                    })
                }))
            }
        })
    };
    let connection = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    let mut connection = pin!(connection);
    let mut stop = pin!(until_stopped(stopped));
    loop {
        let Some(deadline) = lock(&registry).deadline(id) else {
            break; // evicted
        };
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::trace!(%error, "connection ended");
                }
                break;
            }
            () = wake.notified() => {}
            () = sleep_until(deadline) => {
                if lock(&registry).waited_too_long(id, Instant::now()) {
                    break;
                }
            }
            () = &mut stop => break,
        }
    }
    // Dropping the connection closes the socket, whatever it was doing.
    lock(&registry).remove(id);
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// A response body that marks its connection waiting again when hyper is done with it.
struct Tracked {
    body: Body,
    // Held, not read: dropped with the body, it ends the request.
    _active: ActiveRequest,
}

impl http_body::Body for Tracked {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// A request body still arriving; the connection stops counting as waiting once it has
/// arrived whole (or the handler dropped it).
struct Arriving {
    body: Incoming,
    received: Option<BodyReceived>,
}

impl http_body::Body for Arriving {
    type Data = axum::body::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let frame = Pin::new(&mut self.body).poll_frame(cx);
        if matches!(frame, Poll::Ready(None) | Poll::Ready(Some(Err(_))))
            || self.body.is_end_stream()
        {
            self.received = None;
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

struct BodyReceived {
    registry: Arc<Mutex<Registry>>,
    id: u64,
}

impl Drop for BodyReceived {
    fn drop(&mut self) {
        lock(&self.registry).body_received(self.id);
    }
}

/// A request in progress on a connection; dropping it ends the request.
struct ActiveRequest {
    registry: Arc<Mutex<Registry>>,
    id: u64,
    wake: Arc<Notify>,
}

impl Drop for ActiveRequest {
    fn drop(&mut self) {
        lock(&self.registry).request_finished(self.id, Instant::now());
        // The connection task recomputes its deadline: it is idle now.
        self.wake.notify_one();
    }
}

struct Admitted {
    id: u64,
    wake: Arc<Notify>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Fresh,
    /// The head has arrived, the body has not yet.
    Body,
    Idle,
}

struct Waiting {
    phase: Phase,
    /// Order of arrival in the waiting queues: the smallest is the oldest.
    seq: u64,
    /// `None` while a body arrives: it may be large, so it is only crowded out.
    deadline: Option<Instant>,
}

struct Connection {
    ip: IpAddr,
    exempt: bool,
    /// Requests whose head has arrived and whose response is not yet written.
    active: u32,
    waiting: Option<Waiting>,
    evicted: bool,
    wake: Arc<Notify>,
}

/// Oldest-first queues of waiting connections (`seq → id`), fresh and idle apart.
#[derive(Default)]
struct Queues {
    fresh: BTreeMap<u64, u64>,
    idle: BTreeMap<u64, u64>,
}

impl Queues {
    fn len(&self) -> usize {
        self.fresh.len() + self.idle.len()
    }

    fn of(&mut self, phase: Phase) -> &mut BTreeMap<u64, u64> {
        match phase {
            // A body still arriving has not proved more than a fresh head has.
            Phase::Fresh | Phase::Body => &mut self.fresh,
            Phase::Idle => &mut self.idle,
        }
    }

    /// Fresh connections go first: they have not yet proved they are a client at all.
    fn oldest(&self) -> Option<u64> {
        self.fresh
            .values()
            .next()
            .or_else(|| self.idle.values().next())
            .copied()
    }
}

/// Every open connection and which of them are waiting for a request head.
struct Registry {
    limits: ConnectionLimits,
    budget: usize,
    next_id: u64,
    next_seq: u64,
    connections: HashMap<u64, Connection>,
    /// Open and not yet told to close: what counts against the budget.
    live: usize,
    waiting: Queues,
    waiting_by_ip: HashMap<IpAddr, Queues>,
}

impl Registry {
    fn new(limits: ConnectionLimits, budget: usize) -> Registry {
        Registry {
            limits,
            budget,
            next_id: 0,
            next_seq: 0,
            connections: HashMap::new(),
            live: 0,
            waiting: Queues::default(),
            waiting_by_ip: HashMap::new(),
        }
    }

    /// Makes room for a new connection from `ip` and registers it, or refuses it when the
    /// budget is spent on connections that all have a request running.
    fn admit(&mut self, ip: IpAddr, exempt: bool, now: Instant) -> Option<Admitted> {
        if self.live >= self.budget && !self.evict_oldest(None) {
            return None;
        }
        if !exempt
            && self.waiting_by_ip.get(&ip).map_or(0, Queues::len)
                >= self.limits.max_waiting_per_address
        {
            self.evict_oldest(Some(ip));
        }
        if self.waiting.len() >= self.limits.max_waiting {
            self.evict_oldest(None);
        }
        let id = self.next_id;
        self.next_id += 1;
        let wake = Arc::new(Notify::new());
        self.connections.insert(
            id,
            Connection {
                ip,
                exempt,
                active: 0,
                waiting: None,
                evicted: false,
                wake: wake.clone(),
            },
        );
        self.live += 1;
        self.start_waiting(
            id,
            Phase::Fresh,
            Some(now + self.limits.header_read_timeout),
        );
        Some(Admitted { id, wake })
    }

    fn start_waiting(&mut self, id: u64, phase: Phase, deadline: Option<Instant>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.wait_in_line(id, phase, deadline, seq);
    }

    /// Queues `id` as waiting, `seq` placing it among the others (smallest: oldest).
    fn wait_in_line(&mut self, id: u64, phase: Phase, deadline: Option<Instant>, seq: u64) {
        let Some(connection) = self.connections.get_mut(&id) else {
            return;
        };
        connection.waiting = Some(Waiting {
            phase,
            seq,
            deadline,
        });
        self.waiting.of(phase).insert(seq, id);
        if !connection.exempt {
            self.waiting_by_ip
                .entry(connection.ip)
                .or_default()
                .of(phase)
                .insert(seq, id);
        }
    }

    fn stop_waiting(&mut self, id: u64) -> Option<Waiting> {
        let connection = self.connections.get_mut(&id)?;
        let waiting = connection.waiting.take()?;
        self.waiting.of(waiting.phase).remove(&waiting.seq);
        if let Some(queues) = self.waiting_by_ip.get_mut(&connection.ip) {
            queues.of(waiting.phase).remove(&waiting.seq);
            if queues.len() == 0 {
                self.waiting_by_ip.remove(&connection.ip);
            }
        }
        Some(waiting)
    }

    /// Tells the oldest waiting connection (from `ip`, or from anyone) to close. False when
    /// none is waiting.
    fn evict_oldest(&mut self, ip: Option<IpAddr>) -> bool {
        let oldest = match ip {
            Some(ip) => self.waiting_by_ip.get(&ip).and_then(Queues::oldest),
            None => self.waiting.oldest(),
        };
        let Some(id) = oldest else {
            return false;
        };
        self.stop_waiting(id);
        if let Some(connection) = self.connections.get_mut(&id) {
            connection.evicted = true;
            connection.wake.notify_one();
            self.live -= 1;
        }
        true
    }

    fn request_started(&mut self, id: u64, has_body: bool) {
        let waited = self.stop_waiting(id);
        let Some(connection) = self.connections.get_mut(&id) else {
            return;
        };
        connection.active += 1;
        if has_body {
            // Still as old as when it began waiting for this request: a body that never
            // comes must not look newer than heads that arrived after it.
            match waited {
                Some(waited) => self.wait_in_line(id, Phase::Body, None, waited.seq),
                None => self.start_waiting(id, Phase::Body, None),
            }
        }
    }

    fn body_received(&mut self, id: u64) {
        let receiving = self
            .connections
            .get(&id)
            .and_then(|c| c.waiting.as_ref())
            .is_some_and(|w| w.phase == Phase::Body);
        if receiving {
            self.stop_waiting(id);
        }
    }

    fn request_finished(&mut self, id: u64, now: Instant) {
        let Some(connection) = self.connections.get_mut(&id) else {
            return;
        };
        connection.active = connection.active.saturating_sub(1);
        if connection.active == 0 && !connection.evicted {
            self.stop_waiting(id);
            self.start_waiting(id, Phase::Idle, Some(now + self.limits.idle_timeout));
        }
    }

    /// `None` once the connection must close; else when its wait for a head ends, if it is
    /// waiting for one.
    fn deadline(&self, id: u64) -> Option<Option<Instant>> {
        let connection = self.connections.get(&id)?;
        if connection.evicted {
            return None;
        }
        Some(connection.waiting.as_ref().and_then(|w| w.deadline))
    }

    fn waited_too_long(&self, id: u64, now: Instant) -> bool {
        self.connections.get(&id).is_none_or(|connection| {
            connection
                .waiting
                .as_ref()
                .is_some_and(|waiting| waiting.deadline.is_some_and(|d| d <= now))
        })
    }

    fn remove(&mut self, id: u64) {
        self.stop_waiting(id);
        if let Some(connection) = self.connections.remove(&id)
            && !connection.evicted
        {
            self.live -= 1;
        }
    }
}
