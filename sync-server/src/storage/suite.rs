//! The one test suite every [`Storage`] backend must pass. A backend's test module invokes
//! [`storage_suite!`](crate::storage_suite) with an expression that makes a fresh, empty store;
//! each case below becomes one `#[test]` for that backend.

use super::{EnrolCode, Enrolled, LegacyDevice, NewChange, NewEnrolCode, Snapshot, Storage};
use crate::error::Error;
use ptw_core::authority::SignedEntry;
use ptw_core::sync::{blob_hash, WireChange};
use ptw_core::DeviceId;

/// Expands to one `#[test]` per case in [`crate::storage::suite`], each on a fresh store.
#[macro_export]
macro_rules! storage_suite {
    ($make:expr) => {
        $crate::storage_suite!(@cases $make;
            a_new_store_has_a_random_epoch,
            a_code_enrols_one_device_once_with_its_registry_entries_and_token,
            an_enrolment_whose_registry_numbers_are_taken_keeps_nothing,
            registry_entries_come_back_in_order_and_a_taken_number_is_a_conflict,
            storing_a_batch_twice_keeps_one_copy_in_order,
            a_page_stops_at_the_byte_budget_but_never_comes_back_empty,
            actors_sequence_numbers_and_device_clocks_are_kept_with_the_changes,
            a_recovery_window_is_kept,
            a_cold_start_holds_every_change_up_to_its_mark_exactly_once,
            compaction_follows_new_changes_and_skips_failed_attempts,
            missing_blobs_keep_the_request_order_and_name_each_once,
            a_blob_stored_twice_is_kept_once_with_its_first_bytes,
            a_stored_blob_comes_back_byte_for_byte_and_an_unknown_one_is_none,
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
    store
        .add_enrol_code(&NewEnrolCode {
            code_hash: hash.into(),
            name: "T-07".into(),
            expires_ms,
            replaces: Some(device(9)),
        })
        .expect("add code");
}

fn entry(n: u64) -> SignedEntry {
    SignedEntry { body: format!("{{\"seq\":{n}}}"), sig: format!("sig{n}") }
}

fn enrolled(n: u128, token: &str, seq: u64) -> Enrolled {
    Enrolled { device_id: device(n), token_hash: token.into(), entries: vec![(seq, entry(seq))] }
}

fn change(hash: &str, bytes: usize) -> NewChange {
    NewChange {
        change: WireChange { doc_id: "doc".into(), kind: "permit".into(), hash: hash.into(), bytes: vec![7; bytes] },
        device_id: device(1),
        actor: format!("actor-{hash}"),
        actor_seq: 1,
        event_times: Vec::new(),
    }
}

pub fn a_new_store_has_a_random_epoch(store: &dyn Storage) {
    let epoch = store.epoch().expect("epoch");
    assert_eq!(epoch.len(), 32);
    assert_eq!(store.epoch().expect("epoch"), epoch, "the epoch is made once");
    let rotated = store.rotate_epoch().expect("rotate");
    assert_ne!(rotated, epoch);
    assert_eq!(store.epoch().expect("epoch"), rotated, "a restored database gets a new epoch");
}

pub fn a_code_enrols_one_device_once_with_its_registry_entries_and_token(store: &dyn Storage) {
    code(store, "c1", 1_000);
    assert_eq!(
        store.enrol_code("c1").expect("code"),
        Some(EnrolCode { name: "T-07".into(), expires_ms: 1_000, used_ms: None, replaces: Some(device(9)) })
    );
    store.enrol("c1", 10, &enrolled(1, "t1", 0)).expect("enrol");
    assert_eq!(store.enrol_code("c1").expect("code").and_then(|c| c.used_ms), Some(10));
    assert!(matches!(store.enrol("c1", 11, &enrolled(2, "t2", 1)), Err(Error::CodeUsed)));
    assert!(matches!(store.enrol("nope", 11, &enrolled(2, "t2", 1)), Err(Error::CodeUsed)));
    assert_eq!(store.device_by_token("t1").expect("lookup"), Some(device(1)));
    assert_eq!(store.device_by_token("t2").expect("lookup"), None);
    assert_eq!(store.registry_entries(None, 10).expect("entries"), vec![entry(0)]);
    assert_eq!(store.enrol_code("never").expect("code"), None);
    // An expired code is not spent.
    code(store, "c2", 1_000);
    assert!(matches!(store.enrol("c2", 1_000, &enrolled(3, "t3", 1)), Err(Error::CodeUsed)));
}

pub fn an_enrolment_whose_registry_numbers_are_taken_keeps_nothing(store: &dyn Storage) {
    store.append_registry(&[(0, entry(0))]).expect("append");
    code(store, "c1", 1_000);
    assert!(matches!(store.enrol("c1", 10, &enrolled(1, "t1", 0)), Err(Error::RegistryConflict)));
    assert_eq!(store.enrol_code("c1").expect("code").and_then(|c| c.used_ms), None, "the code is not spent");
    assert_eq!(store.device_by_token("t1").expect("lookup"), None);
    store.enrol("c1", 10, &enrolled(1, "t1", 1)).expect("with the next number");
}

pub fn registry_entries_come_back_in_order_and_a_taken_number_is_a_conflict(store: &dyn Storage) {
    store.append_registry(&[(0, entry(0)), (1, entry(1))]).expect("append");
    store.append_registry(&[(2, entry(2))]).expect("append");
    assert!(matches!(store.append_registry(&[(3, entry(3)), (1, entry(9))]), Err(Error::RegistryConflict)));
    assert_eq!(
        store.registry_entries(None, 10).expect("all"),
        vec![entry(0), entry(1), entry(2)],
        "none of the failed batch"
    );
    assert_eq!(store.registry_entries(Some(0), 1).expect("after 0"), vec![entry(1)]);
    assert!(store.registry_entries(Some(2), 10).expect("after the last").is_empty());
    assert!(store.legacy_devices().expect("legacy").is_empty());
    let legacy = LegacyDevice {
        id: device(5),
        name: "old".into(),
        public_key: "ab".repeat(32),
        token_hash: "t5".into(),
        revoked: false,
    };
    store.move_legacy_devices(&[(3, entry(3))], std::slice::from_ref(&legacy)).expect("move");
    assert_eq!(store.device_by_token("t5").expect("lookup"), Some(device(5)));
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

pub fn actors_sequence_numbers_and_device_clocks_are_kept_with_the_changes(store: &dyn Storage) {
    let mut first = change("h1", 1);
    first.actor = "aa".into();
    first.event_times = vec![(device(1), 500), (device(2), 70)];
    let mut second = change("h2", 1);
    second.actor = "aa".into();
    second.actor_seq = 2;
    second.event_times = vec![(device(1), 400)];
    store.store_changes(&[first, second], 5).expect("store");
    assert_eq!(store.actor_seq("doc", "aa").expect("seq"), 2);
    assert_eq!(store.actor_seq("doc", "bb").expect("seq"), 0);
    assert_eq!(store.actor_seq("other", "aa").expect("seq"), 0);
    assert_eq!(store.device_clock(device(1)).expect("clock"), Some(500), "a clock never moves back");
    assert_eq!(store.device_clock(device(2)).expect("clock"), Some(70));
    assert_eq!(store.device_clock(device(3)).expect("clock"), None);
    let state = store.doc_state("doc").expect("state").expect("stored");
    assert_eq!((state.kind.as_str(), state.change_count), ("permit", 2));
    assert_eq!(store.doc_state("other").expect("state"), None);
    // The same (document, actor, sequence number) twice is refused by the database too.
    let mut dup = change("h3", 1);
    dup.actor = "aa".into();
    dup.actor_seq = 2;
    assert!(store.store_changes(&[dup], 6).is_err());
    assert!(store.changes_without_actor(10).expect("without").is_empty());
}

pub fn a_recovery_window_is_kept(store: &dyn Storage) {
    assert_eq!(store.recovery_until_ms().expect("window"), 0);
    store.set_recovery_until_ms(99).expect("set");
    assert_eq!(store.recovery_until_ms().expect("window"), 99);
}

fn change_of(doc: &str, hash: &str) -> NewChange {
    let mut c = change(hash, 4);
    c.change.doc_id = doc.into();
    c
}

fn kind_of(doc: &str, hash: &str, kind: &str) -> NewChange {
    let mut c = change_of(doc, hash);
    c.change.kind = kind.into();
    c
}

/// Every (doc, hash) a cold start with mark `upto` delivers, walking all its pages.
fn cold_start(store: &dyn Storage, upto: i64, max_docs: usize, max_bytes: usize) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    let mut after = (String::new(), String::new());
    loop {
        let page = store.snapshot_page(upto, (&after.0, &after.1), max_docs, max_bytes).expect("snapshot page");
        assert!(!page.docs.is_empty() || !page.more, "a page with more waiting is never empty");
        for d in &page.docs {
            assert!((d.kind.clone(), d.doc_id.clone()) > after, "documents come in (kind, id) order");
            if !d.snapshot.is_empty() {
                seen.push((d.doc_id.clone(), format!("snapshot of {}", d.snapshot_changes)));
            }
            seen.extend(d.changes.iter().map(|c| (c.doc_id.clone(), c.hash.clone())));
            after = (d.kind.clone(), d.doc_id.clone());
        }
        if !page.more {
            return seen;
        }
    }
}

pub fn a_cold_start_holds_every_change_up_to_its_mark_exactly_once(store: &dyn Storage) {
    assert_eq!(store.max_seq().expect("max"), 0);
    // A document of another kind sorts first (kinds before ids), as the org document once did.
    let org = kind_of("z", "z1", "org");
    store.store_changes(&[change_of("b", "b1"), change_of("a", "a1"), change_of("b", "b2")], 5).expect("store");
    store.store_changes(&[change_of("b", "b3"), change_of("b", "b1"), org], 5).expect("store");
    let upto = store.max_seq().expect("max");
    // b's first two changes compacted; a change after the mark is not part of this start.
    let b2 = store.changes_since(0, 100, 1 << 20).expect("pull").changes[2].seq;
    let snap = Snapshot { upto_seq: b2, changes: 2, bytes: vec![1, 2, 3] };
    store.put_snapshot("b", Some(&snap), 2).expect("snapshot");
    store.store_changes(&[change_of("b", "b4"), change_of("c", "c1")], 5).expect("store");

    // Documents come in (kind, id) order.
    let expected = [("z", "z1"), ("a", "a1"), ("b", "snapshot of 2"), ("b", "b3")];
    let expected: Vec<(String, String)> = expected.iter().map(|(d, h)| (d.to_string(), h.to_string())).collect();
    assert_eq!(cold_start(store, upto, 100, 1 << 20), expected);
    assert_eq!(cold_start(store, upto, 1, 1 << 20), expected, "one document per page");
    assert_eq!(cold_start(store, upto, 100, 1), expected, "one document per page by bytes");

    // A snapshot newer than the mark is not used: the raw changes up to the mark come instead.
    let newer = Snapshot { upto_seq: store.max_seq().expect("max"), changes: 4, bytes: vec![4] };
    store.put_snapshot("b", Some(&newer), 4).expect("snapshot");
    let raw: Vec<(String, String)> = [("z", "z1"), ("a", "a1"), ("b", "b1"), ("b", "b2"), ("b", "b3")]
        .iter()
        .map(|(d, h)| (d.to_string(), h.to_string()))
        .collect();
    assert_eq!(cold_start(store, upto, 100, 1 << 20), raw);
    assert_eq!(cold_start(store, 0, 100, 1 << 20), Vec::<(String, String)>::new());
}

pub fn compaction_follows_new_changes_and_skips_failed_attempts(store: &dyn Storage) {
    store.store_changes(&[change_of("a", "a1"), change_of("b", "b1"), change_of("b", "b2")], 5).expect("store");
    assert_eq!(store.compaction_candidates(2, 10).expect("candidates"), ["b"]);
    assert_eq!(store.compaction_candidates(1, 1).expect("candidates"), ["a"]);
    assert_eq!(store.compaction_backlog(1).expect("backlog"), 2);

    let input = store.compaction_input("b").expect("input").expect("known document");
    assert!(input.snapshot.is_none());
    assert_eq!(input.tail.iter().map(|(_, b)| b.len()).collect::<Vec<_>>(), [4, 4]);
    // A failed attempt is not retried until the document changes again.
    store.put_snapshot("b", None, 2).expect("tried");
    assert!(store.compaction_candidates(2, 10).expect("candidates").is_empty());
    store.store_changes(&[change_of("b", "b3")], 5).expect("store");
    assert_eq!(store.compaction_candidates(2, 10).expect("candidates"), ["b"]);

    let upto = store.max_seq().expect("max");
    store.put_snapshot("b", Some(&Snapshot { upto_seq: upto, changes: 3, bytes: vec![9] }), 3).expect("snapshot");
    assert!(store.compaction_candidates(1, 10).expect("candidates").iter().all(|d| d != "b"));
    let input = store.compaction_input("b").expect("input").expect("known document");
    assert_eq!(input.snapshot.map(|s| (s.upto_seq, s.changes)), Some((upto, 3)));
    assert!(input.tail.is_empty());
    // An older snapshot never replaces a newer one.
    store.put_snapshot("b", Some(&Snapshot { upto_seq: 1, changes: 1, bytes: vec![8] }), 1).expect("older");
    assert_eq!(store.compaction_input("b").expect("input").and_then(|i| i.snapshot).map(|s| s.bytes), Some(vec![9]));
    assert_eq!(store.compaction_input("nope").expect("input"), None);
}

pub fn missing_blobs_keep_the_request_order_and_name_each_once(store: &dyn Storage) {
    let (a, b, c) = (blob_hash(b"a"), blob_hash(b"b"), blob_hash(b"c"));
    assert_eq!(store.missing_blobs(&[]).expect("missing"), Vec::<String>::new());
    store.put_blob(&b, "image/png", b"b", device(1), 5).expect("put");
    let asked = [c.clone(), b.clone(), a.clone(), c.clone()];
    assert_eq!(store.missing_blobs(&asked).expect("missing"), [c.clone(), a.clone()]);
    store.put_blob(&a, "image/jpeg", b"a", device(1), 6).expect("put");
    store.put_blob(&c, "image/jpeg", b"c", device(2), 6).expect("put");
    assert!(store.missing_blobs(&asked).expect("missing").is_empty());
}

pub fn a_blob_stored_twice_is_kept_once_with_its_first_bytes(store: &dyn Storage) {
    let photo = vec![0xff, 0xd8, 0xff, 0x00, 0x01];
    let hash = blob_hash(&photo);
    store.put_blob(&hash, "image/jpeg", &photo, device(1), 5).expect("put");
    store.put_blob(&hash, "image/jpeg", &photo, device(2), 6).expect("put again succeeds");
    // The caller checks the hash; a second copy under a stored hash never replaces the first.
    store.put_blob(&hash, "text/plain", b"other", device(2), 7).expect("put under a stored hash");
    assert_eq!(store.blob(&hash).expect("blob"), Some(("image/jpeg".to_owned(), photo)));
    assert!(store.missing_blobs(std::slice::from_ref(&hash)).expect("missing").is_empty());
}

pub fn a_stored_blob_comes_back_byte_for_byte_and_an_unknown_one_is_none(store: &dyn Storage) {
    // Every byte value, and more than a page of a typical driver buffer.
    let signature: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    let hash = blob_hash(&signature);
    assert_eq!(store.blob(&hash).expect("blob"), None);
    store.put_blob(&hash, "image/png", &signature, device(1), 5).expect("put");
    let (mime, bytes) = store.blob(&hash).expect("blob").expect("stored");
    assert_eq!(mime, "image/png");
    assert_eq!(bytes, signature);
    let empty = blob_hash(b"");
    store.put_blob(&empty, "application/octet-stream", b"", device(1), 5).expect("put empty");
    assert_eq!(store.blob(&empty).expect("blob"), Some(("application/octet-stream".to_owned(), Vec::new())));
    assert_eq!(store.blob(&blob_hash(b"never stored")).expect("blob"), None);
}
