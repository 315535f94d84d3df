//! SQLite connections: one writer thread that group-commits, a thread that makes those
//! commits durable, and a pool of readers.
//!
//! Durability needs an fsync per commit, and an fsync costs far more than the writes it
//! covers. So all writes go to one thread that takes every request waiting at that moment,
//! runs each in its own savepoint (one failure does not spoil the others), and commits them
//! together. The commit itself does not wait for the disk (`synchronous = NORMAL`): the
//! batch's answers go to a syncer thread, which fsyncs the WAL once for every batch that
//! arrived meanwhile and only then answers the callers. So a request is acknowledged only
//! once its change is on disk, while the writer already runs the next batch instead of
//! idling through the fsync. A single writer also makes read-decide-write sequences serial
//! without locks.
//!
//! One consequence: a reader may see a change up to one fsync before it is durable; a
//! power cut in that window loses a change nobody was told had succeeded.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

use crate::storage::{StorageError, StorageResult};

/// Most requests folded into one transaction; bounds the latency of the batch's last one.
const MAX_BATCH: usize = 512;
/// Most reader connections open at once. Reads beyond this wait for a free one instead of
/// opening more: a burst of thousands of requests (endpoints reconnecting after an outage)
/// must not turn into thousands of SQLite connections, blocking threads and descriptors.
const MAX_READERS: usize = 8;

type Deliver = Box<dyn FnOnce(Option<String>) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> (bool, Deliver) + Send>;
type Deferred = Box<dyn FnOnce(&Connection) -> rusqlite::Result<()>>;

thread_local! {
    /// Work the current job asked to run at the end of its batch, see [`defer_to_commit`].
    static DEFERRED: RefCell<Vec<Deferred>> = const { RefCell::new(Vec::new()) };
}

/// Runs `work` just before the batch commits, outside the job's savepoint, if the job
/// succeeds. For writes whose cost is per savepoint rather than per row: FTS5 flushes its
/// pending index data to a new segment at every savepoint, so indexing inside each job
/// would write one tiny segment per request and keep merging them.
pub fn defer_to_commit(work: impl FnOnce(&Connection) -> rusqlite::Result<()> + 'static) {
    DEFERRED.with(|deferred| deferred.borrow_mut().push(Box::new(work)));
}

fn take_deferred() -> Vec<Deferred> {
    DEFERRED.with(|deferred| std::mem::take(&mut *deferred.borrow_mut()))
}

pub struct Connections {
    path: PathBuf,
    writer: mpsc::Sender<Job>,
    readers: Mutex<Vec<Connection>>,
    reader_slots: tokio::sync::Semaphore,
}

fn open(path: &Path, flags: OpenFlags) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

impl Connections {
    /// Opens (creating if needed) the database, migrates it and starts the writer thread.
    /// The writer keeps the write-ahead log near `wal_limit` bytes, see [`bound_wal`], and
    /// runs `on_writer_thread` first, on its own thread (what only the writer may hold).
    pub fn open(
        path: &Path,
        wal_limit: u64,
        on_writer_thread: impl FnOnce() + Send + 'static,
    ) -> rusqlite::Result<Connections> {
        let mut writer = open(path, OpenFlags::default())?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        // NORMAL: the commit does not fsync; the syncer thread does, before answering.
        writer.pragma_update(None, "synchronous", "NORMAL")?;
        // Each request runs in a savepoint; keep its statement journal off the disk.
        writer.pragma_update(None, "temp_store", "MEMORY")?;
        super::schema::migrate(&mut writer)?;
        // Checkpoints copy the WAL back into the database and fsync it: run them beside the
        // writer instead of inside whichever commit crosses the threshold.
        writer.pragma_update(None, "wal_autocheckpoint", 0)?;
        // Once checkpointed, the WAL is reused from its start; this trims the file back
        // after a burst instead of keeping its largest size forever.
        writer.pragma_update(None, "journal_size_limit", wal_limit as i64)?;
        let checkpointer = open(path, OpenFlags::default())?;
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run_checkpointer(checkpointer))
            .map_err(|e| rusqlite::Error::InvalidParameterName(e.to_string()))?;
        let (committed, to_sync) = mpsc::channel::<Vec<Deliver>>();
        let synced_wal = wal_path(path);
        std::thread::Builder::new()
            .name("sqlite-syncer".into())
            .spawn(move || run_syncer(&synced_wal, to_sync))
            .map_err(|e| rusqlite::Error::InvalidParameterName(e.to_string()))?;
        let (sender, receiver) = mpsc::channel::<Job>();
        let wal = WalBound {
            path: wal_path(path),
            limit: wal_limit,
        };
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                on_writer_thread();
                run_writer(writer, receiver, committed, wal)
            })
            .map_err(|e| rusqlite::Error::InvalidParameterName(e.to_string()))?;
        Ok(Connections {
            path: path.to_owned(),
            writer: sender,
            readers: Mutex::new(Vec::new()),
            reader_slots: tokio::sync::Semaphore::new(MAX_READERS),
        })
    }

    /// A full checkpoint that leaves an empty WAL. Waits for the writer between batches.
    pub fn checkpoint_truncate(&self) -> StorageResult<()> {
        let conn = open(&self.path, OpenFlags::default()).map_err(internal)?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(internal)
    }

    /// Runs `op` in the writer's current transaction; resolves once it is durable.
    pub async fn write<T, F>(&self, op: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StorageResult<T> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = match catch_unwind(AssertUnwindSafe(|| op(conn))) {
                Ok(result) => result,
                Err(_) => Err(StorageError::Internal("a write panicked".into())),
            };
            let ok = result.is_ok();
            let deliver: Deliver = Box::new(move |commit_error| {
                let _ = answer.send(match commit_error {
                    Some(error) if ok => Err(StorageError::Internal(error)),
                    _ => result,
                });
            });
            (ok, deliver)
        });
        self.writer
            .send(job)
            .map_err(|_| StorageError::Internal("the writer thread has stopped".into()))?;
        answered
            .await
            .map_err(|_| StorageError::Internal("the writer dropped a request".into()))?
    }

    /// Runs `op` on a reader connection on a blocking thread.
    pub async fn read<T, F>(&self, op: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StorageResult<T> + Send + 'static,
    {
        let _slot = self
            .reader_slots
            .acquire()
            .await
            .map_err(|_| StorageError::Internal("the reader pool is closed".into()))?;
        let conn = self.take_reader()?;
        let (result, conn) = tokio::task::spawn_blocking(move || {
            let result = op(&conn);
            (result, conn)
        })
        .await
        .map_err(|_| StorageError::Internal("a read panicked".into()))?;
        self.readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
        result
    }

    /// A pooled reader, or a new one; at most `MAX_READERS` exist, as each read holds a slot.
    fn take_reader(&self) -> StorageResult<Connection> {
        if let Some(conn) = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok(conn);
        }
        open(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(internal)
    }
}

/// How often the WAL is copied back into the database. A passive checkpoint never blocks the
/// writer or readers; it just does less when they are busy, and the next one catches up.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

fn run_checkpointer(conn: Connection) {
    loop {
        std::thread::sleep(CHECKPOINT_EVERY);
        if let Err(error) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(%error, "WAL checkpoint failed; retrying");
        }
    }
}

/// Runs a fixed statement through the statement cache: parsing it anew for every request
/// would cost more than executing it.
fn run(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

pub fn internal(error: impl std::fmt::Display) -> StorageError {
    StorageError::Internal(error.to_string())
}

fn wal_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// The write-ahead log and the size it is held to.
struct WalBound {
    path: PathBuf,
    limit: u64,
}

/// Passive checkpoints copy the WAL back but cannot restart it while writes keep coming and
/// readers hold old snapshots, so under a sustained burst it grows without end (625 MB in
/// a 10 s burst of creates). The writer, between batches, sees it past its bound and runs a
/// TRUNCATE checkpoint itself: that waits for readers (busy timeout), copies every frame into
/// the database and syncs it, then empties the log. Writes pause for that long, which is the
/// back-pressure a burst needs; the WAL stays within the bound plus one batch. Frames still
/// waiting for the syncer's fsync are safe: the checkpoint syncs the database holding them.
fn bound_wal(conn: &Connection, wal: &WalBound) {
    let size = std::fs::metadata(&wal.path).map_or(0, |m| m.len());
    if size <= wal.limit {
        return;
    }
    match conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(0) => tracing::debug!(size, "WAL past its bound: checkpointed and truncated"),
        Ok(_) => tracing::warn!(size, "WAL past its bound, but readers kept it busy"),
        Err(error) => tracing::warn!(%error, size, "WAL checkpoint failed; retrying"),
    }
}

fn run_writer(
    conn: Connection,
    jobs: mpsc::Receiver<Job>,
    committed: mpsc::Sender<Vec<Deliver>>,
    wal: WalBound,
) {
    while let Ok(first) = jobs.recv() {
        bound_wal(&conn, &wal);
        let mut batch = Vec::with_capacity(64);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(error) = run(&conn, "BEGIN IMMEDIATE") {
            tracing::error!(%error, "cannot begin a write transaction");
            // Dropping a job drops its answer channel: the caller gets an error, nothing ran.
            drop(batch);
            continue;
        }
        let mut deliveries = Vec::with_capacity(batch.len());
        let mut at_commit: Vec<Deferred> = Vec::new();
        for job in batch {
            let savepoint = run(&conn, "SAVEPOINT job");
            let (ok, deliver) = job(&conn);
            let deferred = take_deferred();
            if savepoint.is_ok() {
                let end = if ok {
                    run(&conn, "RELEASE job")
                } else {
                    run(&conn, "ROLLBACK TO job").and_then(|()| run(&conn, "RELEASE job"))
                };
                if let Err(error) = end {
                    tracing::error!(%error, "savepoint failed");
                }
            }
            if ok {
                at_commit.extend(deferred);
            }
            deliveries.push(deliver);
        }
        let finished = at_commit
            .into_iter()
            .try_for_each(|work| work(&conn))
            .and_then(|()| run(&conn, "COMMIT"));
        match finished {
            Ok(()) => {
                if let Err(mpsc::SendError(deliveries)) = committed.send(deliveries) {
                    // No syncer: make it durable here rather than answer too early.
                    let error = conn
                        .execute_batch("PRAGMA wal_checkpoint(FULL)")
                        .err()
                        .map(|e| e.to_string());
                    deliveries
                        .into_iter()
                        .for_each(|deliver| deliver(error.clone()));
                }
            }
            Err(error) => {
                tracing::error!(%error, "commit failed");
                let _ = conn.execute_batch("ROLLBACK");
                let message = "the database could not save the change".to_owned();
                for deliver in deliveries {
                    deliver(Some(message.clone()));
                }
            }
        }
    }
}

/// Answers committed batches once the WAL holding them is on disk, one fsync for every
/// batch that committed while the previous fsync ran.
fn run_syncer(wal_path: &Path, committed: mpsc::Receiver<Vec<Deliver>>) {
    let mut wal: Option<std::fs::File> = None;
    while let Ok(first) = committed.recv() {
        let mut waiting = vec![first];
        while let Ok(more) = committed.try_recv() {
            waiting.push(more);
        }
        let synced = match &wal {
            Some(file) => file.sync_data(),
            None => std::fs::OpenOptions::new()
                // Write access: Windows flushes only handles opened for writing.
                .write(true)
                .open(wal_path)
                .and_then(|file| {
                    let synced = file.sync_data();
                    wal = Some(file);
                    synced
                }),
        };
        let error = synced.err().map(|error| {
            tracing::error!(%error, "fsync of the write-ahead log failed");
            "the database could not make the change durable".to_owned()
        });
        for deliver in waiting.into_iter().flatten() {
            deliver(error.clone());
        }
    }
}
