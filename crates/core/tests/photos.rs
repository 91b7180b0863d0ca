//! Photos of the work (R-PHOTO) told to the pure engine: the permit keeps who took each photo,
//! when (the event's trusted time), on which device, of which part of the work, and the camera's
//! own time beside it; only the permit's own people attach photos, until it is over; a photo is
//! attached once; a reference that does not name its picture by hash is refused.

mod common;
use common::*;
use ptw_core::event::{PhotoPhase, PhotoRef};
use ptw_core::*;

fn photo(n: u8, phase: PhotoPhase) -> PhotoRef {
    PhotoRef {
        blob: format!("{:02x}", n).repeat(32),
        thumbnail: format!("{:02x}", n.wrapping_add(100)).repeat(32),
        phase,
        width: 3072,
        height: 2304,
        camera_time: Some("2026-12-02 09:15:07".into()),
        dhash: format!("{:016x}", u64::from(n) * 0x0101_0101_0101_0101),
    }
}

/// Strong wind stops the work for an hour: the end moves from T0 + 4 h to T0 + 5 h.
fn weather_delay() -> PermitChange {
    PermitChange {
        reason: ChangeReason::Weather,
        explanation: "大风停工一小时，结束时间顺延".into(),
        planned_start: None,
        planned_end: Some(at(T0 + 5 * 60 * MIN)),
        add_precautions: vec![],
        crew_add: vec![],
        crew_remove: vec![],
    }
}

fn attach(p: PhotoRef) -> EventKind {
    EventKind::Photo { photo: p }
}

#[test]
fn a_photo_keeps_who_took_it_when_on_which_device_and_of_which_part_of_the_work() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = p.hot_work_story(&form);
    events.truncate(5);
    events.push(p.event(&form, p.guardian, T0 - 5 * MIN, attach(photo(1, PhotoPhase::GasTest))));
    events.push(p.event(&form, p.welder, T0 + 30 * MIN, attach(photo(2, PhotoPhase::During))));
    events.push(p.event(&form, p.director, T0 + 31 * MIN, attach(photo(3, PhotoPhase::During))));
    let state = p.derive(&form, &events, T0 + 40 * MIN);
    assert!(state.rejected().next().is_none(), "{:?}", state.rejected().collect::<Vec<_>>());
    assert_eq!(state.photos.len(), 3);
    let first = &state.photos[0];
    assert_eq!((first.by, first.at_ms, first.device), (p.guardian, T0 - 5 * MIN, p.device));
    assert_eq!(first.photo.phase, PhotoPhase::GasTest);
    assert_eq!(first.photo.camera_time.as_deref(), Some("2026-12-02 09:15:07"));
    assert!(first.time_verified);
    assert_eq!(state.photos[1].by, p.welder, "the crew take photos");
    assert_eq!(state.photos[2].by, p.director, "so does a signer of the permit");
}

#[test]
fn only_the_permits_own_people_attach_photos_and_not_once_it_is_over() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let story = p.hot_work_story(&form);
    // Someone who has nothing to do with the permit.
    let mut events = story[..5].to_vec();
    events.push(p.event(&form, p.other_guardian, T0 + 10 * MIN, attach(photo(4, PhotoPhase::During))));
    let state = p.derive(&form, &events, T0 + 11 * MIN);
    assert_eq!(rejection(&state, 5), Some(&Violation::NotAPartyToPermit));
    assert!(state.photos.is_empty());
    // The permit closed: no more photos, not even from its applicant.
    let mut events = story.clone();
    events.push(p.event(&form, p.applicant, T0 + 230 * MIN, attach(photo(5, PhotoPhase::After))));
    let state = p.derive(&form, &events, T0 + 231 * MIN);
    assert_eq!(state.status, Status::Closed);
    assert!(
        matches!(rejection(&state, story.len()), Some(Violation::NotAllowedInStatus { action, status: Status::Closed }) if action == "photo")
    );
    // While accepting (completed, fire watch running) an "after" photo is welcome.
    let mut events = story[..6].to_vec();
    events.push(p.event(&form, p.guardian, T0 + 190 * MIN, attach(photo(6, PhotoPhase::After))));
    let state = p.derive(&form, &events, T0 + 191 * MIN);
    assert_eq!(state.photos.len(), 1);
    // And the applicant's "before" photo while the draft is being filled.
    let draft_photo = p.event(&form, p.applicant, T0 - 90 * MIN, attach(photo(7, PhotoPhase::Before)));
    let state = p.derive(&form, &[draft_photo], T0 - 89 * MIN);
    assert_eq!(state.status, Status::Draft);
    assert_eq!(state.photos.len(), 1);
}

#[test]
fn a_photo_is_attached_once_and_a_reference_that_does_not_name_its_picture_by_hash_is_refused() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = p.hot_work_story(&form)[..5].to_vec();
    events.push(p.event(&form, p.guardian, T0 + 2 * MIN, attach(photo(8, PhotoPhase::During))));
    // The same picture again, by another person.
    events.push(p.event(&form, p.welder, T0 + 3 * MIN, attach(photo(8, PhotoPhase::After))));
    let mut bad_blob = photo(9, PhotoPhase::During);
    bad_blob.blob = "../../etc/passwd".into();
    events.push(p.event(&form, p.guardian, T0 + 4 * MIN, attach(bad_blob)));
    let mut bad_hash = photo(10, PhotoPhase::During);
    bad_hash.dhash = "ABCDEF0123456789".into();
    events.push(p.event(&form, p.guardian, T0 + 5 * MIN, attach(bad_hash)));
    let mut no_size = photo(11, PhotoPhase::During);
    no_size.width = 0;
    events.push(p.event(&form, p.guardian, T0 + 6 * MIN, attach(no_size)));
    let mut signed_hash = photo(13, PhotoPhase::During);
    signed_hash.dhash = "+bcdef0123456789".into();
    events.push(p.event(&form, p.guardian, T0 + 7 * MIN, attach(signed_hash)));
    let mut says_verified = photo(14, PhotoPhase::During);
    says_verified.camera_time = Some("已校准 trusted".into());
    events.push(p.event(&form, p.guardian, T0 + 8 * MIN, attach(says_verified)));
    let state = p.derive(&form, &events, T0 + 9 * MIN);
    assert_eq!(state.photos.len(), 1);
    assert_eq!(rejection(&state, 6), Some(&Violation::PhotoAttachedAlready));
    for (i, what) in
        [(7, "SHA-256"), (8, "difference hash"), (9, "size"), (10, "difference hash"), (11, "camera's time")]
    {
        match rejection(&state, i) {
            Some(Violation::Malformed { reason }) => assert!(reason.contains(what), "{reason}"),
            other => panic!("event {i}: {other:?}"),
        }
    }
}

#[test]
fn a_photo_event_with_a_changed_picture_hash_no_longer_verifies() {
    // A dishonest device that swaps the picture a signed photo event names, after signing.
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = p.hot_work_story(&form)[..5].to_vec();
    let (ev, _) = p.event_struct(&form, p.guardian, T0 + 2 * MIN, attach(photo(12, PhotoPhase::During)));
    let signed = p.sign(&ev);
    let forged = signed.replace(&"0c".repeat(32), &"0d".repeat(32));
    assert_ne!(forged, signed);
    events.push(forged);
    let state = p.derive(&form, &events, T0 + 3 * MIN);
    assert!(state.photos.is_empty());
    assert!(matches!(rejection(&state, 5), Some(Violation::BadSignature) | Some(Violation::Malformed { .. })));
}

/// `kind` signed by `actor` with a handwritten signature named `image`.
fn handwritten(p: &Plant, form: &PermitForm, actor: PersonId, ms: i64, kind: EventKind, image: &str) -> String {
    let (mut ev, _) = p.event_struct(form, actor, ms, kind);
    ev.handwriting = Some(image.to_owned());
    p.sign(&ev)
}

#[test]
fn a_handwritten_signature_is_bound_to_the_content_it_signed_and_broken_once_that_content_changes() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let pad = "ab".repeat(32);
    let events = vec![
        p.event(&form, p.applicant, T0 - 60 * MIN, Plant::submit(&form)),
        handwritten(&p, &form, p.director, T0 - 50 * MIN, Plant::approve("workshop_review"), &pad),
    ];
    let state = p.derive(&form, &events, T0 - 49 * MIN);
    assert!(state.rejected().next().is_none(), "{:?}", state.rejected().collect::<Vec<_>>());
    assert_eq!(state.handwritten.len(), 1);
    let h = &state.handwritten[0];
    assert_eq!((h.by, h.image.as_str(), h.step.as_deref()), (p.director, pad.as_str(), Some("workshop_review")));
    assert_eq!(h.content_hash, form.content_hash(), "bound to the form it was drawn over");
    assert!(!state.signature_broken(h), "the form of record is what was signed");
    // The signature's event names the step's signature.
    let step = state.step("workshop_review").expect("step");
    assert_eq!(step.signatures[0].event, h.event);

    // The permit is issued and started; then a change of its end time goes through the chain.
    let mut events = events;
    events.extend([
        p.event(&form, p.safety, T0 - 40 * MIN, Plant::approve("safety_approval")),
        p.event(&form, p.guardian, T0 - 10 * MIN, Plant::good_gas()),
        p.event(&form, p.guardian, T0 + MIN, EventKind::Start),
    ]);
    let change = weather_delay();
    let (ask, stored) =
        p.event_struct(&form, p.applicant, T0 + 30 * MIN, EventKind::ChangeRequest { change: Box::new(change) });
    events.push(stored);
    let approve =
        |step: &str| EventKind::ApproveChange { change: ask.hash(), step: step.into(), comment: "同意变更".into() };
    events.push(p.event(&form, p.director, T0 + 35 * MIN, approve("workshop_review")));
    let before_last = p.derive(&form, &events, T0 + 36 * MIN);
    assert!(!before_last.signature_broken(&before_last.handwritten[0]), "a change waiting changes nothing yet");
    events.push(p.event(&form, p.safety, T0 + 36 * MIN, approve("safety_approval")));
    let state = p.derive(&form, &events, T0 + 37 * MIN);
    assert!(state.rejected().next().is_none(), "{:?}", state.rejected().collect::<Vec<_>>());
    assert_ne!(state.form_hash, form.content_hash(), "the change is the form of record now");
    assert!(state.signature_broken(&state.handwritten[0]), "the drawing covers the form as it was, not as it is");
}

#[test]
fn a_handwritten_signature_is_refused_where_it_means_nothing_or_names_no_picture() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = p.hot_work_story(&form)[..5].to_vec();
    events.push(handwritten(
        &p,
        &form,
        p.guardian,
        T0 + 2 * MIN,
        EventKind::Comment { text: "巡检正常".into() },
        &"cd".repeat(32),
    ));
    events.push(handwritten(&p, &form, p.applicant, T0 + 180 * MIN, EventKind::Complete, "not-a-hash"));
    let state = p.derive(&form, &events, T0 + 181 * MIN);
    assert!(matches!(rejection(&state, 5), Some(Violation::Malformed { reason }) if reason.contains("comment")));
    assert!(matches!(rejection(&state, 6), Some(Violation::Malformed { reason }) if reason.contains("SHA-256")));
    assert!(state.handwritten.is_empty());
    assert_eq!(state.status, Status::Active, "the completion with a bad signature did not count");

    // The director's drawing from his approval, put under someone else's step.
    let directors = "ef".repeat(32);
    let signed = vec![
        p.event(&form, p.applicant, T0 - 60 * MIN, Plant::submit(&form)),
        handwritten(&p, &form, p.director, T0 - 50 * MIN, Plant::approve("workshop_review"), &directors),
        handwritten(&p, &form, p.safety, T0 - 40 * MIN, Plant::approve("safety_approval"), &directors),
    ];
    let copied = p.derive(&form, &signed, T0 - 39 * MIN);
    assert_eq!(rejection(&copied, 1), None);
    assert!(
        matches!(rejection(&copied, 2), Some(Violation::Malformed { reason }) if reason.contains("someone else")),
        "{:?} {:?}",
        rejection(&copied, 2),
        copied.handwritten
    );
}

#[test]
fn a_photo_taken_offline_over_the_form_a_change_replaced_stands_and_an_approval_does_not() {
    // A crew tablet offline photographs the work while another device's change is approved:
    // the photo records a fact and stands; a signature over the replaced form is refused.
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = p.hot_work_story(&form)[..5].to_vec();
    let change = weather_delay();
    let (ask, stored) =
        p.event_struct(&form, p.applicant, T0 + 30 * MIN, EventKind::ChangeRequest { change: Box::new(change) });
    events.push(stored);
    let approve =
        |step: &str| EventKind::ApproveChange { change: ask.hash(), step: step.into(), comment: "同意".into() };
    events.push(p.event(&form, p.director, T0 + 35 * MIN, approve("workshop_review")));
    events.push(p.event(&form, p.safety, T0 + 36 * MIN, approve("safety_approval")));
    // Made offline, over the form as it was before the change.
    events.push(p.event(&form, p.welder, T0 + 40 * MIN, attach(photo(15, PhotoPhase::During))));
    events.push(p.event(&form, p.guardian, T0 + 41 * MIN, Plant::good_gas()));
    // Over a form this permit never had.
    let mut other = form.clone();
    other.title = "另一张票".into();
    events.push(p.event(&other, p.welder, T0 + 42 * MIN, attach(photo(16, PhotoPhase::During))));
    let state = p.derive(&form, &events, T0 + 43 * MIN);
    assert_ne!(state.form_hash, form.content_hash());
    assert_eq!(rejection(&state, 8), None, "the photo stands");
    assert_eq!(rejection(&state, 9), Some(&Violation::ContentHashMismatch), "a gas test signs the form now");
    assert_eq!(rejection(&state, 10), Some(&Violation::ContentHashMismatch));
    assert_eq!(state.photos.len(), 1);
}
