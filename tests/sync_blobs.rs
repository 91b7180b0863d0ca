//! Whole system: photos and signature images travel between two tablets through a real
//! `ptw-sync-server` process on loopback, by SHA-256, uploaded only when the server lacks them —
//! and with nothing pending, a sync still costs one round trip.

mod common;
use common::*;

use ptw_core::sync::blob_hash;

/// A made-up gas-test photo: large enough to matter, different for each `seed`.
fn photo(seed: u8) -> Vec<u8> {
    let mut bytes = vec![0xff, 0xd8, 0xff, 0xe0];
    bytes.extend((0..300_000u32).map(|i| (i as u8).wrapping_mul(29).wrapping_add(seed)));
    bytes
}

#[test]
fn a_photo_goes_up_once_and_another_tablet_fetches_the_identical_bytes_by_hash() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("server"));
    let t = t0();

    let mut a = server.tablet(&dir.path().join("a.db"), "T-07", t);
    server.sync(&mut a, t).expect("A pushes the plant");

    let gas_photo = photo(1);
    let signature = b"\x89PNG\r\n\x1a\nhandwritten signature of the area authority".to_vec();
    let hp = a.put_blob("image/jpeg", &gas_photo, t).expect("keep the photo");
    let hs = a.put_blob("image/png", &signature, t).expect("keep the signature");
    assert_eq!(hp, blob_hash(&gas_photo));
    assert_eq!(a.pending_blobs().expect("pending"), [hp.clone(), hs.clone()]);

    let first = server.sync(&mut a, t).expect("A uploads");
    assert_eq!((first.blobs_checked, first.blobs_uploaded), (2, 2), "{first:?}");
    assert!(first.blobs_refused.is_empty(), "{first:?}");
    assert!(first.bytes_sent >= gas_photo.len() + signature.len(), "{first:?}");
    assert!(a.pending_blobs().expect("pending").is_empty());

    // Nothing pending: nothing uploaded again, and the round is the one pull it always was.
    let idle = server.sync(&mut a, t).expect("A idle");
    assert_eq!((idle.blobs_checked, idle.blobs_uploaded), (0, 0), "{idle:?}");
    assert_eq!(idle.round_trips, 1, "{idle:?}");
    assert!(idle.bytes_received < 1024, "{idle:?}");

    // B is another tablet: it fetches by hash and gets identical bytes, checked and kept.
    let mut b = server.tablet(&dir.path().join("b.db"), "T-08", t);
    assert_eq!(b.blob(&hp).expect("local"), None);
    assert_eq!(b.fetch_blob(&hp, t).expect("fetch photo"), Some(("image/jpeg".to_owned(), gas_photo.clone())));
    assert_eq!(b.fetch_blob(&hs, t).expect("fetch signature"), Some(("image/png".to_owned(), signature.clone())));
    assert_eq!(b.blob(&hp).expect("kept on B"), Some(("image/jpeg".to_owned(), gas_photo.clone())));
    assert_eq!(b.fetch_blob(&blob_hash(b"never taken"), t).expect("unknown"), None);
    assert!(b.pending_blobs().expect("pending").is_empty(), "a fetched blob is not uploaded back");

    // C, a third tablet, keeps the same photo (same bytes): the server has it, so C asks once and
    // uploads nothing.
    let mut c = server.tablet(&dir.path().join("c.db"), "T-09", t);
    c.put_blob("image/jpeg", &gas_photo, t).expect("same photo on C");
    let known = server.sync(&mut c, t).expect("C syncs");
    assert_eq!((known.blobs_checked, known.blobs_uploaded), (1, 0), "{known:?}");
    assert!(c.pending_blobs().expect("pending").is_empty());
}
