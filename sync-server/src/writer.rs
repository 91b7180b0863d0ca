//! The server's one writer thread: it judges pushed changes against the stored documents,
//! stores the accepted ones with group commit, and compacts documents in between.
//!
//! Every push hands its changes to this thread and waits. The thread takes whatever pushes are
//! waiting at that moment, judges their changes one after another ([`crate::judge`]) — so each
//! is judged against exactly what is stored plus what was accepted just before it — and stores
//! all the accepted ones in one transaction, one fsync for many devices, then answers each. A
//! push is acknowledged only after that transaction is durable. If a group fails to store,
//! each push in it is judged and stored on its own, so one bad batch does not fail the others.
//!
//! When no push is waiting the thread compacts documents for cold devices ([`crate::compact`]),
//! a step at a time, so compaction never holds up a push by more than one step.

use crate::docs::DocCache;
use crate::error::{Error, Result};
use crate::judge::{Group, Judge, Prepared, Verdict};
use crate::notify::ChangeFeed;
use crate::registry::ServerRegistry;
use crate::storage::{NewChange, Storage};
use ptw_core::signature::SignatureMemo;
use ptw_core::sync::{PushResponse, Refusal, WireChange};
use ptw_core::DeviceId;
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
    device: DeviceId,
    changes: Vec<Prepared>,
    done: oneshot::Sender<std::result::Result<PushResponse, String>>,
}

/// What the writer thread works with.
struct Context {
    storage: Arc<dyn Storage>,
    registry: Arc<ServerRegistry>,
    memo: Arc<SignatureMemo>,
    epoch: Arc<str>,
    docs: DocCache,
    feed: Arc<ChangeFeed>,
}

/// The handle pushes use to reach the writer thread; the thread ends when the handle is dropped.
pub struct Writer {
    jobs: Sender<Job>,
    registry: Arc<ServerRegistry>,
    memo: Arc<SignatureMemo>,
}

impl Writer {
    pub fn start(
        storage: Arc<dyn Storage>,
        registry: Arc<ServerRegistry>,
        memo: Arc<SignatureMemo>,
        epoch: Arc<str>,
        feed: Arc<ChangeFeed>,
    ) -> Result<Writer> {
        let (jobs, queue) = mpsc::channel();
        let handle = Writer { jobs, registry: registry.clone(), memo: memo.clone() };
        let mut ctx = Context { storage, registry, memo, epoch, docs: DocCache::default(), feed };
        std::thread::Builder::new()
            .name("ptw-writer".into())
            .spawn(move || run(&mut ctx, &queue))
            .map_err(|e| Error::Internal(format!("cannot start the writer thread: {e}")))?;
        Ok(handle)
    }

    /// Judge and store the changes `device` pushed; answers once the accepted ones are durable.
    /// The changes are read, and their signatures checked, on a thread of this push's own
    /// ([`crate::judge::prepare`]), so many pushes do that side by side; only judging and storing
    /// wait for the writer thread.
    pub async fn push(&self, device: DeviceId, changes: Vec<WireChange>) -> Result<PushResponse> {
        let (registry, memo) = (self.registry.clone(), self.memo.clone());
        let changes = tokio::task::spawn_blocking(move || crate::judge::prepare(changes, &registry.current(), &memo))
            .await
            .map_err(|e| Error::Internal(format!("reading the pushed changes failed: {e}")))?;
        let (done, wait) = oneshot::channel();
        self.jobs
            .send(Job { device, changes, done })
            .map_err(|_| Error::Internal("the writer thread has stopped".into()))?;
        wait.await
            .map_err(|_| Error::Internal("the writer thread stopped before answering".into()))?
            .map_err(Error::Database)
    }
}

fn run(ctx: &mut Context, queue: &Receiver<Job>) {
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
                commit(ctx, group);
                if last_step.elapsed() >= COMPACT_AT_LEAST_EVERY {
                    compaction_behind = compact_step(ctx.storage.as_ref());
                    last_step = Instant::now();
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                compaction_behind = compact_step(ctx.storage.as_ref());
                last_step = Instant::now();
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Judge a group of pushes and store what they accepted in one transaction, then answer them;
/// when storing fails, each push goes again on its own.
fn commit(ctx: &mut Context, mut group: Vec<Job>) {
    let judged = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| judge_all(ctx, &mut group)))
        .unwrap_or_else(|_| Err(Error::Internal("judging the changes panicked".into())));
    let (responses, accepted) = match judged {
        Ok(j) => j,
        Err(e) => {
            ctx.docs.rolled_back();
            return answer_each_alone(ctx, group, e);
        }
    };
    match store_guarded(ctx.storage.as_ref(), &accepted) {
        Ok(()) => {
            ctx.docs.committed();
            for (job, response) in group.into_iter().zip(responses) {
                let _ = job.done.send(Ok(response));
            }
            if !accepted.is_empty() {
                // Devices waiting on a change pull now.
                match ctx.storage.max_seq() {
                    Ok(seq) => ctx.feed.changes_stored(seq),
                    Err(e) => tracing::warn!(error = %e, "reading the newest change number failed"),
                }
            }
        }
        Err(e) => {
            ctx.docs.rolled_back();
            answer_each_alone(ctx, group, e);
        }
    }
}

fn answer_each_alone(ctx: &mut Context, group: Vec<Job>, e: Error) {
    if group.len() == 1 {
        for job in group {
            let _ = job.done.send(Err(e.to_string()));
        }
        return;
    }
    tracing::warn!(error = %e, pushes = group.len(), "group commit failed; storing each push alone");
    for job in group {
        commit(ctx, vec![job]);
    }
}

/// Every push's answer, and the changes to store.
fn judge_all(ctx: &mut Context, group: &mut [Job]) -> Result<(Vec<PushResponse>, Vec<NewChange>)> {
    ctx.registry.refresh(ctx.storage.as_ref())?;
    let registry = ctx.registry.current();
    let now_ms = crate::now_ms();
    let recovery = ctx.storage.recovery_until_ms()? > now_ms;
    let mut state = Group::default();
    let mut responses = Vec::with_capacity(group.len());
    let mut accepted = Vec::new();
    for job in group {
        let hashes: Vec<String> = job.changes.iter().map(|c| c.wire.hash.clone()).collect();
        let known = ctx.storage.known_changes(&hashes)?;
        let mut response = PushResponse { epoch: ctx.epoch.to_string(), ..PushResponse::default() };
        let mut answered = std::collections::HashSet::new();
        for prepared in &mut job.changes {
            let hash = prepared.wire.hash.clone();
            if !answered.insert(hash.clone()) {
                continue;
            }
            if known.contains(&hash) || state.accepted.contains(&hash) {
                response.acked.push(hash);
                continue;
            }
            let mut judge = Judge {
                storage: ctx.storage.as_ref(),
                registry: &registry,
                memo: &ctx.memo,
                now_ms,
                recovery,
                docs: &mut ctx.docs,
                group: &mut state,
            };
            match judge.judge(job.device, prepared)? {
                Verdict::Accept(new) => {
                    response.acked.push(hash);
                    accepted.push(*new);
                }
                Verdict::Refuse { code, reason } => {
                    tracing::warn!(device = %job.device, hash = %hash, ?code, reason = ?reason, "change refused");
                    response.refused.push(Refusal { hash, code, reason });
                }
            }
        }
        responses.push(response);
    }
    Ok((responses, accepted))
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
