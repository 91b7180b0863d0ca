//! The certificate gate through the store: an action the gate refuses is refused before
//! anything is signed or written, and a registry change that arrives by sync (a certificate
//! renewed, a person retired, an account frozen) decides the next action.

mod common;
use chrono::Duration;
use common::*;
use ptw_core::api::Action;
use ptw_core::authority::RegistryOp;
use ptw_core::form::{FieldProblem, FieldValue};
use ptw_core::qualification::{Disqualification, DAY_MS};
use ptw_core::registry::Certificate;
use ptw_core::{Status, Violation};
use ptw_store::StoreError;

/// 孙浩's special-equipment welding certificate in the demo plant.
const SPECIAL_WELDING: u128 = 0x0190c5a0_0000_7000_8000_000000000202;

fn special_welding_until(store: &ptw_store::Store, valid_to_ms: i64) -> RegistryOp {
    let id = uuid::Uuid::from_u128(SPECIAL_WELDING);
    let old = store.registry().certificates.iter().find(|c| c.id == id).cloned().expect("demo certificate");
    RegistryOp::PutCertificate { certificate: Certificate { valid_to_ms, ..old } }
}

fn refused_person(err: &Result<ptw_core::api::PermitView, StoreError>) -> Option<(String, Disqualification)> {
    let Err(StoreError::Refused(Violation::FormInvalid { errors })) = err else { return None };
    errors.iter().find_map(|e| match &e.problem {
        FieldProblem::Unqualified { unqualified } => Some((unqualified.person.to_string(), unqualified.why.clone())),
        _ => None,
    })
}

#[test]
fn the_store_refuses_pressure_vessel_welding_with_exactly_the_margin_left_and_takes_a_day_more() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut plant = TestPlant::demo();
    let mut store = plant.open(&dir.path().join("d.db"), "tablet");
    let t = t0();
    let zhao = person("赵磊");
    let mut form = hot_work_form(&store, t);
    form.applicant = Some(zhao);
    form.details.insert("pressure_vessel".into(), FieldValue::YesNo(true));
    // Exactly 30 days left when he submits: not more than 30.
    let op = special_welding_until(&store, t.timestamp_millis() + 30 * DAY_MS);
    plant.append(op);
    plant.update(&mut store);
    let id = store.create_permit(zhao, form, t).expect("draft").id;
    let pending = store.pending_changes().expect("outbox");
    let err = store.act(zhao, id, Action::Submit, t);
    let (who, why) = refused_person(&err).unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(who, person("孙浩").to_string());
    assert!(matches!(why, Disqualification::Certificate { margin_days: 30, .. }), "{why:?}");
    assert_eq!(store.pending_changes().expect("outbox"), pending, "nothing signed");
    assert_eq!(store.permit(id, t).expect("permit").state.status, Status::Draft);

    // Renewed through sync: a day more, and the same submit goes through.
    let op = special_welding_until(&store, t.timestamp_millis() + 31 * DAY_MS);
    plant.append(op);
    plant.update(&mut store);
    let v = store.act(zhao, id, Action::Submit, t).expect("submit");
    assert_eq!(v.state.status, Status::InApproval);
}

#[test]
fn a_person_retired_or_frozen_by_sync_is_refused_by_the_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut plant = TestPlant::demo();
    let mut store = plant.open(&dir.path().join("d.db"), "tablet");
    let t = t0();
    let zhang = person("张伟");
    let sun = person("孙浩");
    plant.append_at(RegistryOp::RetirePerson { person: sun, reason: "合同到期".into() }, t - Duration::minutes(5));
    plant.update(&mut store);
    let id = store.create_permit(zhang, hot_work_form(&store, t), t).expect("draft").id;
    let err = store.act(zhang, id, Action::Submit, t);
    assert!(matches!(refused_person(&err), Some((_, Disqualification::Retired { .. }))), "{err:?}");

    // Without him, the permit goes; then the workshop director is frozen and cannot approve.
    let mut form = hot_work_form(&store, t);
    form.crew = vec![person("钱勇")];
    let id = store.create_permit(zhang, form, t).expect("draft").id;
    store.act(zhang, id, Action::Submit, t).expect("submit");
    let liu = person("刘洋");
    plant.append_at(RegistryOp::Freeze { person: liu, reason: "伪造记录".into() }, t - Duration::minutes(1));
    plant.update(&mut store);
    let err = store.act(liu, id, Action::Approve { comment: "同意".into() }, t + Duration::minutes(1));
    assert!(matches!(err, Err(StoreError::Refused(Violation::FrozenAccount { .. }))), "{err:?}");
}
