//! Pictures taken on site (R-PHOTO): what a photo becomes before a permit names it.
//!
//! [`prepare_photo`] reads a camera's JPEG or PNG once and gives back
//! - the photo to keep: the camera's own bytes when they are already upright and no larger than
//!   [`MAX_KEPT_SIDE`] / [`MAX_KEPT_BYTES`], else the picture turned upright by its EXIF
//!   orientation and shrunk, as a JPEG;
//! - its thumbnail ([`THUMBNAIL_SIDE`] pixels on the longer side, JPEG), what lists and the
//!   permit page show;
//! - the camera's time (EXIF `DateTimeOriginal`), a claim of the camera's clock shown beside the
//!   device's trusted time, never instead of it;
//! - a 64-bit difference hash ([`dhash`]) of the upright picture: the same scene re-encoded,
//!   shrunk or slightly recoloured hashes within a few bits ([`NEAR_DUPLICATE_BITS`]), which is
//!   how a photo reused on another permit is found when its bytes differ.
//!
//! Decoding is bounded ([`MAX_PIXELS`] and the decoder's allocation limit), so a hostile or
//! absurd file is refused in words instead of taking the tablet's memory.

pub mod qr;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use std::io::Cursor;

/// Longer side, in pixels, of a photo kept as evidence: a 3,072-pixel picture shows a flange's
/// bolts and a gauge's needle, and keeps a photo to a few megabytes.
pub const MAX_KEPT_SIDE: u32 = 3072;
/// A camera's file larger than this is re-encoded even when its size in pixels is fine.
pub const MAX_KEPT_BYTES: usize = 8 * 1024 * 1024;
/// Longer side of a thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 320;
/// The most pixels a picture may have (a 48-megapixel tablet camera's, with room), each side at
/// most [`MAX_SIDE`]; anything larger is refused before it is decoded, which keeps a photo's
/// preparation within about 250 MB.
pub const MAX_PIXELS: u64 = 50_000_000;
pub const MAX_SIDE: u32 = 20_000;
/// Two difference hashes this many bits apart or fewer are the same picture.
pub const NEAR_DUPLICATE_BITS: u32 = 6;
/// JPEG quality of a re-encoded photo and of a thumbnail.
const PHOTO_QUALITY: u8 = 85;
const THUMBNAIL_QUALITY: u8 = 80;

/// Why a file could not be taken as a photo.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    #[error("the file is not a photo: take a JPEG or PNG picture")]
    NotAPicture,
    #[error("the picture is {width} × {height} pixels, more than a photo may have; take it at a lower resolution")]
    TooLarge { width: u32, height: u32 },
    #[error("the picture cannot be read: {0}")]
    Broken(String),
    #[error("the signature is blank: sign on the pad first")]
    BlankSignature,
}

/// A picture's encoded bytes and their MIME type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    pub mime: &'static str,
    pub bytes: Vec<u8>,
}

/// A photo ready to be kept: see the module's description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    pub photo: Encoded,
    pub thumbnail: Encoded,
    /// Size of the kept photo, upright.
    pub width: u32,
    pub height: u32,
    /// The camera's clock when the picture was taken (EXIF, local time of the camera).
    pub camera_time: Option<chrono::NaiveDateTime>,
    /// The camera's bytes were turned upright (EXIF orientation other than "as stored").
    pub turned: bool,
    /// The camera's bytes were re-encoded (turned, shrunk, or not a JPEG).
    pub reencoded: bool,
    pub dhash: u64,
}

/// Read `bytes` (JPEG or PNG) and make the photo to keep, its thumbnail, the camera's time and
/// the picture's difference hash.
pub fn prepare_photo(bytes: &[u8]) -> Result<Prepared, MediaError> {
    let (format, image, exif) = decode(bytes)?;
    let orientation = exif.as_deref().and_then(Orientation::from_exif_chunk).unwrap_or(Orientation::NoTransforms);
    let camera_time = exif.as_deref().and_then(camera_time);
    let mut image = image;
    let turned = orientation != Orientation::NoTransforms;
    let longest = image.width().max(image.height());
    let reencoded = turned || longest > MAX_KEPT_SIDE || bytes.len() > MAX_KEPT_BYTES || format != ImageFormat::Jpeg;
    // Shrunk before it is turned: turning a full-size picture would hold it twice.
    if longest > MAX_KEPT_SIDE {
        image = image.thumbnail(MAX_KEPT_SIDE, MAX_KEPT_SIDE);
    }
    image.apply_orientation(orientation);
    let (width, height) = (image.width(), image.height());
    let photo =
        if reencoded { jpeg(&image, PHOTO_QUALITY)? } else { Encoded { mime: "image/jpeg", bytes: bytes.to_vec() } };
    let small = image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE);
    drop(image);
    let thumbnail = jpeg(&small, THUMBNAIL_QUALITY)?;
    Ok(Prepared { photo, thumbnail, width, height, camera_time, turned, reencoded, dhash: dhash(&small) })
}

/// The largest handwritten signature image, in pixels (a pad on a 4K screen at most).
pub const MAX_SIGNATURE_SIDE: u32 = 4096;

/// Check that `png` is a handwritten signature as the pad draws it: a PNG no larger than
/// [`MAX_SIGNATURE_SIDE`] with at least a stroke on it (not blank, not one colour).
pub fn check_signature(png: &[u8]) -> Result<(), MediaError> {
    if image::guess_format(png).ok() != Some(ImageFormat::Png) {
        return Err(MediaError::NotAPicture);
    }
    let (_, image, _) = decode(png)?;
    if image.width() > MAX_SIGNATURE_SIDE || image.height() > MAX_SIGNATURE_SIDE {
        return Err(MediaError::TooLarge { width: image.width(), height: image.height() });
    }
    let rgba = image.to_rgba8();
    let first = rgba.pixels().next().copied();
    if first.is_none() || rgba.pixels().all(|p| Some(*p) == first) {
        return Err(MediaError::BlankSignature);
    }
    Ok(())
}

/// The thumbnail alone (the benchmark's measure, and a picture whose thumbnail was lost).
pub fn thumbnail(bytes: &[u8]) -> Result<Encoded, MediaError> {
    let (_, image, exif) = decode(bytes)?;
    let mut small = image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE);
    drop(image);
    if let Some(o) = exif.as_deref().and_then(Orientation::from_exif_chunk) {
        small.apply_orientation(o);
    }
    jpeg(&small, THUMBNAIL_QUALITY)
}

/// The difference hash of a picture's grey 9 × 8 reduction: one bit per neighbouring pair,
/// set where the left one is brighter.
pub fn dhash(image: &DynamicImage) -> u64 {
    let grey = image.resize_exact(9, 8, FilterType::Triangle).to_luma8();
    let mut hash = 0u64;
    for y in 0..8 {
        for x in 0..8 {
            let left = grey.get_pixel(x, y).0[0];
            let right = grey.get_pixel(x + 1, y).0[0];
            hash = (hash << 1) | u64::from(left > right);
        }
    }
    hash
}

/// How many bits two difference hashes differ in.
pub fn distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// The same picture, by their difference hashes.
pub fn near_duplicates(a: u64, b: u64) -> bool {
    distance(a, b) <= NEAR_DUPLICATE_BITS
}

/// The picture, its format and its raw EXIF, decoded within the limits.
fn decode(bytes: &[u8]) -> Result<(ImageFormat, DynamicImage, Option<Vec<u8>>), MediaError> {
    let reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|_| MediaError::NotAPicture)?;
    let format = match reader.format() {
        Some(f @ (ImageFormat::Jpeg | ImageFormat::Png)) => f,
        _ => return Err(MediaError::NotAPicture),
    };
    let (width, height) = reader.into_dimensions().map_err(|e| broken(&e))?;
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(MediaError::TooLarge { width, height });
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    // Room for the largest picture allowed, four bytes a pixel, and the decoder's own buffers.
    limits.max_alloc = Some(MAX_PIXELS * 4 + 64 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| broken(&e))?;
    let exif = decoder.exif_metadata().ok().flatten();
    let image = DynamicImage::from_decoder(decoder).map_err(|e| match e {
        image::ImageError::Limits(_) => MediaError::TooLarge { width, height },
        e => broken(&e),
    })?;
    Ok((format, image, exif))
}

fn broken(e: &image::ImageError) -> MediaError {
    MediaError::Broken(e.to_string())
}

fn jpeg(image: &DynamicImage, quality: u8) -> Result<Encoded, MediaError> {
    let mut bytes = Vec::new();
    let encoder = JpegEncoder::new_with_quality(&mut bytes, quality);
    let written = match image {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageLuma8(_) => image.write_with_encoder(encoder),
        other => DynamicImage::ImageRgb8(other.to_rgb8()).write_with_encoder(encoder),
    };
    written.map_err(|e| broken(&e))?;
    Ok(Encoded { mime: "image/jpeg", bytes })
}

/// EXIF `DateTimeOriginal` (else `DateTime`) as the camera's local time.
fn camera_time(raw: &[u8]) -> Option<chrono::NaiveDateTime> {
    let tiff = raw.strip_prefix(b"Exif\0\0").unwrap_or(raw);
    let exif = exif::Reader::new().read_raw(tiff.to_vec()).ok()?;
    let field = exif
        .get_field(exif::Tag::DateTimeOriginal, exif::In::PRIMARY)
        .or_else(|| exif.get_field(exif::Tag::DateTime, exif::In::PRIMARY))?;
    let exif::Value::Ascii(ref texts) = field.value else { return None };
    let t = exif::DateTime::from_ascii(texts.first()?).ok()?;
    chrono::NaiveDate::from_ymd_opt(i32::from(t.year), u32::from(t.month), u32::from(t.day))?.and_hms_opt(
        u32::from(t.hour),
        u32::from(t.minute),
        u32::from(t.second),
    )
}
