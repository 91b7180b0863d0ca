//! Store benchmarks, on a real SQLite file (WAL, synchronous=FULL):
//! - append one signed event, including the commit;
//! - open and derive a permit with 50 events;
//! - list 100,000 projected permits filtered by status.
//!
//! `cargo bench -p ptw-store` prints criterion's figures and, before them, p50/p95/max from a
//! plain timed loop, because the goals are stated as p95. Under `cargo test --benches` it runs a
//! short smoke pass only.

use chrono::{Duration, TimeZone, Utc};
use criterion::{criterion_group, Criterion};
use ptw_core::api::{Action, ListQuery, PermitView};
use ptw_core::{PermitForm, PermitId, Status};
use ptw_store::Store;
use std::time::Instant;

mod common;
use common::{open_store, percentiles, person};

fn form(store: &Store) -> PermitForm {
    let start = Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).single().expect("time");
    let mut form = common::hot_work_form(store, "bench".into(), "T-101", start);
    form.planned_end = Some(start + Duration::hours(4));
    form
}

fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn permit_with_events(store: &mut Store, n: usize) -> PermitId {
    let zhang = person("张伟");
    let now = Utc::now();
    let id = store.create_permit(zhang, form(store), now).expect("draft").id;
    for i in 0..n {
        store.act(zhang, id, Action::Comment { text: format!("event {i}") }, now).expect("comment");
    }
    id
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = open_store(dir.path(), Utc::now());
    let zhang = person("张伟");
    let samples = if full_run() { 2000 } else { 20 };

    // 1. Append a signed event, commit included. A new permit every 50 events keeps the
    //    documents at a realistic size.
    let mut id = permit_with_events(&mut store, 0);
    let mut times = Vec::with_capacity(samples);
    for i in 0..samples {
        if i % 50 == 49 {
            id = permit_with_events(&mut store, 0);
        }
        let t = Instant::now();
        store.act(zhang, id, Action::Comment { text: "bench".into() }, Utc::now()).expect("append");
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    percentiles("append signed event + commit", times);
    c.bench_function("append_signed_event_with_commit", |b| {
        let mut id = permit_with_events(&mut store, 0);
        let mut n = 0;
        b.iter(|| {
            n += 1;
            if n % 50 == 0 {
                id = permit_with_events(&mut store, 0);
            }
            store.act(zhang, id, Action::Comment { text: "bench".into() }, Utc::now()).expect("append")
        })
    });

    // 2. Open (load from SQLite) and derive a permit with 50 events.
    let fifty = permit_with_events(&mut store, 50);
    let times = (0..samples)
        .map(|_| {
            let t = Instant::now();
            store.clear_cache();
            let v = store.permit(fifty, Utc::now()).expect("open");
            assert_eq!(v.state.timeline.len(), 50);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    percentiles("open + derive 50-event permit", times);
    c.bench_function("open_and_derive_50_event_permit", |b| {
        b.iter(|| {
            store.clear_cache();
            store.permit(fifty, Utc::now()).expect("open")
        })
    });

    // 3. A register of 100,000 permits, listed by status.
    let total = if full_run() { 100_000 } else { 2_000 };
    let template = store.permit(fifty, Utc::now()).expect("template");
    let rows: Vec<PermitView> = (0..total)
        .map(|i| {
            let mut v = template.clone();
            v.id = PermitId(uuid::Uuid::from_u128(i as u128 + 1));
            v.number = format!("DH-BENCH-{i}");
            v.state.status = Status::ALL[i % Status::ALL.len()];
            v
        })
        .collect();
    store.bench_fill_projections(&rows, 0).expect("fill");
    let query = ListQuery { status: Some(Status::Active), limit: 100, offset: 0, ..Default::default() };
    let times = (0..samples.min(500))
        .map(|_| {
            let t = Instant::now();
            let page = store.list(&query).expect("list");
            assert_eq!(page.len(), 100);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    percentiles(&format!("list {total} permits filtered by status (page of 100)"), times);
    let t = Instant::now();
    let counts = store.status_counts().expect("counts");
    println!(
        "status counts over {total} permits: {:.3} ms ({} statuses)",
        t.elapsed().as_secs_f64() * 1e3,
        counts.len()
    );
    c.bench_function("list_100k_filtered_by_status", |b| b.iter(|| store.list(&query).expect("list")));
}

criterion_group!(store_benches, benches);

fn main() {
    store_benches();
    Criterion::default().configure_from_args().final_summary();
}
