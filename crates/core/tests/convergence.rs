//! Invariant (derivation): any two devices holding the same set of events derive the same
//! state, whatever order the events arrived in and however often each was delivered.

mod common;
use common::*;
use proptest::prelude::*;
use ptw_core::*;

/// A permit's worth of events: the full hot-work story, plus the things that go wrong on a real
/// site — a self-approval, a stale start, a second device racing with the same timestamps, a
/// cancel racing an approval, a forged event, an unreadable one.
fn noisy_story(p: &Plant) -> (PermitForm, Vec<String>) {
    let mut form = p.hot_work_form();
    form.applicant = Some(p.applicant);
    let mut events = p.hot_work_story(&form);
    events.push(p.event(&form, p.applicant, T0 - 45 * MIN, Plant::approve("workshop_review")));
    events.push(p.event(&form, p.guardian, T0 + 90 * MIN, EventKind::Start));
    // A minute after the workshop review signed: the step it refuses is no longer open.
    events.push(p.event(
        &form,
        p.director,
        T0 - 49 * MIN,
        EventKind::Reject { step: "workshop_review".into(), comment: "再议".into() },
    ));
    // Same HLC as the workshop review: the tie is broken by the events' hashes.
    events.push(p.event(&form, p.guardian, T0 - 50 * MIN, EventKind::Comment { text: "已到现场".into() }));
    events.push(p.event(&form, p.applicant, T0 + 190 * MIN, EventKind::Cancel { reason: "计划变更".into() }));
    events.push(p.event(&form, p.guardian, T0 + 100 * MIN, EventKind::Comment { text: "火花已清".into() }));
    let mut forged = SignedEvent::from_stored(&events[0]).expect("stored");
    forged.body = forged.body.replace("张", "李");
    forged.sig = "00".repeat(64);
    events.push(forged.to_stored());
    events.push("garbage".to_string());
    (form, events)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn derivation_converges_under_any_order_and_duplication(
        subset in proptest::sample::subsequence((0..15usize).collect::<Vec<_>>(), 0..=15),
        dups in proptest::collection::vec(0..15usize, 0..6),
        seed in any::<u64>(),
        now_offset in 0i64..600,
    ) {
        let p = Plant::new();
        let (form, all) = noisy_story(&p);
        let chosen: Vec<String> = subset.iter().map(|&i| all[i].clone()).collect();
        let reference = p.derive(&form, &chosen, T0 + now_offset * MIN);

        // Another device received the same set shuffled, with some events delivered twice.
        let mut delivered = chosen.clone();
        for d in dups {
            if !chosen.is_empty() {
                delivered.push(chosen[d % chosen.len()].clone());
            }
        }
        let mut rng = seed;
        for i in (1..delivered.len()).rev() {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            delivered.swap(i, (rng >> 33) as usize % (i + 1));
        }
        let other = p.derive(&form, &delivered, T0 + now_offset * MIN);
        prop_assert_eq!(reference, other);
    }
}

#[test]
fn the_noisy_story_exercises_both_applied_and_rejected_events() {
    // Guards the property above against a fixture that silently stopped exercising anything.
    let p = Plant::new();
    let (form, events) = noisy_story(&p);
    let state = p.derive(&form, &events, T0 + 200 * MIN);
    let rejected = state.rejected().count();
    assert!(rejected >= 4, "rejected {rejected}: {:?}", state.timeline);
    assert!(
        state.timeline.len() - rejected >= 6,
        "{:#?}",
        state.timeline.iter().map(|t| (t.event.as_ref().map(|e| e.kind.code()), &t.outcome)).collect::<Vec<_>>()
    );
}
