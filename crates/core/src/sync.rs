//! The sync protocol's wire types (HTTP + JSON), shared by the device's sync client and the
//! sync server so both sides change together.
//!
//! - `POST /api/devices/enrol` with [`EnrolRequest`] (the one-time code IT printed) →
//!   [`EnrolResponse`] with the device's bearer token.
//! - `POST /api/sync/push` with [`PushRequest`] → [`PushResponse`]: every change the server holds
//!   durably (new or already there) is acknowledged by hash; refused ones say why.
//! - `GET /api/sync/pull?since=N&max_changes=M&max_bytes=B` → [`PullResponse`]: changes with a
//!   server sequence number above `N`, oldest first, bounded by count and bytes.
//!
//! - `GET /api/sync/snapshot?upto=W&after=D&max_docs=M&max_bytes=B` → [`SnapshotResponse`]: how a
//!   device with no cursor (new, or the server's database was replaced) starts. Every document
//!   that has a change numbered up to `W`, in document-id order after `D`: its compacted form
//!   when the server has made one, plus the changes the compacted form lacks, up to `W`. The
//!   first request leaves `upto` out and the server fixes `W` to its newest change; when the
//!   pages are done the device carries on with ordinary pulls from `since = W`.
//!
//! Blobs — photos and handwritten signature images — travel apart from the changes that name
//! them, addressed by the SHA-256 of their bytes (64 lower-case hex digits, [`blob_hash`]), and
//! are uploaded only when the server lacks them:
//!
//! - `POST /api/blobs/missing` with [`BlobsMissingRequest`] (at most [`MAX_BLOB_QUERY`] hashes)
//!   → [`BlobsMissingResponse`]: the ones the server does not hold, in the order asked, each once.
//! - `PUT /api/blobs/{sha256}` with the raw bytes as the body and the blob's MIME type as
//!   `Content-Type` (at most [`MAX_BLOB_BYTES`]) → `204 No Content` once the blob is durable. The
//!   server hashes the body and refuses it (400) when it does not hash to `{sha256}`; storing a
//!   blob it already holds is harmless.
//! - `GET /api/blobs/{sha256}` → the bytes with their `Content-Type`; 404 with an [`ErrorBody`]
//!   when the server does not hold the blob (yet).
//!
//! Devices push their pending blobs before their changes, so a change never reaches the server
//! ahead of the photo or signature it names.
//!
//! Every request but enrolment carries `Authorization: Bearer <device token>`.

use serde::{Deserialize, Serialize};

/// Bumped when a wire type changes incompatibly.
pub const PROTOCOL_VERSION: u32 = 1;

/// How the enrolment QR text begins: `openptw-enrol:<server url>#<one-time code>`, printed by
/// `ptw-sync-server device enrol` and read by the app (scanned or pasted).
pub const ENROL_QR_PREFIX: &str = "openptw-enrol:";

/// The enrolment QR text for `url` and `code`.
pub fn enrol_qr_text(url: &str, code: &str) -> String {
    format!("{ENROL_QR_PREFIX}{url}#{code}")
}

/// The server URL and code of an enrolment QR text, trimmed; `None` when `text` is not one.
pub fn split_enrol_qr(text: &str) -> Option<(&str, &str)> {
    let (url, code) = text.trim().strip_prefix(ENROL_QR_PREFIX)?.split_once('#')?;
    Some((url.trim(), code.trim()))
}

/// Whether `url` can be a sync server's address (`http://…` or `https://…`).
pub fn is_server_url(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

/// One Automerge change of one document, as it travels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireChange {
    pub doc_id: String,
    /// `permit` or `org`.
    pub kind: String,
    /// Hex Automerge change hash; the receiver checks the bytes hash to it.
    pub hash: String,
    #[serde(with = "base64_bytes")]
    pub bytes: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushRequest {
    pub changes: Vec<WireChange>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub hash: String,
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResponse {
    /// Hashes the server now holds durably; the device may drop them from its outbox.
    pub acked: Vec<String>,
    pub refused: Vec<Refusal>,
    /// The server database's epoch. A device that last pulled under another epoch is talking to
    /// a replaced or restored database: it sends everything it holds again (the server keeps
    /// what it lacks) and starts pulling cold, so nothing acknowledged before is lost.
    #[serde(default)]
    pub epoch: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PulledChange {
    /// The server's global sequence number of this change.
    pub seq: i64,
    #[serde(flatten)]
    pub change: WireChange,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullResponse {
    /// Changes when the server's database is replaced (restored from backup, new server): a
    /// device whose saved cursor names another epoch pulls from the start.
    pub epoch: String,
    pub changes: Vec<PulledChange>,
    /// Ask for `since = next_cursor` next time.
    pub next_cursor: i64,
    /// More changes are waiting beyond this page.
    pub more: bool,
}

/// One document of a cold start ([`SnapshotResponse`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotDoc {
    pub doc_id: String,
    /// `permit` or `org`.
    pub kind: String,
    /// A compacted Automerge document (`Automerge::save`) holding `snapshot_changes` changes;
    /// empty when the server has not compacted this document.
    #[serde(with = "base64_bytes", default, skip_serializing_if = "Vec::is_empty")]
    pub snapshot: Vec<u8>,
    #[serde(default)]
    pub snapshot_changes: u64,
    /// The document's changes numbered up to the page's `upto` that the snapshot does not hold.
    #[serde(default)]
    pub changes: Vec<WireChange>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotResponse {
    pub epoch: String,
    /// Every change numbered up to this is in these pages; ask with the same `upto` for the rest,
    /// and pull with `since = upto` after the last page.
    pub upto: i64,
    pub docs: Vec<SnapshotDoc>,
    /// Ask with `after = next_after` for the next page.
    pub next_after: String,
    /// More documents are waiting beyond this page.
    pub more: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolRequest {
    /// The one-time code printed by `ptw-sync-server device enrol`.
    pub code: String,
    pub device_id: crate::DeviceId,
    pub name: String,
    /// Hex of the device's Ed25519 public key.
    pub public_key: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolResponse {
    pub device_token: String,
    pub epoch: String,
}

/// The largest blob (photo or signature image) a device may keep and upload, in bytes.
pub const MAX_BLOB_BYTES: usize = 16 * 1024 * 1024;

/// Hashes in one [`BlobsMissingRequest`].
pub const MAX_BLOB_QUERY: usize = 1000;

/// The longest MIME type kept with a blob.
pub const MAX_BLOB_MIME_LEN: usize = 127;

/// `POST /api/blobs/missing`: which of these blobs does the server lack?
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobsMissingRequest {
    /// SHA-256 hex of each blob's bytes ([`blob_hash`]).
    pub hashes: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobsMissingResponse {
    /// The requested hashes the server does not hold, in request order, each once: upload
    /// these; the server holds the others durably already.
    pub missing: Vec<String>,
}

/// A blob's address: the SHA-256 of its bytes, 64 lower-case hex digits.
pub fn blob_hash(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// Whether `text` has the form of a blob address (64 lower-case hex digits).
pub fn is_blob_hash(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Why `mime` cannot be kept as a blob's MIME type (`None` when it can): it must be printable
/// ASCII of the form `type/subtype`, at most [`MAX_BLOB_MIME_LEN`] characters.
pub fn blob_mime_problem(mime: &str) -> Option<String> {
    if mime.is_empty() || mime.len() > MAX_BLOB_MIME_LEN {
        return Some(format!("a MIME type has 1 to {MAX_BLOB_MIME_LEN} characters, e.g. image/jpeg"));
    }
    if !mime.bytes().all(|b| (0x20..0x7f).contains(&b)) || mime.trim() != mime || !mime.contains('/') {
        return Some(format!("'{}' is not a MIME type such as image/jpeg", mime.escape_default()));
    }
    None
}

/// Error body of every non-2xx answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}

mod base64_bytes {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text.as_bytes()).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_enrolment_qr_text_splits_back_into_its_address_and_code() {
        let text = enrol_qr_text("http://10.0.0.5:8787", "ABCD-1234");
        assert_eq!(split_enrol_qr(&format!("  {text}\n")), Some(("http://10.0.0.5:8787", "ABCD-1234")));
        assert_eq!(split_enrol_qr("ABCD-1234"), None);
        assert_eq!(split_enrol_qr("openptw-enrol:no-hash"), None);
        assert!(is_server_url("https://ptw.plant") && !is_server_url("ftp://x"));
    }

    #[test]
    fn change_bytes_travel_as_base64_and_come_back_identical() {
        let c =
            WireChange { doc_id: "d".into(), kind: "permit".into(), hash: "ab".into(), bytes: vec![0, 1, 254, 255] };
        let json = serde_json::to_string(&c).expect("serialise");
        assert!(json.contains("\"AAH+/w==\""), "{json}");
        assert_eq!(serde_json::from_str::<WireChange>(&json).expect("parse"), c);
        assert!(serde_json::from_str::<WireChange>(&json.replace("AAH+/w==", "***")).is_err());
    }

    #[test]
    fn a_blob_is_addressed_by_the_lower_case_sha256_of_its_bytes() {
        let hash = blob_hash(b"abc");
        assert_eq!(hash, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(is_blob_hash(&hash));
        assert!(!is_blob_hash(&hash.to_uppercase()), "upper case is another spelling, refused");
        assert!(!is_blob_hash(&hash[1..]));
        assert!(!is_blob_hash(&format!("{}g", &hash[1..])));
        assert!(!is_blob_hash("../../etc/passwd"));
    }

    #[test]
    fn a_blob_mime_type_is_printable_ascii_type_slash_subtype() {
        assert_eq!(blob_mime_problem("image/jpeg"), None);
        assert_eq!(blob_mime_problem("image/svg+xml; charset=utf-8"), None);
        for bad in ["", "jpeg", " image/png", "image/png\n", "图片/png", &"a/".repeat(100)] {
            assert!(blob_mime_problem(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn the_blob_query_travels_as_plain_json() {
        let req = BlobsMissingRequest { hashes: vec![blob_hash(b"")] };
        let json = serde_json::to_string(&req).expect("serialise");
        assert_eq!(json, format!("{{\"hashes\":[\"{}\"]}}", blob_hash(b"")));
        let answer: BlobsMissingResponse = serde_json::from_str(r#"{"missing":[]}"#).expect("parse");
        assert!(answer.missing.is_empty());
    }
}
