//! Exponential backoff with full jitter, for retrying a server that is away.
//!
//! After the n-th consecutive failure the wait is drawn uniformly from
//! `[0, min(max, base · 2ⁿ⁻¹)]` ("full jitter"): thousands of endpoints that lost the server at
//! the same moment spread their retries over the whole window instead of returning in
//! waves. A short floor keeps a retry from ever being immediate. Pure: the caller passes the
//! random draw, so tests fix it.

use std::time::Duration;

/// Where the window starts and where it stops growing.
pub const DEFAULT_BASE: Duration = Duration::from_secs(1);
pub const DEFAULT_MAX: Duration = Duration::from_secs(60);

/// No wait is shorter than this, whatever the draw.
pub const FLOOR: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    failures: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(DEFAULT_BASE, DEFAULT_MAX)
    }
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Self {
        Backoff {
            base,
            max: max.max(base),
            failures: 0,
        }
    }

    /// Consecutive failures since the last success.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The upper end of the window the next wait is drawn from.
    pub fn window(&self) -> Duration {
        let doublings = self.failures.saturating_sub(1).min(31);
        self.base
            .checked_mul(1u32 << doublings)
            .map_or(self.max, |d| d.min(self.max))
    }

    /// Records a failure and returns how long to wait before retrying. `draw` is a uniform
    /// random number in `[0, 1)`; values outside are clamped.
    pub fn next_delay(&mut self, draw: f64) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let draw = if draw.is_finite() {
            draw.clamp(0.0, 1.0)
        } else {
            1.0
        };
        self.window().mul_f64(draw).max(FLOOR)
    }

    /// Records a failure that retrying soon will not fix (the server refused our
    /// credential): wait the maximum, without jitter.
    pub fn at_max(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        self.max
    }

    /// A success: the next failure starts from the base again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn the_window_doubles_from_the_base_and_stops_at_the_max() {
        let mut backoff = Backoff::default();
        let windows: Vec<Duration> = (0..9)
            .map(|_| {
                backoff.next_delay(0.5);
                backoff.window()
            })
            .collect();
        assert_eq!(
            windows,
            [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0].map(secs)
        );
    }

    #[test]
    fn the_wait_is_the_draw_scaled_to_the_window() {
        // (draws so far, draw) → wait
        let cases = [
            (vec![], 0.5, secs(0.5)),
            (vec![0.0], 0.5, secs(1.0)),
            (vec![0.0, 0.0], 0.25, secs(1.0)),
            (vec![0.0; 7], 0.75, secs(45.0)),
            (vec![0.0; 40], 1.0, secs(60.0)),
        ];
        for (before, draw, expected) in cases {
            let mut backoff = Backoff::default();
            for d in &before {
                backoff.next_delay(*d);
            }
            assert_eq!(backoff.next_delay(draw), expected, "after {before:?}");
        }
    }

    #[test]
    fn draws_are_clamped_and_never_below_the_floor() {
        let mut backoff = Backoff::default();
        assert_eq!(backoff.next_delay(0.0), FLOOR);
        assert_eq!(backoff.next_delay(-3.0), FLOOR);
        assert_eq!(backoff.next_delay(7.0), secs(4.0));
        assert_eq!(backoff.next_delay(f64::NAN), secs(8.0));
    }

    #[test]
    fn a_success_resets_and_a_refused_credential_waits_the_max() {
        let mut backoff = Backoff::default();
        for _ in 0..5 {
            backoff.next_delay(1.0);
        }
        assert_eq!(backoff.failures(), 5);
        backoff.reset();
        assert_eq!(backoff.failures(), 0);
        assert_eq!(backoff.next_delay(1.0), secs(1.0));
        assert_eq!(backoff.at_max(), DEFAULT_MAX);
        assert_eq!(backoff.at_max(), DEFAULT_MAX);
    }

    #[test]
    fn huge_failure_counts_do_not_overflow() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(3600));
        backoff.failures = u32::MAX - 1;
        assert_eq!(backoff.next_delay(1.0), Duration::from_secs(3600));
        assert_eq!(backoff.next_delay(1.0), Duration::from_secs(3600));
    }
}
