//! Incremental sync as the desktop app does it: `deskside-client`'s `LocalStore::sync`
//! against the real server over HTTP, into a SQLite file on disk. The store first pulls the
//! whole history; then, again and again, staff make 10 changes and the store syncs, timed.
//! The baseline, measured in the same run and interleaved with it, is a sync when nothing
//! changed: one round trip and an empty commit.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, bail};
use deskside_client::api::TicketFilter;
use deskside_client::{Auth, Client, LocalStore};
use serde::Serialize;

use super::queue::AGENT;
use crate::latency::{LatencySummary, summarize};

/// Changes between two syncs (DESIGN.md's target speaks of 10).
pub const CHANGES: usize = 10;
/// Unmeasured rounds first: connections open, SQLite pages cached.
const WARMUP_ROUNDS: usize = 3;

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    pub tickets: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seeding_seconds: Option<f64>,
    /// What each change is.
    pub change: String,
    pub changes_per_sync: usize,
    pub warmup_rounds: usize,
    pub iterations: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial: Option<InitialSync>,
    /// Sync after 10 changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incremental: Option<LatencySummary>,
    /// Sync with nothing changed: the baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_change: Option<LatencySummary>,
    /// Tickets each sync brought, on average: 10 for the incremental one unless the
    /// server's SLA sweep changed tickets meanwhile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_fetched_incremental: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_fetched_no_change: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitialSync {
    pub seconds: f64,
    pub pages: u32,
    pub tickets: usize,
}

pub fn measure_sync(
    server: SocketAddr,
    iterations: usize,
    dir: &Path,
    report: &mut SyncReport,
) -> anyhow::Result<()> {
    report.change = format!("an internal note by {AGENT} (L1 agent) on an open ticket");
    report.changes_per_sync = CHANGES;
    report.warmup_rounds = WARMUP_ROUNDS;
    report.iterations = iterations;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let store_path = dir.join("store.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", store_path.display()));
    }
    let store = LocalStore::open(&store_path)
        .with_context(|| format!("opening {}", store_path.display()))?;
    runtime.block_on(async {
        let client = Client::new(&format!("http://{server}"))?;
        let login = client
            .login(AGENT, crate::deskside::DEMO_PASSWORD)
            .await
            .with_context(|| format!("logging in as {AGENT}"))?;
        let client = client.with_auth(Auth::Staff { token: login.token });

        let started = Instant::now();
        let initial = store.sync(&client).await.context("the initial sync")?;
        report.initial = Some(InitialSync {
            seconds: started.elapsed().as_secs_f64(),
            pages: initial.pages,
            tickets: initial.fetched.len(),
        });
        eprintln!(
            "[bench]   initial sync: {} tickets in {} pages, {:.1} s",
            initial.fetched.len(),
            initial.pages,
            started.elapsed().as_secs_f64()
        );

        let targets = open_tickets(&client).await?;
        let mut incremental = Vec::with_capacity(iterations);
        let mut no_change = Vec::with_capacity(iterations);
        let (mut fetched_incremental, mut fetched_no_change) = (0, 0);
        for round in 0..WARMUP_ROUNDS + iterations {
            let measured = round >= WARMUP_ROUNDS;
            // The baseline: nothing changed since the last sync.
            let started = Instant::now();
            let unchanged = store.sync(&client).await?;
            let elapsed = started.elapsed();
            if measured {
                no_change.push(elapsed.as_nanos() as u64);
                fetched_no_change += unchanged.fetched.len();
            }

            // 10 changes on 10 distinct tickets, not timed; then the sync that brings them.
            let changed: Vec<i64> = (0..CHANGES)
                .map(|index| targets[(round * CHANGES + index) % targets.len()])
                .collect();
            for &id in &changed {
                client
                    .note(id, &format!("Benchmark note, round {round}."))
                    .await
                    .with_context(|| format!("adding a note to ticket {id}"))?;
            }
            let started = Instant::now();
            let synced = store.sync(&client).await?;
            let elapsed = started.elapsed();
            if let Some(missing) = changed.iter().find(|id| !synced.fetched.contains(id)) {
                bail!("the sync after the changes did not bring ticket {missing}");
            }
            if measured {
                incremental.push(elapsed.as_nanos() as u64);
                fetched_incremental += synced.fetched.len();
            }
        }
        let mean = |total: usize| total as f64 / iterations as f64;
        report.mean_fetched_incremental = Some(mean(fetched_incremental));
        report.mean_fetched_no_change = Some(mean(fetched_no_change));
        report.incremental = summarize(incremental);
        report.no_change = summarize(no_change);
        if let (Some(incremental), Some(no_change)) = (&report.incremental, &report.no_change) {
            eprintln!(
                "[bench]   sync after {CHANGES} changes: p50 {:.2} ms, p95 {:.2} ms; with no change: p50 {:.2} ms",
                incremental.p50_ms, incremental.p95_ms, no_change.p50_ms
            );
        }
        anyhow::Ok(())
    })
}

/// Open tickets to change, enough that each round's 10 are distinct.
async fn open_tickets(client: &Client) -> anyhow::Result<Vec<i64>> {
    let filter = TicketFilter {
        status: vec!["open".to_owned()],
        limit: Some(200),
        ..TicketFilter::default()
    };
    let page = client.list_tickets(&filter).await?;
    let ids: Vec<i64> = page.items.iter().map(|ticket| ticket.id).collect();
    if ids.len() < CHANGES {
        bail!(
            "only {} open tickets to change; {CHANGES} are needed",
            ids.len()
        );
    }
    Ok(ids)
}
