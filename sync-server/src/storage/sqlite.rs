//! The embedded SQLite backend of [`Storage`]: one database file in the data directory, WAL
//! journal with `synchronous=FULL` so a change is on disk before the push is acknowledged, schema
//! versioned by `PRAGMA user_version`.
//!
//! rusqlite is blocking; one connection behind a mutex serialises writers (SQLite allows one
//! anyway) and callers run it inside `spawn_blocking`.

use super::{
    assemble_snapshot_page, ChangePage, ColdRow, CompactionInput, DocState, EnrolCode, Enrolled, LegacyDevice,
    NewChange, NewEnrolCode, Snapshot, SnapshotPage, Storage,
};
use crate::error::{Error, Result};
use ptw_core::authority::SignedEntry;
use ptw_core::sync::{PulledChange, WireChange};
use ptw_core::DeviceId;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::collections::HashSet;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

/// The database file inside the data directory.
pub const DB_FILE: &str = "sync.sqlite3";

/// Schema migrations; migration `i` brings `user_version` from `i` to `i + 1`. Append only.
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        public_key TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        revoked INTEGER NOT NULL DEFAULT 0,
        enrolled_ms INTEGER NOT NULL
    );
    CREATE TABLE enrol_codes (
        code_hash TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        expires_ms INTEGER NOT NULL,
        used_ms INTEGER
    );
    CREATE TABLE changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        hash TEXT NOT NULL UNIQUE,
        doc_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        bytes BLOB NOT NULL,
        device_id TEXT NOT NULL,
        received_ms INTEGER NOT NULL
    );
    -- The Automerge object ids of each permit's events list, to hold later changes to append-only.
    CREATE TABLE event_lists (
        doc_id TEXT NOT NULL,
        obj TEXT NOT NULL,
        PRIMARY KEY (doc_id, obj)
    );
",
    "
    -- One row per document: how many changes it has and its compacted form for cold devices.
    CREATE TABLE docs (
        doc_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        first_seq INTEGER NOT NULL,
        change_count INTEGER NOT NULL,
        snapshot BLOB,
        snapshot_seq INTEGER,
        snapshot_changes INTEGER NOT NULL DEFAULT 0,
        tried_changes INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO docs (doc_id, kind, first_seq, change_count)
        SELECT doc_id, min(kind), min(seq), count(*) FROM changes GROUP BY doc_id;
    CREATE INDEX docs_untried ON docs(doc_id) WHERE change_count > tried_changes;
    CREATE INDEX docs_in_order ON docs(kind, doc_id);
    CREATE INDEX changes_by_doc ON changes(doc_id, seq);
",
    "
    -- Photos and handwritten signature images, by the SHA-256 hex of their bytes.
    CREATE TABLE blobs (
        hash TEXT PRIMARY KEY,
        mime TEXT NOT NULL,
        bytes BLOB NOT NULL,
        size INTEGER NOT NULL,
        device_id TEXT NOT NULL,
        received_ms INTEGER NOT NULL
    );
",
    "
    -- The registry log this server signs: people, certificates, freezes, locations, settings,
    -- the catalog, device enrolments and revocations. The old devices table is moved into it
    -- once, on the first start with a server key.
    CREATE TABLE registry (seq INTEGER PRIMARY KEY, body TEXT NOT NULL, sig TEXT NOT NULL);
    CREATE TABLE device_tokens (token_hash TEXT PRIMARY KEY, device_id TEXT NOT NULL, created_ms INTEGER NOT NULL);
    -- The latest event time each device delivered: none of its later events may be dated before.
    CREATE TABLE device_clocks (device_id TEXT PRIMARY KEY, last_event_ms INTEGER NOT NULL);
    ALTER TABLE enrol_codes ADD COLUMN replaces TEXT;
    -- An (actor, sequence number) holds one change per document, ever.
    ALTER TABLE changes ADD COLUMN actor TEXT;
    ALTER TABLE changes ADD COLUMN actor_seq INTEGER;
    CREATE UNIQUE INDEX changes_by_actor ON changes(doc_id, actor, actor_seq);
    INSERT INTO meta (key, value) VALUES ('recovery_until_ms', '0');
",
];

pub struct SqliteStorage {
    conn: Mutex<Connection>,
}

impl SqliteStorage {
    /// Open (creating if needed) the database in `data_dir`.
    pub fn open_dir(data_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| Error::Database(format!("cannot create data directory {}: {e}", data_dir.display())))?;
        Self::open(&data_dir.join(DB_FILE))
    }

    pub fn open(path: &Path) -> Result<Self> {
        Self::init(Connection::open(path)?)
    }

    /// A private in-memory database, for tests.
    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Self> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&mut conn)?;
        Ok(SqliteStorage { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>> {
        // A panic while holding the lock leaves SQLite consistent (its own transaction rolls back).
        Ok(self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(Error::Database(format!(
            "the database has schema version {version}, newer than this server knows ({known}); run a newer server"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        if i == 0 {
            tx.execute("INSERT INTO meta (key, value) VALUES ('epoch', ?1)", [crate::secret::random_hex(16)])?;
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

fn parse_device(id: String) -> Result<DeviceId> {
    id.parse().map_err(|_| Error::Database(format!("device id '{id}' in the database is not a uuid")))
}

fn sql_seq(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// Insert numbered registry entries; a number already taken is a conflict.
fn insert_registry(tx: &rusqlite::Transaction<'_>, entries: &[(u64, SignedEntry)]) -> Result<()> {
    let mut insert = tx.prepare_cached("INSERT INTO registry (seq, body, sig) VALUES (?1, ?2, ?3)")?;
    for (seq, e) in entries {
        match insert.execute(params![sql_seq(*seq), e.body, e.sig]) {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(f, _)) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                return Err(Error::RegistryConflict)
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

impl Storage for SqliteStorage {
    fn epoch(&self) -> Result<String> {
        let conn = self.conn()?;
        Ok(conn.query_row("SELECT value FROM meta WHERE key = 'epoch'", [], |r| r.get(0))?)
    }

    fn rotate_epoch(&self) -> Result<String> {
        let epoch = crate::secret::random_hex(16);
        self.conn()?.execute("UPDATE meta SET value = ?1 WHERE key = 'epoch'", [&epoch])?;
        Ok(epoch)
    }

    fn recovery_until_ms(&self) -> Result<i64> {
        let conn = self.conn()?;
        let v: Option<String> =
            conn.query_row("SELECT value FROM meta WHERE key = 'recovery_until_ms'", [], |r| r.get(0)).optional()?;
        Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    fn set_recovery_until_ms(&self, until_ms: i64) -> Result<()> {
        self.conn()?.execute(
            "INSERT INTO meta (key, value) VALUES ('recovery_until_ms', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [until_ms.to_string()],
        )?;
        Ok(())
    }

    fn add_enrol_code(&self, code: &NewEnrolCode) -> Result<()> {
        let conn = self.conn()?;
        conn.execute(
            "INSERT INTO enrol_codes (code_hash, name, expires_ms, replaces) VALUES (?1, ?2, ?3, ?4)",
            params![code.code_hash, code.name, code.expires_ms, code.replaces.map(|d| d.to_string())],
        )?;
        Ok(())
    }

    fn enrol_code(&self, code_hash: &str) -> Result<Option<EnrolCode>> {
        let conn = self.conn()?;
        let row: Option<(String, i64, Option<i64>, Option<String>)> = conn
            .query_row(
                "SELECT name, expires_ms, used_ms, replaces FROM enrol_codes WHERE code_hash = ?1",
                [code_hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        row.map(|(name, expires_ms, used_ms, replaces)| {
            Ok(EnrolCode { name, expires_ms, used_ms, replaces: replaces.map(parse_device).transpose()? })
        })
        .transpose()
    }

    fn enrol(&self, code_hash: &str, now_ms: i64, enrolled: &Enrolled) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let spent = tx.execute(
            "UPDATE enrol_codes SET used_ms = ?1 WHERE code_hash = ?2 AND used_ms IS NULL AND expires_ms > ?1",
            params![now_ms, code_hash],
        )?;
        if spent != 1 {
            return Err(Error::CodeUsed);
        }
        insert_registry(&tx, &enrolled.entries)?;
        tx.execute(
            "INSERT INTO device_tokens (token_hash, device_id, created_ms) VALUES (?1, ?2, ?3)",
            params![enrolled.token_hash, enrolled.device_id.to_string(), now_ms],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn device_by_token(&self, token_hash: &str) -> Result<Option<DeviceId>> {
        let conn = self.conn()?;
        let row: Option<String> = conn
            .query_row("SELECT device_id FROM device_tokens WHERE token_hash = ?1", [token_hash], |r| r.get(0))
            .optional()?;
        row.map(parse_device).transpose()
    }

    fn legacy_devices(&self) -> Result<Vec<LegacyDevice>> {
        let conn = self.conn()?;
        let mut stmt =
            conn.prepare("SELECT id, name, public_key, token_hash, revoked FROM devices ORDER BY enrolled_ms, id")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get::<_, bool>(4)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(id, name, public_key, token_hash, revoked)| {
                Ok(LegacyDevice { id: parse_device(id)?, name, public_key, token_hash, revoked })
            })
            .collect()
    }

    fn move_legacy_devices(&self, entries: &[(u64, SignedEntry)], devices: &[LegacyDevice]) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        insert_registry(&tx, entries)?;
        for d in devices {
            tx.execute(
                "INSERT OR IGNORE INTO device_tokens (token_hash, device_id, created_ms) VALUES (?1, ?2, 0)",
                params![d.token_hash, d.id.to_string()],
            )?;
            tx.execute("DELETE FROM devices WHERE id = ?1", [d.id.to_string()])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn registry_entries(&self, after: Option<u64>, limit: usize) -> Result<Vec<SignedEntry>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached("SELECT body, sig FROM registry WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
        let from = after.map_or(-1, sql_seq);
        let rows = stmt.query_map(params![from, i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            Ok(SignedEntry { body: r.get(0)?, sig: r.get(1)? })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn append_registry(&self, entries: &[(u64, SignedEntry)]) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        insert_registry(&tx, entries)?;
        tx.commit()?;
        Ok(())
    }

    fn known_changes(&self, hashes: &[String]) -> Result<HashSet<String>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached("SELECT 1 FROM changes WHERE hash = ?1")?;
        let mut known = HashSet::new();
        for h in hashes {
            if stmt.exists([h])? {
                known.insert(h.clone());
            }
        }
        Ok(known)
    }

    fn doc_state(&self, doc_id: &str) -> Result<Option<DocState>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached("SELECT kind, change_count FROM docs WHERE doc_id = ?1")?;
        let row: Option<(String, i64)> = stmt.query_row([doc_id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
        Ok(row.map(|(kind, n)| DocState { kind, change_count: u64::try_from(n).unwrap_or(0) }))
    }

    fn actor_seq(&self, doc_id: &str, actor: &str) -> Result<u64> {
        let conn = self.conn()?;
        let mut stmt =
            conn.prepare_cached("SELECT coalesce(max(actor_seq), 0) FROM changes WHERE doc_id = ?1 AND actor = ?2")?;
        let n: i64 = stmt.query_row(params![doc_id, actor], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn device_clock(&self, device: DeviceId) -> Result<Option<i64>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached("SELECT last_event_ms FROM device_clocks WHERE device_id = ?1")?;
        Ok(stmt.query_row([device.to_string()], |r| r.get(0)).optional()?)
    }

    fn store_changes(&self, changes: &[NewChange], now_ms: i64) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO changes (hash, doc_id, kind, bytes, device_id, received_ms, actor, actor_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (hash) DO NOTHING RETURNING seq",
            )?;
            let mut doc = tx.prepare_cached(
                "INSERT INTO docs (doc_id, kind, first_seq, change_count) VALUES (?1, ?2, ?3, 1)
                 ON CONFLICT (doc_id) DO UPDATE SET change_count = change_count + 1",
            )?;
            let mut clock = tx.prepare_cached(
                "INSERT INTO device_clocks (device_id, last_event_ms) VALUES (?1, ?2)
                 ON CONFLICT (device_id) DO UPDATE SET last_event_ms = max(last_event_ms, excluded.last_event_ms)",
            )?;
            for c in changes {
                let w = &c.change;
                let seq: Option<i64> = insert
                    .query_row(
                        params![
                            w.hash,
                            w.doc_id,
                            w.kind,
                            w.bytes,
                            c.device_id.to_string(),
                            now_ms,
                            c.actor,
                            sql_seq(c.actor_seq)
                        ],
                        |r| r.get(0),
                    )
                    .optional()?;
                if let Some(seq) = seq {
                    doc.execute(params![w.doc_id, w.kind, seq])?;
                }
                for (device, ms) in &c.event_times {
                    clock.execute(params![device.to_string(), ms])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn changes_without_actor(&self, limit: usize) -> Result<Vec<(String, Vec<u8>)>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare("SELECT hash, bytes FROM changes WHERE actor IS NULL ORDER BY seq LIMIT ?1")?;
        let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn set_change_actor(&self, hash: &str, actor: &str, actor_seq: u64) -> Result<()> {
        self.conn()?.execute(
            "UPDATE changes SET actor = ?2, actor_seq = ?3 WHERE hash = ?1",
            params![hash, actor, sql_seq(actor_seq)],
        )?;
        Ok(())
    }

    fn changes_since(&self, since: i64, max_changes: usize, max_bytes: usize) -> Result<ChangePage> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT seq, doc_id, kind, hash, length(bytes), bytes FROM changes WHERE seq > ?1 ORDER BY seq",
        )?;
        // Rows are read lazily: the page stops at the first change that would not fit.
        let mut rows = stmt.query([since])?;
        let mut page = ChangePage { changes: Vec::new(), more: false };
        let mut bytes_in_page = 0usize;
        while let Some(r) = rows.next()? {
            let len = usize::try_from(r.get::<_, i64>(4)?).unwrap_or(usize::MAX);
            let full = page.changes.len() >= max_changes
                || (!page.changes.is_empty() && bytes_in_page.saturating_add(len) > max_bytes);
            if full {
                page.more = true;
                break;
            }
            bytes_in_page = bytes_in_page.saturating_add(len);
            page.changes.push(PulledChange {
                seq: r.get(0)?,
                change: WireChange { doc_id: r.get(1)?, kind: r.get(2)?, hash: r.get(3)?, bytes: r.get(5)? },
            });
        }
        Ok(page)
    }

    fn max_seq(&self) -> Result<i64> {
        let conn = self.conn()?;
        Ok(conn.query_row("SELECT coalesce(max(seq), 0) FROM changes", [], |r| r.get(0))?)
    }

    fn snapshot_page(&self, upto: i64, after: (&str, &str), max_docs: usize, max_bytes: usize) -> Result<SnapshotPage> {
        let conn = self.conn()?;
        let mut docs = conn.prepare_cached(
            "SELECT doc_id, kind, CASE WHEN snapshot_seq <= ?2 THEN snapshot_seq END,
                    CASE WHEN snapshot_seq <= ?2 THEN snapshot_changes END,
                    CASE WHEN snapshot_seq <= ?2 THEN snapshot END
             FROM docs WHERE (kind > ?1 OR (kind = ?1 AND doc_id > ?4)) AND first_seq <= ?2
             ORDER BY kind, doc_id LIMIT ?3",
        )?;
        let mut tail = conn.prepare_cached(
            "SELECT hash, bytes FROM changes WHERE doc_id = ?1 AND seq > ?2 AND seq <= ?3 ORDER BY seq",
        )?;
        let limit = i64::try_from(max_docs.saturating_add(1)).unwrap_or(i64::MAX);
        let rows = docs.query_map(params![after.0, upto, limit, after.1], |r| {
            Ok(ColdRow {
                doc_id: r.get(0)?,
                kind: r.get(1)?,
                snapshot_seq: r.get(2)?,
                snapshot_changes: r.get(3)?,
                snapshot: r.get(4)?,
            })
        })?;
        assemble_snapshot_page(rows.map(|r| r.map_err(Error::from)), max_docs, max_bytes, |doc_id, kind, from| {
            let changes = tail.query_map(params![doc_id, from, upto], |c| {
                Ok(WireChange { doc_id: doc_id.to_owned(), kind: kind.to_owned(), hash: c.get(0)?, bytes: c.get(1)? })
            })?;
            Ok(changes.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn compaction_candidates(&self, min_new: u64, limit: usize) -> Result<Vec<String>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT doc_id FROM docs WHERE change_count > tried_changes AND change_count - snapshot_changes >= ?1
             ORDER BY doc_id LIMIT ?2",
        )?;
        let rows =
            stmt.query_map(params![sql_count(min_new), i64::try_from(limit).unwrap_or(i64::MAX)], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn compaction_backlog(&self, min_new: u64) -> Result<u64> {
        let conn = self.conn()?;
        let n: i64 = conn.query_row(
            "SELECT count(*) FROM docs WHERE change_count > tried_changes AND change_count - snapshot_changes >= ?1",
            [sql_count(min_new)],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn compaction_input(&self, doc_id: &str) -> Result<Option<CompactionInput>> {
        let conn = self.conn()?;
        let row: Option<(Option<Vec<u8>>, Option<i64>, i64)> = conn
            .prepare_cached("SELECT snapshot, snapshot_seq, snapshot_changes FROM docs WHERE doc_id = ?1")?
            .query_row([doc_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let Some((bytes, seq, changes)) = row else { return Ok(None) };
        let snapshot = Snapshot::from_columns(bytes, seq, changes);
        let mut stmt =
            conn.prepare_cached("SELECT seq, bytes FROM changes WHERE doc_id = ?1 AND seq > ?2 ORDER BY seq")?;
        let tail = stmt
            .query_map(params![doc_id, snapshot.as_ref().map_or(0, |s| s.upto_seq)], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Some(CompactionInput { doc_id: doc_id.to_owned(), snapshot, tail }))
    }

    fn put_snapshot(&self, doc_id: &str, snapshot: Option<&Snapshot>, tried_changes: u64) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE docs SET tried_changes = max(tried_changes, ?2) WHERE doc_id = ?1",
            params![doc_id, sql_count(tried_changes)],
        )?;
        if let Some(s) = snapshot {
            tx.execute(
                "UPDATE docs SET snapshot = ?2, snapshot_seq = ?3, snapshot_changes = ?4
                 WHERE doc_id = ?1 AND coalesce(snapshot_seq, 0) < ?3",
                params![doc_id, s.bytes, s.upto_seq, sql_count(s.changes)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn missing_blobs(&self, hashes: &[String]) -> Result<Vec<String>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached("SELECT 1 FROM blobs WHERE hash = ?1")?;
        let mut stored = HashSet::new();
        for h in hashes {
            if stmt.exists([h])? {
                stored.insert(h.clone());
            }
        }
        Ok(super::not_in(hashes, &stored))
    }

    fn put_blob(&self, hash: &str, mime: &str, bytes: &[u8], device_id: DeviceId, now_ms: i64) -> Result<()> {
        let conn = self.conn()?;
        // One statement is its own transaction; synchronous=FULL makes it durable on return.
        conn.execute(
            "INSERT INTO blobs (hash, mime, bytes, size, device_id, received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (hash) DO NOTHING",
            params![hash, mime, bytes, i64::try_from(bytes.len()).unwrap_or(i64::MAX), device_id.to_string(), now_ms],
        )?;
        Ok(())
    }

    fn blob(&self, hash: &str) -> Result<Option<(String, Vec<u8>)>> {
        let conn = self.conn()?;
        Ok(conn
            .query_row("SELECT mime, bytes FROM blobs WHERE hash = ?1", [hash], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }
}

fn sql_count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    crate::storage_suite!(super::SqliteStorage::open_in_memory().expect("in-memory database"));
}
