//! Latency percentiles from every recorded sample.
//!
//! A run records at most a few million samples, so keeping them all and sorting once is
//! exact and cheap; a histogram would only add a dependency and rounding.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LatencySummary {
    pub samples: usize,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Summarises samples given in nanoseconds; `None` when there are none.
pub fn summarize(mut nanos: Vec<u64>) -> Option<LatencySummary> {
    if nanos.is_empty() {
        return None;
    }
    nanos.sort_unstable();
    let total: u128 = nanos.iter().map(|&sample| u128::from(sample)).sum();
    let to_ms = |value: u64| value as f64 / 1e6;
    Some(LatencySummary {
        samples: nanos.len(),
        mean_ms: total as f64 / nanos.len() as f64 / 1e6,
        p50_ms: to_ms(nearest_rank(&nanos, 0.50)),
        p95_ms: to_ms(nearest_rank(&nanos, 0.95)),
        p99_ms: to_ms(nearest_rank(&nanos, 0.99)),
        max_ms: to_ms(nanos[nanos.len() - 1]),
    })
}

/// The nearest-rank percentile: a value that was actually observed, never interpolated.
fn nearest_rank(sorted: &[u64], quantile: f64) -> u64 {
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_one_to_a_hundred() {
        let summary = summarize((1..=100).rev().map(|ms| ms * 1_000_000).collect()).unwrap();
        assert_eq!(summary.samples, 100);
        assert_eq!(summary.p50_ms, 50.0);
        assert_eq!(summary.p95_ms, 95.0);
        assert_eq!(summary.p99_ms, 99.0);
        assert_eq!(summary.max_ms, 100.0);
        assert_eq!(summary.mean_ms, 50.5);
    }

    #[test]
    fn single_sample_is_every_percentile() {
        let summary = summarize(vec![2_500_000]).unwrap();
        assert_eq!(summary.p50_ms, 2.5);
        assert_eq!(summary.p99_ms, 2.5);
    }

    #[test]
    fn no_samples_no_summary() {
        assert!(summarize(Vec::new()).is_none());
    }
}
