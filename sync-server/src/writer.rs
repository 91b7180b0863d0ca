//! The server's one writer thread: it stores accepted changes with group commit and compacts
//! documents in between.
//!
//! Every push hands its accepted changes to this thread and waits. The thread takes whatever
//! pushes are waiting at that moment and stores them all in one transaction — one fsync for
//! many devices — then answers each. A push is acknowledged only after that transaction is
//! durable, exactly as before; under load, devices simply share the cost of the commit. If a
//! group fails, each push in it is tried on its own, so one bad batch does not fail the others.
//!
//! When no push is waiting the thread compacts documents for cold devices ([`crate::compact`]),
//! a step at a time, so compaction never holds up a push by more than one step.

use crate::error::{Error, Result};
use crate::storage::{NewChange, Storage};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// The most changes stored in one group transaction.
const MAX_GROUP_CHANGES: usize = 20_000;
/// How long the thread waits for a push before looking for documents to compact.
const IDLE: Duration = Duration::from_millis(500);
/// Under a steady stream of pushes, a compaction step still runs this often.
const COMPACT_AT_LEAST_EVERY: Duration = Duration::from_secs(2);

struct Job {
    changes: Vec<NewChange>,
    done: oneshot::Sender<std::result::Result<(), String>>,
}

/// The handle pushes use to reach the writer thread; the thread ends when the handle is dropped.
pub struct Writer {
    jobs: Sender<Job>,
}

impl Writer {
    pub fn start(storage: Arc<dyn Storage>) -> Result<Writer> {
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("ptw-writer".into())
            .spawn(move || run(storage.as_ref(), &queue))
            .map_err(|e| Error::Internal(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer { jobs })
    }

    /// Store `changes` (validated already); returns once they are durable.
    pub async fn store(&self, changes: Vec<NewChange>) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let (done, wait) = oneshot::channel();
        self.jobs.send(Job { changes, done }).map_err(|_| Error::Internal("the writer thread has stopped".into()))?;
        wait.await
            .map_err(|_| Error::Internal("the writer thread stopped before answering".into()))?
            .map_err(Error::Database)
    }
}

fn run(storage: &dyn Storage, queue: &Receiver<Job>) {
    let mut compaction_behind = true;
    let mut last_step = Instant::now();
    loop {
        let wait = if compaction_behind { Duration::ZERO } else { IDLE };
        match queue.recv_timeout(wait) {
            Ok(first) => {
                let mut group = vec![first];
                let mut total = group[0].changes.len();
                while total < MAX_GROUP_CHANGES {
                    let Ok(next) = queue.try_recv() else { break };
                    total += next.changes.len();
                    group.push(next);
                }
                commit(storage, group);
                if last_step.elapsed() >= COMPACT_AT_LEAST_EVERY {
                    compaction_behind = compact_step(storage);
                    last_step = Instant::now();
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                compaction_behind = compact_step(storage);
                last_step = Instant::now();
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

fn commit(storage: &dyn Storage, group: Vec<Job>) {
    let mut all = Vec::new();
    let mut waiting = Vec::with_capacity(group.len());
    for job in group {
        let from = all.len();
        all.extend(job.changes);
        waiting.push((job.done, from..all.len()));
    }
    let result = store_guarded(storage, &all);
    match result {
        Ok(()) => waiting.into_iter().for_each(|(done, _)| {
            let _ = done.send(Ok(()));
        }),
        Err(e) if waiting.len() == 1 => waiting.into_iter().for_each(|(done, _)| {
            let _ = done.send(Err(e.to_string()));
        }),
        Err(e) => {
            tracing::warn!(error = %e, pushes = waiting.len(), "group commit failed; storing each push alone");
            for (done, range) in waiting {
                let _ = done.send(store_guarded(storage, &all[range]).map_err(|e| e.to_string()));
            }
        }
    }
}

/// Store `changes`; a panic in the backend becomes an error for these pushes, and the thread
/// lives on for the next ones (the backend's own transaction rolled back).
fn store_guarded(storage: &dyn Storage, changes: &[NewChange]) -> Result<()> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| storage.store_changes(changes, crate::now_ms())))
        .unwrap_or_else(|_| Err(Error::Internal("storing the changes panicked; nothing was acknowledged".into())))
}

/// One compaction step; `true` when there may be more to do.
fn compact_step(storage: &dyn Storage) -> bool {
    let step = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| crate::compact::step(storage)))
        .unwrap_or_else(|_| Err(Error::Internal("a compaction step panicked".into())));
    match step {
        Ok(n) => n >= crate::compact::STEP_DOCS,
        Err(e) => {
            tracing::warn!(error = %e, "compaction step failed");
            false
        }
    }
}
