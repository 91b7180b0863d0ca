//! Alerts while the devices are offline (R-ALERT, R-SLA): the server derives every permit that
//! changed, keeps what each waits for (its [`PermitWatch`]), runs the same alert engine as the
//! devices over the watches and the registry on a timer, and sends what is new through the
//! plant's channels from a durable outbox.
//!
//! Everything lives in its own SQLite file in the data directory (`alerts.sqlite3`), whichever
//! backend holds the permits — the watches, the cursor of changes folded so far, the outbox and
//! the alert log:
//!
//! - a notification is one outbox row per (alert state, channel), written once: an alert is
//!   sent at most once per channel per state (an overdue step again at each escalation level);
//! - rows survive restarts; a robot's or webhook's failed send is retried with backoff and
//!   jitter, up to `max_tries`, then kept as failed, visible in `alerts outbox`; an SMS is never
//!   retried blindly: one whose answer never came — or that was being sent when the server
//!   stopped — is kept as uncertain;
//! - the robots' 20-a-minute window is kept by the sender: what waits beyond it goes as one
//!   digest;
//! - the alert log keeps each alert's raise, first notification, acknowledgement and
//!   resolution, from which [`AlertBook::response`] computes the response rate (R-KPI).

use crate::error::{Error, Result};
use crate::registry::ServerRegistry;
use crate::storage::Storage;
use ptw_core::alerts::{self, PermitWatch, Raised, Severity};
use ptw_core::registry::Registry;
use ptw_core::rules::Alert;
use ptw_core::PermitId;
use ptw_notify::{deliver, dingtalk, limit, sms, webhook, wecom, HttpTransport, Outcome};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Deserialize;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const DB_FILE: &str = "alerts.sqlite3";

/// The `[alerts]` section of the server's configuration.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// Seconds between scans (default 15).
    pub interval_seconds: Option<u64>,
    /// Tries of a robot or webhook notification before it is kept as failed (default 8).
    pub max_tries: Option<u32>,
    /// Where a permit opens, for the cards' button (`{permit}` is replaced by its id).
    pub permit_url: Option<String>,
    #[serde(default, rename = "channel")]
    pub channels: Vec<ChannelConfig>,
}

/// One channel: where it sends, and which alerts it takes.
#[derive(Debug, Clone, Deserialize)]
pub struct ChannelConfig {
    pub name: String,
    #[serde(flatten)]
    pub kind: ChannelKind,
    /// The least severe alert it takes (default warning; an SMS channel takes critical only).
    #[serde(default)]
    pub min_severity: Option<Severity>,
    /// Only alerts of permits in these areas (empty: every area).
    #[serde(default)]
    pub areas: Vec<String>,
    /// Only alerts routed to one of these roles, or asking someone holding one (empty: all).
    #[serde(default)]
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChannelKind {
    Dingtalk(dingtalk::Robot),
    Wecom(wecom::Robot),
    Sms(sms::Gateway),
    Webhook(webhook::Hook),
}

impl ChannelConfig {
    fn min_severity(&self) -> Severity {
        match self.kind {
            ChannelKind::Sms(_) => Severity::Critical,
            _ => self.min_severity.unwrap_or(Severity::Warning),
        }
    }

    /// Whether `r` (on a permit in `area`) goes to this channel.
    fn takes(&self, r: &Raised, area: Option<&str>, registry: &Registry) -> bool {
        let severe = r.severity >= self.min_severity();
        let in_area = self.areas.is_empty() || area.is_some_and(|a| self.areas.iter().any(|x| x == a));
        let for_role = self.roles.is_empty()
            || r.roles.iter().any(|role| self.roles.iter().any(|x| x == role.as_str()))
            || r.act
                .iter()
                .filter_map(|p| registry.person(*p))
                .any(|p| p.roles.iter().any(|role| self.roles.iter().any(|x| x == role.as_str())));
        severe && in_area && for_role
    }

    fn window(&self) -> Option<limit::Window> {
        match self.kind {
            ChannelKind::Dingtalk(_) | ChannelKind::Wecom(_) => Some(limit::Window::ROBOT),
            ChannelKind::Sms(_) | ChannelKind::Webhook(_) => None,
        }
    }
}

const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    -- What each permit with anything to watch waits for.
    CREATE TABLE watches (
        doc_id TEXT PRIMARY KEY,
        number TEXT NOT NULL,
        title TEXT NOT NULL,
        grade TEXT NOT NULL,
        watch TEXT NOT NULL
    );
    -- One row per alert (by its key), from its raise to its resolution.
    CREATE TABLE alert_log (
        key TEXT NOT NULL,
        permit TEXT NOT NULL,
        kind TEXT NOT NULL,
        severity TEXT NOT NULL,
        area TEXT,
        level INTEGER NOT NULL,
        raised_ms INTEGER NOT NULL,
        first_seen_ms INTEGER NOT NULL,
        notified_ms INTEGER,
        acked_ms INTEGER,
        resolved_ms INTEGER,
        PRIMARY KEY (permit, key)
    );
    -- One notification per (alert state, channel).
    CREATE TABLE outbox (
        state_key TEXT NOT NULL,
        permit TEXT NOT NULL,
        channel TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        status TEXT NOT NULL,
        tries INTEGER NOT NULL DEFAULT 0,
        next_try_ms INTEGER NOT NULL,
        sent_ms INTEGER,
        last_error TEXT,
        title TEXT NOT NULL,
        text TEXT NOT NULL,
        mobiles TEXT NOT NULL,
        PRIMARY KEY (permit, state_key, channel)
    );
    CREATE INDEX outbox_due ON outbox(status, next_try_ms);
",
    "
    -- The alerts still open, which each round compares with those raised: a plant's closed
    -- permits leave many resolved rows behind.
    CREATE INDEX alert_log_open ON alert_log(permit, key) WHERE resolved_ms IS NULL;
    -- What each channel sent in the last minute (the robots' window).
    CREATE INDEX outbox_sent ON outbox(channel, sent_ms);
",
];

/// A notification as the outbox keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub permit: String,
    pub state_key: String,
    pub channel: String,
    pub status: String,
    pub tries: u32,
    pub sent_ms: Option<i64>,
    pub last_error: Option<String>,
    pub title: String,
    pub text: String,
    pub mobiles: Vec<String>,
}

/// An alert open as of the last scan, as the alert log keeps it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OpenAlert {
    /// The permit's document id; empty for the register's own alerts.
    pub permit: String,
    pub key: String,
    pub kind: String,
    pub severity: String,
    pub area: Option<String>,
    pub level: u32,
    pub raised_ms: i64,
    pub acked_ms: Option<i64>,
}

/// The alert response rate of a period (R-KPI): alerts raised in it, and those acknowledged or
/// resolved within the catalog's response minutes.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Response {
    pub area: String,
    pub raised: u64,
    /// Acknowledged by someone asked, at any time.
    pub acknowledged: u64,
    pub handled_in_time: u64,
}

/// The alerting's own database.
pub struct AlertBook {
    conn: Mutex<Connection>,
}

fn db(e: rusqlite::Error) -> Error {
    Error::Internal(format!("alerts database: {e}"))
}

impl AlertBook {
    pub fn open(data_dir: &Path) -> Result<AlertBook> {
        let mut conn = Connection::open(data_dir.join(DB_FILE)).map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(db)?;
        let found: usize = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)).map_err(db)? as usize;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(found) {
            let tx = conn.transaction().map_err(db)?;
            tx.execute_batch(sql).map_err(db)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64).map_err(db)?;
            tx.commit().map_err(db)?;
        }
        // An SMS that was being sent when the server stopped may have gone: never sent again.
        conn.execute(
            "UPDATE outbox SET status = 'uncertain', last_error = 'the server stopped while it was being sent' WHERE status = 'sending'",
            [],
        )
        .map_err(db)?;
        Ok(AlertBook { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>> {
        self.conn.lock().map_err(|_| Error::Internal("alerts database lock poisoned".into()))
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        self.conn()?.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional().map_err(db)
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn()?
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map_err(db)?;
        Ok(())
    }

    /// Every watch, with the permit's number, title and grade.
    pub fn watches(&self) -> Result<Vec<(String, String, String, PermitWatch)>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached("SELECT number, title, grade, watch FROM watches").map_err(db)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, String>(3)?))).map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (number, title, grade, watch) = row.map_err(db)?;
            let watch: PermitWatch =
                serde_json::from_str(&watch).map_err(|e| Error::Internal(format!("a stored watch: {e}")))?;
            out.push((number, title, grade, watch));
        }
        Ok(out)
    }

    /// Every notification, newest first (the `alerts outbox` command and the tests).
    pub fn outbox(&self) -> Result<Vec<Notification>> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT permit, state_key, channel, status, tries, sent_ms, last_error, title, text, mobiles
                 FROM outbox ORDER BY created_ms DESC, state_key",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Notification {
                    permit: r.get(0)?,
                    state_key: r.get(1)?,
                    channel: r.get(2)?,
                    status: r.get(3)?,
                    tries: r.get(4)?,
                    sent_ms: r.get(5)?,
                    last_error: r.get(6)?,
                    title: r.get(7)?,
                    text: r.get(8)?,
                    mobiles: serde_json::from_str(&r.get::<_, String>(9)?).unwrap_or_default(),
                })
            })
            .map_err(db)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)
    }

    /// The alerts open as of the last scan, by permit and key.
    pub fn open_alerts(&self) -> Result<Vec<OpenAlert>> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT permit, key, kind, severity, area, level, raised_ms, acked_ms FROM alert_log
                 WHERE resolved_ms IS NULL ORDER BY permit, key",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(OpenAlert {
                    permit: r.get(0)?,
                    key: r.get(1)?,
                    kind: r.get(2)?,
                    severity: r.get(3)?,
                    area: r.get(4)?,
                    level: r.get(5)?,
                    raised_ms: r.get(6)?,
                    acked_ms: r.get(7)?,
                })
            })
            .map_err(db)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)
    }

    /// The response rate of alerts raised in `[from_ms, to_ms)`, per area, handled in time if
    /// acknowledged or resolved within `response_minutes` of their raise. Reminders (notices)
    /// ask no response and are not counted.
    pub fn response(&self, from_ms: i64, to_ms: i64, response_minutes: i64) -> Result<Vec<Response>> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT COALESCE(area, ''), COUNT(*), SUM(CASE WHEN acked_ms IS NULL THEN 0 ELSE 1 END),
                    SUM(CASE WHEN MIN(COALESCE(acked_ms, 9e18), COALESCE(resolved_ms, 9e18)) - raised_ms <= ?3 THEN 1 ELSE 0 END)
                 FROM alert_log WHERE raised_ms >= ?1 AND raised_ms < ?2 AND severity != 'notice' GROUP BY COALESCE(area, '') ORDER BY 1",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![from_ms, to_ms, response_minutes * 60_000], |r| {
                Ok(Response {
                    area: r.get(0)?,
                    raised: r.get::<_, i64>(1)? as u64,
                    acknowledged: r.get::<_, i64>(2)? as u64,
                    handled_in_time: r.get::<_, i64>(3)? as u64,
                })
            })
            .map_err(db)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)
    }
}

/// A notification due: permit, alert state, title, text, mobiles (JSON), tries so far.
type Due = (String, String, String, String, String, u32);

/// The scheduler: folds what changed, scans, records and sends, every `interval`.
pub struct Alerting {
    pub book: Arc<AlertBook>,
    storage: Arc<dyn Storage>,
    registry: Arc<ServerRegistry>,
    config: AlertsConfig,
    transport: HttpTransport,
    now: fn() -> i64,
}

impl Alerting {
    pub fn new(
        book: Arc<AlertBook>,
        storage: Arc<dyn Storage>,
        registry: Arc<ServerRegistry>,
        config: AlertsConfig,
        now: fn() -> i64,
    ) -> Result<Alerting> {
        let transport = HttpTransport::new(Duration::from_secs(10)).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(Alerting { book, storage, registry, config, transport, now })
    }

    /// Runs [`Alerting::tick`] on its own thread, for the life of the process.
    pub fn start(self) -> std::thread::JoinHandle<()> {
        let every = Duration::from_secs(self.config.interval_seconds.unwrap_or(15).max(1));
        std::thread::Builder::new()
            .name("alerting".into())
            .spawn(move || loop {
                if let Err(e) = self.tick() {
                    tracing::error!(error = %e, "alert scan failed");
                }
                std::thread::sleep(every);
            })
            .unwrap_or_else(|e| panic!("cannot start the alerting thread: {e}"))
    }

    /// One round: fold changes, scan, queue new notifications, send what is due.
    pub fn tick(&self) -> Result<()> {
        // The admin CLI writes the registry straight to the database: take up what it added.
        self.registry.refresh(self.storage.as_ref())?;
        let registry = self.registry.current();
        self.fold(&registry)?;
        let now = (self.now)();
        let raised = self.scan(&registry, now)?;
        self.record(&registry, &raised, now)?;
        self.send_due(now)
    }

    /// Derives every permit with changes since the cursor (or every watched one, when the
    /// registry moved on) and keeps its watch.
    fn fold(&self, registry: &Registry) -> Result<()> {
        let mut cursor: i64 = self.book.meta("cursor")?.and_then(|v| v.parse().ok()).unwrap_or(0);
        let head = registry.head.as_ref().map(|h| h.seq.to_string()).unwrap_or_default();
        let mut docs = std::collections::BTreeSet::new();
        if self.book.meta("registry")?.as_deref() != Some(head.as_str()) {
            docs.extend(self.book.watches()?.into_iter().map(|(_, _, _, w)| w.permit.to_string()));
        }
        loop {
            let page = self.storage.changes_since(cursor, 2_000, 32 * 1024 * 1024)?;
            for c in &page.changes {
                docs.insert(c.change.doc_id.clone());
                cursor = cursor.max(c.seq);
            }
            if !page.more || page.changes.is_empty() {
                break;
            }
        }
        for doc_id in docs {
            self.derive_one(&doc_id, registry)?;
        }
        self.book.set_meta("cursor", &cursor.to_string())?;
        self.book.set_meta("registry", &head)
    }

    fn derive_one(&self, doc_id: &str, registry: &Registry) -> Result<()> {
        let Ok(id) = uuid::Uuid::parse_str(doc_id) else { return Ok(()) };
        let doc = match crate::docs::load_stored(self.storage.as_ref(), doc_id)? {
            Ok(doc) => doc,
            Err(e) => {
                tracing::warn!(doc = %doc_id, error = %e, "a permit does not load for its alerts");
                return Ok(());
            }
        };
        let Ok(loaded) = ptw_doc::permit::read_permit(&doc) else {
            return Ok(());
        };
        let now = chrono::DateTime::from_timestamp_millis((self.now)()).unwrap_or_default();
        let state = ptw_core::derive::derive(PermitId(id), &loaded.form, &loaded.events, registry, now);
        let watch = PermitWatch::of(&state, &loaded.form, registry);
        let conn = self.book.conn()?;
        // Acknowledgements count whenever they arrive, also for an alert the same round resolves.
        for ack in &state.acks {
            conn.execute(
                "UPDATE alert_log SET acked_ms = ?3 WHERE permit = ?1 AND key = ?2 AND acked_ms IS NULL",
                params![doc_id, ack.key, ack.at_ms],
            )
            .map_err(db)?;
        }
        if watch.is_empty() {
            conn.execute("DELETE FROM watches WHERE doc_id = ?1", [doc_id]).map_err(db)?;
        } else {
            let json = serde_json::to_string(&watch).map_err(|e| Error::Internal(e.to_string()))?;
            conn.execute(
                "INSERT INTO watches (doc_id, number, title, grade, watch) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(doc_id) DO UPDATE SET number = excluded.number, title = excluded.title,
                    grade = excluded.grade, watch = excluded.watch",
                params![doc_id, loaded.number, state.form.title, state.form.grade, json],
            )
            .map_err(db)?;
        }
        Ok(())
    }

    /// Every alert now: each watched permit's, with its number, title and type/grade, and the
    /// register's own (certificates expiring or expired), with none.
    fn scan(&self, registry: &Registry, now: i64) -> Result<Vec<(Raised, String, String, String)>> {
        let mut out = Vec::new();
        let watches = self.book.watches()?;
        let mut names = std::collections::HashMap::new();
        for (number, title, grade, watch) in &watches {
            let type_grade = format!("{}/{grade}", watch.permit_type);
            for r in alerts::permit_alerts(watch, registry, now) {
                out.push((r, number.clone(), title.clone(), type_grade.clone()));
            }
            names.insert(watch.permit, (number, title, type_grade));
        }
        let all: Vec<&PermitWatch> = watches.iter().map(|(_, _, _, w)| w).collect();
        for r in alerts::conflict_alerts(&all, registry, now) {
            if let Some((number, title, type_grade)) = r.permit().and_then(|p| names.get(&p)) {
                let named = ((*number).clone(), (*title).clone(), type_grade.clone());
                out.push((r, named.0, named.1, named.2));
            }
        }
        out.extend(
            alerts::registry_alerts(registry, now)
                .into_iter()
                .map(|r| (r, String::new(), String::new(), String::new())),
        );
        Ok(out)
    }

    /// Logs each alert, resolves those gone, and queues a notification per channel for each
    /// alert state not acknowledged and not queued before.
    fn record(&self, registry: &Registry, raised: &[(Raised, String, String, String)], now: i64) -> Result<()> {
        let mut conn = self.book.conn()?;
        let tx = conn.transaction().map_err(db)?;
        let mut live = std::collections::HashSet::new();
        for (r, number, title, type_grade) in raised {
            // The register's alerts are the plant's, under no permit.
            let permit = r.permit().map(|p| p.to_string()).unwrap_or_default();
            live.insert((permit.clone(), r.key.clone()));
            let area = r.location.and_then(|l| registry.location(l)).map(|l| l.area.clone());
            tx.execute(
                "INSERT INTO alert_log (key, permit, kind, severity, area, level, raised_ms, first_seen_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT(permit, key) DO UPDATE SET level = excluded.level, severity = excluded.severity,
                    resolved_ms = NULL",
                params![
                    r.key,
                    permit,
                    r.alert.code(),
                    severity_code(r.severity),
                    area,
                    r.level,
                    r.since_ms.unwrap_or(now),
                    now
                ],
            )
            .map_err(db)?;
            if let Some(ack) = &r.acknowledged {
                tx.execute(
                    "UPDATE alert_log SET acked_ms = ?3 WHERE permit = ?1 AND key = ?2 AND acked_ms IS NULL",
                    params![permit, r.key, ack.at_ms],
                )
                .map_err(db)?;
                continue;
            }
            let (title_text, text) = words(r, registry, number, title, type_grade);
            let mobiles: Vec<String> = r
                .act
                .iter()
                .filter_map(|p| registry.person(*p))
                .map(|p| p.profile.phone.clone())
                .filter(|m| !m.is_empty())
                .collect();
            let mobiles = serde_json::to_string(&mobiles).unwrap_or_else(|_| "[]".into());
            for c in self.config.channels.iter().filter(|c| c.takes(r, area.as_deref(), registry)) {
                tx.execute(
                    "INSERT OR IGNORE INTO outbox (state_key, permit, channel, created_ms, status, next_try_ms, title, text, mobiles)
                     VALUES (?1, ?2, ?3, ?4, 'waiting', ?4, ?5, ?6, ?7)",
                    params![r.state_key(), permit, c.name, now, title_text, text, mobiles],
                )
                .map_err(db)?;
            }
        }
        let open: Vec<(String, String)> = {
            let mut stmt =
                tx.prepare_cached("SELECT permit, key FROM alert_log WHERE resolved_ms IS NULL").map_err(db)?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(db)?;
            rows.collect::<rusqlite::Result<_>>().map_err(db)?
        };
        for (permit, key) in open.into_iter().filter(|k| !live.contains(k)) {
            tx.execute(
                "UPDATE alert_log SET resolved_ms = ?3 WHERE permit = ?1 AND key = ?2",
                params![permit, key, now],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)
    }

    /// Sends what is due, channel by channel, within each channel's window.
    fn send_due(&self, now: i64) -> Result<()> {
        let max_tries = self.config.max_tries.unwrap_or(8);
        for channel in &self.config.channels {
            let (due, sent): (Vec<Due>, Vec<i64>) = {
                let conn = self.book.conn()?;
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT permit, state_key, title, text, mobiles, tries FROM outbox
                         WHERE channel = ?1 AND status = 'waiting' AND next_try_ms <= ?2 ORDER BY created_ms, state_key",
                    )
                    .map_err(db)?;
                let due = stmt
                    .query_map(params![channel.name, now], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
                    })
                    .map_err(db)?
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(db)?;
                let mut stmt = conn
                    .prepare_cached("SELECT sent_ms FROM outbox WHERE channel = ?1 AND sent_ms > ?2")
                    .map_err(db)?;
                let sent = stmt
                    .query_map(params![channel.name, now - 60_000], |r| r.get(0))
                    .map_err(db)?
                    .collect::<rusqlite::Result<Vec<i64>>>()
                    .map_err(db)?;
                (due, sent)
            };
            if due.is_empty() {
                continue;
            }
            let allowance = channel.window().map_or(due.len(), |w| w.allowance(&sent, now));
            if allowance == 0 {
                let next = channel.window().map_or(now, |w| w.next_slot(&sent, now));
                self.set_next_try(channel, &due.iter().map(|d| (d.0.clone(), d.1.clone())).collect::<Vec<_>>(), next)?;
                continue;
            }
            for group in limit::batches(&due, allowance) {
                let keys: Vec<(String, String)> = group.iter().map(|d| (d.0.clone(), d.1.clone())).collect();
                let title =
                    if group.len() == 1 { group[0].2.clone() } else { format!("{} 条作业票警报", group.len()) };
                let text = group.iter().map(|d| d.3.clone()).collect::<Vec<_>>().join("\n\n");
                let mut mobiles: Vec<String> = Vec::new();
                for d in &group {
                    for m in serde_json::from_str::<Vec<String>>(&d.4).unwrap_or_default() {
                        if !mobiles.contains(&m) {
                            mobiles.push(m);
                        }
                    }
                }
                let tries = group.iter().map(|d| d.5).max().unwrap_or(0) + 1;
                let outcome = self.send(channel, &keys, &title, &text, &mobiles, now)?;
                self.settle(channel, &keys, outcome, tries, max_tries, now)?;
            }
        }
        Ok(())
    }

    fn send(
        &self,
        channel: &ChannelConfig,
        keys: &[(String, String)],
        title: &str,
        text: &str,
        mobiles: &[String],
        now: i64,
    ) -> Result<Outcome> {
        let built = match &channel.kind {
            ChannelKind::Dingtalk(robot) => {
                let message = match (&self.config.permit_url, keys) {
                    (Some(url), [(permit, _)]) if !permit.is_empty() => dingtalk::Message::ActionCard {
                        title: title.to_owned(),
                        text: format!("### {title}\n\n{text}"),
                        button: "查看作业票".into(),
                        url: url.replace("{permit}", permit),
                    },
                    _ => dingtalk::Message::Markdown {
                        title: title.to_owned(),
                        text: format!("### {title}\n\n{text}"),
                        at_mobiles: mobiles.to_vec(),
                    },
                };
                robot.request(&message, now).map(|r| (r, dingtalk::outcome as fn(&_) -> _, true))
            }
            ChannelKind::Wecom(robot) => {
                let message =
                    wecom::Message::Text { content: format!("{title}\n{text}"), mentioned_mobiles: mobiles.to_vec() };
                robot.request(&message).map(|r| (r, wecom::outcome as fn(&_) -> _, true))
            }
            ChannelKind::Sms(gateway) => {
                let sms = sms::Sms {
                    phone_numbers: mobiles.to_vec(),
                    params: [("title".to_owned(), title.to_owned()), ("detail".to_owned(), ptw_notify::fit(text, 300))]
                        .into(),
                };
                let nonce = keys.iter().map(|(p, k)| format!("{p}/{k}")).collect::<Vec<_>>().join(",");
                let nonce = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(nonce.as_bytes()));
                let now_dt = chrono::DateTime::from_timestamp_millis(now).unwrap_or_default();
                gateway.request(&sms, now_dt, &nonce).map(|r| (r, sms::outcome as fn(&_) -> _, false))
            }
            ChannelKind::Webhook(hook) => {
                let payload = serde_json::json!({ "title": title, "text": text, "alerts": keys.iter().map(|(p, k)| serde_json::json!({ "permit": (!p.is_empty()).then_some(p), "state": k })).collect::<Vec<_>>() });
                hook.request(&payload, now).map(|r| (r, webhook::outcome as fn(&_) -> _, true))
            }
        };
        let (request, read, twice_is_harmless) = match built {
            Ok(b) => b,
            Err(e) => return Ok(Outcome::Refused { reason: e.to_string() }),
        };
        if !twice_is_harmless {
            self.set_status(channel, keys, "sending", None)?;
        }
        Ok(deliver(&self.transport, &request, read, twice_is_harmless))
    }

    fn settle(
        &self,
        channel: &ChannelConfig,
        keys: &[(String, String)],
        outcome: Outcome,
        tries: u32,
        max_tries: u32,
        now: i64,
    ) -> Result<()> {
        let mut conn = self.book.conn()?;
        let tx = conn.transaction().map_err(db)?;
        for (permit, state_key) in keys {
            match &outcome {
                Outcome::Sent => {
                    tx.execute(
                        "UPDATE outbox SET status = 'sent', sent_ms = ?4, tries = ?5, last_error = NULL
                         WHERE permit = ?1 AND state_key = ?2 AND channel = ?3",
                        params![permit, state_key, channel.name, now, tries],
                    )
                    .map_err(db)?;
                    let key = state_key.rsplit_once('#').map_or(state_key.as_str(), |(k, _)| k);
                    tx.execute(
                        "UPDATE alert_log SET notified_ms = COALESCE(notified_ms, ?3) WHERE permit = ?1 AND key = ?2",
                        params![permit, key, now],
                    )
                    .map_err(db)?;
                }
                Outcome::RateLimited { reason } => {
                    let next = channel.window().map_or(now + 60_000, |w| now + w.window_ms / w.limit as i64);
                    tx.execute(
                        "UPDATE outbox SET status = 'waiting', next_try_ms = ?4, last_error = ?5 WHERE permit = ?1 AND state_key = ?2 AND channel = ?3",
                        params![permit, state_key, channel.name, next, reason],
                    )
                    .map_err(db)?;
                }
                Outcome::Retry { reason } if tries < max_tries => {
                    tx.execute(
                        "UPDATE outbox SET status = 'waiting', tries = ?4, next_try_ms = ?5, last_error = ?6 WHERE permit = ?1 AND state_key = ?2 AND channel = ?3",
                        params![permit, state_key, channel.name, tries, now + backoff_ms(tries), reason],
                    )
                    .map_err(db)?;
                }
                Outcome::Retry { reason } | Outcome::Refused { reason } | Outcome::Uncertain { reason } => {
                    let status = if matches!(outcome, Outcome::Uncertain { .. }) { "uncertain" } else { "failed" };
                    tx.execute(
                        "UPDATE outbox SET status = ?4, tries = ?5, last_error = ?6 WHERE permit = ?1 AND state_key = ?2 AND channel = ?3",
                        params![permit, state_key, channel.name, status, tries, reason],
                    )
                    .map_err(db)?;
                    tracing::warn!(channel = %channel.name, state = %state_key, %reason, "a notification was given up");
                }
            }
        }
        tx.commit().map_err(db)
    }

    fn set_status(
        &self,
        channel: &ChannelConfig,
        keys: &[(String, String)],
        status: &str,
        error: Option<&str>,
    ) -> Result<()> {
        let conn = self.book.conn()?;
        for (permit, state_key) in keys {
            conn.execute(
                "UPDATE outbox SET status = ?4, last_error = COALESCE(?5, last_error) WHERE permit = ?1 AND state_key = ?2 AND channel = ?3",
                params![permit, state_key, channel.name, status, error],
            )
            .map_err(db)?;
        }
        Ok(())
    }

    fn set_next_try(&self, channel: &ChannelConfig, keys: &[(String, String)], next: i64) -> Result<()> {
        let conn = self.book.conn()?;
        for (permit, state_key) in keys {
            conn.execute(
                "UPDATE outbox SET next_try_ms = ?4 WHERE permit = ?1 AND state_key = ?2 AND channel = ?3",
                params![permit, state_key, channel.name, next],
            )
            .map_err(db)?;
        }
        Ok(())
    }
}

/// Exponential backoff from 30 s, at most 30 min, with ±50 % jitter so that many waiting
/// notifications do not come back at once.
fn backoff_ms(tries: u32) -> i64 {
    use rand_core::RngCore;
    let base = (30_000i64 << tries.min(6)).min(30 * 60_000);
    let jitter = (rand_core::OsRng.next_u32() % 1_000) as i64; // 0..1000 ‰
    base / 2 + base * jitter / 1_000
}

fn severity_code(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::Warning => "warning",
        Severity::Notice => "notice",
    }
}

/// An alert in the plant's words (zh-CN: the channels speak to the plant's groups), with the
/// permit and whom it asks.
fn words(r: &Raised, registry: &Registry, number: &str, title: &str, type_grade: &str) -> (String, String) {
    let zone = registry.settings.zone();
    let at = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.with_timezone(&zone).format("%m-%d %H:%M").to_string())
            .unwrap_or_default()
    };
    let (ptype, grade) = type_grade.split_once('/').unwrap_or((type_grade, ""));
    let step_name = |id: &str| {
        registry
            .catalog
            .grade(ptype, grade)
            .and_then(|g| g.step(id).or_else(|| g.changes.as_ref().and_then(|c| c.flow.iter().find(|s| s.id == id))))
            .map_or_else(|| id.to_owned(), |s| s.name.get("zh-CN").to_owned())
    };
    let person = |p: ptw_core::PersonId| registry.person(p).map_or_else(|| p.to_string(), |p| p.name.clone());
    let what = match &r.alert {
        Alert::StepDueSoon { step, due_ms } => {
            format!("步骤「{}」即将超时，请于 {} 前签字", step_name(step), at(*due_ms))
        }
        Alert::StepOverdue { step, due_ms, level } => {
            format!("步骤「{}」已超时（应于 {} 前完成），已升级 {level} 级", step_name(step), at(*due_ms))
        }
        Alert::ValidityEnding { end_ms } => format!("作业票将于 {} 到期", at(*end_ms)),
        Alert::ValidityExpired { end_ms } => format!("作业票已于 {} 到期，作业仍未结束", at(*end_ms)),
        Alert::GasRetestDueSoon { due_ms, .. } => format!("气体复测请于 {} 前完成", at(*due_ms)),
        Alert::GasRetestDue { last_ms, max_minutes } => {
            format!("气体复测已超时：上次合格分析在 {}（每 {max_minutes} 分钟复测）", at(*last_ms))
        }
        Alert::GasFailedDuringWork { at_ms } => format!("{} 气体分析不合格，作业已暂停", at(*at_ms)),
        Alert::FireWatchEnding { until_ms } => format!("监火将于 {} 结束", at(*until_ms)),
        Alert::FireWatchOver { until_ms } => format!("监火时间已到（{}），等待监火人签字", at(*until_ms)),
        Alert::InsideWhileSuspended { people, tools } => {
            format!("作业已暂停，受限空间内仍有 {people} 人、{tools} 件工具")
        }
        Alert::FormChangedAfterSubmit => "作业票草稿在提交后被改动".to_owned(),
        Alert::UnverifiedTime { action, .. } => format!("「{action}」所依据的时间未经服务器校准"),
        Alert::WrongLocation { person: p, scanned, .. } => {
            format!("{}扫描的地点 {scanned} 不是本票的作业地点", person(*p))
        }
        Alert::NotCheckedOut { people } => {
            format!("作业票已结束，{}签到后未签退", people.iter().map(|p| person(*p)).collect::<Vec<_>>().join("、"))
        }
        Alert::GuardianLeft { guardian, at_ms } => {
            format!("监护人{}于 {} 签退离岗，作业已暂停", person(*guardian), at(*at_ms))
        }
        Alert::Unqualified { unqualified } => {
            format!("{}的资格已失效，不能继续参与本票作业", person(unqualified.person))
        }
        Alert::CertificateExpiring { person: p, number, .. } => format!("{}的证书 {number} 即将到期", person(*p)),
        Alert::CertificateExpired { person: p, number, .. } => format!("{}的证书 {number} 已到期", person(*p)),
        Alert::Conflict { rule, other_title, shared, .. } => {
            let name = registry
                .catalog
                .alerting
                .conflicts
                .iter()
                .find(|c| &c.code == rule)
                .map_or_else(|| rule.clone(), |c| c.name.get("zh-CN").to_owned());
            let on =
                if shared.is_empty() { "同一作业地点".to_owned() } else { format!("同一对象「{shared}」") };
            format!("交叉作业冲突（{name}）：与「{other_title}」在{on}上的计划时间重叠")
        }
    };
    let loud = match r.severity {
        Severity::Critical => "紧急",
        Severity::Warning => "警告",
        Severity::Notice => "提醒",
    };
    let who = r.act.iter().map(|p| person(*p)).collect::<Vec<_>>().join("、");
    let about = match r.subject {
        alerts::Subject::Permit { .. } => format!("{number} {title}"),
        alerts::Subject::Certificate { person: p, .. } => format!("人员资格 {}", person(p)),
    };
    (format!("【{loud}】{about}"), format!("{what}。请 {who} 处理。"))
}
