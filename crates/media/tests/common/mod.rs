//! Pictures for the tests: a scene with shapes in it, encoded as a camera would, with an EXIF
//! block the tests write by hand (orientation and DateTimeOriginal).

#![allow(dead_code)]

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, Rgb, RgbImage};

/// A scene of `w` × `h`: a gradient with a dark bar and a bright disc where `seed` puts them, so
/// that two seeds are two different pictures.
pub fn scene(w: u32, h: u32, seed: u32) -> RgbImage {
    let bar = (seed * 37 % 60 + 10) as f32 / 100.0;
    let disc = ((seed * 53 % 70 + 15) as f32 / 100.0, (seed * 29 % 60 + 20) as f32 / 100.0);
    RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
        let mut v = [(fx * 200.0) as u8 + 20, (fy * 180.0) as u8 + 30, ((1.0 - fx) * 150.0) as u8 + 40];
        if (fx - bar).abs() < 0.06 {
            v = [20, 20, 30];
        }
        if ((fx - disc.0).powi(2) + (fy - disc.1).powi(2)).sqrt() < 0.12 {
            v = [250, 240, 200];
        }
        Rgb(v)
    })
}

pub fn jpeg(image: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(image.clone())
        .write_with_encoder(JpegEncoder::new_with_quality(&mut out, quality))
        .expect("encode");
    out
}

pub fn png(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(image.clone())
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("encode");
    out
}

/// `jpeg` with an APP1 EXIF block right after its SOI: IFD0 with the orientation and a pointer
/// to an EXIF IFD holding DateTimeOriginal (`"YYYY:MM:DD HH:MM:SS"`).
pub fn with_exif(jpeg: &[u8], orientation: u16, taken: &str) -> Vec<u8> {
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
    assert_eq!(taken.len(), 19);
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"II*\0");
    tiff.extend_from_slice(&8u32.to_le_bytes());
    // IFD0 at 8: two entries, then the next-IFD offset (none).
    let ifd0_len = 2 + 2 * 12 + 4;
    let exif_ifd = 8 + ifd0_len as u32;
    tiff.extend_from_slice(&2u16.to_le_bytes());
    entry(&mut tiff, 0x0112, 3, 1, u32::from(orientation));
    entry(&mut tiff, 0x8769, 4, 1, exif_ifd);
    tiff.extend_from_slice(&0u32.to_le_bytes());
    // The EXIF IFD: one entry, its ASCII value after it.
    let value_at = exif_ifd + 2 + 12 + 4;
    tiff.extend_from_slice(&1u16.to_le_bytes());
    entry(&mut tiff, 0x9003, 2, 20, value_at);
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(taken.as_bytes());
    tiff.push(0);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&u16::try_from(app1.len() + 2).expect("small").to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn entry(out: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: u32) {
    out.extend_from_slice(&tag.to_le_bytes());
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&value.to_le_bytes());
}

/// A PNG whose header claims `w` × `h` (with a right CRC) and holds no picture data.
pub fn png_header_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(&ihdr);
    out.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    // An empty IDAT and the end: the decoder reads the header up to the first data chunk.
    for chunk in [&b"IDAT"[..], &b"IEND"[..]] {
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(&crc32(chunk).to_be_bytes());
    }
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}
