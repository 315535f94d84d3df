//! Wakes a device's long-poll the moment an order is queued for it, so an approved action
//! starts within about a second without the endpoint polling often.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

#[derive(Default)]
pub struct OrderWakeups {
    waiting: Mutex<HashMap<String, Arc<Notify>>>,
}

impl OrderWakeups {
    /// The handle a long-poll for `device_id` waits on. Register before checking the queue:
    /// a `notify_one` between the check and the wait is kept as a permit, not lost.
    pub fn handle(&self, device_id: &str) -> Arc<Notify> {
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(device_id.to_owned())
            .or_default()
            .clone()
    }

    pub fn wake(&self, device_id: &str) {
        self.handle(device_id).notify_one();
    }
}
