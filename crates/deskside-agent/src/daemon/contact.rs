//! How the daemon knows (and says) whether it is in touch with the server: the link state
//! shared by the loops, its log lines (one per change, not one per retry) and `status.json`.

use std::sync::Mutex;

use chrono::Utc;
use tokio::sync::{Notify, watch};

use crate::client::ApiError;
use crate::state::{DaemonStatus, StateDir};

/// The daemon's status, kept in memory and written to `status.json` by [`write_status`]
/// whenever it changes (writes coalesce: a burst of changes is one write).
#[derive(Debug, Clone)]
pub struct StatusBoard {
    tx: watch::Sender<DaemonStatus>,
}

impl StatusBoard {
    pub fn new(initial: DaemonStatus) -> (Self, watch::Receiver<DaemonStatus>) {
        let (tx, rx) = watch::channel(initial);
        (StatusBoard { tx }, rx)
    }

    pub fn update(&self, change: impl FnOnce(&mut DaemonStatus)) {
        self.tx.send_modify(change);
    }
}

/// Writes every new status until the board is dropped, then returns (the last status
/// included).
pub async fn write_status(state: StateDir, mut rx: watch::Receiver<DaemonStatus>) {
    let mut failing = false;
    while rx.changed().await.is_ok() {
        let status = rx.borrow_and_update().clone();
        let state = state.clone();
        let written = tokio::task::spawn_blocking(move || state.save_status(&status)).await;
        match written {
            Ok(Ok(())) => failing = false,
            Ok(Err(error)) if !failing => {
                failing = true;
                tracing::error!("cannot write the status file: {error:#}");
            }
            Ok(Err(_)) => {}
            Err(error) => tracing::error!("writing the status file failed: {error}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Starting,
    Up,
    Unreachable,
    CredentialRejected,
}

/// The link to the server as the loops see it.
#[derive(Debug)]
pub struct Contact {
    board: StatusBoard,
    link: Mutex<Link>,
    server_url: String,
    reconnected: Notify,
}

impl Contact {
    pub fn new(board: StatusBoard, server_url: String) -> Self {
        Contact {
            board,
            link: Mutex::new(Link::Starting),
            server_url,
            reconnected: Notify::new(),
        }
    }

    /// The server answered a request as expected.
    pub fn succeeded(&self) {
        let now = Utc::now();
        self.board.update(|s| {
            s.last_contact_at = Some(now);
            s.last_error = None;
            s.last_error_at = None;
        });
        let previous = self.set_link(Link::Up);
        match previous {
            Link::Up => {}
            Link::Starting => tracing::info!(server = %self.server_url, "connected to the server"),
            Link::Unreachable | Link::CredentialRejected => {
                tracing::info!(server = %self.server_url, "the server is reachable again");
                // Loops waiting out a backoff try again now.
                self.reconnected.notify_waiters();
            }
        }
    }

    /// A request failed. Logs when the link changes state; every retry is the loop's.
    pub fn failed(&self, error: &ApiError) {
        let now = Utc::now();
        let answered = matches!(error, ApiError::Refused { .. });
        self.board.update(|s| {
            if answered {
                // The server is there; it refused this one request.
                s.last_contact_at = Some(now);
            }
            s.last_error = Some(error.to_string());
            s.last_error_at = Some(now);
        });
        let link = match error {
            ApiError::Unauthorized { .. } => Link::CredentialRejected,
            ApiError::Refused { .. } => return,
            ApiError::Unreachable(_) | ApiError::Server { .. } | ApiError::InvalidResponse(_) => {
                Link::Unreachable
            }
        };
        if self.set_link(link) == link {
            return;
        }
        match link {
            Link::CredentialRejected => tracing::error!(
                server = %self.server_url,
                "device credential rejected: re-enroll (deskside-agent enroll --force --server URL \
                 --token TOKEN); until then the agent retries every {} s",
                crate::backoff::DEFAULT_MAX.as_secs()
            ),
            _ => tracing::warn!(
                server = %self.server_url,
                "lost contact with the server: {error}; retrying with backoff (at most {} s apart)",
                crate::backoff::DEFAULT_MAX.as_secs()
            ),
        }
    }

    /// Resolves when the link comes back after an outage.
    pub fn reconnected(&self) -> tokio::sync::futures::Notified<'_> {
        self.reconnected.notified()
    }

    fn set_link(&self, link: Link) -> Link {
        let mut current = self.link.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::replace(&mut *current, link)
    }
}
