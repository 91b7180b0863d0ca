//! Pure derivation of a permit with 50 events (signature checks included), without storage, and
//! of the heaviest type — a confined-space entry — with 200: entries and exits, gas tests,
//! pauses, a handover. The store's benchmark measures the 50 with loading from SQLite.

use criterion::{criterion_group, criterion_main, Criterion};
use ptw_core::event::Entrant;
use ptw_core::{EventKind, Status};

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

/// A confined-space permit through a long shift, 200 events, every one applied.
fn derive_two_hundred_confined_space(c: &mut Criterion) {
    let p = Plant::new();
    let form = p.form("confined_space", "standard", 6 * 60);
    let mut events = vec![
        p.event(&form, p.applicant, T0 - 60 * MIN, Plant::submit(&form)),
        p.event(&form, p.guardian, T0 - 55 * MIN, Plant::approve("guardian_confirmation")),
        p.event(&form, p.safety, T0 - 50 * MIN, Plant::approve("safety_review")),
        p.event(&form, p.director, T0 - 45 * MIN, Plant::approve("workshop_approval")),
        p.event(&form, p.guardian, T0 - 10 * MIN, Plant::good_gas()),
        p.event(&form, p.guardian, T0 + MIN, EventKind::Start),
    ];
    let sec = MIN / 60;
    let mut t = T0 + 2 * MIN;
    let mut guardian = p.guardian;
    let mut next = |events: &mut Vec<String>, actor, kind| {
        events.push(p.event(&form, actor, t, kind));
        t += 30 * sec;
    };
    let entry = |entrant: Entrant, inside| EventKind::Entry { entrant, inside };
    let lamp = || Entrant::Tool("防爆照明灯".into());
    for round in 0..17 {
        if round == 8 {
            let handover = EventKind::Handover {
                to: p.other_guardian,
                plant_state: "池内通风良好".into(),
                open_items: "无".into(),
            };
            next(&mut events, guardian, handover);
            next(&mut events, p.other_guardian, EventKind::TakeOver);
            guardian = p.other_guardian;
        }
        next(&mut events, guardian, entry(lamp(), true));
        next(&mut events, guardian, entry(Entrant::Person(p.welder), true));
        next(&mut events, guardian, Plant::good_gas());
        next(&mut events, guardian, EventKind::Comment { text: format!("巡检 {round}") });
        next(&mut events, guardian, entry(Entrant::Person(p.welder), false));
        next(&mut events, guardian, entry(lamp(), false));
        next(&mut events, guardian, EventKind::Suspend { reason: "通风".into() });
        next(&mut events, guardian, Plant::good_gas());
        next(&mut events, guardian, EventKind::Resume);
    }
    while events.len() < 199 {
        next(&mut events, guardian, EventKind::Comment { text: "记录".into() });
    }
    next(&mut events, guardian, EventKind::Complete);
    assert_eq!(events.len(), 200);
    let done = p.derive(&form, &events, t);
    assert!(done.rejected().next().is_none(), "{:?}", done.rejected().next());
    assert_eq!(done.status, Status::Completed);
    c.bench_function("derive_200_event_confined_space", |b| {
        b.iter(|| {
            let s = p.derive(&form, &events, t);
            assert_eq!(s.status, Status::Completed);
            s
        })
    });
}

criterion_group!(benches, derive_fifty, derive_two_hundred_confined_space);
criterion_main!(benches);
