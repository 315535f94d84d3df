//! Times warm snapshots as the daemon takes them: one collector, a cold first snapshot,
//! then repeated snapshots with and without the section cache.
//!
//! `cargo run --release -p deskside-diagnostics --example warm_snapshot [ROUNDS]`

use std::time::{Duration, Instant};

use sysinfo::MINIMUM_CPU_UPDATE_INTERVAL;

use deskside_diagnostics::{Collector, CollectorOptions, NetworkChecks, SnapshotRequest};

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(50);
    let options = CollectorOptions {
        network: NetworkChecks::disabled(),
        ..CollectorOptions::default()
    };
    let mut collector = Collector::new(options);
    let started = Instant::now();
    let cold = collector.snapshot(&SnapshotRequest::all());
    let size = serde_json::to_vec(&cold).map(|j| j.len()).unwrap_or(0);
    println!("cold: {:?}, {size} bytes of JSON", started.elapsed());

    for (label, bypass_cache) in [
        ("warm (cached slow sections)", false),
        ("warm, cache bypassed", true),
    ] {
        let request = SnapshotRequest {
            bypass_cache,
            ..SnapshotRequest::all()
        };
        let mut times: Vec<Duration> = (0..rounds)
            .map(|_| {
                // Far enough apart that every snapshot closes a CPU window itself: the
                // dearer case (a heartbeat's `sample_cpu` would have done it already).
                std::thread::sleep(MINIMUM_CPU_UPDATE_INTERVAL);
                let started = Instant::now();
                let snapshot = collector.snapshot(&request);
                std::hint::black_box(snapshot);
                started.elapsed()
            })
            .collect();
        times.sort();
        let pct = |p: usize| times[(times.len() - 1) * p / 100];
        println!(
            "{label}: p50 {:?}, p90 {:?}, max {:?} over {rounds}",
            pct(50),
            pct(90),
            pct(100)
        );
    }
}
