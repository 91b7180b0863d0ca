//! The device database's schema and its migrations.
//!
//! Migrations are numbered by position and recorded in SQLite's `user_version`; each runs in the
//! transaction that bumps the version, so a crash mid-migration leaves the old schema intact.
//! Never edit a shipped migration: append a new one.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    // 1: documents, changes, outbox, projections, identity.
    r#"
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    -- This device's identity: the Ed25519 key that signs every event made here.
    CREATE TABLE device (
        id          TEXT PRIMARY KEY,
        secret_key  BLOB NOT NULL,
        created_ms  INTEGER NOT NULL
    );
    -- One Automerge document per permit (kind 'permit') plus the org document (kind 'org').
    -- `snapshot` is the compacted document; later changes wait in `changes` until compaction.
    CREATE TABLE documents (
        id            TEXT PRIMARY KEY,
        kind          TEXT NOT NULL,
        snapshot      BLOB,
        change_count  INTEGER NOT NULL DEFAULT 0,
        updated_ms    INTEGER NOT NULL
    );
    CREATE TABLE changes (
        seq     INTEGER PRIMARY KEY AUTOINCREMENT,
        doc_id  TEXT NOT NULL REFERENCES documents(id),
        hash    TEXT NOT NULL UNIQUE,
        bytes   BLOB NOT NULL
    );
    CREATE INDEX changes_by_doc ON changes(doc_id, seq);
    -- Changes made here that the sync server has not acknowledged yet.
    CREATE TABLE outbox (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        doc_id       TEXT NOT NULL,
        change_hash  TEXT NOT NULL UNIQUE,
        bytes        BLOB NOT NULL,
        created_ms   INTEGER NOT NULL
    );
    -- One row per permit for lists, dashboards and KPIs; rewritten in the same transaction as
    -- every change to the permit's document.
    CREATE TABLE permits (
        id               TEXT PRIMARY KEY,
        number           TEXT NOT NULL,
        permit_type      TEXT NOT NULL,
        grade            TEXT NOT NULL,
        title            TEXT NOT NULL,
        location_id      TEXT,
        status           TEXT NOT NULL,
        current_step     TEXT,
        applicant_id     TEXT,
        guardian_id      TEXT,
        planned_start_ms INTEGER,
        planned_end_ms   INTEGER,
        updated_ms       INTEGER NOT NULL,
        alert_count      INTEGER NOT NULL,
        rejected_count   INTEGER NOT NULL
    );
    CREATE INDEX permits_by_status ON permits(status, updated_ms DESC, id);
    CREATE INDEX permits_by_update ON permits(updated_ms DESC, id);
    -- Photos and handwritten signatures, by SHA-256 of their bytes.
    CREATE TABLE blobs (
        hash        TEXT PRIMARY KEY,
        mime        TEXT NOT NULL,
        bytes       BLOB NOT NULL,
        created_ms  INTEGER NOT NULL
    );
    "#,
    // 2: which blobs the sync server has not confirmed holding yet.
    r#"
    -- Blobs made on this device (photos, signatures) not yet known to be on the sync server:
    -- each sync asks the server which of these it lacks, uploads those, and forgets them all.
    CREATE TABLE blob_outbox (
        hash        TEXT PRIMARY KEY REFERENCES blobs(hash),
        created_ms  INTEGER NOT NULL
    );
    "#,
    // 3: the registry log replaces the org document; refused and quarantined changes; PIN
    // attempts. A device upgraded from the org document enrols again (its old server's device
    // table is gone with the org document).
    r#"
    -- The plant's registry log as the sync server signed it, entry by entry; folded into the
    -- registry on open, checked against the server key pinned at enrolment.
    CREATE TABLE registry_log (
        seq   INTEGER PRIMARY KEY,
        body  TEXT NOT NULL,
        sig   TEXT NOT NULL
    );
    -- Changes made here that the sync server refused: taken out of their documents (so nothing
    -- waits for them forever) and kept, with the reason, for the person to see and redo.
    CREATE TABLE refused_changes (
        hash        TEXT PRIMARY KEY,
        doc_id      TEXT NOT NULL,
        bytes       BLOB NOT NULL,
        code        TEXT NOT NULL,
        reason      TEXT NOT NULL,
        refused_ms  INTEGER NOT NULL
    );
    -- Pulled changes of a document that would not apply: the document is left as it was and
    -- shown as quarantined; the rest of the plant syncs on.
    CREATE TABLE quarantine (
        doc_id       TEXT NOT NULL,
        hash         TEXT NOT NULL,
        bytes        BLOB NOT NULL,
        reason       TEXT NOT NULL,
        received_ms  INTEGER NOT NULL,
        PRIMARY KEY (doc_id, hash)
    );
    -- Wrong PINs per person on this device, for growing delays.
    CREATE TABLE pin_attempts (
        person           TEXT PRIMARY KEY,
        failures         INTEGER NOT NULL,
        locked_until_ms  INTEGER NOT NULL
    );
    DELETE FROM outbox WHERE doc_id = 'org';
    DELETE FROM changes WHERE doc_id = 'org';
    DELETE FROM documents WHERE id = 'org';
    DELETE FROM meta WHERE key IN ('sync_token', 'sync_cursor');
    "#,
    // 4: whose turn it is on each permit (the list's rows, and "waiting for me").
    r#"
    -- The permit's next step that moves it on and who may take it (JSON of ptw_core's `Turn`);
    -- NULL on rows written before this column, which are derived again on open.
    ALTER TABLE permits ADD COLUMN turn TEXT;
    -- Everyone who may take that step, for "waiting for me".
    CREATE TABLE permit_turns (
        person_id  TEXT NOT NULL,
        permit_id  TEXT NOT NULL,
        PRIMARY KEY (person_id, permit_id)
    );
    CREATE INDEX permit_turns_by_permit ON permit_turns(permit_id);
    "#,
    // 5: the rejected permit a draft revises, to find its revisions.
    r#"
    ALTER TABLE permits ADD COLUMN revises TEXT;
    CREATE INDEX permits_by_revised ON permits(revises) WHERE revises IS NOT NULL;
    "#,
    // 6: which permits have changes not yet on the sync server (the list's mark).
    r#"
    CREATE INDEX outbox_by_doc ON outbox(doc_id);
    "#,
    // 7: every permit's photos, to find one attached to two permits (by its bytes' hash, or by
    // its difference hash: the same picture re-encoded).
    r#"
    CREATE TABLE photo_index (
        permit_id  TEXT NOT NULL,
        blob       TEXT NOT NULL,
        dhash      INTEGER NOT NULL,
        PRIMARY KEY (permit_id, blob)
    );
    CREATE INDEX photo_index_by_blob ON photo_index(blob);
    "#,
    // 8: what each permit waits for, for the alert engine (NULL: nothing); every row is
    // projected again on the next open, to fill it.
    r#"
    ALTER TABLE permits ADD COLUMN watch TEXT;
    CREATE INDEX permits_watched ON permits(id) WHERE watch IS NOT NULL;
    UPDATE permits SET turn = NULL;
    "#,
    // 9: a live permit's watch keeps its window for the conflict rules (SIMOPS): projected
    // again on the next open.
    r#"
    UPDATE permits SET turn = NULL;
    "#,
];

/// Bring the database to the newest schema.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: usize = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// The newest schema version this build knows.
pub fn latest_version() -> usize {
    MIGRATIONS.len()
}
