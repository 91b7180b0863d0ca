//! What the plant's own QR codes say, and reading back a scan.
//!
//! A scan reaches the app as text, whether a camera picture was decoded or a keyboard-wedge
//! reader typed it: `openptw-badge:<badge id>` on a person's badge, `openptw-location:<code>` on
//! a work location's poster, `openptw-permit:<permit id>` on a printed permit, `openptw-enrol:…`
//! on the enrolment sheet IT prints ([`crate::sync::EnrolQr`]). A badge reader pointed at an older
//! badge that carries the bare badge id types just that, so sign-in also takes a bare id.

use crate::sync::{EnrolQr, ENROL_QR_PREFIX};

/// How a personal badge's QR text begins; the badge id (工号 / 胸卡号) follows.
pub const BADGE_PREFIX: &str = "openptw-badge:";

/// How a work location's poster QR text begins; the location's code follows.
pub const LOCATION_PREFIX: &str = "openptw-location:";

/// How a permit's QR text begins; the permit's id follows.
pub const PERMIT_PREFIX: &str = "openptw-permit:";

/// The longest badge id or location code a code may carry.
pub const MAX_BADGE_LEN: usize = 64;

/// The QR text of the badge with id `badge`.
pub fn badge_text(badge: &str) -> String {
    format!("{BADGE_PREFIX}{}", badge.trim())
}

/// The QR text of the poster of the location with code `code`.
pub fn location_text(code: &str) -> String {
    format!("{LOCATION_PREFIX}{}", code.trim())
}

/// The QR text that opens permit `id`.
pub fn permit_text(id: crate::PermitId) -> String {
    format!("{PERMIT_PREFIX}{id}")
}

/// A badge id or location code as a scan carries it: trimmed, not empty, not too long, no
/// control characters.
fn short_code(text: &str) -> Option<String> {
    let text = text.trim();
    let ok = !text.is_empty() && text.chars().count() <= MAX_BADGE_LEN && !text.chars().any(char::is_control);
    ok.then(|| text.to_owned())
}

/// What a scanned text is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scan {
    /// A person's badge, with its id (trimmed).
    Badge(String),
    /// A work location's poster, with the location's code.
    Location(String),
    /// A permit.
    Permit(crate::PermitId),
    /// The enrolment sheet of a device.
    Enrol(EnrolQr),
    /// One of ours by its prefix, but broken (an empty or overlong badge id, a torn enrolment
    /// text).
    Damaged,
    /// Not a code of this system.
    NotOurs,
}

impl Scan {
    /// Read a scanned text.
    pub fn parse(text: &str) -> Scan {
        let text = text.trim();
        if let Some(badge) = text.strip_prefix(BADGE_PREFIX) {
            return short_code(badge).map_or(Scan::Damaged, Scan::Badge);
        }
        if let Some(code) = text.strip_prefix(LOCATION_PREFIX) {
            return short_code(code).map_or(Scan::Damaged, Scan::Location);
        }
        if let Some(id) = text.strip_prefix(PERMIT_PREFIX) {
            return id.trim().parse::<uuid::Uuid>().map_or(Scan::Damaged, |u| Scan::Permit(crate::PermitId(u)));
        }
        if text.starts_with(ENROL_QR_PREFIX) {
            return EnrolQr::parse(text).map_or(Scan::Damaged, Scan::Enrol);
        }
        Scan::NotOurs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_badge_reads_back_as_its_id() {
        assert_eq!(Scan::parse(&badge_text(" C2001 ")), Scan::Badge("C2001".into()));
        assert_eq!(Scan::parse("openptw-badge:1001\r\n"), Scan::Badge("1001".into()));
    }

    #[test]
    fn a_broken_badge_is_damaged_not_someone_else() {
        assert_eq!(Scan::parse("openptw-badge:"), Scan::Damaged);
        assert_eq!(Scan::parse("openptw-badge:   "), Scan::Damaged);
        assert_eq!(Scan::parse(&format!("openptw-badge:{}", "9".repeat(MAX_BADGE_LEN + 1))), Scan::Damaged);
        assert_eq!(Scan::parse("openptw-badge:10\u{7}01"), Scan::Damaged);
    }

    #[test]
    fn a_location_poster_and_a_permit_read_back() {
        assert_eq!(Scan::parse(&location_text("T-101")), Scan::Location("T-101".into()));
        assert_eq!(Scan::parse("openptw-location: "), Scan::Damaged);
        let id = crate::PermitId(uuid::Uuid::from_u128(7));
        assert_eq!(Scan::parse(&permit_text(id)), Scan::Permit(id));
        assert_eq!(Scan::parse("openptw-permit:not-a-uuid"), Scan::Damaged);
    }

    #[test]
    fn other_codes_are_told_apart() {
        assert_eq!(Scan::parse("https://example.com/x"), Scan::NotOurs);
        assert_eq!(Scan::parse("1001"), Scan::NotOurs);
        assert_eq!(Scan::parse("openptw-enrol:no-hash"), Scan::Damaged);
        let enrol = EnrolQr {
            url: "http://10.0.0.2:8787".into(),
            code: "K7QX".into(),
            server_key: None,
            tls_fingerprint: None,
        };
        assert_eq!(Scan::parse(&enrol.text()), Scan::Enrol(enrol));
    }
}
