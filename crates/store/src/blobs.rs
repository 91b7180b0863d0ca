//! Photos and handwritten signature images ("blobs"), kept by the SHA-256 of their bytes so an
//! event can name one by hash and any device can check the bytes it receives.
//!
//! A blob made here is written together with its `blob_outbox` entry in one transaction; the
//! sync round asks the server which pending blobs it lacks, uploads only those (before the
//! changes that name them) and then forgets every pending blob the server holds
//! ([`crate::client`]). A blob this device does not have is fetched from the server on demand
//! ([`Store::fetch_blob`]), checked against its hash, and kept.

use crate::error::{Result, StoreError};
use crate::{write_tx, Store};
use chrono::{DateTime, Utc};
use ptw_core::sync::{blob_hash, blob_mime_problem, is_blob_hash, MAX_BLOB_BYTES};
use rusqlite::{params, OptionalExtension};

/// The MIME type a fetched blob is kept as when the server's is not usable.
const FALLBACK_MIME: &str = "application/octet-stream";

impl Store {
    /// Keep `bytes` (a photo, a handwritten signature) as a blob of type `mime`, to be uploaded
    /// at the next sync; the SHA-256 hex that names it. Keeping the same bytes again changes
    /// nothing and names the same blob.
    pub fn put_blob(&mut self, mime: &str, bytes: &[u8], now: DateTime<Utc>) -> Result<String> {
        if let Some(problem) = blob_mime_problem(mime) {
            return Err(StoreError::InvalidBlob(problem));
        }
        if bytes.len() > MAX_BLOB_BYTES {
            return Err(StoreError::InvalidBlob(format!(
                "it is {:.1} MiB and the most is {} MiB; take the photo at a lower resolution",
                bytes.len() as f64 / (1024.0 * 1024.0),
                MAX_BLOB_BYTES / (1024 * 1024)
            )));
        }
        let hash = blob_hash(bytes);
        let now_ms = now.timestamp_millis();
        let tx = write_tx(&mut self.conn)?;
        let inserted = tx.execute(
            "INSERT INTO blobs (hash, mime, bytes, created_ms) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(hash) DO NOTHING",
            params![hash, mime, bytes, now_ms],
        )?;
        // A blob already here is either still pending or known to the server (uploaded, or
        // fetched from it): either way there is nothing more to upload.
        if inserted > 0 {
            tx.execute("INSERT OR IGNORE INTO blob_outbox (hash, created_ms) VALUES (?1, ?2)", params![hash, now_ms])?;
        }
        tx.commit()?;
        Ok(hash)
    }

    /// A blob on this device: its MIME type and bytes.
    pub fn blob(&self, hash: &str) -> Result<Option<(String, Vec<u8>)>> {
        let mut stmt = self.conn.prepare_cached("SELECT mime, bytes FROM blobs WHERE hash = ?1")?;
        Ok(stmt.query_row([hash], |r| Ok((r.get(0)?, r.get(1)?))).optional()?)
    }

    /// Blobs made here that the sync server has not confirmed holding yet, oldest first.
    pub fn pending_blobs(&self) -> Result<Vec<String>> {
        self.pending_blob_page(usize::MAX)
    }

    /// How many blobs wait for the sync server.
    pub fn pending_blob_count(&self) -> Result<u64> {
        let n: i64 = self.conn.query_row("SELECT COUNT(*) FROM blob_outbox", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The oldest `max` pending blobs.
    pub(crate) fn pending_blob_page(&self, max: usize) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached("SELECT hash FROM blob_outbox ORDER BY rowid LIMIT ?1")?;
        let rows = stmt.query_map([i64::try_from(max).unwrap_or(i64::MAX)], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
    }

    /// Forget pending blobs the server holds durably; how many were pending.
    pub(crate) fn blobs_on_server(&mut self, hashes: &[String]) -> Result<usize> {
        if hashes.is_empty() {
            return Ok(0);
        }
        let tx = write_tx(&mut self.conn)?;
        let mut forgotten = 0;
        {
            let mut stmt = tx.prepare_cached("DELETE FROM blob_outbox WHERE hash = ?1")?;
            for h in hashes {
                forgotten += stmt.execute([h])?;
            }
        }
        tx.commit()?;
        Ok(forgotten)
    }

    /// The blob named `hash`: this device's copy, or else downloaded from the sync server this
    /// device is enrolled with, checked against its hash and kept. `None` when the server does
    /// not have it either (the device that made it has not synced yet).
    pub fn fetch_blob(&mut self, hash: &str, now: DateTime<Utc>) -> Result<Option<(String, Vec<u8>)>> {
        if !is_blob_hash(hash) {
            return Err(StoreError::InvalidBlob(format!(
                "'{}' is not a blob hash (64 lower-case hex digits)",
                hash.chars().take(80).collect::<String>().escape_default()
            )));
        }
        if let Some(found) = self.blob(hash)? {
            return Ok(Some(found));
        }
        let Some((mime, bytes)) = self.blob_fetcher()?.fetch(hash)? else { return Ok(None) };
        self.keep_fetched_blob(hash, &mime, &bytes, now)?;
        Ok(Some((mime, bytes)))
    }

    /// What fetches blobs from the sync server without the store: a caller that must not hold
    /// the store while the network answers (the app's window) takes it, fetches, and keeps what
    /// came with [`Store::keep_fetched_blob`].
    pub fn blob_fetcher(&mut self) -> Result<BlobFetcher> {
        let (client, token) = self.sync_connection()?;
        Ok(BlobFetcher { client, token })
    }

    /// Keep a blob a [`BlobFetcher`] brought, checked against its hash once more.
    pub fn keep_fetched_blob(&mut self, hash: &str, mime: &str, bytes: &[u8], now: DateTime<Utc>) -> Result<()> {
        if blob_hash(bytes) != hash {
            return Err(StoreError::InvalidBlob(format!("the bytes given for blob {hash} hash to something else")));
        }
        self.conn.execute(
            "INSERT INTO blobs (hash, mime, bytes, created_ms) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(hash) DO NOTHING",
            params![hash, mime, bytes, now.timestamp_millis()],
        )?;
        Ok(())
    }
}

/// Fetches blobs from the sync server a device is enrolled with ([`Store::blob_fetcher`]).
pub struct BlobFetcher {
    client: crate::client::SyncClient,
    token: String,
}

impl BlobFetcher {
    /// The blob named `hash` from the server, checked against its hash; `None` when the server
    /// does not have it.
    pub fn fetch(&self, hash: &str) -> Result<Option<(String, Vec<u8>)>> {
        if !is_blob_hash(hash) {
            return Err(StoreError::InvalidBlob(format!(
                "'{}' is not a blob hash (64 lower-case hex digits)",
                hash.chars().take(80).collect::<String>().escape_default()
            )));
        }
        let Some((mime, bytes)) = self.client.get_blob(&self.token, hash)? else { return Ok(None) };
        let actual = blob_hash(&bytes);
        if actual != hash {
            return Err(StoreError::sync(
                ptw_core::api::SyncFailure::BadAnswer,
                format!("the server sent bytes for blob {hash} that hash to {actual}; nothing was kept"),
            ));
        }
        let mime = if blob_mime_problem(&mime).is_none() { mime } else { FALLBACK_MIME.to_owned() };
        Ok(Some((mime, bytes)))
    }
}
