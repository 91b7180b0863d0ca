//! Pushing the outbox: changes go up in batches; what the server acknowledges leaves the
//! outbox, and what it refuses is taken back out of its document with the reason (so it never
//! waits forever, and the person sees what to redo).

use super::http::SyncClient;
use super::pull::Cursor;
use super::{SyncOptions, SyncReport, PUSH_BATCH};
use crate::error::{Result, StoreError};
use crate::Store;
use chrono::{DateTime, Utc};
use ptw_core::api::SyncFailure;
use ptw_core::sync::{PushRequest, PushResponse, WireChange};

impl Store {
    /// Whether `epoch` (from the server) differs from the one this device last pulled under.
    pub(super) fn server_was_replaced(&self, epoch: &str) -> Result<bool> {
        Ok(match Cursor::parse(self.sync_cursor()?.as_deref()) {
            Cursor::Cold { epoch: mine, .. } | Cursor::Warm { epoch: mine, .. } => !epoch.is_empty() && mine != epoch,
            Cursor::Start => false,
        })
    }

    pub(super) fn push(
        &mut self,
        client: &SyncClient,
        token: &str,
        now: DateTime<Utc>,
        limits: &SyncOptions,
        report: &mut SyncReport,
    ) -> Result<()> {
        while report.round_trips < limits.max_requests {
            let page: Vec<WireChange> = self
                .outbox_page(PUSH_BATCH)?
                .into_iter()
                .map(|c| WireChange { doc_id: c.doc_id, kind: c.kind, hash: c.hash, bytes: c.bytes })
                .collect();
            if page.is_empty() {
                return Ok(());
            }
            report.pushed += page.len();
            let request = PushRequest { changes: page.clone() };
            let answer: PushResponse =
                client.round_trip(token, "/api/sync/push", &[], Some(&request), "push", report)?;
            report.acked += self.acknowledge(&answer.acked)?;
            if self.server_was_replaced(&answer.epoch)? {
                // Everything this device holds goes up again, from the start of the outbox.
                report.requeued += self.requeue_everything(now)?;
                continue;
            }
            if !answer.refused.is_empty() {
                self.take_back_refused(&answer.refused, now)?;
                report.refused.extend(answer.refused.iter().cloned());
            }
            self.observe(report);
            let answered = answer.acked.len() + answer.refused.len();
            if answered == 0 {
                return Err(StoreError::sync(
                    SyncFailure::BadAnswer,
                    "push: the server neither acknowledged nor refused the changes",
                ));
            }
        }
        Ok(())
    }
}
