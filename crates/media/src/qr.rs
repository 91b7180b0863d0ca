//! Reading a QR code from a photo or a screenshot: a badge, a location poster, a permit's
//! code, or the enrolment QR that IT prints with `ptw-sync-server device enrol` — taken with the
//! tablet's camera (JPEG) or saved as a picture (PNG). Decoding only: what the text means is
//! `ptw_core::codes`'s business.
//!
//! The picture is turned grey (transparent parts count as white paper) and shrunk so that its
//! longer side is at most [`MAX_SIDE`] pixels — a tablet camera's 12-megapixel photo would
//! otherwise take seconds — then searched with `rqrr`, and searched again with light and dark
//! swapped (a screenshot of the QR in a dark terminal) if no code shows.

use image::{DynamicImage, GrayImage, ImageError, ImageFormat, Luma};
use std::fmt;

/// Longest side, in pixels, of the picture the QR code is searched in. Enough for a label that
/// fills a tenth of the photo's width (a few pixels per module); more only costs time.
pub const MAX_SIDE: u32 = 2000;

/// Why no text came out of a picture. It crosses to the UI as the typed
/// `ptw_core::api::QrFailure` (the app maps it), which the UI words; the English sentence is
/// for logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QrError {
    /// Not a PNG or JPEG file, or a broken one.
    NotAnImage,
    /// A picture bigger than the decoder is allowed to hold in memory.
    TooLarge,
    /// No QR code anywhere in the picture.
    NoQrCode,
    /// Something shaped like a QR code, but its content could not be read.
    Unreadable,
}

impl fmt::Display for QrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QrError::NotAnImage => "the file is not a picture: choose a photo or a screenshot (PNG or JPEG)",
            QrError::TooLarge => "the picture is too large to read: take the photo at a lower resolution",
            QrError::NoQrCode => {
                "no QR code was found in the picture: hold the camera closer so that the code fills most of \
                 the photo, keep it flat and in focus, and try again"
            }
            QrError::Unreadable => {
                "a QR code was found in the picture but could not be read: take the photo again, in focus and \
                 without glare"
            }
        })
    }
}

impl std::error::Error for QrError {}

/// The text of the QR code in `bytes`, a PNG or JPEG file. With several codes in the picture,
/// the first one that reads.
pub fn decode(bytes: &[u8]) -> Result<String, QrError> {
    let format = image::guess_format(bytes).map_err(|_| QrError::NotAnImage)?;
    if !matches!(format, ImageFormat::Png | ImageFormat::Jpeg) {
        return Err(QrError::NotAnImage);
    }
    let picture = image::load_from_memory_with_format(bytes, format).map_err(|e| match e {
        ImageError::Limits(_) => QrError::TooLarge,
        _ => QrError::NotAnImage,
    })?;
    read_grey(shrink(grey(picture)))
}

/// The picture in shades of grey; transparent pixels are laid on white paper.
fn grey(picture: DynamicImage) -> GrayImage {
    if !picture.color().has_alpha() {
        return picture.into_luma8();
    }
    let with_alpha = picture.into_luma_alpha8();
    GrayImage::from_fn(with_alpha.width(), with_alpha.height(), |x, y| {
        let [luma, alpha] = with_alpha.get_pixel(x, y).0;
        let (luma, alpha) = (u32::from(luma), u32::from(alpha));
        // luma·α + white·(1 − α), in 0..=255.
        Luma([((luma * alpha + 255 * (255 - alpha)) / 255) as u8])
    })
}

/// `picture`, scaled down (never up) so that its longer side is at most [`MAX_SIDE`].
fn shrink(picture: GrayImage) -> GrayImage {
    let (w, h) = picture.dimensions();
    let longest = w.max(h);
    if longest <= MAX_SIDE {
        return picture;
    }
    let scale = |side: u32| ((u64::from(side) * u64::from(MAX_SIDE) / u64::from(longest)) as u32).max(1);
    image::imageops::thumbnail(&picture, scale(w), scale(h))
}

/// Searches `picture` for QR codes: as it is, then with light and dark swapped.
fn read_grey(mut picture: GrayImage) -> Result<String, QrError> {
    match read_once(&picture) {
        Err(QrError::NoQrCode) => {
            image::imageops::invert(&mut picture);
            read_once(&picture)
        }
        result => result,
    }
}

fn read_once(picture: &GrayImage) -> Result<String, QrError> {
    let w = picture.width() as usize;
    let pixels = picture.as_raw();
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(w, picture.height() as usize, |x, y| pixels[y * w + x]);
    let grids = prepared.detect_grids();
    if grids.is_empty() {
        return Err(QrError::NoQrCode);
    }
    grids.iter().find_map(|grid| grid.decode().ok().map(|(_, text)| text)).ok_or(QrError::Unreadable)
}

#[cfg(test)]
mod tests {
    use super::*;

    use image::{ImageBuffer, LumaA};
    use std::io::Cursor;

    const TEXT: &str = "openptw-enrol:http://192.168.1.10:8787#K7QX-2M9P-4RTD";

    /// `TEXT` as a QR code, black on white with its quiet zone, `side` pixels or a little more.
    fn qr_image(side: u32) -> GrayImage {
        qrcode::QrCode::new(TEXT.as_bytes())
            .expect("a QR code")
            .render::<Luma<u8>>()
            .min_dimensions(side, side)
            .max_dimensions(side + 64, side + 64)
            .build()
    }

    fn encode(picture: DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut bytes = Vec::new();
        picture.write_to(&mut Cursor::new(&mut bytes), format).expect("encode");
        bytes
    }

    fn png(picture: GrayImage) -> Vec<u8> {
        encode(DynamicImage::ImageLuma8(picture), ImageFormat::Png)
    }

    #[test]
    fn a_qr_code_rendered_to_png_reads_back_as_its_text() {
        let bytes = png(qr_image(400));
        assert!(bytes.starts_with(b"\x89PNG"));
        assert_eq!(decode(&bytes), Ok(TEXT.to_owned()));
    }

    #[test]
    fn a_qr_code_in_a_jpeg_photo_reads_back_as_its_text() {
        let bytes = encode(DynamicImage::ImageLuma8(qr_image(400)).into_rgb8().into(), ImageFormat::Jpeg);
        assert!(bytes.starts_with(&[0xFF, 0xD8]), "a JPEG file");
        assert_eq!(decode(&bytes), Ok(TEXT.to_owned()));
    }

    #[test]
    fn a_small_code_in_a_corner_of_a_large_photo_is_found_after_shrinking() {
        // A 3600×2400 "photo" (grey wall) with the label in its lower right part.
        let mut photo = GrayImage::from_pixel(3600, 2400, Luma([180]));
        image::imageops::replace(&mut photo, &qr_image(500), 2800, 1700);
        let small = shrink(photo.clone());
        assert_eq!(small.dimensions(), (MAX_SIDE, 1333));
        assert_eq!(read_grey(small), Ok(TEXT.to_owned()));
        // And through the whole path, as a PNG file.
        assert_eq!(decode(&png(photo)), Ok(TEXT.to_owned()));
    }

    #[test]
    fn a_picture_within_the_limit_is_not_resized() {
        let picture = GrayImage::from_pixel(MAX_SIDE, 10, Luma([255]));
        assert_eq!(shrink(picture).dimensions(), (MAX_SIDE, 10));
        assert_eq!(shrink(GrayImage::from_pixel(1, 5000, Luma([255]))).dimensions(), (1, MAX_SIDE));
    }

    #[test]
    fn a_code_on_a_transparent_background_reads_as_on_white_paper() {
        // Black modules, transparent (black, alpha 0) everywhere else.
        let qr = qr_image(300);
        let clear: ImageBuffer<LumaA<u8>, Vec<u8>> = ImageBuffer::from_fn(qr.width(), qr.height(), |x, y| {
            if qr.get_pixel(x, y)[0] < 128 {
                LumaA([0, 255])
            } else {
                LumaA([0, 0])
            }
        });
        let bytes = encode(DynamicImage::ImageLumaA8(clear), ImageFormat::Png);
        assert_eq!(decode(&bytes), Ok(TEXT.to_owned()));
    }

    #[test]
    fn a_light_on_dark_code_like_a_terminal_screenshot_reads_too() {
        let mut qr = qr_image(300);
        image::imageops::invert(&mut qr);
        // Not found as it is: the second look, light and dark swapped, finds it.
        assert_eq!(read_once(&qr), Err(QrError::NoQrCode));
        assert_eq!(decode(&png(qr)), Ok(TEXT.to_owned()));
    }

    #[test]
    fn random_bytes_are_not_an_image() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let bytes: Vec<u8> = (0..4096)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        assert_eq!(decode(&bytes), Err(QrError::NotAnImage));
        assert_eq!(decode(&[]), Err(QrError::NotAnImage));
        assert_eq!(decode(b"openptw-enrol:http://x#y"), Err(QrError::NotAnImage));
    }

    #[test]
    fn a_truncated_png_or_another_format_is_not_an_image() {
        let bytes = png(qr_image(300));
        assert_eq!(decode(&bytes[..bytes.len() / 2]), Err(QrError::NotAnImage));
        let mut gif = b"GIF89a".to_vec();
        gif.extend_from_slice(&[0; 64]);
        assert_eq!(decode(&gif), Err(QrError::NotAnImage));
    }

    #[test]
    fn a_blank_white_picture_has_no_qr_code() {
        let bytes = png(GrayImage::from_pixel(640, 480, Luma([255])));
        assert_eq!(decode(&bytes), Err(QrError::NoQrCode));
    }

    #[test]
    fn the_errors_tell_the_user_what_to_do() {
        assert!(QrError::NotAnImage.to_string().contains("PNG or JPEG"));
        assert!(QrError::NoQrCode.to_string().starts_with("no QR code was found"));
        assert!(QrError::NoQrCode.to_string().contains("hold the camera closer"));
        assert!(QrError::Unreadable.to_string().contains("take the photo again"));
        assert!(QrError::TooLarge.to_string().contains("lower resolution"));
    }
}
