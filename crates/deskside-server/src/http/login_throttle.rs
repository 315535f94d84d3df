//! Slows password guessing down without handing an attacker the power to lock the real user
//! out.
//!
//! Two records count failures: one per (username, client address) and one per username
//! across every address. An attempt is *reserved* under one lock before its password is
//! verified and settled after, so parallel guesses count as soon as they start: at most the
//! free allowance of guesses is ever in flight or spent.
//!
//! - Per address: 3 free failures, then each further attempt must wait twice as long as the
//!   last (1 s, 2 s, … 300 s), one at a time.
//! - Per account: 10 free failures from all addresses together. Past them the account is
//!   under attack: an address that has already failed against it must wait out the
//!   account's own growing lockout (one attempt at a time for all of them); an address with a
//!   clean record for this account still gets through, but only one such attempt is
//!   evaluated at a time. The real user, signing in from an address with no failures, is
//!   never refused for more than the instant another attempt is running; an attacker gets
//!   one guess per fresh address, serialised, however many they send.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Duration, Utc};

use super::client_addr::client_scope;

/// Failures one (username, address) may have before attempts are spaced out.
pub const FREE_FAILURES: u32 = 3;
/// Failures one username may have from all addresses before it is treated as under attack.
pub const ACCOUNT_FREE_FAILURES: u32 = 10;
pub const MAX_LOCKOUT_SECS: i64 = 300;
/// An account's failures are forgotten after this long without one, so a user's typos over
/// months never add up to an attack.
pub const ACCOUNT_MEMORY_MINUTES: i64 = 15;
/// Records kept per table; beyond, the oldest idle half is forgotten (a spray of usernames
/// must not grow memory without bound).
const MAX_TRACKED: usize = 100_000;

/// Lowercased username and the address scope the attempts come from.
type PairKey = (String, IpAddr);

#[derive(Default)]
struct Record {
    failures: u32,
    last_failure: Option<DateTime<Utc>>,
    /// Attempts reserved and not yet settled.
    in_flight: u32,
}

impl Record {
    fn is_idle(&self) -> bool {
        self.failures == 0 && self.in_flight == 0
    }

    /// When the lockout after `failures` beyond `free` ends, if it has not yet.
    fn locked_for(&self, free: u32, now: DateTime<Utc>) -> Option<i64> {
        let lockout = lockout_secs(self.failures, free)?;
        let ready = self.last_failure? + Duration::seconds(lockout);
        (now < ready).then(|| (ready - now).num_seconds().max(1))
    }
}

#[derive(Default)]
struct AccountRecord {
    record: Record,
    /// An attempt from a clean address is being evaluated while the account is under attack.
    clean_in_flight: bool,
}

#[derive(Default)]
struct Tables {
    pairs: HashMap<PairKey, Record>,
    accounts: HashMap<String, AccountRecord>,
}

/// The login throttle; shared by every request.
#[derive(Default)]
pub struct LoginThrottle {
    tables: Arc<Mutex<Tables>>,
}

/// A reserved attempt. Settle it with [`LoginAttempt::failed`] or
/// [`LoginAttempt::succeeded`]; dropped unsettled (an error before the verdict), it is
/// released and counts as neither.
pub struct LoginAttempt {
    tables: Arc<Mutex<Tables>>,
    pair: PairKey,
    clean_slot: bool,
    settled: bool,
}

/// Seconds the client must wait before trying again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub i64);

impl LoginThrottle {
    /// Reserves an attempt for `username` from `ip`, or says how long to wait.
    pub fn begin(
        &self,
        username: &str,
        ip: IpAddr,
        now: DateTime<Utc>,
    ) -> Result<LoginAttempt, RetryAfter> {
        let pair: PairKey = (username.to_lowercase(), client_scope(ip));
        let mut tables = lock(&self.tables);
        let tables = &mut *tables;
        if tables.pairs.len() >= MAX_TRACKED {
            forget_oldest_half(&mut tables.pairs, |r| r);
        }
        if tables.accounts.len() >= MAX_TRACKED {
            forget_oldest_half(&mut tables.accounts, |a| &a.record);
        }
        let from_here = tables.pairs.get(&pair);
        let here_failures = from_here.map_or(0, |r| r.failures);
        let here_in_flight = from_here.map_or(0, |r| r.in_flight);
        // Past the free allowance attempts go one at a time, so parallel guesses cannot all
        // be judged against the record as it was before any of them failed.
        if here_in_flight > 0 && here_failures + here_in_flight >= FREE_FAILURES {
            return Err(RetryAfter(1));
        }
        if let Some(wait) = from_here.and_then(|r| r.locked_for(FREE_FAILURES, now)) {
            return Err(RetryAfter(wait));
        }
        let account = tables.accounts.entry(pair.0.clone()).or_default();
        if account.record.in_flight == 0
            && account
                .record
                .last_failure
                .is_some_and(|last| now - last >= Duration::minutes(ACCOUNT_MEMORY_MINUTES))
        {
            account.record = Record::default();
        }
        let spent = account.record.failures + account.record.in_flight;
        let mut clean_slot = false;
        if spent >= ACCOUNT_FREE_FAILURES {
            if here_failures > 0 || here_in_flight > 0 {
                if account.record.in_flight > 0 {
                    return Err(RetryAfter(1));
                }
                if let Some(wait) = account.record.locked_for(ACCOUNT_FREE_FAILURES, now) {
                    return Err(RetryAfter(wait));
                }
            } else if account.clean_in_flight {
                return Err(RetryAfter(1));
            } else {
                account.clean_in_flight = true;
                clean_slot = true;
            }
        }
        account.record.in_flight += 1;
        tables.pairs.entry(pair.clone()).or_default().in_flight += 1;
        Ok(LoginAttempt {
            tables: self.tables.clone(),
            pair,
            clean_slot,
            settled: false,
        })
    }
}

/// How an attempt ended.
#[derive(Clone, Copy)]
enum Verdict {
    Failed(DateTime<Utc>),
    Succeeded,
    /// No verdict (the request failed before the password was judged).
    Released,
}

impl LoginAttempt {
    /// The password was wrong (or the account unknown): both records count it.
    pub fn failed(mut self, now: DateTime<Utc>) {
        self.settle(Verdict::Failed(now));
    }

    /// The password was right: this address starts afresh for this account. The account's
    /// own count stays (an attack in progress does not end because its owner signed in)
    /// until it has been quiet for [`ACCOUNT_MEMORY_MINUTES`].
    pub fn succeeded(mut self) {
        self.settle(Verdict::Succeeded);
    }

    fn settle(&mut self, verdict: Verdict) {
        self.settled = true;
        let mut tables = lock(&self.tables);
        let tables = &mut *tables;
        if let Some(record) = tables.pairs.get_mut(&self.pair) {
            record.in_flight = record.in_flight.saturating_sub(1);
            match verdict {
                Verdict::Failed(now) => {
                    record.failures += 1;
                    record.last_failure = Some(now);
                }
                Verdict::Succeeded => {
                    record.failures = 0;
                    record.last_failure = None;
                }
                Verdict::Released => {}
            }
            if record.is_idle() {
                tables.pairs.remove(&self.pair);
            }
        }
        if let Some(account) = tables.accounts.get_mut(&self.pair.0) {
            account.record.in_flight = account.record.in_flight.saturating_sub(1);
            if self.clean_slot {
                account.clean_in_flight = false;
            }
            if let Verdict::Failed(now) = verdict {
                account.record.failures += 1;
                account.record.last_failure = Some(now);
            }
            if account.record.is_idle() {
                tables.accounts.remove(&self.pair.0);
            }
        }
    }
}

impl Drop for LoginAttempt {
    fn drop(&mut self) {
        if !self.settled {
            self.settle(Verdict::Released);
        }
    }
}

fn lock(tables: &Mutex<Tables>) -> MutexGuard<'_, Tables> {
    tables.lock().unwrap_or_else(|p| p.into_inner())
}

/// Drops the half of the idle records that failed longest ago; attempts in flight stay.
fn forget_oldest_half<K: Clone + Eq + std::hash::Hash, V>(
    map: &mut HashMap<K, V>,
    record: impl Fn(&V) -> &Record,
) {
    let mut by_age: Vec<(Option<DateTime<Utc>>, K)> = map
        .iter()
        .filter(|(_, v)| record(v).in_flight == 0)
        .map(|(k, v)| (record(v).last_failure, k.clone()))
        .collect();
    by_age.sort_by_key(|(at, _)| *at);
    for (_, key) in by_age.into_iter().take(MAX_TRACKED / 2) {
        map.remove(&key);
    }
}

/// The lockout after `failures`, once more than `free`: 1 s, doubling, up to the ceiling.
fn lockout_secs(failures: u32, free: u32) -> Option<i64> {
    let over = failures.checked_sub(free)?;
    Some((1i64 << over.min(16)).min(MAX_LOCKOUT_SECS))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
    }

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, n])
    }

    #[test]
    fn lockout_grows_then_caps() {
        assert_eq!(lockout_secs(0, FREE_FAILURES), None);
        assert_eq!(lockout_secs(2, FREE_FAILURES), None);
        assert_eq!(lockout_secs(3, FREE_FAILURES), Some(1));
        assert_eq!(lockout_secs(4, FREE_FAILURES), Some(2));
        assert_eq!(lockout_secs(8, FREE_FAILURES), Some(32));
        assert_eq!(lockout_secs(40, FREE_FAILURES), Some(MAX_LOCKOUT_SECS));
    }

    #[test]
    fn throttle_waits_after_free_failures_and_forgets_on_success() {
        let throttle = LoginThrottle::default();
        for _ in 0..3 {
            throttle.begin("Alice", ip(1), at(0)).unwrap().failed(at(0));
        }
        assert!(matches!(
            throttle.begin("ALICE", ip(1), at(0)),
            Err(RetryAfter(1))
        ));
        throttle.begin("alice", ip(1), at(1)).unwrap().succeeded();
        throttle.begin("alice", ip(1), at(1)).unwrap().failed(at(1));
        assert!(
            throttle.begin("alice", ip(1), at(1)).is_ok(),
            "counting starts again"
        );
    }

    #[test]
    fn reserved_attempts_count_before_their_verdict() {
        let throttle = LoginThrottle::default();
        let held: Vec<_> = (0..3)
            .map(|_| throttle.begin("bob", ip(1), at(0)).unwrap())
            .collect();
        assert_eq!(
            throttle.begin("bob", ip(1), at(0)).err(),
            Some(RetryAfter(1))
        );
        // Released unsettled (the request failed before its verdict): nothing is counted.
        drop(held);
        for _ in 0..3 {
            throttle.begin("bob", ip(1), at(0)).unwrap().failed(at(0));
        }
        assert!(throttle.begin("bob", ip(1), at(0)).is_err());
    }

    #[test]
    fn an_account_under_attack_lets_one_clean_address_at_a_time_through() {
        let throttle = LoginThrottle::default();
        // Ten failures from five addresses spend the account's allowance.
        for n in 0..10u8 {
            throttle
                .begin("carol", ip(n / 2), at(0))
                .unwrap()
                .failed(at(0));
        }
        // An address that failed waits for the account's lockout, though its own allows it.
        assert_eq!(
            throttle.begin("carol", ip(0), at(0)).err(),
            Some(RetryAfter(1))
        );
        // A clean address gets through, one at a time.
        let clean = throttle.begin("carol", ip(50), at(0)).unwrap();
        assert_eq!(
            throttle.begin("carol", ip(51), at(0)).err(),
            Some(RetryAfter(1))
        );
        clean.failed(at(0));
        // Now dirty itself; the next clean one may go.
        assert!(throttle.begin("carol", ip(50), at(0)).is_err());
        throttle.begin("carol", ip(51), at(0)).unwrap().succeeded();
        // Other accounts are untouched.
        assert!(throttle.begin("dave", ip(0), at(0)).is_ok());
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        let throttle = LoginThrottle::default();
        for host in 1..=3u16 {
            let ip = IpAddr::from([0x2001, 0xdb8, 0, 1, 0, 0, 0, host]);
            throttle.begin("erin", ip, at(0)).unwrap().failed(at(0));
        }
        let same_net = IpAddr::from([0x2001, 0xdb8, 0, 1, 9, 9, 9, 9]);
        assert!(throttle.begin("erin", same_net, at(0)).is_err());
        let other_net = IpAddr::from([0x2001, 0xdb8, 0, 2, 0, 0, 0, 1]);
        assert!(throttle.begin("erin", other_net, at(0)).is_ok());
    }
}
