//! Check-in and check-out through the store and a real SQLite file: the badge and the location
//! scanned are signed into the permit, the trail survives a reopen, the guardian checking out
//! during work suspends it, and a badge that is not the signer's is refused with nothing written.

mod common;
use chrono::Duration;
use common::*;
use ptw_core::api::Action;
use ptw_core::{Status, Violation};
use ptw_store::StoreError;

fn scan(badge: &str, location: &str, check_in: bool) -> Action {
    let (badge, location) = (badge.to_owned(), location.to_owned());
    if check_in {
        Action::CheckIn { badge, location }
    } else {
        Action::CheckOut { badge, location }
    }
}

#[test]
fn the_guardian_s_trail_is_signed_kept_across_a_reopen_and_leaving_suspends_the_work() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("device.db");
    let t = t0();
    let li = person("李娜");
    let id = {
        let mut store = open_demo(&db);
        let zhao = person("赵磊");
        let id = store.create_permit(zhao, hot_work_form(&store, t + Duration::minutes(30)), t).expect("draft").id;
        store.act(zhao, id, Action::Submit, t + Duration::minutes(1)).expect("submit");
        store.act(person("刘洋"), id, Action::Approve { comment: "同意".into() }, t + Duration::minutes(3)).expect("1");
        store.act(person("王强"), id, Action::Approve { comment: "同意".into() }, t + Duration::minutes(4)).expect("2");

        // Someone else's badge: refused, and nothing is written.
        let pending = store.pending_changes().expect("outbox");
        let wrong = store.act(li, id, scan("1001", "T-101", true), t + Duration::minutes(19));
        assert!(matches!(wrong, Err(StoreError::Refused(Violation::BadgeNotTheirs { .. }))), "{wrong:?}");
        assert_eq!(store.pending_changes().expect("outbox"), pending);

        store.act(li, id, scan("1002", "T-101", true), t + Duration::minutes(20)).expect("check in");
        store.act(li, id, gas(), t + Duration::minutes(21)).expect("gas");
        store.act(li, id, Action::Start, t + Duration::minutes(35)).expect("start");
        let v = store.act(li, id, scan("1002", "T-101", false), t + Duration::minutes(60)).expect("check out");
        assert_eq!(v.state.status, Status::Suspended, "the guardian left while work ran");
        id
    };
    let store = open_demo(&db);
    let v = store.permit(id, t + Duration::minutes(61)).expect("reopened");
    assert_eq!(v.state.presence.len(), 1);
    let stay = &v.state.presence[0];
    assert_eq!(stay.person, li);
    assert_eq!(stay.checked_in.location, "T-101");
    assert!(stay.checked_in.location_matches);
    assert_eq!(Some(stay.checked_in.device), store.device_id(), "signed by this device");
    assert_eq!(stay.checked_out.as_ref().map(|s| s.at_ms), Some((t + Duration::minutes(60)).timestamp_millis()));
    assert_eq!(v.state.status, Status::Suspended);
}
