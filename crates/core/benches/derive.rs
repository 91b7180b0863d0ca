//! Pure derivation of a permit with 50 events (signature checks included), without storage.
//! The store's benchmark measures the same with loading from SQLite.

use criterion::{criterion_group, criterion_main, Criterion};
use ptw_core::EventKind;

#[path = "../tests/common/mod.rs"]
mod common;
use common::*;

fn derive_fifty(c: &mut Criterion) {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = p.hot_work_story(&form)[..5].to_vec();
    for i in 0..45 {
        events.push(p.event(&form, p.guardian, T0 + (10 + i) * MIN, EventKind::Comment { text: format!("巡检 {i}") }));
    }
    assert_eq!(events.len(), 50);
    c.bench_function("derive_50_event_permit", |b| {
        b.iter(|| {
            let s = p.derive(&form, &events, T0 + 120 * MIN);
            assert_eq!(s.status, ptw_core::Status::Active);
            s
        })
    });
}

criterion_group!(benches, derive_fifty);
criterion_main!(benches);
