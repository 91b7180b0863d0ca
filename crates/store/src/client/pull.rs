//! Pulling: where pulling stands (the [`Cursor`], saved with every page applied), the pages of
//! a cold start and of ordinary pulls, and the registry entries that travel with them — applied
//! before each page's changes, since permits are derived against the registry.

use super::http::SyncClient;
use super::{SyncOptions, SyncReport, PULL_MAX_BYTES};
use crate::error::{Result, StoreError};
use crate::sync::{ColdDoc, RemoteChange};
use crate::Store;
use chrono::{DateTime, Utc};
use ptw_core::api::SyncFailure;
use ptw_core::authority::SignedEntry;
use ptw_core::sync::{PullResponse, SnapshotResponse};

/// Where pulling stands, saved with each page applied: `<epoch>:<seq>` once caught up with a
/// server, `<epoch>:cold:<upto>:<after document>` in the middle of a cold start, nothing before
/// the first page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Cursor {
    Start,
    Cold { epoch: String, upto: i64, after: String },
    Warm { epoch: String, since: i64 },
}

impl Cursor {
    pub(super) fn parse(saved: Option<&str>) -> Cursor {
        let Some(text) = saved else { return Cursor::Start };
        let parts: Vec<&str> = text.splitn(4, ':').collect();
        match parts.as_slice() {
            [epoch, "cold", upto, after] => match upto.parse() {
                Ok(upto) => Cursor::Cold { epoch: epoch.to_string(), upto, after: after.to_string() },
                Err(_) => Cursor::Start,
            },
            [epoch, since] => match since.parse() {
                Ok(since) => Cursor::Warm { epoch: epoch.to_string(), since },
                Err(_) => Cursor::Start,
            },
            _ => Cursor::Start,
        }
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cursor::Start => Ok(()),
            Cursor::Cold { epoch, upto, after } => write!(f, "{epoch}:cold:{upto}:{after}"),
            Cursor::Warm { epoch, since } => write!(f, "{epoch}:{since}"),
        }
    }
}

impl Store {
    pub(super) fn pull(
        &mut self,
        client: &SyncClient,
        token: &str,
        now: DateTime<Utc>,
        limits: &SyncOptions,
        report: &mut SyncReport,
    ) -> Result<()> {
        let saved = self.sync_cursor()?;
        let mut cursor = Cursor::parse(saved.as_deref());
        // The next cold-start page, already being downloaded while this one is applied.
        let mut prefetched: Option<Prefetch> = None;
        while report.round_trips < limits.max_requests {
            cursor = match cursor {
                Cursor::Start => self.cold_page(client, token, None, &mut prefetched, now, limits, report)?,
                Cursor::Cold { epoch, upto, after } => {
                    self.cold_page(client, token, Some((&epoch, upto, &after)), &mut prefetched, now, limits, report)?
                }
                Cursor::Warm { epoch, since } => {
                    match self.warm_page(client, token, &epoch, since, saved.as_deref(), now, limits, report)? {
                        Some(next) => next,
                        None => {
                            self.observe(report);
                            return Ok(());
                        }
                    }
                }
            };
            self.observe(report);
        }
        Ok(())
    }

    /// Apply registry entries that came with a page; `true` when any were new.
    fn take_registry(&mut self, entries: &[SignedEntry], now: DateTime<Utc>, report: &mut SyncReport) -> Result<bool> {
        if entries.is_empty() {
            return Ok(false);
        }
        match self.apply_registry(entries, now) {
            Ok(r) => {
                report.registry_entries += r.applied;
                Ok(r.applied > 0)
            }
            Err(StoreError::Registry(e)) => Err(StoreError::sync(
                SyncFailure::BadRegistry,
                format!("the registry the server sent does not check against its pinned key: {e}"),
            )),
            Err(e) => Err(e),
        }
    }

    /// The `registry_after` query parameter: the last registry entry held, if any.
    fn registry_query(&self) -> Vec<(&'static str, String)> {
        self.registry_head().map(|h| vec![("registry_after", h.to_string())]).unwrap_or_default()
    }

    /// One page of a cold start, the first or one after `(epoch, upto, after)`; the cursor to
    /// carry on from. While the page is applied, the next one is downloaded (`prefetched`), so
    /// the device's cores never wait for the network between pages; a prefetched page is used
    /// only for the cursor it was asked for, and only within the round's request budget.
    #[allow(clippy::too_many_arguments)]
    fn cold_page(
        &mut self,
        client: &SyncClient,
        token: &str,
        resume: Option<(&str, i64, &str)>,
        prefetched: &mut Option<Prefetch>,
        now: DateTime<Utc>,
        limits: &SyncOptions,
        report: &mut SyncReport,
    ) -> Result<Cursor> {
        let wanted = resume.map(|(_, upto, after)| (upto, after.to_string()));
        let registry = self.registry_query();
        let page = match prefetched.take() {
            Some(p) if p.resume == wanted && p.registry == registry => p.join(report)?,
            _ => fetch_cold_page(client, token, wanted, &registry, limits, report)?,
        };
        if resume.is_some_and(|(epoch, _, _)| epoch != page.epoch) {
            // The server's database was replaced in the middle: send everything up, start again.
            report.requeued += self.requeue_everything(now)?;
            return Ok(Cursor::Start);
        }
        if resume.is_some_and(|(_, upto, _)| upto != page.upto) {
            return Ok(Cursor::Start);
        }
        let registry_changed = self.take_registry(&page.registry, now, report)?;
        let next = if page.more {
            Cursor::Cold { epoch: page.epoch.clone(), upto: page.upto, after: page.next_after.clone() }
        } else if page.registry_more {
            // The documents are done but the registry is not: ask again from the start of the
            // same pages until it is (the documents already held are recognised).
            Cursor::Cold { epoch: page.epoch.clone(), upto: page.upto, after: page.next_after.clone() }
        } else {
            Cursor::Warm { epoch: page.epoch.clone(), since: page.upto }
        };
        let next_registry = if registry_changed { self.registry_query() } else { registry };
        if page.more && report.round_trips < limits.max_requests {
            *prefetched =
                Some(Prefetch::start(client, token, (page.upto, page.next_after.clone()), next_registry, limits));
        }
        let docs: Vec<ColdDoc> = page
            .docs
            .into_iter()
            .map(|d| ColdDoc {
                changes: d
                    .changes
                    .into_iter()
                    .map(|c| RemoteChange { doc_id: c.doc_id, kind: c.kind, hash: c.hash, bytes: c.bytes })
                    .collect(),
                doc_id: d.doc_id,
                kind: d.kind,
                snapshot: d.snapshot,
                snapshot_changes: d.snapshot_changes,
            })
            .collect();
        report.pulled += docs.iter().map(|d| d.snapshot_changes as usize + d.changes.len()).sum::<usize>();
        report.snapshots += docs.iter().filter(|d| !d.snapshot.is_empty()).count();
        let started = std::time::Instant::now();
        let applied = self.apply_cold_page(&docs, Some(&next.to_string()), now)?;
        report.applied += applied.applied;
        report.quarantined += applied.quarantined.len();
        report.apply_ms += u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(next)
    }

    /// One page of an ordinary pull; `None` when caught up.
    #[allow(clippy::too_many_arguments)]
    fn warm_page(
        &mut self,
        client: &SyncClient,
        token: &str,
        epoch: &str,
        since: i64,
        saved: Option<&str>,
        now: DateTime<Utc>,
        limits: &SyncOptions,
        report: &mut SyncReport,
    ) -> Result<Option<Cursor>> {
        let mut query = vec![
            ("since", since.to_string()),
            ("max_changes", limits.pull_max_changes.to_string()),
            ("max_bytes", PULL_MAX_BYTES.to_string()),
        ];
        query.extend(self.registry_query());
        let page: PullResponse = client.round_trip(token, "/api/sync/pull", &query, None::<&()>, "pull", report)?;
        if page.epoch != epoch {
            // Another database on the server side (restored, replaced): everything this device
            // holds goes up again, and pulling starts cold; what it already has is recognised.
            report.requeued += self.requeue_everything(now)?;
            return Ok(Some(Cursor::Start));
        }
        self.take_registry(&page.registry, now, report)?;
        report.pulled += page.changes.len();
        let changes: Vec<RemoteChange> = page
            .changes
            .into_iter()
            .map(|p| RemoteChange {
                doc_id: p.change.doc_id,
                kind: p.change.kind,
                hash: p.change.hash,
                bytes: p.change.bytes,
            })
            .collect();
        let next = Cursor::Warm { epoch: epoch.to_string(), since: page.next_cursor };
        let text = next.to_string();
        if !changes.is_empty() || saved != Some(text.as_str()) {
            let started = std::time::Instant::now();
            let applied = self.apply_remote(&changes, Some(&text), now)?;
            report.applied += applied.applied;
            report.quarantined += applied.quarantined.len();
            report.apply_ms += u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        }
        Ok((page.more || page.registry_more).then_some(next))
    }
}

/// `GET /api/sync/snapshot`: one page of a cold start, the first (`resume` None) or the one
/// after `(upto, after)`.
fn fetch_cold_page(
    client: &SyncClient,
    token: &str,
    resume: Option<(i64, String)>,
    registry: &[(&'static str, String)],
    limits: &SyncOptions,
    report: &mut SyncReport,
) -> Result<SnapshotResponse> {
    let mut query = vec![("max_docs", limits.pull_max_changes.to_string()), ("max_bytes", PULL_MAX_BYTES.to_string())];
    if let Some((upto, after)) = resume {
        query.push(("upto", upto.to_string()));
        query.push(("after", after));
    }
    query.extend(registry.iter().cloned());
    client.round_trip(token, "/api/sync/snapshot", &query, None::<&()>, "cold start", report)
}

/// A cold-start page being downloaded on its own thread.
pub(crate) struct Prefetch {
    resume: Option<(i64, String)>,
    registry: Vec<(&'static str, String)>,
    handle: std::thread::JoinHandle<(Result<SnapshotResponse>, SyncReport)>,
}

impl Prefetch {
    fn start(
        client: &SyncClient,
        token: &str,
        resume: (i64, String),
        registry: Vec<(&'static str, String)>,
        limits: &SyncOptions,
    ) -> Prefetch {
        let (client, token, limits, wanted, asked) =
            (client.clone(), token.to_string(), *limits, resume.clone(), registry.clone());
        let handle = std::thread::spawn(move || {
            let mut traffic = SyncReport::default();
            let page = fetch_cold_page(&client, &token, Some(wanted), &asked, &limits, &mut traffic);
            (page, traffic)
        });
        Prefetch { resume: Some(resume), registry, handle }
    }

    /// The downloaded page; its round trip and bytes are added to `report`.
    fn join(self, report: &mut SyncReport) -> Result<SnapshotResponse> {
        let (page, traffic) = self.handle.join().map_err(|_| {
            StoreError::sync(SyncFailure::BadAnswer, "cold start: downloading the next page failed unexpectedly")
        })?;
        report.round_trips += traffic.round_trips;
        report.bytes_sent += traffic.bytes_sent;
        report.bytes_received += traffic.bytes_received;
        page
    }
}

#[cfg(test)]
mod tests {
    use super::Cursor;

    #[test]
    fn a_cursor_survives_being_saved_and_a_bad_one_starts_over() {
        for c in [
            Cursor::Warm { epoch: "ab".into(), since: 42 },
            Cursor::Cold { epoch: "ab".into(), upto: 42, after: "permit/x".into() },
            Cursor::Cold { epoch: "ab".into(), upto: 7, after: String::new() },
        ] {
            assert_eq!(Cursor::parse(Some(&c.to_string())), c);
        }
        assert_eq!(Cursor::parse(None), Cursor::Start);
        assert_eq!(Cursor::parse(Some("ab:x")), Cursor::Start);
        assert_eq!(Cursor::parse(Some("ab:cold:x:d")), Cursor::Start);
    }
}
