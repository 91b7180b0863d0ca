//! What the plant's own QR codes say, and reading back a scan.
//!
//! A scan reaches the app as text, whether a camera picture was decoded or a keyboard-wedge
//! reader typed it: `openptw-badge:<badge id>` on a person's badge, `openptw-enrol:…` on the
//! enrolment sheet IT prints ([`crate::sync::EnrolQr`]). A badge reader pointed at an older
//! badge that carries the bare badge id types just that, so sign-in also takes a bare id.

use crate::sync::{EnrolQr, ENROL_QR_PREFIX};

/// How a personal badge's QR text begins; the badge id (工号 / 胸卡号) follows.
pub const BADGE_PREFIX: &str = "openptw-badge:";

/// The longest badge id a code may carry.
pub const MAX_BADGE_LEN: usize = 64;

/// The QR text of the badge with id `badge`.
pub fn badge_text(badge: &str) -> String {
    format!("{BADGE_PREFIX}{}", badge.trim())
}

/// What a scanned text is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scan {
    /// A person's badge, with its id (trimmed).
    Badge(String),
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
            let badge = badge.trim();
            if badge.is_empty() || badge.chars().count() > MAX_BADGE_LEN || badge.chars().any(char::is_control) {
                return Scan::Damaged;
            }
            return Scan::Badge(badge.to_owned());
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
