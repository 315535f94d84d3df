//! How often a device's agent may get a new requester session for one of its accounts: a
//! token bucket per (device, local user). The desktop app asks at start and when its
//! session ends, so a handful at once and one a minute after that is plenty; a looping or
//! hostile caller gets `429` with `Retry-After` instead of a pile of thirty-day sessions
//! and an audit row for each.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// Sessions one account of one device may get at once.
pub const BURST: u32 = 5;
/// After the burst, one more per this long.
pub const REFILL: Duration = Duration::seconds(60);
/// Accounts tracked at most; full buckets are forgotten first (they carry no state).
const MAX_TRACKED: usize = 100_000;

type Key = (String, String);

#[derive(Default)]
pub struct IssuanceLimiter {
    /// Tokens left and when they were counted.
    buckets: Mutex<HashMap<Key, (f64, DateTime<Utc>)>>,
}

impl IssuanceLimiter {
    /// Takes one issuance for `local_user` on `device_id`, or says how many seconds until
    /// one is available. Checked and counted under one lock: parallel calls cannot all pass.
    pub fn take(&self, device_id: &str, local_user: &str, now: DateTime<Utc>) -> Result<(), i64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_TRACKED {
            buckets.retain(|_, bucket| refilled(*bucket, now) < f64::from(BURST));
            if buckets.len() >= MAX_TRACKED {
                buckets.clear();
            }
        }
        let key = (device_id.to_owned(), local_user.to_owned());
        let bucket = buckets.entry(key).or_insert((f64::from(BURST), now));
        let tokens = refilled(*bucket, now);
        if tokens >= 1.0 {
            *bucket = (tokens - 1.0, now);
            Ok(())
        } else {
            *bucket = (tokens, now);
            let missing = 1.0 - tokens;
            let wait = (missing * REFILL.num_milliseconds() as f64 / 1000.0).ceil() as i64;
            Err(wait.max(1))
        }
    }
}

fn refilled((tokens, at): (f64, DateTime<Utc>), now: DateTime<Utc>) -> f64 {
    let elapsed = (now - at).num_milliseconds().max(0) as f64;
    (tokens + elapsed / REFILL.num_milliseconds() as f64).min(f64::from(BURST))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_one_per_refill_for_each_account_separately() {
        let limiter = IssuanceLimiter::default();
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        for _ in 0..BURST {
            assert_eq!(limiter.take("dev_1", "dana", now), Ok(()));
        }
        assert_eq!(limiter.take("dev_1", "dana", now), Err(60));
        assert_eq!(
            limiter.take("dev_1", "dana", now + Duration::seconds(45)),
            Err(15)
        );
        // Other accounts, and the same name on another device, have their own bucket.
        assert_eq!(limiter.take("dev_1", "DANA", now), Ok(()));
        assert_eq!(limiter.take("dev_2", "dana", now), Ok(()));
        let later = now + REFILL;
        assert_eq!(limiter.take("dev_1", "dana", later), Ok(()));
        assert_eq!(limiter.take("dev_1", "dana", later), Err(60));
    }
}
