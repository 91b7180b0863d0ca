//! The one test suite every [`Storage`] backend must pass. A backend's test module invokes
//! [`storage_suite!`](crate::storage_suite) with an expression that makes a fresh, empty store;
//! each case below becomes one `#[test]` for that backend.

use super::{NewChange, NewDevice, NewEnrolCode, Storage};
use crate::error::Error;
use ptw_core::sync::WireChange;
use ptw_core::DeviceId;

/// Expands to one `#[test]` per case in [`crate::storage::suite`], each on a fresh store.
#[macro_export]
macro_rules! storage_suite {
    ($make:expr) => {
        $crate::storage_suite!(@cases $make;
            a_new_store_has_a_random_epoch,
            a_code_enrols_one_device_once,
            an_expired_code_enrols_nobody,
            a_revoked_device_is_found_by_its_token_and_marked_revoked,
            storing_a_batch_twice_keeps_one_copy_in_order,
            a_page_stops_at_the_byte_budget_but_never_comes_back_empty,
            event_lists_are_remembered_per_document,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let store = $make;
                $crate::storage::suite::$case(&store);
            }
        )*
    };
}

fn device(n: u128) -> DeviceId {
    DeviceId(uuid::Uuid::from_u128(n))
}

fn code(store: &dyn Storage, hash: &str, expires_ms: i64) {
    store.add_enrol_code(&NewEnrolCode { code_hash: hash.into(), name: "T-07".into(), expires_ms }).expect("add code");
}

fn new_device(n: u128, token: &str) -> NewDevice {
    NewDevice { id: device(n), public_key: "ab".repeat(32), token_hash: token.into() }
}

fn change(hash: &str, bytes: usize) -> NewChange {
    NewChange {
        change: WireChange { doc_id: "doc".into(), kind: "permit".into(), hash: hash.into(), bytes: vec![7; bytes] },
        device_id: device(1),
        new_event_lists: Vec::new(),
    }
}

pub fn a_new_store_has_a_random_epoch(store: &dyn Storage) {
    let epoch = store.epoch().expect("epoch");
    assert_eq!(epoch.len(), 32);
    assert_eq!(store.epoch().expect("epoch"), epoch, "the epoch is made once");
}

pub fn a_code_enrols_one_device_once(store: &dyn Storage) {
    code(store, "c1", 1_000);
    let d = store.enrol("c1", &new_device(1, "t1"), 10).expect("enrol");
    assert_eq!(d.name, "T-07");
    assert!(matches!(store.enrol("c1", &new_device(2, "t2"), 11), Err(Error::CodeUsed)));
    assert!(matches!(store.enrol("nope", &new_device(2, "t2"), 11), Err(Error::CodeUnknown)));
    assert_eq!(store.devices().expect("devices").len(), 1);
    assert_eq!(store.device(device(1)).expect("device").map(|d| d.enrolled_ms), Some(10));
}

pub fn an_expired_code_enrols_nobody(store: &dyn Storage) {
    code(store, "c1", 1_000);
    assert!(matches!(store.enrol("c1", &new_device(1, "t1"), 1_000), Err(Error::CodeExpired)));
    assert!(store.devices().expect("devices").is_empty());
}

pub fn a_revoked_device_is_found_by_its_token_and_marked_revoked(store: &dyn Storage) {
    code(store, "c1", 1_000);
    store.enrol("c1", &new_device(1, "t1"), 10).expect("enrol");
    assert!(!store.device_by_token("t1").expect("lookup").expect("found").revoked);
    assert!(store.revoke(device(1)).expect("revoke"));
    assert!(!store.revoke(device(9)).expect("revoke unknown"));
    assert!(store.device_by_token("t1").expect("lookup").expect("found").revoked);
    assert_eq!(store.device_by_token("t2").expect("lookup"), None);
}

pub fn storing_a_batch_twice_keeps_one_copy_in_order(store: &dyn Storage) {
    let batch = [change("h1", 3), change("h2", 3)];
    store.store_changes(&batch, 5).expect("store");
    store.store_changes(&batch, 6).expect("store again");
    let page = store.changes_since(0, 100, 1 << 20).expect("pull");
    let hashes: Vec<_> = page.changes.iter().map(|c| c.change.hash.as_str()).collect();
    assert_eq!(hashes, ["h1", "h2"]);
    assert!(page.changes[0].seq < page.changes[1].seq);
    assert!(!page.more);
    let known = store.known_changes(&["h1".into(), "h3".into()]).expect("known");
    assert!(known.contains("h1") && !known.contains("h3"));
    let after = store.changes_since(page.changes[1].seq, 100, 1 << 20).expect("pull");
    assert!(after.changes.is_empty() && !after.more);
}

pub fn a_page_stops_at_the_byte_budget_but_never_comes_back_empty(store: &dyn Storage) {
    store.store_changes(&[change("big", 100), change("small", 10), change("last", 10)], 5).expect("store");
    let first = store.changes_since(0, 100, 50).expect("pull");
    assert_eq!(first.changes.len(), 1, "a change larger than the budget still comes alone");
    assert!(first.more);
    let second = store.changes_since(first.changes[0].seq, 1, 1 << 20).expect("pull");
    assert_eq!(second.changes[0].change.hash, "small");
    assert!(second.more, "max_changes stops the page with more waiting");
}

pub fn event_lists_are_remembered_per_document(store: &dyn Storage) {
    let mut c = change("h1", 1);
    c.new_event_lists = vec!["2@aa".into()];
    store.store_changes(&[c], 5).expect("store");
    assert!(store.event_lists("doc").expect("lists").contains("2@aa"));
    assert!(store.event_lists("other").expect("lists").is_empty());
}
