//! The device's alert inbox over 2,000 live permits on a real SQLite file (goal: a refresh
//! under 50 ms): half waiting in approval, half at work, each row's watch read and the alert
//! engine run over all of them and the register at a moment when every one has alerts due.
//!
//! `cargo bench -p ptw-store --bench inbox` prints p50/p95/max of `Store::inbox` and of the
//! list's first page counted at the same moment; under `cargo test --benches` it runs a short
//! smoke pass over 20 permits.

use chrono::{DateTime, Duration, TimeZone, Utc};
use ptw_core::api::{Action, ListQuery};
use ptw_core::{GasReading, PermitForm};
use ptw_store::Store;
use std::time::Instant;

mod common;
use common::{open_store, percentiles, person};

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 1, 0, 0).single().expect("time")
}

fn form(store: &Store, n: usize) -> PermitForm {
    common::hot_work_form(store, format!("bench {n}"), "T-101", start())
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let live = if full { 2_000 } else { 20 };
    let dir = tempfile::tempdir().expect("temp dir");
    let t = start() - Duration::hours(2);
    let mut store = open_store(dir.path(), t);
    let zhao = person("赵磊");
    let approve = |comment: &str| Action::Approve { comment: comment.into() };
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
    let filling = Instant::now();
    for n in 0..live {
        let id = store.create_permit(zhao, form(&store, n), t).expect("draft").id;
        store.act(zhao, id, Action::Submit, t + Duration::seconds(1)).expect("submit");
        if n % 2 == 1 {
            store.act(person("刘洋"), id, approve("同意"), t + Duration::seconds(2)).expect("workshop");
            store.act(person("王强"), id, approve("同意"), t + Duration::seconds(3)).expect("safety");
            store.act(person("李娜"), id, gas.clone(), start() - Duration::minutes(5)).expect("gas");
            store.act(person("李娜"), id, Action::Start, start() + Duration::seconds(1)).expect("start");
        }
    }
    println!("filled {live} live permits in {:.1} s", filling.elapsed().as_secs_f64());
    // Seven and a half hours in: the half in approval are overdue and escalated, the half at
    // work near the end of their window.
    let now = start() + Duration::minutes(7 * 60 + 30);
    let me = Some(person("王强"));
    let inbox = store.inbox(me, now).expect("inbox");
    let all = store.inbox(None, now).expect("inbox");
    println!(
        "the safety manager's inbox: {} alerts ({} open, {} critical); the plant's: {}",
        inbox.items.len(),
        inbox.open,
        inbox.critical,
        all.items.len()
    );
    let mut kinds = std::collections::BTreeMap::new();
    for i in &all.items {
        *kinds.entry(i.alert.alert.code()).or_insert(0) += 1;
    }
    println!("by kind: {kinds:?}");
    assert!(all.items.len() >= live, "every live permit has an alert due");
    let rounds = if full { 200 } else { 3 };
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let began = Instant::now();
        let inbox = store.inbox(me, now).expect("inbox");
        samples.push(began.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(inbox);
    }
    percentiles(&format!("inbox refresh over {live} live permits"), samples);
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let began = Instant::now();
        let page = store.list_at(&ListQuery::default(), now).expect("list");
        samples.push(began.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(page);
    }
    percentiles("list's first page with alerts counted now", samples);
}
