//! A dishonest tablet, told to the pure engine: events that reuse a genuine event's id, replay a
//! genuine body in another envelope, submit over a form nobody validated, act on a permit the
//! actor has no part in, or lean on an unverified clock. Invariant: no event changes whether
//! another event counts; identity is content.

mod common;
use common::*;
use proptest::prelude::*;
use ptw_core::catalog::{ActorRule, PermitParty};
use ptw_core::derive::{Outcome, PermitState};
use ptw_core::rules::Alert;
use ptw_core::*;

fn active(p: &Plant, form: &PermitForm) -> Vec<String> {
    p.hot_work_story(form)[..5].to_vec()
}

#[test]
fn an_event_reusing_a_genuine_suspends_id_with_an_earlier_time_does_not_knock_it_out() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = active(&p, &form);
    let (suspend, stored) =
        p.event_struct(&form, p.guardian, T0 + 20 * MIN, EventKind::Suspend { reason: "风力增大".into() });
    events.push(stored);
    // The other tablet signs, validly, a comment that claims the suspend's id, dated earlier.
    let colliding = Event {
        id: suspend.id,
        at: Hlc::new(T0 + 10 * MIN, 0),
        time: Some(Stamp { ms: T0 + 10 * MIN, trust: TimeTrust::Server }),
        device: p.other_device,
        kind: EventKind::Comment { text: "正常".into() },
        ..suspend.clone()
    };
    let with_collision: Vec<String> = events.iter().cloned().chain([p.sign(&colliding)]).collect();
    let state = p.derive(&form, &with_collision, T0 + 30 * MIN);
    assert_eq!(state.status, Status::Suspended, "{:#?}", state.timeline);
    assert!(state.timeline.iter().all(|t| t.outcome == Outcome::Applied), "both count, each on its own merits");
    assert_eq!(outcomes(&p.derive(&form, &events, T0 + 30 * MIN)), outcomes_without(&state, &colliding));
}

#[test]
fn a_genuine_body_replayed_in_another_envelope_or_with_a_forged_signature_is_one_event() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = active(&p, &form);
    events.push(p.event(&form, p.guardian, T0 + 20 * MIN, EventKind::Suspend { reason: "风力增大".into() }));
    events.push(p.event(&form, p.guardian, T0 + 25 * MIN, Plant::good_gas()));
    events.push(p.event(&form, p.guardian, T0 + 26 * MIN, EventKind::Resume));
    let genuine = SignedEvent::from_stored(&events[5]).expect("the suspend");
    // The same signed body in a re-spaced envelope, and with a forged signature: replays of
    // the suspend meant to stop the work again after it resumed.
    let respaced = format!(
        "{{ \"sig\": \"{}\", \"body\": {} }}",
        genuine.sig,
        serde_json::to_string(&genuine.body).expect("json")
    );
    let forged = SignedEvent { body: genuine.body.clone(), sig: "00".repeat(64) }.to_stored();
    let replayed: Vec<String> = events.iter().cloned().chain([respaced, forged]).collect();
    let state = p.derive(&form, &replayed, T0 + 30 * MIN);
    assert_eq!(state, p.derive(&form, &events, T0 + 30 * MIN), "replays change nothing");
    assert_eq!(state.status, Status::Active);
    assert_eq!(state.timeline.len(), 8);
}

#[test]
fn a_submit_is_validated_against_the_form_it_carries_whatever_the_draft_says() {
    let p = Plant::new();
    let good = p.hot_work_form();
    let mut invalid = good.clone();
    invalid.precautions.clear();
    // The submit carries the invalid form; the document's draft is the valid one.
    let submit = p.event(&invalid, p.applicant, T0 - 60 * MIN, Plant::submit(&invalid));
    let state = p.derive(&good, &[submit], T0);
    assert!(matches!(rejection(&state, 0), Some(Violation::FormInvalid { .. })), "{:?}", state.timeline);
    assert_eq!(state.status, Status::Draft);
    // A submit that names one hash and carries another form is refused too.
    let mut lying = p.event_struct(&good, p.applicant, T0 - 60 * MIN, Plant::submit(&invalid)).0;
    lying.content_hash = good.content_hash();
    let state = p.derive(&good, &[p.sign(&lying)], T0);
    assert_eq!(rejection(&state, 0), Some(&Violation::ContentHashMismatch));
}

#[test]
fn a_draft_edited_while_another_tablet_submits_does_not_brick_the_permit() {
    let p = Plant::new();
    let submitted = p.hot_work_form();
    let mut story = p.hot_work_story(&submitted);
    // Meanwhile the other tablet edited the draft in the document: the edit merges in.
    let mut draft = submitted.clone();
    draft.title = "改过的标题".into();
    let state = p.derive(&draft, &story, T0 + 200 * MIN);
    assert_eq!(state.status, Status::Closed, "{:#?}", state.rejected().collect::<Vec<_>>());
    assert_eq!(state.form, submitted, "the form of record is the one submitted");
    assert!(state.alerts.contains(&Alert::FormChangedAfterSubmit));
    // And a cancel still works on a permit in approval.
    story.truncate(2);
    story.push(p.event(&submitted, p.applicant, T0 - 30 * MIN, EventKind::Cancel { reason: "改期".into() }));
    assert_eq!(p.derive(&draft, &story, T0).status, Status::Cancelled);
}

#[test]
fn a_guardian_of_another_permit_cannot_start_complete_or_cancel_this_one() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = p.hot_work_story(&form)[..4].to_vec();
    events.push(p.event(&form, p.other_guardian, T0 + MIN, EventKind::Start));
    events.push(p.event(&form, p.other_guardian, T0 + 2 * MIN, EventKind::Cancel { reason: "我说的".into() }));
    let state = p.derive(&form, &events, T0 + 3 * MIN);
    let start_rules = vec![ActorRule::Permit(PermitParty::Guardian), ActorRule::Permit(PermitParty::Applicant)];
    assert_eq!(rejection(&state, 4), Some(&Violation::NotPermitActor { action: "start".into(), allowed: start_rules }));
    assert!(matches!(rejection(&state, 5), Some(Violation::NotPermitActor { .. })));
    assert_eq!(state.status, Status::Approved);
}

#[test]
fn a_safety_officer_may_stop_any_permits_work_and_an_approver_may_cancel_it() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = active(&p, &form);
    events.push(p.event(&form, p.safety, T0 + 5 * MIN, EventKind::Suspend { reason: "现场有泄漏".into() }));
    events.push(p.event(&form, p.director, T0 + 6 * MIN, EventKind::Cancel { reason: "作业取消".into() }));
    let state = p.derive(&form, &events, T0 + 7 * MIN);
    assert!(state.rejected().next().is_none(), "{:?}", state.rejected().collect::<Vec<_>>());
    assert_eq!(state.status, Status::Cancelled);
}

#[test]
fn a_gas_test_thirty_minutes_and_one_millisecond_old_blocks_the_start() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = p.hot_work_story(&form)[..3].to_vec();
    events.push(p.event(&form, p.guardian, T0, Plant::good_gas()));
    events.push(p.event(&form, p.guardian, T0 + 30 * MIN + 1, EventKind::Start));
    let state = p.derive(&form, &events, T0 + 31 * MIN);
    assert_eq!(rejection(&state, 4), Some(&Violation::GasTestTooOld { age_minutes: 31, max_minutes: 30 }));
}

#[test]
fn time_rules_compare_corrected_times_not_clocks_and_flag_unverified_ones() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = p.hot_work_story(&form)[..3].to_vec();
    // The gas test's HLC says T0 + 5 min (it saw a fast tablet's event), its corrected time T0 - 40 min.
    let (mut gas, _) = p.event_struct(&form, p.guardian, T0 - 40 * MIN, Plant::good_gas());
    gas.at = Hlc::new(T0 + 5 * MIN, 0);
    events.push(p.sign(&gas));
    let (mut start, _) = p.event_struct(&form, p.guardian, T0 + 6 * MIN, EventKind::Start);
    start.at = Hlc::new(T0 + 6 * MIN, 0);
    events.push(p.sign(&start));
    let state = p.derive(&form, &events, T0 + 7 * MIN);
    assert_eq!(rejection(&state, 4), Some(&Violation::GasTestTooOld { age_minutes: 46, max_minutes: 30 }));

    // A fresh test, but the start's time is the tablet's own, unverified: it stands, flagged.
    let mut events = p.hot_work_story(&form)[..4].to_vec();
    let (mut start, _) = p.event_struct(&form, p.guardian, T0 + MIN, EventKind::Start);
    start.time = Some(Stamp { ms: T0 + MIN, trust: TimeTrust::Unverified });
    let hash = start.hash();
    events.push(p.sign(&start));
    let state = p.derive(&form, &events, T0 + 2 * MIN);
    assert_eq!(state.status, Status::Active);
    assert_eq!(state.alerts, vec![Alert::UnverifiedTime { event: hash, action: "start".into() }]);
}

#[test]
fn a_revoked_tablets_events_count_until_its_revocation_and_not_after() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut registry = p.registry.clone();
    registry.devices.iter_mut().filter(|d| d.id == p.device).for_each(|d| d.revoked_ms = Some(T0 - 45 * MIN));
    let state = derive(p.permit, &form, &p.hot_work_story(&form)[..3], &registry, at(T0));
    assert_eq!(rejection(&state, 2), Some(&Violation::RevokedDevice { device: p.device }));
    assert_eq!(state.current_step.as_deref(), Some("safety_approval"));
}

/// Each event's outcome, by its hash.
fn outcomes(state: &PermitState) -> Vec<(String, Outcome)> {
    let mut out: Vec<_> = state.timeline.iter().map(|t| (t.hash.clone(), t.outcome.clone())).collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn outcomes_without(state: &PermitState, left_out: &Event) -> Vec<(String, Outcome)> {
    let hash = left_out.hash();
    outcomes(state).into_iter().filter(|(h, _)| *h != hash).collect()
}

/// Events another tablet makes that must all be refused: forged, from an unknown device, for
/// another permit, by someone with no part in the permit, colliding with genuine ids, and
/// genuine bodies replayed with forged signatures.
fn adversarial(p: &Plant, form: &PermitForm, genuine: &[String]) -> Vec<String> {
    let genuine_events: Vec<Event> =
        genuine.iter().filter_map(|s| SignedEvent::from_stored(s).ok()?.event().ok()).collect();
    let mut out = Vec::new();
    let stranger = ed25519_zebra::SigningKey::from_bytes(&[99; 32]);
    for (i, g) in genuine_events.iter().enumerate() {
        let ms = g.time_ms() - MIN;
        let base = Event {
            id: g.id,
            at: Hlc::new(ms, 0),
            time: Some(Stamp { ms, trust: TimeTrust::Server }),
            device: p.other_device,
            ..g.clone()
        };
        // A validly signed start, cancel or suspend by the guardian of another permit, reusing
        // the genuine event's id with an earlier time.
        let kind = match i % 3 {
            0 => EventKind::Start,
            1 => EventKind::Cancel { reason: "抢先".into() },
            _ => EventKind::Suspend { reason: "抢先".into() },
        };
        out.push(p.sign(&Event { actor: p.other_guardian, kind, ..base.clone() }));
        // The genuine body with a forged signature.
        let body = SignedEvent::from_stored(&genuine[i]).map(|s| s.body).unwrap_or_default();
        out.push(SignedEvent { body, sig: "11".repeat(64) }.to_stored());
        // Claims to be from this plant's first tablet, signed by a stranger.
        out.push(
            SignedEvent::sign(&Event { device: p.device, kind: EventKind::Complete, ..base.clone() }, &stranger)
                .to_stored(),
        );
        // Another permit's id.
        out.push(p.sign(&Event { permit: PermitId(uuid::Uuid::from_u128(501)), ..base.clone() }));
        // By someone not in the register.
        out.push(p.sign(&Event { actor: PersonId(uuid::Uuid::from_u128(4040)), ..base }));
    }
    let _ = form;
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// For adversarial event sets (forged, replayed, id-colliding, reordered, duplicated) every
    /// device derives the same state, and no genuine event's outcome depends on the presence of
    /// another device's invalid event.
    #[test]
    fn genuine_outcomes_never_depend_on_another_tablets_invalid_events(
        story_len in 1usize..=7,
        extra in proptest::collection::vec(0..3usize, 0..4),
        picks in proptest::sample::subsequence((0..35usize).collect::<Vec<_>>(), 0..=35),
        seed in any::<u64>(),
    ) {
        let p = Plant::new();
        let form = p.hot_work_form();
        let mut genuine = p.hot_work_story(&form)[..story_len].to_vec();
        for (k, e) in extra.iter().enumerate() {
            let ms = T0 + (200 + k as i64) * MIN;
            genuine.push(match e {
                0 => p.event(&form, p.guardian, ms, EventKind::Suspend { reason: "停".into() }),
                1 => p.event(&form, p.guardian, ms, EventKind::Resume),
                _ => p.event(&form, p.applicant, ms, EventKind::Comment { text: "记录".into() }),
            });
        }
        let attack = adversarial(&p, &form, &genuine);
        let chosen: Vec<String> = picks.iter().filter_map(|&i| attack.get(i).cloned()).collect();

        let alone = p.derive(&form, &genuine, T0 + 300 * MIN);
        let mut mixed: Vec<String> = genuine.iter().chain(&chosen).cloned().collect();
        let together = p.derive(&form, &mixed, T0 + 300 * MIN);

        let genuine_hashes: std::collections::BTreeSet<String> = alone.timeline.iter().map(|t| t.hash.clone()).collect();
        for t in &together.timeline {
            if !genuine_hashes.contains(&t.hash) {
                prop_assert!(matches!(t.outcome, Outcome::Rejected { .. }), "an attack counted: {:?}", t);
            }
        }
        let kept: Vec<_> = outcomes(&together).into_iter().filter(|(h, _)| genuine_hashes.contains(h)).collect();
        prop_assert_eq!(outcomes(&alone), kept);
        prop_assert_eq!((alone.status, &alone.steps, &alone.gas_tests), (together.status, &together.steps, &together.gas_tests));

        // Another device got the same set shuffled and partly duplicated: the same state.
        let mut rng = seed;
        let n = mixed.len();
        for i in (1..n).rev() {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            mixed.swap(i, (rng >> 33) as usize % (i + 1));
        }
        mixed.extend(mixed.clone().into_iter().take((seed % 5) as usize));
        prop_assert_eq!(p.derive(&form, &mixed, T0 + 300 * MIN), together);
    }
}

#[test]
fn work_a_safety_officer_stops_restarts_only_on_the_issuers_revalidation_and_a_pause_the_guardian_called_on_the_guardians_word(
) {
    let p = Plant::new();
    let form = p.hot_work_form();
    // 王强 (safety officer, and the permit's safety approver) stops the work: a stop-work order.
    let mut events = active(&p, &form);
    events.push(p.event(&form, p.safety, T0 + 5 * MIN, EventKind::Suspend { reason: "现场有泄漏".into() }));
    let stopped = p.derive(&form, &events, T0 + 6 * MIN);
    assert_eq!(stopped.status, Status::Suspended);
    assert!(stopped.needs_revalidation());
    // The guardian and the applicant cannot lift it …
    events.push(p.event(&form, p.guardian, T0 + 7 * MIN, EventKind::Resume));
    events.push(p.event(&form, p.applicant, T0 + 8 * MIN, EventKind::Resume));
    // … the issuer — here the workshop director who approved it — revalidates and resumes.
    events.push(p.event(&form, p.director, T0 + 9 * MIN, EventKind::Resume));
    let state = p.derive(&form, &events, T0 + 10 * MIN);
    let revalidate = vec![ActorRule::Permit(PermitParty::Approver)];
    for i in [events.len() - 3, events.len() - 2] {
        assert_eq!(
            rejection(&state, i),
            Some(&Violation::NotPermitActor { action: "resume".into(), allowed: revalidate.clone() }),
            "event {i}"
        );
    }
    assert_eq!(rejection(&state, events.len() - 1), None);
    assert_eq!(state.status, Status::Active);
    // The guardian's own pause (the wind rose) is the guardian's to resume.
    let mut events = active(&p, &form);
    events.push(p.event(&form, p.guardian, T0 + 5 * MIN, EventKind::Suspend { reason: "风力增大".into() }));
    assert!(!p.derive(&form, &events, T0 + 6 * MIN).needs_revalidation());
    events.push(p.event(&form, p.guardian, T0 + 9 * MIN, EventKind::Resume));
    let state = p.derive(&form, &events, T0 + 10 * MIN);
    assert!(state.rejected().next().is_none(), "{:?}", state.rejected().collect::<Vec<_>>());
    assert_eq!(state.status, Status::Active);
}
