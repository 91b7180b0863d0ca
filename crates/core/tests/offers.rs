//! What the action panel offers a person agrees with what derivation then does with that
//! person's event: for every state of the hot-work story, every person of the plant and every
//! action open in the state, an action offered is never refused for who the person is, and an
//! action not offered is refused with exactly the reason the offer gave.

mod common;
use common::*;
use ptw_core::derive::Outcome;
use ptw_core::offers::{self, ActionKind};
use ptw_core::*;

/// The event a person taking `action` on `state` would sign (with a good payload).
fn event_for(state: &PermitState, form: &PermitForm, action: ActionKind) -> Option<EventKind> {
    let step = state.current_step.clone().unwrap_or_else(|| "workshop_review".into());
    Some(match action {
        ActionKind::Edit => return None,
        ActionKind::Submit => Plant::submit(form),
        ActionKind::Approve => EventKind::Approve { step, comment: "同意".into() },
        ActionKind::Reject => EventKind::Reject { step, comment: "措施不全".into() },
        ActionKind::GasTest => Plant::good_gas(),
        ActionKind::Start => EventKind::Start,
        ActionKind::Suspend => EventKind::Suspend { reason: "下雨".into() },
        ActionKind::Resume => EventKind::Resume,
        ActionKind::Complete => EventKind::Complete,
        ActionKind::Accept => Plant::accept(),
        ActionKind::Cancel => EventKind::Cancel { reason: "不做了".into() },
        ActionKind::Handover => EventKind::Handover {
            to: PersonId(uuid::Uuid::from_u128(10)),
            plant_state: "装置运行平稳".into(),
            open_items: String::new(),
        },
        ActionKind::TakeOver => EventKind::TakeOver,
        ActionKind::FireWatchEnd => Plant::fire_watch_end(),
        ActionKind::RequestChange => EventKind::ChangeRequest {
            change: Box::new(PermitChange {
                reason: ChangeReason::Weather,
                explanation: "大风，提前结束".into(),
                planned_start: None,
                planned_end: form.planned_end.map(|end| end - chrono::Duration::minutes(30)),
                add_precautions: vec![],
                crew_add: vec![],
                crew_remove: vec![],
            }),
        },
        ActionKind::ApproveChange | ActionKind::RejectChange => {
            let (change, step) = state
                .pending_change()
                .map(|c| (c.event.clone(), c.current_step.clone().unwrap_or_default()))
                .unwrap_or_default();
            if action == ActionKind::ApproveChange {
                EventKind::ApproveChange { change, step, comment: "同意".into() }
            } else {
                EventKind::RejectChange { change, step, comment: "不同意".into() }
            }
        }
        // In while work is active, out while it is suspended (nobody goes in then).
        ActionKind::Entry => EventKind::Entry {
            entrant: ptw_core::event::Entrant::Tool("通风机".into()),
            inside: state.status == Status::Active,
        },
    })
}

/// Refusals about who acts or what the permit's status allows, which an offer decides.
fn about_who(v: &Violation) -> bool {
    matches!(
        v,
        Violation::UnknownPerson { .. }
            | Violation::FrozenAccount { .. }
            | Violation::MissingRole { .. }
            | Violation::NotPermitActor { .. }
            | Violation::NotApplicant
            | Violation::NotPermitGuardian
            | Violation::NotAllowedInStatus { .. }
            | Violation::StepNotOpen { .. }
            | Violation::AlreadySigned { .. }
            | Violation::NotAssignee { .. }
            | Violation::ApproverIsApplicant
            | Violation::ApproverIsGuardian
            | Violation::ApproverIsCrew
            | Violation::NoEntrantRoster
            | Violation::NoHandoverPending
            | Violation::NotHandoverTarget { .. }
            | Violation::NoFireWatch
            | Violation::FireWatchNotSignedOff { .. }
            | Violation::ChangesNotAllowed
            | Violation::ChangePending
            | Violation::NoSuchChange { .. }
    )
}

#[test]
fn an_action_is_offered_to_exactly_the_people_whose_event_derivation_would_accept() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let story = p.hot_work_story(&form);
    let story_ms = [
        T0 - 60 * MIN,
        T0 - 50 * MIN,
        T0 - 40 * MIN,
        T0 - 10 * MIN,
        T0 + MIN,
        T0 + 180 * MIN,
        T0 + 215 * MIN,
        T0 + 220 * MIN,
    ];
    // Every state of the story (the candidate acts where the story's next event does), and two
    // suspended ones.
    let mut cases: Vec<(Vec<String>, i64)> =
        (0..story.len()).map(|k| (story[..k].to_vec(), story_ms[k] - MIN / 2)).collect();
    cases.push((story.clone(), T0 + 230 * MIN));
    // Completed, the fire watch still running: signing it off is refused by the clock.
    cases.push((story[..6].to_vec(), T0 + 190 * MIN));
    let mut suspended = story[..5].to_vec();
    suspended.push(p.event(&form, p.guardian, T0 + 30 * MIN, EventKind::Suspend { reason: "下雨".into() }));
    cases.push((suspended, T0 + 40 * MIN));
    // A handover waiting for the incoming guardian (钱勇).
    let mut handed = story[..5].to_vec();
    handed.push(p.event(
        &form,
        p.guardian,
        T0 + 20 * MIN,
        EventKind::Handover {
            to: p.other_guardian, plant_state: "装置运行平稳".into(), open_items: "无".into()
        },
    ));
    cases.push((handed, T0 + 25 * MIN));
    // Suspended by a failing reading, then re-tested: the resume is the issuer's.
    let mut gas_failed = story[..5].to_vec();
    let leak = GasReading {
        o2_pct: Some(20.9),
        lel_pct: Some(15.0),
        h2s_ppm: Some(0.0),
        co_ppm: Some(0.0),
        instrument: "MX4 #A1234".into(),
        ..Default::default()
    };
    gas_failed.push(p.event(&form, p.guardian, T0 + 30 * MIN, EventKind::GasTest { reading: leak }));
    gas_failed.push(p.event(&form, p.guardian, T0 + 35 * MIN, Plant::good_gas()));
    cases.push((gas_failed, T0 + 40 * MIN));
    // A change waiting for its first and then its second signature.
    let mut changing = story[..5].to_vec();
    let ask = event_for(&p.derive(&form, &changing, T0 + 20 * MIN), &form, ActionKind::RequestChange)
        .expect("a change request");
    let (ask, stored) = p.event_struct(&form, p.applicant, T0 + 20 * MIN, ask);
    changing.push(stored);
    cases.push((changing.clone(), T0 + 25 * MIN));
    changing.push(p.event(
        &form,
        p.director,
        T0 + 25 * MIN,
        EventKind::ApproveChange { change: ask.hash(), step: "workshop_review".into(), comment: "同意".into() },
    ));
    cases.push((changing, T0 + 30 * MIN));

    let mut checked = 0;
    let mut offered = 0;
    for (events, ms) in &cases {
        let state = p.derive(&form, events, *ms);
        for person in &p.registry.people {
            let offers = offers::offers(&state, &form, &p.registry, person.id);
            let actions: Vec<ActionKind> = offers.iter().map(|o| o.action).collect();
            assert_eq!(actions, ActionKind::open_in(state.status), "every open action is answered");
            for offer in &offers {
                assert_eq!(offer.mine, offer.refusal.is_none());
                // The person is among those who may exactly when it is theirs (the list may be
                // cut at MAX_NAMED, the count is not).
                if offer.mine {
                    assert!(offer.who.contains(&person.id) || offer.who_count as usize > offer.who.len());
                } else {
                    assert!(!offer.who.contains(&person.id));
                }
                let Some(kind) = event_for(&state, &form, offer.action) else {
                    assert_eq!(offer.mine, form.applicant == Some(person.id), "the draft is the applicant's to edit");
                    continue;
                };
                let mut with = events.clone();
                with.push(p.event(&form, person.id, *ms, kind));
                let after = p.derive(&form, &with, *ms);
                let outcome = &after.timeline.last().expect("the candidate is in the timeline").outcome;
                checked += 1;
                match (&offer.refusal, outcome) {
                    (None, Outcome::Applied) => offered += 1,
                    (None, Outcome::Rejected { violation }) => assert!(
                        !about_who(violation),
                        "{} was offered {:?} in {:?} but derivation refused it: {violation:?}",
                        person.name,
                        offer.action,
                        state.status
                    ),
                    (Some(refusal), Outcome::Rejected { violation }) => assert_eq!(
                        refusal, violation,
                        "{} was refused {:?} in {:?} for another reason than derivation's",
                        person.name, offer.action, state.status
                    ),
                    (Some(refusal), Outcome::Applied) => panic!(
                        "{} was refused {:?} in {:?} ({refusal:?}) but derivation applied it",
                        person.name, offer.action, state.status
                    ),
                }
            }
        }
    }
    assert!(checked >= 200 && offered >= 20, "checked {checked}, offered and applied {offered}");
}

#[test]
fn the_turn_names_who_is_waited_for_and_never_the_applicant_for_an_approval() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let story = p.hot_work_story(&form);

    let draft = p.derive(&form, &[], T0 - 70 * MIN);
    let turn = offers::turn(&draft, &form, &p.registry);
    assert_eq!((turn.action, turn.who.clone()), (Some(ActionKind::Submit), vec![p.applicant]));

    let submitted = p.derive(&form, &story[..1], T0 - 55 * MIN);
    let turn = offers::turn(&submitted, &form, &p.registry);
    assert_eq!(turn.action, Some(ActionKind::Approve));
    assert_eq!(turn.role.as_ref().map(|r| r.0.as_str()), Some("workshop_director"));
    assert!(turn.who.contains(&p.director), "{:?}", turn.who);
    assert!(!turn.who.contains(&p.applicant) && !turn.who.contains(&p.guardian) && !turn.who.contains(&p.welder));
    assert_eq!(turn.who_count as usize, turn.who.len());
    // The applicant is told it is not theirs, and why.
    let theirs = offers::offers(&submitted, &form, &p.registry, p.applicant);
    let approve = theirs.iter().find(|o| o.action == ActionKind::Approve).expect("approve is open");
    assert!(!approve.mine);
    assert!(approve.refusal.is_some());

    let approved = p.derive(&form, &story[..4], T0);
    let turn = offers::turn(&approved, &form, &p.registry);
    assert_eq!(turn.action, Some(ActionKind::Start));
    assert!(turn.who.contains(&p.guardian), "{:?}", turn.who);

    let watching = p.derive(&form, &story[..6], T0 + 190 * MIN);
    let turn = offers::turn(&watching, &form, &p.registry);
    assert_eq!((turn.action, turn.who.clone()), (Some(ActionKind::FireWatchEnd), vec![p.guardian]));

    let closed = p.derive(&form, &story, T0 + 230 * MIN);
    assert_eq!(offers::turn(&closed, &form, &p.registry), offers::Turn::default(), "nothing is waited for");
}
