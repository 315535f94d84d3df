//! Live reload of the policy file. Watches the file's directory (editors and config
//! management replace files by rename, which a watch on the file itself would lose), waits
//! for writes to settle, reloads, and swaps the new policy in only if it is valid: an
//! invalid file is reported and the last good policy stays in force.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use super::{Policy, PolicyError};

/// How long the file must be quiet before it is read: one save is often several events
/// (truncate, write, close, rename), and reading mid-save would report a spurious error.
const SETTLE: Duration = Duration::from_millis(50);
/// However busy the directory, a reload happens this soon after the first change.
const MAX_SETTLE: Duration = Duration::from_millis(500);

/// The policy in force, shared by whoever checks orders. Cheap to clone; readers get an
/// `Arc<Policy>` snapshot and never block a reload for long.
#[derive(Debug, Clone)]
pub struct PolicyHandle(Arc<RwLock<Arc<Policy>>>);

impl PolicyHandle {
    /// A handle that never changes (an endpoint without a policy file, tests).
    pub fn fixed(policy: Policy) -> Self {
        Self(Arc::new(RwLock::new(Arc::new(policy))))
    }

    pub fn current(&self) -> Arc<Policy> {
        Arc::clone(&self.0.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn replace(&self, policy: Arc<Policy>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = policy;
    }
}

/// What the watcher reports to its callback.
#[derive(Debug, Clone)]
pub enum PolicyEvent {
    /// A new, valid policy is now in force.
    Reloaded(Arc<Policy>),
    /// The file could not be read or is invalid; the previous policy stays in force.
    Rejected(PolicyError),
}

type Callback = Arc<dyn Fn(&PolicyEvent) + Send + Sync>;

/// Owns the file watch and its reload thread; dropping it stops both.
pub struct PolicyWatcher {
    handle: PolicyHandle,
    path: PathBuf,
    watcher: Option<RecommendedWatcher>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for PolicyWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyWatcher")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl PolicyWatcher {
    /// Loads `path` and keeps it loaded. If the file is missing or invalid at start,
    /// `fallback` is in force (callers choose: `Policy::default()` or `Policy::deny_all()`)
    /// and the problem is reported through `on_event` and the log. Fails only when the
    /// directory cannot be watched.
    pub fn start(
        path: impl Into<PathBuf>,
        fallback: Policy,
        on_event: impl Fn(&PolicyEvent) + Send + Sync + 'static,
    ) -> Result<Self, notify::Error> {
        let path: PathBuf = path.into();
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let file_name = path
            .file_name()
            .ok_or_else(|| notify::Error::generic("the policy path has no file name"))?
            .to_owned();
        let (tx, rx) = channel();
        let mut watcher = notify::recommended_watcher(tx)?;
        // Watch before the first read, so a change between the two is not lost.
        watcher.watch(&dir, RecursiveMode::NonRecursive)?;

        let on_event: Callback = Arc::new(on_event);
        let handle = PolicyHandle::fixed(fallback);
        let reloader = Reloader {
            path: path.clone(),
            handle: handle.clone(),
            on_event,
        };
        reloader.reload();
        let thread = std::thread::Builder::new()
            .name("policy-watcher".into())
            .spawn(move || reloader.run(rx, file_name))
            .map_err(notify::Error::io)?;
        Ok(Self {
            handle,
            path,
            watcher: Some(watcher),
            thread: Some(thread),
        })
    }

    pub fn handle(&self) -> PolicyHandle {
        self.handle.clone()
    }

    pub fn current(&self) -> Arc<Policy> {
        self.handle.current()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PolicyWatcher {
    fn drop(&mut self) {
        // Dropping the watcher drops its channel sender, which ends the reload thread.
        drop(self.watcher.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Reloader {
    path: PathBuf,
    handle: PolicyHandle,
    on_event: Callback,
}

impl Reloader {
    fn run(self, rx: Receiver<notify::Result<Event>>, file_name: OsString) {
        let concerns_us = |event: &notify::Result<Event>| match event {
            Ok(e) => {
                !matches!(
                    e.kind,
                    EventKind::Access(
                        AccessKind::Open(_)
                            | AccessKind::Read
                            | AccessKind::Close(AccessMode::Read)
                    )
                ) && e
                    .paths
                    .iter()
                    .any(|p| p.file_name() == Some(file_name.as_os_str()))
            }
            Err(e) => {
                tracing::warn!(error = %e, "policy file watch reported an error");
                false
            }
        };
        while let Ok(event) = rx.recv() {
            if !concerns_us(&event) {
                continue;
            }
            // Let the save finish: drain until no event about the policy file arrives for
            // SETTLE. Other files in the directory (a busy state dir) neither extend the
            // wait nor can postpone the reload past MAX_SETTLE.
            let started = std::time::Instant::now();
            let mut quiet_since = started;
            while started.elapsed() < MAX_SETTLE {
                match rx.recv_timeout(SETTLE.saturating_sub(quiet_since.elapsed())) {
                    Ok(event) if concerns_us(&event) => quiet_since = std::time::Instant::now(),
                    Ok(_) => {}
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
            self.reload();
        }
    }

    fn reload(&self) {
        match Policy::load(&self.path) {
            Ok(policy) => {
                if *self.handle.current() == policy {
                    return;
                }
                let policy = Arc::new(policy);
                self.handle.replace(Arc::clone(&policy));
                tracing::info!(path = %self.path.display(), "policy reloaded");
                (self.on_event)(&PolicyEvent::Reloaded(policy));
            }
            Err(error) => {
                tracing::error!(
                    %error,
                    "policy file rejected; the previous policy stays in force"
                );
                (self.on_event)(&PolicyEvent::Rejected(error));
            }
        }
    }
}
