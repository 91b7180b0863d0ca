//! The plant's registry on this device: the registry log exactly as the sync server signed it,
//! checked entry by entry against the server key pinned at enrolment and folded into the
//! [`Registry`] every rule reads (see `ptw_core::authority`). This device never writes the
//! registry; it only keeps what the server sent, so it can decide — and let people sign in
//! with their PINs — with no network.
//!
//! Also here: enrolment (taking on the id, token and keys the server gave) and PIN checks with
//! growing delays after wrong attempts.

use crate::error::{Result, StoreError};
use crate::{read_meta, write_meta, write_tx, Store};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Utc};
use ptw_core::authority::SignedEntry;
use ptw_core::registry::Person;
use ptw_core::{PersonId, Registry};
use rusqlite::{params, OptionalExtension};

/// Wrong PINs allowed before a person must wait on this device.
pub const FREE_PIN_ATTEMPTS: u32 = 3;
/// The first wait, doubled with each further wrong PIN, up to [`MAX_PIN_DELAY_MS`].
const FIRST_PIN_DELAY_MS: i64 = 30_000;
const MAX_PIN_DELAY_MS: i64 = 60 * 60_000;

/// What the sync server gave this device at enrolment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enrolment {
    /// The server's address.
    pub url: String,
    /// The device's bearer token.
    pub token: String,
    pub device_id: ptw_core::DeviceId,
    /// The name IT gave the device.
    pub name: String,
    /// Hex of the server's registry key, pinned from now on.
    pub server_key: String,
    /// Hex SHA-256 of the server's TLS certificate, pinned from now on (HTTPS servers).
    pub tls_fingerprint: Option<String>,
}

/// What [`Store::apply_registry`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistryReport {
    /// Entries new to this device, folded in.
    pub applied: usize,
    /// Permits derived anew against the changed registry.
    pub rederived: usize,
}

/// An Argon2id PHC string of `pin`, as the registry keeps PINs.
pub fn hash_pin(pin: &str) -> Result<String> {
    let salt = SaltString::generate(&mut rand_core::OsRng);
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::PinHash(e.to_string()))
}

/// The registry log kept in `conn`, folded and checked against the pinned server key; empty
/// before enrolment.
pub(crate) fn load_registry(
    conn: &rusqlite::Connection,
    memo: &ptw_core::signature::SignatureMemo,
) -> Result<Registry> {
    let Some(key) = read_meta(conn, "server_key")? else { return Ok(Registry::empty()) };
    let mut registry = Registry::empty();
    for e in &entries_after(conn, None)? {
        // What is kept here was checked when it arrived; failing now means the database was
        // altered behind the app's back.
        registry
            .apply_entry(e, &key, memo)
            .map_err(|e| StoreError::Corrupt(format!("the registry log kept on this device: {e}")))?;
    }
    Ok(registry)
}

fn entry_at(conn: &rusqlite::Connection, seq: u64) -> Result<Option<SignedEntry>> {
    Ok(conn
        .query_row("SELECT body, sig FROM registry_log WHERE seq = ?1", [i64::try_from(seq).unwrap_or(i64::MAX)], |r| {
            Ok(SignedEntry { body: r.get(0)?, sig: r.get(1)? })
        })
        .optional()?)
}

fn entries_after(conn: &rusqlite::Connection, after: Option<u64>) -> Result<Vec<SignedEntry>> {
    let from = after.map_or(-1, |a| i64::try_from(a).unwrap_or(i64::MAX));
    let mut stmt = conn.prepare_cached("SELECT body, sig FROM registry_log WHERE seq > ?1 ORDER BY seq")?;
    let rows = stmt.query_map([from], |r| Ok(SignedEntry { body: r.get(0)?, sig: r.get(1)? }))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

impl Store {
    /// Fold the registry log kept here, checked against the pinned server key.
    pub(crate) fn reload_registry(&mut self) -> Result<()> {
        self.registry = load_registry(&self.conn, &self.memo)?;
        // Derived states depend on the registry (roles, freezes, device keys).
        self.cache.clear();
        Ok(())
    }

    /// The registry entries kept here numbered above `after` (all of them for `None`).
    pub fn registry_entries_after(&self, after: Option<u64>) -> Result<Vec<SignedEntry>> {
        entries_after(&self.conn, after)
    }

    /// The number of the last registry entry held, if any.
    pub fn registry_head(&self) -> Option<u64> {
        self.registry.head.as_ref().map(|h| h.seq)
    }

    /// Whether this device has been enrolled with a sync server.
    pub fn is_enrolled(&self) -> bool {
        self.identity.id.is_some()
    }

    /// Is the register empty (a device not enrolled, or enrolled but not yet synced)?
    pub fn is_empty(&self) -> bool {
        self.registry.people.is_empty()
    }

    /// The server key this device pinned at enrolment.
    pub fn server_key(&self) -> Result<Option<String>> {
        read_meta(&self.conn, "server_key")
    }

    /// The TLS certificate fingerprint this device pinned at enrolment.
    pub fn tls_fingerprint(&self) -> Result<Option<String>> {
        read_meta(&self.conn, "tls_fingerprint")
    }

    /// Take on an enrolment: the device's id, token and name, the server's address, and the
    /// keys pinned from now on. A device enrolled before (with another server, or another
    /// plant) starts over: its registry and pull cursor are forgotten.
    pub fn adopt_enrolment(&mut self, e: &Enrolment) -> Result<()> {
        let tx = write_tx(&mut self.conn)?;
        let previous_key = read_meta(&tx, "server_key")?;
        if previous_key.as_deref() != Some(e.server_key.as_str()) {
            tx.execute("DELETE FROM registry_log", [])?;
            tx.execute("DELETE FROM meta WHERE key = 'sync_cursor'", [])?;
        }
        write_meta(&tx, "sync_url", e.url.trim_end_matches('/'))?;
        write_meta(&tx, "sync_token", &e.token)?;
        write_meta(&tx, "device_id", &e.device_id.to_string())?;
        write_meta(&tx, "device_name", &e.name)?;
        write_meta(&tx, "server_key", &e.server_key)?;
        match &e.tls_fingerprint {
            Some(f) => write_meta(&tx, "tls_fingerprint", f)?,
            None => {
                tx.execute("DELETE FROM meta WHERE key = 'tls_fingerprint'", [])?;
            }
        }
        tx.execute("DELETE FROM meta WHERE key = 'revoked'", [])?;
        tx.commit()?;
        self.identity.id = Some(e.device_id);
        self.actor = Some(crate::fresh_actor(e.device_id));
        self.http = None;
        self.reload_registry()
    }

    /// Fold new registry entries from the server into the registry kept here, each checked
    /// against the pinned server key, and derive every permit anew when anything changed — in
    /// one transaction. Entries this device holds already are skipped; the first entry that
    /// does not check refuses it and everything after it (what came before it is kept).
    pub fn apply_registry(&mut self, entries: &[SignedEntry], now: DateTime<Utc>) -> Result<RegistryReport> {
        self.refresh()?;
        let key = read_meta(&self.conn, "server_key")?.ok_or(StoreError::NotEnrolled)?;
        // Decided under the write lock: another connection to this database (the app's sync
        // worker beside its commands) may have kept some of these entries since the refresh.
        let tx = write_tx(&mut self.conn)?;
        let held = self.registry.head.as_ref().map(|h| h.seq);
        let stored: Option<i64> = tx.query_row("SELECT MAX(seq) FROM registry_log", [], |r| r.get(0))?;
        let mut registry = if stored.map(|s| u64::try_from(s).unwrap_or(0)) == held {
            self.registry.clone()
        } else {
            load_registry(&tx, &self.memo)?
        };
        let mut fresh: Vec<(u64, &SignedEntry)> = Vec::new();
        let mut refusal = None;
        for e in entries {
            let entry = e.entry().map_err(StoreError::Registry)?;
            if registry.head.as_ref().is_some_and(|h| entry.seq <= h.seq) {
                if entry_at(&tx, entry.seq)?.as_ref() != Some(e) {
                    // The server's log no longer holds what this device was sent before.
                    refusal = Some(ptw_core::authority::LogError::BrokenChain { seq: entry.seq });
                    break;
                }
                continue;
            }
            if let Err(err) = registry.apply_entry(e, &key, &self.memo) {
                refusal = Some(err);
                break;
            }
            fresh.push((entry.seq, e));
        }
        let mut report = RegistryReport { applied: fresh.len(), rederived: 0 };
        let changed = !fresh.is_empty() || registry.head != self.registry.head;
        if !fresh.is_empty() {
            {
                let mut insert = tx.prepare_cached("INSERT INTO registry_log (seq, body, sig) VALUES (?1, ?2, ?3)")?;
                for (seq, e) in &fresh {
                    insert.execute(params![i64::try_from(*seq).unwrap_or(i64::MAX), e.body, e.sig])?;
                }
            }
            report.rederived = crate::sync::rederive_everything(&tx, &registry, &self.memo, now)?;
        }
        tx.commit()?;
        if changed {
            self.registry = registry;
            self.cache.clear();
        }
        match refusal {
            Some(err) => Err(StoreError::Registry(err)),
            None => Ok(report),
        }
    }

    /// Check a person's PIN (offline, against the Argon2 hash in the registry). After
    /// [`FREE_PIN_ATTEMPTS`] wrong PINs the person waits before the next try, longer after
    /// each further wrong one; a right PIN clears the count. Frozen accounts may still sign in
    /// to read; the rules refuse their signatures.
    pub fn verify_pin(&mut self, person: PersonId, pin: &str, now: DateTime<Utc>) -> Result<&Person> {
        let now_ms = now.timestamp_millis();
        let key = person.to_string();
        let (failures, locked_until): (u32, i64) = self
            .conn
            .query_row("SELECT failures, locked_until_ms FROM pin_attempts WHERE person = ?1", [&key], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?
            .unwrap_or((0, 0));
        if now_ms < locked_until {
            return Err(StoreError::PinLocked { retry_after_ms: locked_until - now_ms });
        }
        let hash = self.registry.credential(person).ok_or(StoreError::BadCredentials)?;
        let parsed = PasswordHash::new(hash).map_err(|e| StoreError::Corrupt(format!("PIN hash of {person}: {e}")))?;
        if Argon2::default().verify_password(pin.as_bytes(), &parsed).is_err() {
            let failures = failures.saturating_add(1);
            let locked_until_ms = if failures >= FREE_PIN_ATTEMPTS {
                let doublings = (failures - FREE_PIN_ATTEMPTS).min(16);
                now_ms + (FIRST_PIN_DELAY_MS << doublings).min(MAX_PIN_DELAY_MS)
            } else {
                0
            };
            self.conn.execute(
                "INSERT INTO pin_attempts (person, failures, locked_until_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT(person) DO UPDATE SET failures = excluded.failures, locked_until_ms = excluded.locked_until_ms",
                params![key, failures, locked_until_ms],
            )?;
            return Err(StoreError::BadCredentials);
        }
        self.conn.execute("DELETE FROM pin_attempts WHERE person = ?1", [&key])?;
        self.registry.person(person).ok_or(StoreError::BadCredentials)
    }

    /// Whether the server told this device it was revoked.
    pub fn is_revoked(&self) -> Result<bool> {
        Ok(read_meta(&self.conn, "revoked")?.is_some())
    }

    /// Remember that the server revoked this device: it signs nothing from now on.
    pub(crate) fn mark_revoked(&self) -> Result<()> {
        write_meta(&self.conn, "revoked", "1")
    }
}
