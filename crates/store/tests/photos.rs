//! Photos through the store and a real SQLite file: the picture and its thumbnail are on disk
//! (and waiting for the server) once the photo shows; the permit keeps the photo across a
//! reopen; a photo attached to two permits — the same bytes, or the same picture re-encoded — is
//! flagged on both; another picture is not; a file that is not a photo writes nothing.

mod common;
use chrono::Duration;
use common::*;
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, Rgb, RgbImage};
use ptw_core::api::Action;
use ptw_core::event::PhotoPhase;
use ptw_core::PermitId;
use ptw_store::{Store, StoreError};

/// A site photo: a gradient with a dark pipe across it where `seed` puts it.
fn site(w: u32, h: u32, seed: u32) -> RgbImage {
    let pipe = (seed * 41 % 70 + 15) as f32 / 100.0;
    RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
        if (fy - pipe).abs() < 0.07 || (fx - (1.0 - pipe)).abs() < 0.04 {
            Rgb([30, 30, 40])
        } else {
            Rgb([(fx * 200.0) as u8 + 30, (fy * 160.0) as u8 + 40, 120])
        }
    })
}

fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(img.clone())
        .write_with_encoder(JpegEncoder::new_with_quality(&mut out, quality))
        .expect("encode");
    out
}

/// A hot-work permit filed and submitted by 赵磊.
fn submitted(store: &mut Store, minutes: i64) -> PermitId {
    let t = t0() + Duration::minutes(minutes);
    let zhao = person("赵磊");
    let id = store.create_permit(zhao, hot_work_form(store, t + Duration::minutes(30)), t).expect("draft").id;
    store.act(zhao, id, Action::Submit, t + Duration::minutes(1)).expect("submit");
    id
}

#[test]
fn a_photo_is_on_disk_before_it_shows_and_is_kept_across_a_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("device.db");
    let zhao = person("赵磊");
    let bytes = jpeg(&site(1600, 1200, 1), 90);
    let (id, blob, thumb) = {
        let mut store = open_demo(&db);
        let id = submitted(&mut store, 0);
        let v = store.add_photo(zhao, id, PhotoPhase::Before, &bytes, t0() + Duration::minutes(5)).expect("photo");
        let p = &v.state.photos[0];
        assert_eq!(p.by, zhao);
        assert_eq!(p.photo.phase, PhotoPhase::Before);
        assert_eq!((p.photo.width, p.photo.height), (1600, 1200));
        assert_eq!(Some(p.device), store.device_id());
        // The camera's bytes are the photo, and both blobs wait for the server.
        assert_eq!(store.blob(&p.photo.blob).expect("read").map(|(_, b)| b), Some(bytes.clone()));
        let pending = store.pending_blobs().expect("outbox");
        assert!(pending.contains(&p.photo.blob) && pending.contains(&p.photo.thumbnail));
        (id, p.photo.blob.clone(), p.photo.thumbnail.clone())
    };
    let store = open_demo(&db);
    let v = store.permit(id, t0() + Duration::minutes(6)).expect("reopened");
    assert_eq!(v.state.photos.len(), 1);
    assert_eq!(v.state.photos[0].photo.blob, blob);
    let (mime, thumbnail) = store.blob(&thumb).expect("read").expect("thumbnail kept");
    assert_eq!(mime, "image/jpeg");
    assert!(image::load_from_memory(&thumbnail).is_ok());
}

#[test]
fn a_photo_attached_to_two_permits_is_flagged_on_both_by_its_bytes_or_its_picture() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = open_demo(&dir.path().join("device.db"));
    let zhao = person("赵磊");
    let at = |m: i64| t0() + Duration::minutes(m);
    let original = jpeg(&site(1600, 1200, 2), 90);
    let a = submitted(&mut store, 0);
    let b = submitted(&mut store, 10);
    let c = submitted(&mut store, 20);
    let d = submitted(&mut store, 30);
    store.add_photo(zhao, a, PhotoPhase::Before, &original, at(40)).expect("a");
    // The very same file on b; the same scene shrunk and saved again on c; another scene on d.
    store.add_photo(zhao, b, PhotoPhase::Before, &original, at(41)).expect("b");
    let shrunk = image::imageops::resize(&site(1600, 1200, 2), 800, 600, image::imageops::FilterType::Triangle);
    store.add_photo(zhao, c, PhotoPhase::Before, &jpeg(&shrunk, 60), at(42)).expect("c");
    store.add_photo(zhao, d, PhotoPhase::Before, &jpeg(&site(1600, 1200, 3), 90), at(43)).expect("d");

    let view = |id| store.with_links(store.permit(id, at(50)).expect("permit")).expect("links");
    let (va, vb, vc, vd) = (view(a), view(b), view(c), view(d));
    let others = |v: &ptw_core::api::PermitView| {
        let mut o: Vec<(String, bool)> =
            v.links.photo_reuse.iter().map(|r| (r.other.number.clone(), r.same_bytes)).collect();
        o.sort();
        o
    };
    let mut expected_a = vec![(vb.number.clone(), true), (vc.number.clone(), false)];
    expected_a.sort();
    assert_eq!(others(&va), expected_a, "a's photo is b's file and c's picture");
    let mut expected_b = vec![(va.number.clone(), true), (vc.number.clone(), false)];
    expected_b.sort();
    assert_eq!(others(&vb), expected_b);
    let mut expected_c = vec![(va.number.clone(), false), (vb.number.clone(), false)];
    expected_c.sort();
    assert_eq!(others(&vc), expected_c, "flagged on the copy too");
    assert!(vd.links.photo_reuse.is_empty(), "another scene is another photo: {:?}", vd.links.photo_reuse);
    let near = va.links.photo_reuse.iter().find(|r| !r.same_bytes).expect("near");
    assert_eq!(near.photo, va.state.photos[0].photo.blob);
    assert_eq!(near.other_photo, vc.state.photos[0].photo.blob);
    assert!(near.bits <= ptw_media::NEAR_DUPLICATE_BITS);
}

#[test]
fn a_file_that_is_not_a_photo_or_a_stranger_s_photo_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = open_demo(&dir.path().join("device.db"));
    let id = submitted(&mut store, 0);
    let changes = store.pending_changes().expect("outbox");
    let blobs = store.pending_blob_count().expect("blobs");
    let at = t0() + Duration::minutes(5);
    let refused = store.add_photo(person("赵磊"), id, PhotoPhase::Before, b"%PDF-1.7", at);
    assert!(matches!(refused, Err(StoreError::Photo(ptw_media::MediaError::NotAPicture))), "{refused:?}");
    // 钱勇 has nothing to do with this permit.
    let refused = store.add_photo(person("钱勇"), id, PhotoPhase::During, &jpeg(&site(640, 480, 4), 90), at);
    assert!(matches!(refused, Err(StoreError::Refused(ptw_core::Violation::NotAPartyToPermit))), "{refused:?}");
    assert_eq!(store.pending_changes().expect("outbox"), changes);
    assert_eq!(store.pending_blob_count().expect("blobs"), blobs);
}

fn signature_png(strokes: bool) -> Vec<u8> {
    let mut pad = image::RgbaImage::new(720, 240);
    if strokes {
        for x in 80..500 {
            pad.put_pixel(x, 100 + (x / 9) % 40, image::Rgba([16, 24, 40, 255]));
        }
    }
    let mut out = Vec::new();
    DynamicImage::ImageRgba8(pad).write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).expect("png");
    out
}

#[test]
fn a_handwritten_approval_binds_the_drawing_and_a_blank_or_absent_one_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = open_demo(&dir.path().join("device.db"));
    let id = submitted(&mut store, 0);
    let at = |m: i64| t0() + Duration::minutes(m);
    let liu = person("刘洋");
    let blank = store.put_signature(&signature_png(false), at(2));
    assert!(matches!(blank, Err(StoreError::Photo(ptw_media::MediaError::BlankSignature))), "{blank:?}");
    let not_here = store.act_signed(liu, id, Action::Approve { comment: String::new() }, Some("ee".repeat(32)), at(2));
    assert!(matches!(not_here, Err(StoreError::InvalidBlob(_))), "{not_here:?}");
    // A photo is no signature.
    let photo = store.put_blob("image/jpeg", &jpeg(&site(300, 100, 5), 90), at(2)).expect("blob");
    let photo_as_sig = store.act_signed(liu, id, Action::Approve { comment: String::new() }, Some(photo), at(2));
    assert!(matches!(photo_as_sig, Err(StoreError::InvalidBlob(_))), "{photo_as_sig:?}");

    let png = signature_png(true);
    let hash = store.put_signature(&png, at(3)).expect("kept");
    let v = store
        .act_signed(liu, id, Action::Approve { comment: "同意".into() }, Some(hash.clone()), at(3))
        .expect("signed");
    let h = &v.state.handwritten[0];
    assert_eq!((h.by, h.image.as_str()), (liu, hash.as_str()));
    assert_eq!(h.content_hash, v.state.form_hash);
    assert!(!v.state.signature_broken(h));
    assert_eq!(store.blob(&hash).expect("read"), Some(("image/png".to_owned(), png)));
    assert!(store.pending_blobs().expect("outbox").contains(&hash), "uploaded with the next sync");
}
