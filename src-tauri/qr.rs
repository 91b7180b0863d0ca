//! Drawing a QR code as SVG ([`svg`]: a permit's, a badge's, a poster's) and the typed answer
//! to a picture whose code could not be read ([`qr_failure`]); reading one is ptw-media's
//! (`ptw_media::qr`).

use ptw_media::qr::QrError;

/// The longest text drawn as a QR code: the plant's codes are far shorter.
pub const MAX_QR_TEXT: usize = 512;

/// `text` as a QR code in SVG (black on white, with its quiet zone), for the window and for
/// print; `None` for an empty or overlong text.
pub fn svg(text: &str) -> Option<String> {
    if text.is_empty() || text.len() > MAX_QR_TEXT {
        return None;
    }
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(160, 160)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    // Inline in the page: the XML declaration has no place there.
    Some(match svg.find("<svg") {
        Some(at) => svg[at..].to_owned(),
        None => svg,
    })
}

/// To the UI as data: `CommandError::Qr` with the failure, which it words in its language.
pub fn qr_failure(e: QrError) -> ptw_core::api::CommandError {
    use ptw_core::api::QrFailure;
    let failure = match e {
        QrError::NotAnImage => QrFailure::NotAnImage,
        QrError::TooLarge => QrFailure::TooLarge,
        QrError::NoQrCode => QrFailure::NotFound,
        QrError::Unreadable => QrFailure::Unreadable,
    };
    ptw_core::api::CommandError::Qr { failure }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drawn_code_is_inline_svg_and_an_empty_or_overlong_text_is_refused() {
        let text = "openptw-permit:0190c5a0-0000-7000-8000-000000000500";
        let drawn = svg(text).expect("drawn");
        assert!(drawn.starts_with("<svg") && drawn.contains("</svg>"), "{}", &drawn[..60.min(drawn.len())]);
        assert_eq!(svg(""), None);
        assert_eq!(svg(&"x".repeat(MAX_QR_TEXT + 1)), None);
    }

    #[test]
    fn the_errors_reach_the_ui_as_typed_failures() {
        use ptw_core::api::{CommandError, QrFailure};
        assert_eq!(qr_failure(QrError::NoQrCode), CommandError::Qr { failure: QrFailure::NotFound });
        assert_eq!(qr_failure(QrError::NotAnImage), CommandError::Qr { failure: QrFailure::NotAnImage });
        assert_eq!(qr_failure(QrError::TooLarge), CommandError::Qr { failure: QrFailure::TooLarge });
        assert_eq!(qr_failure(QrError::Unreadable), CommandError::Qr { failure: QrFailure::Unreadable });
    }
}
