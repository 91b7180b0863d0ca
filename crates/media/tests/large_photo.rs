//! A 50 MB photo is shrunk and thumbnailed without the process's memory passing 250 MB. Alone in
//! its test binary, so the peak measured is this test's own.

mod common;

use image::{GenericImageView, Rgb, RgbImage};
use ptw_media::{prepare_photo, MAX_KEPT_SIDE};

const LIMIT_BYTES: u64 = 250 * 1024 * 1024;

/// The process's peak resident set since it was last reset, from `/proc/self/status`.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    kb * 1024
}

/// Forget the peak so far (Linux: writing 5 to clear_refs resets VmHWM).
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak RSS");
}

#[test]
fn a_50_mb_photo_is_shrunk_and_thumbnailed_within_250_mb() {
    // A detailed 24-megapixel scene saved at the highest quality: noise on a gradient, which a
    // JPEG cannot squeeze (a real sensor's grain at ISO 3200 is much the same).
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let scene = common::scene(6000, 4000, 9);
    let noisy = RgbImage::from_fn(6000, 4000, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let p = scene.get_pixel(x, y).0;
        let n = (seed & 0xFF) as u8;
        Rgb([p[0] / 2 + n / 2, p[1] / 2 + (n >> 1), p[2] / 2 + (n >> 2)])
    });
    drop(scene);
    let dir = std::env::temp_dir();
    let upright = dir.join(format!("ptw-media-large-{}.jpg", std::process::id()));
    let on_its_side = dir.join(format!("ptw-media-large-{}-turned.jpg", std::process::id()));
    let jpeg = common::jpeg(&noisy, 100);
    drop(noisy);
    std::fs::write(&on_its_side, common::with_exif(&jpeg, 6, "2026:12:02 09:15:07")).expect("write");
    std::fs::write(&upright, jpeg).expect("write");

    // As it was taken, and taken on its side (to be turned upright as well as shrunk).
    for (path, expected) in [(upright, (MAX_KEPT_SIDE, 2048)), (on_its_side, (2048, MAX_KEPT_SIDE))] {
        reset_peak();
        let bytes = std::fs::read(&path).expect("read");
        let _ = std::fs::remove_file(&path);
        assert!(bytes.len() >= 50 * 1024 * 1024, "the photo is {} bytes, meant to be 50 MB or more", bytes.len());
        let size = bytes.len();
        let prepared = prepare_photo(&bytes).expect("a photo");
        drop(bytes);
        let peak = peak_rss();
        println!(
            "a {:.1} MB photo ({}) prepared with a peak RSS of {:.1} MB",
            size as f64 / 1048576.0,
            if prepared.turned { "turned upright" } else { "upright" },
            peak as f64 / 1048576.0
        );
        assert!(prepared.reencoded);
        assert_eq!((prepared.width, prepared.height), expected);
        assert!(prepared.photo.bytes.len() < 16 * 1024 * 1024, "kept photo fits a blob");
        let thumb = image::load_from_memory(&prepared.thumbnail.bytes).expect("thumbnail");
        let (w, h) = expected;
        assert_eq!(thumb.dimensions(), if w > h { (320, 213) } else { (213, 320) });
        assert!(peak < LIMIT_BYTES, "peak RSS {:.1} MB, the most allowed is 250 MB", peak as f64 / 1048576.0);
    }
}
