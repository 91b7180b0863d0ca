//! Registry changes asked for by an admin person on this device (`POST /api/admin/registry`),
//! online only: the server checks the admin's PIN and role, signs the change into the registry
//! log, and this device takes up the log at once, so the admin sees the change made.

use super::http::{parse, server_said, SyncClient};
use crate::error::{Result, StoreError};
use crate::Store;
use chrono::{DateTime, Utc};
use ptw_core::sync::{AdminChange, AdminRequest, AdminResponse, ErrorBody, ErrorKind, RegistryPage};
use ptw_core::PersonId;

/// A fresh id for a person an admin adds (UUID v7: time-ordered, random tail).
pub fn new_person_id(now: DateTime<Utc>) -> PersonId {
    PersonId(crate::new_uuid(now))
}

/// Registry pages one catch-up may read (a page holds up to
/// [`ptw_core::sync::MAX_REGISTRY_PAGE`] entries).
const MAX_REGISTRY_PAGES: usize = 1000;

impl Store {
    /// Ask the server to make `change` as the admin `admin`, who gave `pin`; once signed, the
    /// registry here is brought up to the server's. Refusals come back typed:
    /// [`StoreError::AdminDenied`] (PIN, role, freeze, or waiting after wrong PINs) and
    /// [`StoreError::RegistryRefused`] (the change itself cannot be made); a server out of
    /// reach as [`StoreError::Sync`], with nothing changed anywhere.
    pub fn admin_change(
        &mut self,
        admin: PersonId,
        pin: &str,
        change: AdminChange,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        let (client, token) = self.sync_connection()?;
        let what = "registry change";
        let request = AdminRequest { admin, pin: pin.to_owned(), change };
        let json = serde_json::to_string(&request)
            .map_err(|e| StoreError::sync(ptw_core::api::SyncFailure::BadAnswer, format!("{what}: {e}")))?;
        let http = client
            .http
            .post(client.url("/api/admin/registry"))
            .bearer_auth(&token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(json);
        let (status, body) = client.send_raw(http, what)?;
        if !status.is_success() {
            return Err(admin_error(status, &body, what));
        }
        let answer: AdminResponse = parse(&body, what)?;
        // The signed entries follow on from the log this device holds when it is up to date;
        // otherwise the log is read from where this device stopped.
        let applied = match self.apply_registry(&answer.entries, now) {
            Ok(report) => report.applied,
            Err(StoreError::Registry(_)) => 0,
            Err(e) => return Err(e),
        };
        Ok(applied + self.catch_up_registry(&client, &token, now)?)
    }

    /// Read the registry log from the last entry held until the server has no more, applying
    /// each page; the entries new here.
    fn catch_up_registry(&mut self, client: &SyncClient, token: &str, now: DateTime<Utc>) -> Result<usize> {
        let mut applied = 0;
        for _ in 0..MAX_REGISTRY_PAGES {
            let mut request = client.http.get(client.url("/api/registry")).bearer_auth(token);
            if let Some(head) = self.registry_head() {
                request = request.query(&[("after", head.to_string())]);
            }
            let (_, body) = client.send(request, "reading the registry")?;
            let page: RegistryPage = parse(&body, "reading the registry")?;
            applied += self.apply_registry(&page.entries, now)?.applied;
            if !page.more || page.entries.is_empty() {
                break;
            }
        }
        Ok(applied)
    }
}

/// An admin change's error answer, typed by what the server said.
fn admin_error(status: reqwest::StatusCode, body: &str, what: &str) -> StoreError {
    match serde_json::from_str::<ErrorBody>(body) {
        Ok(ErrorBody { kind: ErrorKind::NotAllowed, .. }) => StoreError::AdminDenied,
        Ok(ErrorBody { kind: ErrorKind::RegistryRefused, problem: Some(problem), .. }) => {
            StoreError::RegistryRefused(problem)
        }
        _ => server_said(status, body, what),
    }
}
