//! The server's alert rounds over a plant of 100,000 permits, 2,000 of them live (goal: a round
//! under 1 s), on real SQLite files: the server's storage holding the live permits' real signed
//! changes, its registry log (the demo plant), and the alert book.
//!
//! A closed permit has nothing to watch — its watch is dropped when it is folded — so what the
//! other 98,000 leave in a round's way is their history: each one's resolved alerts (three) and
//! sent notification (one) in the alert book, which is where the bench puts them.
//!
//! Printed: the first round (every live permit derived from its changes, every alert logged and
//! sent to a webhook on loopback), then p50/p95/max of steady rounds (the clock moving 15 s a
//! round, as the server's timer does), then rounds after 20 permits changed (re-derived).
//!
//! `cargo bench -p ptw-sync-server --bench alert_scan`; under `cargo test --benches` it runs a
//! short smoke pass over a plant of 1,000 permits, 20 live.

use chrono::{DateTime, Duration, TimeZone, Utc};
#[path = "../../crates/store/benches/common/mod.rs"]
mod common;
use common::{device, open_store_with_log, percentiles, person, SERVER_KEY};
use ptw_core::api::Action;
use ptw_core::sync::WireChange;
use ptw_core::{GasReading, PermitForm};
use ptw_notify::loopback;
use ptw_store::Store;
use ptw_sync_server::alerting::{AlertBook, Alerting, AlertsConfig};
use ptw_sync_server::registry::ServerRegistry;
use ptw_sync_server::storage::sqlite::SqliteStorage;
use ptw_sync_server::storage::{NewChange, Storage};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Instant;

static NOW: AtomicI64 = AtomicI64::new(0);

fn now_ms() -> i64 {
    NOW.load(Ordering::SeqCst)
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 1, 0, 0).single().expect("time")
}

fn form(store: &Store, n: usize) -> PermitForm {
    let places = ["T-101", "PR-3", "R-201", "E-02", "W-01"];
    common::hot_work_form(store, format!("bench {n}"), places[n % places.len()], start())
}

/// Moves what the tablet made since the last call into the server's storage, as the writer
/// stores a push it accepted.
fn push(store: &mut Store, storage: &dyn Storage, now: DateTime<Utc>) -> usize {
    let mut moved = 0;
    loop {
        let page = store.outbox_page(1_000).expect("outbox");
        if page.is_empty() {
            return moved;
        }
        let changes: Vec<NewChange> = page
            .iter()
            .map(|c| {
                let change = automerge::Change::from_bytes(c.bytes.clone()).expect("a change");
                NewChange {
                    change: WireChange {
                        doc_id: c.doc_id.clone(),
                        kind: c.kind.clone(),
                        hash: c.hash.clone(),
                        bytes: c.bytes.clone(),
                    },
                    device_id: device(),
                    actor: change.actor_id().to_hex_string(),
                    actor_seq: change.seq(),
                    event_times: Vec::new(),
                }
            })
            .collect();
        storage.store_changes(&changes, now.timestamp_millis()).expect("stored");
        let hashes: Vec<String> = page.iter().map(|c| c.hash.clone()).collect();
        store.acknowledge(&hashes).expect("acknowledged");
        moved += page.len();
    }
}

/// What `closed` closed permits leave in the alert book: three resolved alerts and one sent
/// notification each.
fn history(dir: &std::path::Path, closed: usize, before_ms: i64) {
    let mut conn = rusqlite::Connection::open(dir.join(ptw_sync_server::alerting::DB_FILE)).expect("book");
    let tx = conn.transaction().expect("tx");
    {
        let mut log = tx
            .prepare(
                "INSERT INTO alert_log (key, permit, kind, severity, area, level, raised_ms, first_seen_ms, notified_ms, acked_ms, resolved_ms)
                 VALUES (?1, ?2, ?3, ?4, '罐区', ?5, ?6, ?6, ?7, ?7, ?8)",
            )
            .expect("insert");
        let mut outbox = tx
            .prepare(
                "INSERT INTO outbox (state_key, permit, channel, created_ms, status, tries, next_try_ms, sent_ms, title, text, mobiles)
                 VALUES (?1, ?2, 'webhook', ?3, 'sent', 1, ?3, ?4, 'bench', 'bench', '[]')",
            )
            .expect("insert");
        for n in 0..closed {
            let permit = uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + n as u128).to_string();
            let t = before_ms - (n as i64 % 5_000) * 3_600_000;
            for (kind, severity, level) in
                [("step_due", "notice", 0), ("step_overdue", "warning", 1), ("validity_ending", "warning", 0)]
            {
                let key = format!("{kind}/x/{n}");
                log.execute(rusqlite::params![key, permit, kind, severity, level, t, t + 60_000, t + 600_000])
                    .expect("log row");
                if kind == "step_overdue" {
                    outbox.execute(rusqlite::params![format!("{key}#1"), permit, t, t + 1_000]).expect("outbox row");
                }
            }
        }
    }
    tx.commit().expect("commit");
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (live, plant) = if full { (2_000, 100_000) } else { (20, 1_000) };
    let dir = tempfile::tempdir().expect("temp dir");
    let t = start() - Duration::hours(2);
    let (mut tablet, entries) = open_store_with_log(dir.path(), t);
    let zhao = person("赵磊");
    let gas = Action::GasTest {
        reading: GasReading {
            o2_pct: Some(20.9),
            lel_pct: Some(0.0),
            h2s_ppm: Some(0.0),
            co_ppm: Some(0.0),
            instrument: "bench".into(),
            point: "bench".into(),
        },
    };
    let approve = || Action::Approve { comment: "同意".into() };
    let filling = Instant::now();
    let mut waiting = Vec::new();
    for n in 0..live {
        let id = tablet.create_permit(zhao, form(&tablet, n), t).expect("draft").id;
        tablet.act(zhao, id, Action::Submit, t + Duration::seconds(1)).expect("submit");
        if n % 2 == 1 {
            tablet.act(person("刘洋"), id, approve(), t + Duration::seconds(2)).expect("workshop");
            tablet.act(person("王强"), id, approve(), t + Duration::seconds(3)).expect("safety");
            tablet.act(person("李娜"), id, gas.clone(), start() - Duration::minutes(5)).expect("gas");
            tablet.act(person("李娜"), id, Action::Start, start() + Duration::seconds(1)).expect("start");
        } else {
            waiting.push(id);
        }
    }
    let server_dir = dir.path().join("server");
    let storage: Arc<dyn Storage> = Arc::new(SqliteStorage::open_dir(&server_dir).expect("storage"));
    let numbered: Vec<(u64, _)> = entries.into_iter().enumerate().map(|(i, e)| (i as u64, e)).collect();
    storage.append_registry(&numbered).expect("registry log");
    let registry = Arc::new(
        ServerRegistry::open(
            storage.as_ref(),
            ed25519_zebra::SigningKey::from_bytes(&SERVER_KEY),
            t.timestamp_millis(),
        )
        .expect("registry"),
    );
    let changes = push(&mut tablet, storage.as_ref(), t);
    // Seven hours in: the half in approval overdue and escalated, the half at work near the end
    // of their window (the rounds then move the clock on by less than an hour).
    let mut now = start() + Duration::hours(7);
    let book = Arc::new(AlertBook::open(&server_dir).expect("book"));
    history(&server_dir, plant - live, now.timestamp_millis() - 86_400_000);
    println!(
        "a plant of {plant} permits: {live} live ({changes} signed changes in the server's storage), {} closed \
         as their alert history; filled in {:.1} s",
        plant - live,
        filling.elapsed().as_secs_f64()
    );

    let receiver = loopback::start(|r, _| {
        Some(if loopback::webhook_signed("bench", r) { (204, String::new()) } else { (401, "{}".into()) })
    });
    let config: AlertsConfig = toml::from_str(&format!(
        "[[channel]]\nname = \"webhook\"\nkind = \"webhook\"\nurl = \"{}/hook\"\nsecret = \"bench\"\n",
        receiver.base
    ))
    .expect("config");
    NOW.store(now.timestamp_millis(), Ordering::SeqCst);
    let alerting = Alerting::new(book.clone(), storage.clone(), registry, config, now_ms).expect("alerting");
    let began = Instant::now();
    alerting.tick().expect("first round");
    let first = began.elapsed().as_secs_f64();
    let open = book.open_alerts().expect("open");
    let sent = receiver.requests().iter().filter(|r| r.accepted()).count();
    println!(
        "first round: {live} permits derived, {} alerts open, {sent} notifications sent, in {first:.2} s",
        open.len()
    );
    assert!(open.len() >= live, "every live permit has an alert: {}", open.len());
    assert!(sent >= live / 2, "the overdue approvals were sent: {sent}");

    let rounds = if full { 100 } else { 3 };
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        now += Duration::seconds(15);
        NOW.store(now.timestamp_millis(), Ordering::SeqCst);
        let began = Instant::now();
        alerting.tick().expect("round");
        samples.push(began.elapsed().as_secs_f64() * 1e3);
    }
    percentiles(&format!("alert round over {plant} permits ({live} live), nothing changed"), samples);

    // 20 permits signed on a tablet come in: each is derived again in the next round.
    let changed = waiting.len().min(20);
    let mut samples = Vec::with_capacity(rounds);
    for chunk in 0..rounds.min(waiting.len() / changed.max(1)) {
        for id in &waiting[chunk * changed..(chunk + 1) * changed] {
            tablet.act(person("刘洋"), *id, approve(), now).expect("workshop");
        }
        push(&mut tablet, storage.as_ref(), now);
        now += Duration::seconds(15);
        NOW.store(now.timestamp_millis(), Ordering::SeqCst);
        let began = Instant::now();
        alerting.tick().expect("round");
        samples.push(began.elapsed().as_secs_f64() * 1e3);
    }
    if !samples.is_empty() {
        percentiles(&format!("alert round with {changed} permits changed"), samples);
    }
    let refused = receiver.requests().iter().filter(|r| !r.accepted()).count();
    assert_eq!(refused, 0, "the webhook took every notification");
}
