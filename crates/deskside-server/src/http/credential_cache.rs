//! A short-lived cache of resolved credentials, so the hot path of an authenticated request
//! does not wait on a database read. Logout, a revoked requester session and a removed
//! device are evicted at once on this instance; a deactivated account or any of those on
//! another instance take effect within [`CACHE_TTL`].

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::storage::{Device, StaffUser};

/// What a credential resolved to.
#[derive(Debug, Clone)]
pub enum Principal {
    Staff(StaffUser),
    Device(Device),
    /// A requester session: the user signed in on `device`, as its agent vouched for them.
    Requester {
        device: Device,
        username: String,
        display_name: String,
    },
}

pub const CACHE_TTL: Duration = Duration::seconds(30);
const MAX_ENTRIES: usize = 50_000;

#[derive(Default)]
pub struct CredentialCache {
    entries: Mutex<HashMap<String, (Principal, DateTime<Utc>)>>,
}

impl CredentialCache {
    /// The principal behind a credential hash, if resolved within the TTL.
    pub fn get(&self, credential_hash: &str, now: DateTime<Utc>) -> Option<Principal> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (principal, valid_until) = entries.get(credential_hash)?;
        (now < *valid_until).then(|| principal.clone())
    }

    /// Remembers a principal until `min(now + TTL, expires_at)`.
    pub fn put(
        &self,
        credential_hash: String,
        principal: Principal,
        now: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) {
        let valid_until = expires_at.map_or(now + CACHE_TTL, |e| e.min(now + CACHE_TTL));
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (_, until)| *until > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(credential_hash, (principal, valid_until));
    }

    /// Forgets every credential resolved for `device_id`: its own and its requester
    /// sessions, so a removed device stops at once on this instance.
    pub fn evict_device(&self, device_id: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, (principal, _)| match principal {
                Principal::Device(device) | Principal::Requester { device, .. } => {
                    device.id != device_id
                }
                Principal::Staff(_) => true,
            });
    }

    pub fn evict(&self, credential_hash: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(credential_hash);
    }
}
