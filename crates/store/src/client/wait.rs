//! Waiting for a change on the server ([`ChangeWatch`]): a request held open until the server
//! has something beyond this device's pull cursor, so the next round can start at once. The
//! watch is made from the store and then runs without it, on a thread of its own, while the
//! store keeps syncing and writing.

use super::http::{SyncClient, Traffic};
use super::pull::Cursor;
use crate::error::Result;
use crate::Store;
use ptw_core::sync::{WaitResponse, MAX_WAIT_MS};
use std::time::Duration;

/// One held-open question to the server: "is there anything beyond what I hold?"
#[derive(Clone)]
pub struct ChangeWatch {
    client: SyncClient,
    token: String,
    query: Vec<(&'static str, String)>,
}

/// Round trips a wait counts nowhere.
struct Uncounted;

impl Traffic for Uncounted {
    fn count(&mut self, _: usize, _: usize) {}
}

impl Store {
    /// A watch on the enrolled server for what this device does not hold yet, as of its saved
    /// pull cursor and registry; `None` when not enrolled or not caught up (in the middle of a
    /// cold start, a round is what is needed, not a wait).
    pub fn change_watch(&mut self) -> Result<Option<ChangeWatch>> {
        if self.sync_server()?.is_none() {
            return Ok(None);
        }
        let Cursor::Warm { epoch, since } = Cursor::parse(self.sync_cursor()?.as_deref()) else {
            return Ok(None);
        };
        let (client, token) = self.sync_connection()?;
        let mut query = vec![("epoch", epoch), ("since", since.to_string())];
        if let Some(head) = self.registry_head() {
            query.push(("registry_after", head.to_string()));
        }
        Ok(Some(ChangeWatch { client, token, query }))
    }
}

impl ChangeWatch {
    /// Asks the server, held open up to `timeout` (at most [`MAX_WAIT_MS`]); `true` when there
    /// is something to pull. Network failures are [`crate::StoreError::Sync`], as for a round.
    pub fn wait(&self, timeout: Duration) -> Result<bool> {
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(MAX_WAIT_MS).min(MAX_WAIT_MS);
        let mut query = self.query.clone();
        query.push(("timeout_ms", ms.to_string()));
        let answer: WaitResponse = self.client.round_trip(
            &self.token,
            "/api/sync/wait",
            &query,
            None::<&()>,
            "waiting for changes",
            &mut Uncounted,
        )?;
        Ok(answer.changed)
    }
}
