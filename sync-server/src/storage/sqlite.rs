//! The embedded SQLite backend of [`Storage`]: one database file in the data directory, WAL
//! journal with `synchronous=FULL` so a change is on disk before the push is acknowledged, schema
//! versioned by `PRAGMA user_version`.
//!
//! rusqlite is blocking; one connection behind a mutex serialises writers (SQLite allows one
//! anyway) and callers run it inside `spawn_blocking`.

use super::{
    assemble_snapshot_page, ChangePage, ColdRow, CompactionInput, DeviceRecord, NewChange, NewDevice, NewEnrolCode,
    Snapshot, SnapshotPage, Storage,
};
use crate::error::{Error, Result};
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

fn device_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, String, bool, i64)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn to_record(
    (id, name, public_key, revoked, enrolled_ms): (String, String, String, bool, i64),
) -> Result<DeviceRecord> {
    let id = id.parse().map_err(|_| Error::Database(format!("device id '{id}' in the database is not a uuid")))?;
    Ok(DeviceRecord { id, name, public_key, revoked, enrolled_ms })
}

const DEVICE_COLUMNS: &str = "id, name, public_key, revoked, enrolled_ms";

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

    fn add_enrol_code(&self, code: &NewEnrolCode) -> Result<()> {
        let conn = self.conn()?;
        conn.execute(
            "INSERT INTO enrol_codes (code_hash, name, expires_ms) VALUES (?1, ?2, ?3)",
            params![code.code_hash, code.name, code.expires_ms],
        )?;
        Ok(())
    }

    fn enrol(&self, code_hash: &str, device: &NewDevice, now_ms: i64) -> Result<DeviceRecord> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let code: Option<(String, i64, Option<i64>)> = tx
            .query_row("SELECT name, expires_ms, used_ms FROM enrol_codes WHERE code_hash = ?1", [code_hash], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        let name = match code {
            None => return Err(Error::CodeUnknown),
            Some((_, _, Some(_))) => return Err(Error::CodeUsed),
            Some((_, expires_ms, None)) if expires_ms <= now_ms => return Err(Error::CodeExpired),
            Some((name, _, None)) => name,
        };
        tx.execute("UPDATE enrol_codes SET used_ms = ?1 WHERE code_hash = ?2", params![now_ms, code_hash])?;
        tx.execute(
            "INSERT INTO devices (id, name, public_key, token_hash, revoked, enrolled_ms) VALUES (?1, ?2, ?3, ?4, 0, ?5)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, public_key = excluded.public_key,
                 token_hash = excluded.token_hash, revoked = 0, enrolled_ms = excluded.enrolled_ms",
            params![device.id.to_string(), name, device.public_key, device.token_hash, now_ms],
        )?;
        tx.commit()?;
        Ok(DeviceRecord {
            id: device.id,
            name,
            public_key: device.public_key.clone(),
            revoked: false,
            enrolled_ms: now_ms,
        })
    }

    fn device_by_token(&self, token_hash: &str) -> Result<Option<DeviceRecord>> {
        let conn = self.conn()?;
        let row = conn
            .query_row(
                &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE token_hash = ?1"),
                [token_hash],
                device_from_row,
            )
            .optional()?;
        row.map(to_record).transpose()
    }

    fn device(&self, id: DeviceId) -> Result<Option<DeviceRecord>> {
        let conn = self.conn()?;
        let row = conn
            .query_row(
                &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?1"),
                [id.to_string()],
                device_from_row,
            )
            .optional()?;
        row.map(to_record).transpose()
    }

    fn devices(&self) -> Result<Vec<DeviceRecord>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!("SELECT {DEVICE_COLUMNS} FROM devices ORDER BY enrolled_ms, id"))?;
        let rows = stmt.query_map([], device_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(to_record).collect()
    }

    fn revoke(&self, id: DeviceId) -> Result<bool> {
        let conn = self.conn()?;
        Ok(conn.execute("UPDATE devices SET revoked = 1 WHERE id = ?1", [id.to_string()])? > 0)
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

    fn event_lists(&self, doc_id: &str) -> Result<HashSet<String>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached("SELECT obj FROM event_lists WHERE doc_id = ?1")?;
        let rows = stmt.query_map([doc_id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<HashSet<String>>>()?)
    }

    fn store_changes(&self, changes: &[NewChange], now_ms: i64) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO changes (hash, doc_id, kind, bytes, device_id, received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (hash) DO NOTHING RETURNING seq",
            )?;
            let mut doc = tx.prepare_cached(
                "INSERT INTO docs (doc_id, kind, first_seq, change_count) VALUES (?1, ?2, ?3, 1)
                 ON CONFLICT (doc_id) DO UPDATE SET change_count = change_count + 1",
            )?;
            let mut list = tx.prepare_cached("INSERT OR IGNORE INTO event_lists (doc_id, obj) VALUES (?1, ?2)")?;
            for c in changes {
                let w = &c.change;
                let seq: Option<i64> = insert
                    .query_row(params![w.hash, w.doc_id, w.kind, w.bytes, c.device_id.to_string(), now_ms], |r| {
                        r.get(0)
                    })
                    .optional()?;
                if let Some(seq) = seq {
                    doc.execute(params![w.doc_id, w.kind, seq])?;
                }
                for obj in &c.new_event_lists {
                    list.execute(params![w.doc_id, obj])?;
                }
            }
        }
        tx.commit()?;
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
            .query_row("SELECT snapshot, snapshot_seq, snapshot_changes FROM docs WHERE doc_id = ?1", [doc_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
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
