//! The PostgreSQL backend of [`Storage`], for plants that outgrow one machine: several stateless
//! server instances behind a load balancer share one PostgreSQL database. Same semantics as the
//! SQLite backend and the same test suite ([`super::suite`]).
//!
//! The blocking `postgres` client in an r2d2 pool of [`POOL_SIZE`] connections, each checked
//! before use (a broken one — database restart, network — is replaced); callers run it inside
//! `spawn_blocking`. Every wait is bounded: connecting and waiting for a free connection
//! ([`CONNECT_TIMEOUT`]), a statement ([`STATEMENT_TIMEOUT`]), a transaction left idle.
//! No TLS: the database is on loopback or on the plant network behind the reverse proxy.
//!
//! What differs from SQLite because several servers write at once:
//! - the schema is migrated under an advisory lock, versions recorded in `schema_versions`;
//! - the epoch is inserted if absent, so every instance reads the same one;
//! - writers of `changes` take a table lock for their transaction, so sequence numbers become
//!   visible in order: a puller never moves its cursor past a number whose change commits later;
//! - spending an enrolment code locks its row (`FOR UPDATE`), so a code enrols one device only.

use super::{
    assemble_snapshot_page, ChangePage, ColdRow, CompactionInput, DocState, EnrolCode, Enrolled, LegacyDevice,
    NewChange, NewEnrolCode, Snapshot, SnapshotPage, Storage,
};
use crate::error::{Error, Result};
use postgres::{Client, NoTls};
use ptw_core::authority::SignedEntry;
use ptw_core::sync::{PulledChange, WireChange};
use ptw_core::DeviceId;
use r2d2_postgres::{r2d2, PostgresConnectionManager};
use std::collections::HashSet;
use std::time::Duration;

/// Schema migrations; migration `i` is recorded as version `i + 1` in `schema_versions`. Append only.
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        public_key TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        revoked BOOLEAN NOT NULL DEFAULT FALSE,
        enrolled_ms BIGINT NOT NULL
    );
    CREATE TABLE enrol_codes (
        code_hash TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        expires_ms BIGINT NOT NULL,
        used_ms BIGINT
    );
    CREATE TABLE changes (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        doc_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        bytes BYTEA NOT NULL,
        device_id TEXT NOT NULL,
        received_ms BIGINT NOT NULL
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
        first_seq BIGINT NOT NULL,
        change_count BIGINT NOT NULL,
        snapshot BYTEA,
        snapshot_seq BIGINT,
        snapshot_changes BIGINT NOT NULL DEFAULT 0,
        tried_changes BIGINT NOT NULL DEFAULT 0
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
        bytes BYTEA NOT NULL,
        size BIGINT NOT NULL,
        device_id TEXT NOT NULL,
        received_ms BIGINT NOT NULL
    );
",
    "
    -- The registry log this server signs (see the SQLite backend).
    CREATE TABLE registry (seq BIGINT PRIMARY KEY, body TEXT NOT NULL, sig TEXT NOT NULL);
    CREATE TABLE device_tokens (token_hash TEXT PRIMARY KEY, device_id TEXT NOT NULL, created_ms BIGINT NOT NULL);
    CREATE TABLE device_clocks (device_id TEXT PRIMARY KEY, last_event_ms BIGINT NOT NULL);
    ALTER TABLE enrol_codes ADD COLUMN replaces TEXT;
    ALTER TABLE changes ADD COLUMN actor TEXT;
    ALTER TABLE changes ADD COLUMN actor_seq BIGINT;
    CREATE UNIQUE INDEX changes_by_actor ON changes(doc_id, actor, actor_seq);
    INSERT INTO meta (key, value) VALUES ('recovery_until_ms', '0') ON CONFLICT (key) DO NOTHING;
",
];

/// Advisory lock key held while migrating, so instances starting together migrate once ("ptwsync").
const MIGRATION_LOCK: i64 = 0x0070_7477_7379_6e63;

/// Connections kept: the writer thread, compaction and the pulls being answered at once.
pub const POOL_SIZE: u32 = 8;
/// Connecting to the database, or waiting for a free pooled connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest a statement may run, and a transaction sit idle, before PostgreSQL ends it.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(60);

type Pooled = r2d2::PooledConnection<PostgresConnectionManager<NoTls>>;

pub struct PostgresStorage {
    pool: r2d2::Pool<PostgresConnectionManager<NoTls>>,
}

impl PostgresStorage {
    /// Connect to `url` (`postgres://user:pass@host:port/db` or `host=… dbname=…`), migrate the
    /// schema and make the epoch if this is a new database.
    pub fn connect(url: &str) -> Result<Self> {
        let mut config: postgres::Config = url.parse().map_err(|e| {
            Error::Database(format!("the database URL is not a PostgreSQL URL ({e}); expected postgres://user@host/db"))
        })?;
        let ms = STATEMENT_TIMEOUT.as_millis();
        config
            .connect_timeout(CONNECT_TIMEOUT)
            .keepalives(true)
            .options(&format!("-c statement_timeout={ms} -c idle_in_transaction_session_timeout={ms}"));
        let mut client = config.connect(NoTls).map_err(db_error)?;
        migrate(&mut client)?;
        drop(client);
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(CONNECT_TIMEOUT)
            .test_on_check_out(true)
            .build(PostgresConnectionManager::new(config, NoTls))
            .map_err(|e| Error::Database(format!("no connection to PostgreSQL: {e}")))?;
        Ok(PostgresStorage { pool })
    }

    /// A pooled connection, checked to be alive (a broken one is replaced).
    fn client(&self) -> Result<Pooled> {
        self.pool.get().map_err(|e| Error::Database(format!("no connection to PostgreSQL: {e}")))
    }
}

/// PostgreSQL errors with their cause: the server's message, or why the connection failed.
fn db_error(e: postgres::Error) -> Error {
    if let Some(db) = e.as_db_error() {
        return Error::Database(db.to_string());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    Error::Database(text)
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Self {
        db_error(e)
    }
}

fn migrate(client: &mut Client) -> Result<()> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_versions (version INTEGER PRIMARY KEY, applied_ms BIGINT NOT NULL)",
    )?;
    let version: i32 = tx.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_versions", &[])?.get(0);
    let known = MIGRATIONS.len();
    let version = usize::try_from(version).unwrap_or(0);
    if version > known {
        return Err(Error::Database(format!(
            "the database has schema version {version}, newer than this server knows ({known}); run a newer server"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        tx.batch_execute(sql)?;
        let v = i32::try_from(i + 1).map_err(|_| Error::Internal("too many migrations".into()))?;
        tx.execute("INSERT INTO schema_versions (version, applied_ms) VALUES ($1, $2)", &[&v, &crate::now_ms()])?;
    }
    // Insert-if-absent: instances sharing the database all read the one epoch made first.
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('epoch', $1) ON CONFLICT (key) DO NOTHING",
        &[&crate::secret::random_hex(16)],
    )?;
    tx.commit()?;
    Ok(())
}

fn parse_device(id: String) -> Result<DeviceId> {
    id.parse().map_err(|_| Error::Database(format!("device id '{id}' in the database is not a uuid")))
}

fn seq_param(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// Insert numbered registry entries; a number already taken is a conflict.
fn insert_registry(tx: &mut postgres::Transaction<'_>, entries: &[(u64, SignedEntry)]) -> Result<()> {
    for (seq, e) in entries {
        let inserted = tx.execute(
            "INSERT INTO registry (seq, body, sig) VALUES ($1, $2, $3) ON CONFLICT (seq) DO NOTHING",
            &[&seq_param(*seq), &e.body, &e.sig],
        )?;
        if inserted != 1 {
            return Err(Error::RegistryConflict);
        }
    }
    Ok(())
}

/// A count or size as a query parameter, saturating.
fn param(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Storage for PostgresStorage {
    fn epoch(&self) -> Result<String> {
        Ok(self.client()?.query_one("SELECT value FROM meta WHERE key = 'epoch'", &[])?.try_get(0)?)
    }

    fn rotate_epoch(&self) -> Result<String> {
        let epoch = crate::secret::random_hex(16);
        self.client()?.execute("UPDATE meta SET value = $1 WHERE key = 'epoch'", &[&epoch])?;
        Ok(epoch)
    }

    fn recovery_until_ms(&self) -> Result<i64> {
        let row = self.client()?.query_opt("SELECT value FROM meta WHERE key = 'recovery_until_ms'", &[])?;
        let v: Option<String> = row.map(|r| r.try_get(0)).transpose()?;
        Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    fn set_recovery_until_ms(&self, until_ms: i64) -> Result<()> {
        self.client()?.execute(
            "INSERT INTO meta (key, value) VALUES ('recovery_until_ms', $1)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[&until_ms.to_string()],
        )?;
        Ok(())
    }

    fn add_enrol_code(&self, code: &NewEnrolCode) -> Result<()> {
        self.client()?.execute(
            "INSERT INTO enrol_codes (code_hash, name, expires_ms, replaces) VALUES ($1, $2, $3, $4)",
            &[&code.code_hash, &code.name, &code.expires_ms, &code.replaces.map(|d| d.to_string())],
        )?;
        Ok(())
    }

    fn enrol_code(&self, code_hash: &str) -> Result<Option<EnrolCode>> {
        let row = self.client()?.query_opt(
            "SELECT name, expires_ms, used_ms, replaces FROM enrol_codes WHERE code_hash = $1",
            &[&code_hash],
        )?;
        row.map(|r| {
            let replaces: Option<String> = r.try_get(3)?;
            Ok(EnrolCode {
                name: r.try_get(0)?,
                expires_ms: r.try_get(1)?,
                used_ms: r.try_get(2)?,
                replaces: replaces.map(parse_device).transpose()?,
            })
        })
        .transpose()
    }

    fn enrol(&self, code_hash: &str, now_ms: i64, enrolled: &Enrolled) -> Result<()> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        // The row lock makes two instances spending the same code at once serialise.
        let spent = tx.execute(
            "UPDATE enrol_codes SET used_ms = $1 WHERE code_hash = $2 AND used_ms IS NULL AND expires_ms > $1",
            &[&now_ms, &code_hash],
        )?;
        if spent != 1 {
            return Err(Error::CodeUsed);
        }
        insert_registry(&mut tx, &enrolled.entries)?;
        tx.execute(
            "INSERT INTO device_tokens (token_hash, device_id, created_ms) VALUES ($1, $2, $3)",
            &[&enrolled.token_hash, &enrolled.device_id.to_string(), &now_ms],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn device_by_token(&self, token_hash: &str) -> Result<Option<DeviceId>> {
        let row =
            self.client()?.query_opt("SELECT device_id FROM device_tokens WHERE token_hash = $1", &[&token_hash])?;
        row.map(|r| parse_device(r.try_get(0)?)).transpose()
    }

    fn legacy_devices(&self) -> Result<Vec<LegacyDevice>> {
        let rows = self
            .client()?
            .query("SELECT id, name, public_key, token_hash, revoked FROM devices ORDER BY enrolled_ms, id", &[])?;
        rows.iter()
            .map(|r| {
                Ok(LegacyDevice {
                    id: parse_device(r.try_get(0)?)?,
                    name: r.try_get(1)?,
                    public_key: r.try_get(2)?,
                    token_hash: r.try_get(3)?,
                    revoked: r.try_get(4)?,
                })
            })
            .collect()
    }

    fn move_legacy_devices(&self, entries: &[(u64, SignedEntry)], devices: &[LegacyDevice]) -> Result<()> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        insert_registry(&mut tx, entries)?;
        for d in devices {
            tx.execute(
                "INSERT INTO device_tokens (token_hash, device_id, created_ms) VALUES ($1, $2, 0)
                 ON CONFLICT DO NOTHING",
                &[&d.token_hash, &d.id.to_string()],
            )?;
            tx.execute("DELETE FROM devices WHERE id = $1", &[&d.id.to_string()])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn registry_entries(&self, after: Option<u64>, limit: usize) -> Result<Vec<SignedEntry>> {
        let from = after.map_or(-1, seq_param);
        let rows = self
            .client()?
            .query("SELECT body, sig FROM registry WHERE seq > $1 ORDER BY seq LIMIT $2", &[&from, &param(limit)])?;
        rows.iter().map(|r| Ok(SignedEntry { body: r.try_get(0)?, sig: r.try_get(1)? })).collect()
    }

    fn append_registry(&self, entries: &[(u64, SignedEntry)]) -> Result<()> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        insert_registry(&mut tx, entries)?;
        tx.commit()?;
        Ok(())
    }

    fn known_changes(&self, hashes: &[String]) -> Result<HashSet<String>> {
        let rows = self.client()?.query("SELECT hash FROM changes WHERE hash = ANY($1)", &[&hashes])?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    fn doc_state(&self, doc_id: &str) -> Result<Option<DocState>> {
        let row = self.client()?.query_opt("SELECT kind, change_count FROM docs WHERE doc_id = $1", &[&doc_id])?;
        row.map(|r| {
            let n: i64 = r.try_get(1)?;
            Ok(DocState { kind: r.try_get(0)?, change_count: u64::try_from(n).unwrap_or(0) })
        })
        .transpose()
    }

    fn actor_seq(&self, doc_id: &str, actor: &str) -> Result<u64> {
        let n: i64 = self
            .client()?
            .query_one(
                "SELECT COALESCE(MAX(actor_seq), 0)::BIGINT FROM changes WHERE doc_id = $1 AND actor = $2",
                &[&doc_id, &actor],
            )?
            .try_get(0)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn device_clock(&self, device: DeviceId) -> Result<Option<i64>> {
        let row = self
            .client()?
            .query_opt("SELECT last_event_ms FROM device_clocks WHERE device_id = $1", &[&device.to_string()])?;
        row.map(|r| Ok(r.try_get(0)?)).transpose()
    }

    fn store_changes(&self, changes: &[NewChange], now_ms: i64) -> Result<()> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        // One writer of `changes` at a time, across instances, until commit: sequence numbers are
        // then committed in order, and a pull never skips one that becomes visible later.
        // Readers (pulls) are not blocked by this mode.
        tx.batch_execute("LOCK TABLE changes IN SHARE ROW EXCLUSIVE MODE")?;
        let insert = tx.prepare(
            "INSERT INTO changes (hash, doc_id, kind, bytes, device_id, received_ms, actor, actor_seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (hash) DO NOTHING RETURNING seq",
        )?;
        let doc = tx.prepare(
            "INSERT INTO docs (doc_id, kind, first_seq, change_count) VALUES ($1, $2, $3, 1)
             ON CONFLICT (doc_id) DO UPDATE SET change_count = docs.change_count + 1",
        )?;
        let clock = tx.prepare(
            "INSERT INTO device_clocks (device_id, last_event_ms) VALUES ($1, $2)
             ON CONFLICT (device_id) DO UPDATE SET last_event_ms = GREATEST(device_clocks.last_event_ms, EXCLUDED.last_event_ms)",
        )?;
        for c in changes {
            let w = &c.change;
            let inserted = tx.query_opt(
                &insert,
                &[
                    &w.hash,
                    &w.doc_id,
                    &w.kind,
                    &w.bytes,
                    &c.device_id.to_string(),
                    &now_ms,
                    &c.actor,
                    &seq_param(c.actor_seq),
                ],
            )?;
            if let Some(row) = inserted {
                let seq: i64 = row.try_get(0)?;
                tx.execute(&doc, &[&w.doc_id, &w.kind, &seq])?;
            }
            for (device, ms) in &c.event_times {
                tx.execute(&clock, &[&device.to_string(), ms])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn changes_without_actor(&self, limit: usize) -> Result<Vec<(String, Vec<u8>)>> {
        let rows = self
            .client()?
            .query("SELECT hash, bytes FROM changes WHERE actor IS NULL ORDER BY seq LIMIT $1", &[&param(limit)])?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    fn set_change_actor(&self, hash: &str, actor: &str, actor_seq: u64) -> Result<()> {
        self.client()?.execute(
            "UPDATE changes SET actor = $2, actor_seq = $3 WHERE hash = $1",
            &[&hash, &actor, &seq_param(actor_seq)],
        )?;
        Ok(())
    }

    fn changes_since(&self, since: i64, max_changes: usize, max_bytes: usize) -> Result<ChangePage> {
        let mut client = self.client()?;
        // First the sizes, to cut the page without fetching bytes that will not be sent…
        let sizes = client.query(
            "SELECT seq, octet_length(bytes)::BIGINT FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&since, &param(max_changes.saturating_add(1))],
        )?;
        let mut page = ChangePage { changes: Vec::new(), more: false };
        let mut bytes_in_page = 0usize;
        let mut last = None;
        for (n, r) in sizes.iter().enumerate() {
            let len = usize::try_from(r.try_get::<_, i64>(1)?).unwrap_or(usize::MAX);
            if n >= max_changes || (n > 0 && bytes_in_page.saturating_add(len) > max_bytes) {
                page.more = true;
                break;
            }
            bytes_in_page = bytes_in_page.saturating_add(len);
            last = Some(r.try_get::<_, i64>(0)?);
        }
        let Some(last) = last else { return Ok(page) };
        // …then the page itself. Committed changes never gain a lower sequence number later (see
        // store_changes), so this range holds exactly what was sized.
        let rows = client.query(
            "SELECT seq, doc_id, kind, hash, bytes FROM changes WHERE seq > $1 AND seq <= $2 ORDER BY seq",
            &[&since, &last],
        )?;
        for r in &rows {
            page.changes.push(PulledChange {
                seq: r.try_get(0)?,
                change: WireChange {
                    doc_id: r.try_get(1)?,
                    kind: r.try_get(2)?,
                    hash: r.try_get(3)?,
                    bytes: r.try_get(4)?,
                },
            });
        }
        Ok(page)
    }

    fn max_seq(&self) -> Result<i64> {
        Ok(self.client()?.query_one("SELECT COALESCE(MAX(seq), 0)::BIGINT FROM changes", &[])?.try_get(0)?)
    }

    fn snapshot_page(&self, upto: i64, after: (&str, &str), max_docs: usize, max_bytes: usize) -> Result<SnapshotPage> {
        let mut client = self.client()?;
        // Every change numbered up to `upto` is committed (see store_changes), and a document's
        // snapshot is read in the same row as the number it covers, so no transaction is needed.
        let docs = client.query(
            "SELECT doc_id, kind, CASE WHEN snapshot_seq <= $2 THEN snapshot_seq END,
                    CASE WHEN snapshot_seq <= $2 THEN snapshot_changes END,
                    CASE WHEN snapshot_seq <= $2 THEN snapshot END
             FROM docs WHERE (kind > $1 OR (kind = $1 AND doc_id > $4)) AND first_seq <= $2
             ORDER BY kind, doc_id LIMIT $3",
            &[&after.0, &upto, &param(max_docs.saturating_add(1)), &after.1],
        )?;
        let tail = client
            .prepare("SELECT hash, bytes FROM changes WHERE doc_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq")?;
        let rows = docs.iter().map(|r| {
            Ok(ColdRow {
                doc_id: r.try_get(0)?,
                kind: r.try_get(1)?,
                snapshot_seq: r.try_get(2)?,
                snapshot_changes: r.try_get(3)?,
                snapshot: r.try_get(4)?,
            })
        });
        assemble_snapshot_page(rows, max_docs, max_bytes, |doc_id, kind, from| {
            client
                .query(&tail, &[&doc_id, &from, &upto])?
                .iter()
                .map(|c| {
                    let (hash, bytes) = (c.try_get(0)?, c.try_get(1)?);
                    Ok(WireChange { doc_id: doc_id.to_owned(), kind: kind.to_owned(), hash, bytes })
                })
                .collect()
        })
    }

    fn compaction_candidates(&self, min_new: u64, limit: usize) -> Result<Vec<String>> {
        let rows = self.client()?.query(
            "SELECT doc_id FROM docs WHERE change_count > tried_changes AND change_count - snapshot_changes >= $1
             ORDER BY doc_id LIMIT $2",
            &[&count_param(min_new), &param(limit)],
        )?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    fn compaction_backlog(&self, min_new: u64) -> Result<u64> {
        let n: i64 = self
            .client()?
            .query_one(
                "SELECT count(*) FROM docs WHERE change_count > tried_changes AND change_count - snapshot_changes >= $1",
                &[&count_param(min_new)],
            )?
            .try_get(0)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn compaction_input(&self, doc_id: &str) -> Result<Option<CompactionInput>> {
        let mut client = self.client()?;
        let Some(row) = client
            .query_opt("SELECT snapshot, snapshot_seq, snapshot_changes FROM docs WHERE doc_id = $1", &[&doc_id])?
        else {
            return Ok(None);
        };
        let bytes: Option<Vec<u8>> = row.try_get(0)?;
        let seq: Option<i64> = row.try_get(1)?;
        let changes: i64 = row.try_get(2)?;
        let snapshot = Snapshot::from_columns(bytes, seq, changes);
        let from = snapshot.as_ref().map_or(0, |s| s.upto_seq);
        let tail = client
            .query("SELECT seq, bytes FROM changes WHERE doc_id = $1 AND seq > $2 ORDER BY seq", &[&doc_id, &from])?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(CompactionInput { doc_id: doc_id.to_owned(), snapshot, tail }))
    }

    fn put_snapshot(&self, doc_id: &str, snapshot: Option<&Snapshot>, tried_changes: u64) -> Result<()> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        tx.execute(
            "UPDATE docs SET tried_changes = GREATEST(tried_changes, $2) WHERE doc_id = $1",
            &[&doc_id, &count_param(tried_changes)],
        )?;
        if let Some(s) = snapshot {
            tx.execute(
                "UPDATE docs SET snapshot = $2, snapshot_seq = $3, snapshot_changes = $4
                 WHERE doc_id = $1 AND COALESCE(snapshot_seq, 0) < $3",
                &[&doc_id, &s.bytes, &s.upto_seq, &count_param(s.changes)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn missing_blobs(&self, hashes: &[String]) -> Result<Vec<String>> {
        let rows = self.client()?.query("SELECT hash FROM blobs WHERE hash = ANY($1)", &[&hashes])?;
        let stored = rows.iter().map(|r| Ok(r.try_get(0)?)).collect::<Result<HashSet<String>>>()?;
        Ok(super::not_in(hashes, &stored))
    }

    fn put_blob(&self, hash: &str, mime: &str, bytes: &[u8], device_id: DeviceId, now_ms: i64) -> Result<()> {
        // One statement is its own transaction, durable when it returns. Two instances storing
        // the same blob at once: one inserts, the other does nothing.
        self.client()?.execute(
            "INSERT INTO blobs (hash, mime, bytes, size, device_id, received_ms) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (hash) DO NOTHING",
            &[&hash, &mime, &bytes, &param(bytes.len()), &device_id.to_string(), &now_ms],
        )?;
        Ok(())
    }

    fn blob(&self, hash: &str) -> Result<Option<(String, Vec<u8>)>> {
        let row = self.client()?.query_opt("SELECT mime, bytes FROM blobs WHERE hash = $1", &[&hash])?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }
}

fn count_param(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    crate::storage_suite!(super::PostgresStorage::connect(&super::super::pg_cluster::fresh_database_url())
        .expect("connect to the test PostgreSQL"));

    mod pool {
        use super::super::*;
        use crate::storage::pg_cluster::fresh_database_url;

        #[test]
        fn connections_cut_by_the_database_are_replaced_and_every_statement_has_a_time_limit() {
            let url = fresh_database_url();
            let storage = PostgresStorage::connect(&url).expect("connect");
            let epoch = storage.epoch().expect("epoch");
            let limit: String =
                storage.client().expect("client").query_one("SHOW statement_timeout", &[]).expect("show").get(0);
            assert_eq!(limit, "1min");
            let idle: String = storage
                .client()
                .expect("client")
                .query_one("SHOW idle_in_transaction_session_timeout", &[])
                .expect("show")
                .get(0);
            assert_eq!(idle, "1min");
            // The database ends every session of this database (a restart, a failover).
            let (admin_url, db) = url.rsplit_once('/').expect("url");
            let mut admin = Client::connect(&format!("{admin_url}/postgres"), NoTls).expect("admin");
            let cut = admin
                .execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", &[&db])
                .expect("terminate");
            assert!(cut >= 1, "the pool held a connection");
            assert_eq!(storage.epoch().expect("the next call gets a new connection"), epoch);
        }
    }
}
