//! What a photo becomes before a permit names it.

mod common;

use common::{jpeg, png, png_header_claiming, scene, with_exif};
use image::GenericImageView;
use ptw_media::{distance, near_duplicates, prepare_photo, MediaError, MAX_KEPT_SIDE, THUMBNAIL_SIDE};

#[test]
fn an_upright_camera_jpeg_is_kept_byte_for_byte_with_a_small_thumbnail() {
    let bytes = jpeg(&scene(1200, 900, 1), 90);
    let p = prepare_photo(&bytes).expect("a photo");
    assert_eq!(p.photo.bytes, bytes, "the camera's own bytes are the evidence");
    assert!(!p.reencoded && !p.turned);
    assert_eq!((p.width, p.height), (1200, 900));
    let thumb = image::load_from_memory(&p.thumbnail.bytes).expect("a JPEG thumbnail");
    assert_eq!(p.thumbnail.mime, "image/jpeg");
    assert_eq!(thumb.dimensions(), (THUMBNAIL_SIDE, 240));
    assert_eq!(p.camera_time, None, "no EXIF, no camera time");
}

#[test]
fn a_photo_taken_on_its_side_is_turned_upright_and_its_camera_time_read() {
    // Orientation 6: the stored picture is to be turned 90° clockwise to be seen upright.
    let stored = jpeg(&scene(800, 400, 2), 90);
    let bytes = with_exif(&stored, 6, "2026:12:02 09:15:07");
    let p = prepare_photo(&bytes).expect("a photo");
    assert!(p.turned && p.reencoded);
    assert_eq!((p.width, p.height), (400, 800));
    let kept = image::load_from_memory(&p.photo.bytes).expect("JPEG");
    assert_eq!(kept.dimensions(), (400, 800));
    let thumb = image::load_from_memory(&p.thumbnail.bytes).expect("JPEG");
    assert_eq!(thumb.dimensions(), (160, THUMBNAIL_SIDE));
    let t = p.camera_time.expect("DateTimeOriginal");
    assert_eq!(t.to_string(), "2026-12-02 09:15:07");
    // Upright as stored (orientation 1): kept as it came, time still read.
    let p = prepare_photo(&with_exif(&stored, 1, "2026:01:31 23:59:59")).expect("a photo");
    assert!(!p.turned && !p.reencoded);
    assert_eq!(p.camera_time.map(|t| t.to_string()).as_deref(), Some("2026-01-31 23:59:59"));
}

#[test]
fn a_large_or_png_picture_is_kept_as_a_jpeg_at_most_3072_pixels_wide() {
    let p = prepare_photo(&jpeg(&scene(4000, 3000, 3), 80)).expect("a photo");
    assert!(p.reencoded);
    assert_eq!((p.width, p.height), (MAX_KEPT_SIDE, 2304));
    assert_eq!(image::load_from_memory(&p.photo.bytes).expect("JPEG").dimensions(), (MAX_KEPT_SIDE, 2304));
    let p = prepare_photo(&png(&scene(640, 480, 3))).expect("a photo");
    assert!(p.reencoded);
    assert_eq!(p.photo.mime, "image/jpeg");
    assert_eq!(image::guess_format(&p.photo.bytes).expect("known"), image::ImageFormat::Jpeg);
}

#[test]
fn the_same_scene_re_encoded_and_shrunk_is_a_near_duplicate_and_another_scene_is_not() {
    let original = prepare_photo(&jpeg(&scene(1600, 1200, 4), 92)).expect("a photo");
    let copy = image::imageops::resize(&scene(1600, 1200, 4), 800, 600, image::imageops::FilterType::Triangle);
    let again = prepare_photo(&jpeg(&copy, 55)).expect("a photo");
    assert_ne!(original.photo.bytes, again.photo.bytes, "different files");
    assert!(
        near_duplicates(original.dhash, again.dhash),
        "re-encoded copy is {} bits away",
        distance(original.dhash, again.dhash)
    );
    for seed in [5, 6, 7] {
        let other = prepare_photo(&jpeg(&scene(1600, 1200, seed), 92)).expect("a photo");
        assert!(
            !near_duplicates(original.dhash, other.dhash),
            "scene {seed} is {} bits away and must not count as the same picture",
            distance(original.dhash, other.dhash)
        );
    }
}

#[test]
fn what_is_not_a_photo_is_refused_in_words() {
    assert_eq!(prepare_photo(b"%PDF-1.7 not a picture"), Err(MediaError::NotAPicture));
    assert_eq!(prepare_photo(b""), Err(MediaError::NotAPicture));
    assert_eq!(
        prepare_photo(&png_header_claiming(30_000, 30_000)),
        Err(MediaError::TooLarge { width: 30_000, height: 30_000 })
    );
    assert_eq!(
        prepare_photo(&png_header_claiming(15_000, 15_000)),
        Err(MediaError::TooLarge { width: 15_000, height: 15_000 })
    );
    let whole = jpeg(&scene(600, 400, 8), 90);
    match prepare_photo(&whole[..whole.len() / 3]) {
        Err(MediaError::Broken(why)) => assert!(!why.is_empty()),
        // A decoder may fill the missing part grey; then it is at least a picture of the right size.
        Ok(p) => assert_eq!((p.width, p.height), (600, 400)),
        Err(other) => panic!("a cut-off JPEG: {other:?}"),
    }
}

#[test]
fn a_signature_is_a_png_with_a_stroke_on_it() {
    let mut pad = image::RgbaImage::new(720, 240);
    assert_eq!(ptw_media::check_signature(&rgba_png(&pad)), Err(MediaError::BlankSignature), "an empty pad");
    for x in 100..400 {
        pad.put_pixel(x, 120 + (x % 7), image::Rgba([16, 24, 40, 255]));
    }
    assert_eq!(ptw_media::check_signature(&rgba_png(&pad)), Ok(()));
    assert_eq!(
        ptw_media::check_signature(&jpeg(&scene(720, 240, 1), 90)),
        Err(MediaError::NotAPicture),
        "a photo is no signature"
    );
    assert_eq!(
        ptw_media::check_signature(&rgba_png(&image::RgbaImage::from_pixel(5000, 10, image::Rgba([0, 0, 0, 255])))),
        Err(MediaError::TooLarge { width: 5000, height: 10 })
    );
}

fn rgba_png(img: &image::RgbaImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::DynamicImage::ImageRgba8(img.clone())
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("encode");
    out
}
