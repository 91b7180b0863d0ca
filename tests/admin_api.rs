//! Whole system: the register changed from a tablet through the server's admin API (the desktop
//! app's admin screen), against a real `ptw-sync-server` process on loopback. The server signs
//! the change and the tablet holds it at once; a wrong PIN, a person without the admin role and
//! a frozen admin change nothing; a change the register cannot take comes back typed; a freeze
//! made here stops the frozen person's next signature on every device.

mod common;
use common::*;

use chrono::Duration;
use ptw_core::api::Action;
use ptw_core::authority::OpProblem;
use ptw_core::registry::Profile;
use ptw_core::sync::AdminChange;
use ptw_core::{Role, Violation};
use ptw_store::StoreError;

const ADMIN_PIN: &str = "9090";

fn put(id: ptw_core::PersonId, name: &str, badge: &str) -> AdminChange {
    AdminChange::PutPerson {
        id,
        name: name.into(),
        title: "管工".into(),
        roles: vec![Role::new("guardian")],
        profile: Profile {
            company: "华建安装工程有限公司".into(),
            department: "维修车间".into(),
            badge: badge.into(),
            phone: "13900000099".into(),
        },
    }
}

#[test]
fn an_admin_adds_a_person_with_a_pin_who_then_signs_in_on_another_tablet() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("server"));
    let t = t0();
    let mut desk = server.tablet(&dir.path().join("desk.db"), "D-01", t);
    let mut tablet = server.tablet(&dir.path().join("tab.db"), "T-01", t);
    let admin = person("马丽");
    let new = ptw_store::new_person_id(t);

    let applied = desk.admin_change(admin, ADMIN_PIN, put(new, "郑凯", "C3001"), t).expect("add the person");
    // The desk had not seen the tablet's enrolment either: it reads on from where it stopped.
    assert_eq!(applied, 2, "the signed entry is held on the desk at once, with the one before it");
    let p = desk.registry().person(new).expect("on the desk without a sync");
    assert_eq!((p.name.as_str(), p.profile.badge.as_str()), ("郑凯", "C3001"));
    desk.admin_change(admin, ADMIN_PIN, AdminChange::SetPin { person: new, pin: "246810".into() }, t)
        .expect("set the PIN");

    server.sync(&mut tablet, t).expect("the tablet syncs");
    let signed_in = tablet.verify_pin(new, "246810", t).expect("the new person signs in offline");
    assert_eq!(signed_in.profile.company, "华建安装工程有限公司");
    assert_eq!(tablet.registry().person_by_badge("C3001").map(|p| p.id), Some(new), "found by the badge");
    assert!(matches!(tablet.verify_pin(new, "000000", t), Err(StoreError::BadCredentials)));
}

#[test]
fn a_wrong_pin_a_person_without_the_admin_role_and_a_frozen_admin_change_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("server"));
    let t = t0();
    let mut desk = server.tablet(&dir.path().join("desk.db"), "D-01", t);
    let head = desk.registry_head();
    let new = ptw_store::new_person_id(t);

    let wrong = desk.admin_change(person("马丽"), "0000", put(new, "郑凯", "C3001"), t);
    assert!(matches!(wrong, Err(StoreError::AdminDenied)), "{wrong:?}");
    // The safety manager's own PIN is right, but the register is not his to change.
    let no_role = desk.admin_change(person("王强"), "4444", put(new, "郑凯", "C3001"), t);
    assert!(matches!(no_role, Err(StoreError::AdminDenied)), "{no_role:?}");
    assert_eq!(desk.registry_head(), head, "nothing was signed");

    // A second admin freezes the first; the frozen one can no longer change anything.
    let admin = person("马丽");
    let other = ptw_store::new_person_id(t);
    let mut second = put(other, "黄蕾", "1020");
    if let AdminChange::PutPerson { roles, .. } = &mut second {
        *roles = vec![Role::new("admin")];
    }
    desk.admin_change(admin, ADMIN_PIN, second, t).expect("a second admin");
    desk.admin_change(admin, ADMIN_PIN, AdminChange::SetPin { person: other, pin: "135790".into() }, t).expect("PIN");
    desk.admin_change(other, "135790", AdminChange::Freeze { person: admin, reason: "离岗调查".into() }, t)
        .expect("freeze the first admin");
    let frozen = desk.admin_change(admin, ADMIN_PIN, put(new, "郑凯", "C3001"), t + Duration::minutes(1));
    assert!(matches!(frozen, Err(StoreError::AdminDenied)), "{frozen:?}");
    assert!(desk.registry().person(new).is_none());
    assert!(desk.registry().person(admin).is_some_and(|p| p.frozen_at((t + Duration::minutes(1)).timestamp_millis())));
}

#[test]
fn a_change_the_register_cannot_take_comes_back_as_its_problem() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("server"));
    let t = t0();
    let mut desk = server.tablet(&dir.path().join("desk.db"), "D-01", t);
    let admin = person("马丽");
    let new = ptw_store::new_person_id(t);

    match desk.admin_change(admin, ADMIN_PIN, put(new, "郑凯", "1001"), t) {
        Err(StoreError::RegistryRefused(OpProblem::BadgeTaken { badge, person: holder })) => {
            assert_eq!((badge.as_str(), holder), ("1001", person("张伟")), "张伟 holds badge 1001");
        }
        other => panic!("expected the badge to be refused, got {other:?}"),
    }
    match desk.admin_change(admin, ADMIN_PIN, AdminChange::SetPin { person: person("张伟"), pin: "12".into() }, t) {
        Err(StoreError::RegistryRefused(OpProblem::PinLength { min })) => {
            assert_eq!(min, 4, "the demo plant's shortest")
        }
        other => panic!("expected the PIN to be refused, got {other:?}"),
    }
    match desk.admin_change(admin, ADMIN_PIN, AdminChange::Freeze { person: person("张伟"), reason: " ".into() }, t) {
        Err(StoreError::RegistryRefused(OpProblem::Empty { field })) => assert_eq!(field, "reason"),
        other => panic!("expected the empty reason to be refused, got {other:?}"),
    }
    assert!(desk.registry().person(new).is_none());
    assert!(!desk.registry().person(person("张伟")).is_some_and(|p| p.frozen_at(t.timestamp_millis())));
}

#[test]
fn a_freeze_made_on_the_desk_stops_the_frozen_persons_next_signature_on_a_tablet_and_lifting_it_restores_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("server"));
    let t = t0();
    let mut desk = server.tablet(&dir.path().join("desk.db"), "D-01", t);
    let mut tablet = server.tablet(&dir.path().join("tab.db"), "T-01", t);
    let zhang = person("张伟");
    let p =
        tablet.create_permit(zhang, hot_work(&tablet, "T-101 法兰焊接", t + Duration::minutes(30)), t).expect("P").id;

    let t1 = t + Duration::minutes(1);
    desk.admin_change(person("马丽"), ADMIN_PIN, AdminChange::Freeze { person: zhang, reason: "违章作业".into() }, t1)
        .expect("freeze");
    let t2 = t + Duration::minutes(2);
    server.sync(&mut tablet, t2).expect("the tablet learns of the freeze");
    match tablet.act(zhang, p, Action::Submit, t2) {
        Err(StoreError::Refused(Violation::FrozenAccount { person })) => assert_eq!(person, zhang),
        other => panic!("a frozen applicant's submit must be refused, got {other:?}"),
    }

    let t3 = t + Duration::minutes(3);
    desk.admin_change(
        person("马丽"),
        ADMIN_PIN,
        AdminChange::Unfreeze { person: zhang, reason: "调查结束".into() },
        t3,
    )
    .expect("lift the freeze");
    server.sync(&mut tablet, t3).expect("the tablet learns it was lifted");
    tablet.act(zhang, p, Action::Submit, t3).expect("submits again once the freeze is lifted");
}
