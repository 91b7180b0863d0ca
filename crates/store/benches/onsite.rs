//! On site, on a real SQLite file: a check-in from the camera frame to the saved event — the
//! badge's QR read from a 1280 × 960 JPEG frame (ptw-media), the scan parsed, the signed
//! check-in (or check-out) event derived, written and committed (goal: p95 under 50 ms).
//!
//! `cargo bench -p ptw-store --bench onsite` prints p50/p95/max from a plain timed loop (the goal
//! is a p95); under `cargo test --benches` it runs a short smoke pass only.

use chrono::{DateTime, Duration, TimeZone, Utc};
use image::{codecs::jpeg::JpegEncoder, DynamicImage, GrayImage, Luma};
use ptw_core::api::Action;
use ptw_core::codes::Scan;
use ptw_core::{PermitForm, Status};
use ptw_store::Store;
use std::time::Instant;

mod common;
use common::{open_store, percentiles, person};

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).single().expect("time")
}

fn form(store: &Store) -> PermitForm {
    let mut form = common::hot_work_form(store, "bench".into(), "T-101", start());
    form.planned_end = Some(start() + Duration::hours(4));
    form
}

/// A camera frame of a wall with the badge held up: its QR code, 320 pixels, off centre.
fn frame(text: &str) -> Vec<u8> {
    let code = qrcode::QrCode::new(text.as_bytes()).expect("QR").render::<Luma<u8>>().min_dimensions(320, 320).build();
    let mut wall = GrayImage::from_fn(1280, 960, |x, y| Luma([150 + ((x / 7 + y / 5) % 40) as u8]));
    image::imageops::replace(&mut wall, &code, 700, 380);
    let mut out = Vec::new();
    DynamicImage::ImageLuma8(wall).write_with_encoder(JpegEncoder::new_with_quality(&mut out, 85)).expect("encode");
    out
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = open_store(dir.path(), start() - Duration::hours(2));
    let (zhao, li) = (person("赵磊"), person("李娜"));
    let mut at = start() - Duration::minutes(90);
    let mut tick = || {
        at += Duration::milliseconds(20);
        at
    };
    let id = store.create_permit(zhao, form(&store), tick()).expect("draft").id;
    store.act(zhao, id, Action::Submit, tick()).expect("submit");
    store.act(person("刘洋"), id, Action::Approve { comment: String::new() }, tick()).expect("1");
    let v = store.act(person("王强"), id, Action::Approve { comment: String::new() }, tick()).expect("2");
    assert_eq!(v.state.status, Status::Approved);

    let badge = store.registry().person(li).expect("李娜").profile.badge.clone();
    let camera = frame(&ptw_core::codes::badge_text(&badge));
    println!("camera frame: 1280 x 960 JPEG, {} KB", camera.len() / 1024);
    let samples = if full { 400 } else { 6 };
    let mut times = Vec::with_capacity(samples);
    for i in 0..samples {
        let t = Instant::now();
        let text = ptw_media::qr::decode(&camera).expect("the badge reads");
        let Scan::Badge(scanned) = Scan::parse(&text) else { panic!("not a badge: {text}") };
        let (badge, location) = (scanned, "T-101".to_owned());
        let action =
            if i % 2 == 0 { Action::CheckIn { badge, location } } else { Action::CheckOut { badge, location } };
        let v = store.act(li, id, action, tick()).expect("saved");
        times.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(v.state.presence.len(), i / 2 + 1);
    }
    percentiles("check-in: camera frame decoded + signed event + commit", times);
}
