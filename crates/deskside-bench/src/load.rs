//! Closed-loop load: N keep-alive connections, each sending its next request as soon as
//! the previous response is in, for a warm-up and then a measured window.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;

use crate::http_client::Connection;
use crate::latency::{LatencySummary, summarize};

/// A request that hangs this long means the server is stuck; count it and move on.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// A server that refuses this many connects in a row is gone: stop hammering it.
const MAX_CONSECUTIVE_CONNECT_FAILURES: u32 = 20;

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadShape {
    pub connections: usize,
    #[serde(serialize_with = "as_seconds")]
    pub warmup: Duration,
    #[serde(serialize_with = "as_seconds")]
    pub duration: Duration,
    pub client_threads: usize,
}

fn as_seconds<S: serde::Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(value.as_secs_f64())
}

pub struct LoadTarget {
    pub address: SocketAddr,
    /// The complete encoded request, sent unchanged on every iteration.
    pub request: Arc<Vec<u8>>,
    pub expected_status: u16,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadResult {
    /// Responses with the expected status that completed inside the measured window.
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub requests_per_sec: f64,
    pub latency: Option<LatencySummary>,
    /// New connections opened after the initial ones (the server closed one, or an error).
    pub reconnects: u64,
    /// The first failure seen, warm-up included, to say why errors happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

#[derive(Default)]
struct ConnectionTally {
    latencies_nanos: Vec<u64>,
    errors: u64,
    reconnects: u64,
    first_error: Option<String>,
}

impl ConnectionTally {
    fn note_error(&mut self, counted: bool, describe: impl FnOnce() -> String) {
        if counted {
            self.errors += 1;
        }
        if self.first_error.is_none() {
            self.first_error = Some(describe());
        }
    }
}

pub fn run_load(target: &LoadTarget, shape: LoadShape) -> anyhow::Result<LoadResult> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(shape.client_threads.max(1))
        .enable_all()
        .build()
        .context("starting the load generator's runtime")?;

    let start = Instant::now();
    let measure_from = start + shape.warmup;
    let end = measure_from + shape.duration;

    let tallies = runtime.block_on(async {
        let tasks: Vec<_> = (0..shape.connections)
            .map(|_| {
                let address = target.address;
                let request = Arc::clone(&target.request);
                let expected = target.expected_status;
                tokio::spawn(drive_connection(
                    address,
                    request,
                    expected,
                    measure_from,
                    end,
                ))
            })
            .collect();
        let mut tallies = Vec::with_capacity(tasks.len());
        for task in tasks {
            tallies.push(task.await.context("a load connection task panicked")?);
        }
        anyhow::Ok(tallies)
    })?;

    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut reconnects = 0;
    let mut first_error = None;
    for tally in tallies {
        latencies.extend_from_slice(&tally.latencies_nanos);
        errors += tally.errors;
        reconnects += tally.reconnects;
        first_error = first_error.or(tally.first_error);
    }
    let requests = latencies.len() as u64;
    let seconds = shape.duration.as_secs_f64();
    Ok(LoadResult {
        requests,
        errors,
        seconds,
        requests_per_sec: requests as f64 / seconds,
        latency: summarize(latencies),
        reconnects,
        first_error,
    })
}

async fn drive_connection(
    address: SocketAddr,
    request: Arc<Vec<u8>>,
    expected_status: u16,
    measure_from: Instant,
    end: Instant,
) -> ConnectionTally {
    let mut tally = ConnectionTally::default();
    let mut connection: Option<Connection> = None;
    let mut connect_failures = 0;
    let mut opened_before = false;

    loop {
        let sent_at = Instant::now();
        if sent_at >= end {
            break;
        }
        let counted = sent_at >= measure_from;

        let open = match connection.as_mut() {
            Some(open) => open,
            None => match Connection::open(address).await {
                Ok(fresh) => {
                    connect_failures = 0;
                    if opened_before {
                        tally.reconnects += 1;
                    }
                    opened_before = true;
                    connection.insert(fresh)
                }
                Err(error) => {
                    tally.note_error(counted, || format!("connect to {address}: {error}"));
                    connect_failures += 1;
                    if connect_failures >= MAX_CONSECUTIVE_CONNECT_FAILURES {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };

        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, open.send(&request)).await;
        let done_at = Instant::now();
        let in_window = counted && done_at <= end;
        let keep_connection = match outcome {
            Ok(Ok(response)) if response.status == expected_status => {
                if in_window {
                    tally
                        .latencies_nanos
                        .push((done_at - sent_at).as_nanos() as u64);
                }
                true
            }
            Ok(Ok(response)) => {
                let status = response.status;
                let body = String::from_utf8_lossy(&response.body[..response.body.len().min(300)])
                    .into_owned();
                tally.note_error(in_window, || {
                    format!("HTTP {status} (expected {expected_status}): {body}")
                });
                true
            }
            Ok(Err(error)) => {
                tally.note_error(in_window, || format!("request failed: {error}"));
                false
            }
            Err(_) => {
                tally.note_error(in_window, || {
                    format!("no response within {}s", REQUEST_TIMEOUT.as_secs())
                });
                false
            }
        };
        if !keep_connection || connection.as_ref().is_some_and(Connection::is_closing) {
            connection = None;
        }
    }
    tally
}
