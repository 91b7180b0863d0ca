//! The sync protocol's wire types (HTTP + JSON), shared by the device's sync client and the
//! sync server so both sides change together.
//!
//! - `POST /api/devices/enrol` with [`EnrolRequest`] (the one-time code IT printed and the
//!   device's public key) → [`EnrolResponse`]: the device id the server gave it, its bearer
//!   token and the server's registry key.
//! - The registry log travels with the pulls: a pull or cold-start page asked with
//!   `registry_after=N` (left out by a device that holds none) carries the log's entries
//!   numbered above `N`, oldest first, at most [`MAX_REGISTRY_PAGE`]. Devices check each
//!   against the server key pinned at enrolment before folding it (see [`crate::authority`]),
//!   and apply them before the page's changes. `GET /api/registry?after=N` → [`RegistryPage`]
//!   serves the log alone.
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
//! Every request but enrolment carries `Authorization: Bearer <device token>`. Every response
//! carries the server's clock in [`SERVER_TIME_HEADER`] (Unix ms), which devices correct their
//! event times by (R-TIME).

use crate::authority::SignedEntry;
use crate::ids::DeviceId;
use serde::{Deserialize, Serialize};

/// Bumped when a wire type changes incompatibly.
pub const PROTOCOL_VERSION: u32 = 2;

/// The response header carrying the server's clock, Unix milliseconds.
pub const SERVER_TIME_HEADER: &str = "x-ptw-server-time";

/// How far ahead of the server's clock a device's event may be dated: tablets' clocks are
/// corrected at every sync, so anything further is a wrong or dishonest clock.
pub const MAX_CLOCK_AHEAD_MS: i64 = 5 * 60 * 1000;

/// The one kind of document devices sync: a permit. (The plant's registry is not a document:
/// it is the server-signed log of [`crate::authority`].)
pub const PERMIT_KIND: &str = "permit";

/// How the enrolment QR text begins: `openptw-enrol:<server url>#<one-time code>#<server key>#<TLS
/// certificate fingerprint>`, printed by `ptw-sync-server device enrol` and read by the app
/// (scanned or pasted).
pub const ENROL_QR_PREFIX: &str = "openptw-enrol:";

/// What an enrolment QR code says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnrolQr {
    pub url: String,
    pub code: String,
    /// Hex of the server's registry key, which the device pins.
    pub server_key: Option<String>,
    /// Hex SHA-256 of the server's TLS certificate (DER), which the device pins instead of
    /// trusting certificate authorities: a plant needs none.
    pub tls_fingerprint: Option<String>,
}

impl EnrolQr {
    /// The QR text.
    pub fn text(&self) -> String {
        let mut text = format!("{ENROL_QR_PREFIX}{}#{}", self.url, self.code);
        if self.server_key.is_some() || self.tls_fingerprint.is_some() {
            text.push('#');
            text.push_str(self.server_key.as_deref().unwrap_or(""));
            text.push('#');
            text.push_str(self.tls_fingerprint.as_deref().unwrap_or(""));
        }
        text
    }

    /// Read an enrolment QR text, trimmed; `None` when `text` is not one.
    pub fn parse(text: &str) -> Option<EnrolQr> {
        let mut parts = text.trim().strip_prefix(ENROL_QR_PREFIX)?.split('#').map(str::trim);
        let url = parts.next().filter(|u| !u.is_empty())?.to_owned();
        let code = parts.next().filter(|c| !c.is_empty())?.to_owned();
        let hex64 = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
        let server_key = match parts.next() {
            None | Some("") => None,
            Some(k) if hex64(k) => Some(k.to_ascii_lowercase()),
            Some(_) => return None,
        };
        let tls_fingerprint = match parts.next() {
            None | Some("") => None,
            Some(f) if hex64(f) => Some(f.to_ascii_lowercase()),
            Some(_) => return None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(EnrolQr { url, code, server_key, tls_fingerprint })
    }
}

/// Whether `url` can be a sync server's address (`http://…` or `https://…`).
pub fn is_server_url(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

/// Whether `url` names this machine (`localhost`, `127.0.0.0/8`, `[::1]`): the only place a
/// device talks plain HTTP to a sync server.
pub fn is_loopback_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://")) else { return false };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host == "::1"
        || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// One Automerge change of one document, as it travels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireChange {
    pub doc_id: String,
    /// [`PERMIT_KIND`]; anything else is refused.
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

/// Why the server refused a change, as data the device shows (with what to do) and acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalCode {
    /// Not a well-formed change of a known kind, or its bytes do not hash to its hash.
    Malformed,
    /// It does not fit its document: a second events list, a form field of the wrong type,
    /// another kind of document under the same id, or it would not apply.
    Shape,
    /// It deletes or overwrites an event, or appends something that is not a signed event.
    NotAppendOnly,
    /// It depends on changes the server does not hold.
    MissingDependencies,
    /// An event in it does not verify against the registry (unknown or revoked device, bad
    /// signature, another permit's event).
    BadEvent,
    /// It was made by another device's Automerge actor.
    ForeignActor,
    /// It reuses an (actor, sequence number) the server holds a different change for.
    DuplicateSequence,
    /// An event in it is dated before one this device already delivered.
    ClockBehind,
    /// An event in it is dated ahead of the server's clock by more than [`MAX_CLOCK_AHEAD_MS`].
    ClockAhead,
    /// An event in it is signed by a person whose account was frozen before the server received it.
    FrozenAccount,
    /// An event in it does not name this device's previous event.
    BrokenChain,
    /// It depends on a change the server refused (refused on the device itself, never sent).
    DependsOnRefused,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub hash: String,
    pub code: RefusalCode,
    /// The server's words, for IT and the log.
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
    /// Registry entries after the `registry_after` the device asked with: applied before the
    /// changes, since permits are derived against the registry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registry: Vec<SignedEntry>,
    /// More registry entries wait beyond these.
    #[serde(default)]
    pub registry_more: bool,
}

/// The longest a device's `GET /api/sync/wait` is held open (ms) before the server answers
/// "nothing new"; a device asks again at once. Well under every timeout on the way.
pub const MAX_WAIT_MS: u64 = 25_000;

/// Answer of `GET /api/sync/wait?epoch=&since=&registry_after=&timeout_ms=`: held open until the
/// server stores a change numbered beyond `since`, appends a registry entry beyond
/// `registry_after`, or its epoch is not `epoch` — or until the timeout. A device then pulls.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitResponse {
    /// Something is there to pull.
    pub changed: bool,
    pub epoch: String,
    /// The newest change number stored.
    pub max_seq: i64,
    /// The newest registry entry.
    #[serde(default)]
    pub registry_head: Option<u64>,
}

/// One document of a cold start ([`SnapshotResponse`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotDoc {
    pub doc_id: String,
    /// [`PERMIT_KIND`].
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
    /// Registry entries after the `registry_after` the device asked with (see [`PullResponse`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registry: Vec<SignedEntry>,
    #[serde(default)]
    pub registry_more: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolRequest {
    /// The one-time code printed by `ptw-sync-server device enrol`.
    pub code: String,
    /// Hex of the device's Ed25519 public key.
    pub public_key: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolResponse {
    /// The id the server gave the device (never one the device chose).
    pub device_id: DeviceId,
    /// The name IT gave the device when printing the code.
    pub name: String,
    pub device_token: String,
    pub epoch: String,
    /// Hex of the server's registry key. A device enrolled from a QR code checks it against the
    /// key the code carried; one enrolled from a typed code pins this one.
    pub server_key: String,
}

/// `GET /api/registry`: a page of the registry log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryPage {
    pub entries: Vec<SignedEntry>,
    /// More entries wait beyond this page.
    pub more: bool,
}

/// Registry entries in one page.
pub const MAX_REGISTRY_PAGE: usize = 2000;

/// `POST /api/admin/registry`: a registry change asked for by an admin person, signed in with
/// their PIN on an enrolled device (the device token and the person's credentials both).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdminRequest {
    pub admin: crate::PersonId,
    pub pin: String,
    pub change: AdminChange,
}

/// The registry changes an admin may ask for over HTTP. (Devices are enrolled with codes, and the
/// log's first entry is the server's own.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum AdminChange {
    PutPerson {
        id: crate::PersonId,
        name: String,
        title: String,
        roles: Vec<crate::Role>,
        #[serde(default)]
        profile: crate::registry::Profile,
    },
    RetirePerson {
        person: crate::PersonId,
        reason: String,
    },
    RevokeCertificate {
        certificate: uuid::Uuid,
        reason: String,
    },
    /// The PIN itself: the server hashes it (and holds it to the plant's shortest PIN).
    SetPin {
        person: crate::PersonId,
        pin: String,
    },
    Freeze {
        person: crate::PersonId,
        reason: String,
    },
    Unfreeze {
        person: crate::PersonId,
        reason: String,
    },
    PutLocation {
        location: crate::registry::Location,
    },
    RevokeDevice {
        device: DeviceId,
        reason: String,
    },
    SetSettings {
        settings: crate::registry::PlantSettings,
    },
    SetCatalog {
        catalog: crate::Catalog,
    },
    PutCertificate {
        certificate: crate::registry::Certificate,
    },
}

/// What the server answers an admin change with: the entries it signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminResponse {
    pub entries: Vec<SignedEntry>,
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

/// What went wrong, as data: the device decides what to tell the person from this, never from
/// the server's words.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// No device token, or one the server does not know.
    NotEnrolled,
    /// IT revoked this device.
    DeviceRevoked,
    EnrolCodeUnknown,
    EnrolCodeUsed,
    EnrolCodeExpired,
    /// Too many attempts: wait and try again.
    RateLimited,
    /// The request could not be read or is out of range.
    BadRequest,
    NotFound,
    TooLarge,
    /// The admin person's credentials or role do not allow this.
    NotAllowed,
    /// The registry change asked for cannot be made; [`ErrorBody::problem`] says why.
    RegistryRefused,
    /// The server's own failure.
    #[default]
    #[serde(other)]
    Internal,
}

/// Error body of every non-2xx answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub kind: ErrorKind,
    pub error: String,
    /// Why a registry change was refused ([`ErrorKind::RegistryRefused`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<crate::authority::OpProblem>,
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
    fn an_enrolment_qr_text_reads_back_as_its_address_code_key_and_fingerprint() {
        let qr = EnrolQr {
            url: "https://10.0.0.5:8787".into(),
            code: "ABCD-1234".into(),
            server_key: Some("ab".repeat(32)),
            tls_fingerprint: Some("cd".repeat(32)),
        };
        assert_eq!(EnrolQr::parse(&format!("  {}\n", qr.text())), Some(qr.clone()));
        let bare = EnrolQr { server_key: None, tls_fingerprint: None, ..qr.clone() };
        assert_eq!(EnrolQr::parse(&bare.text()), Some(bare));
        assert_eq!(EnrolQr::parse("ABCD-1234"), None);
        assert_eq!(EnrolQr::parse("openptw-enrol:no-hash"), None);
        assert_eq!(EnrolQr::parse(&format!("{}#x", qr.text())), None, "nothing after the fingerprint");
        assert_eq!(EnrolQr::parse("openptw-enrol:https://a#C#not-a-key#"), None);
        assert!(is_server_url("https://ptw.plant") && !is_server_url("ftp://x"));
    }

    #[test]
    fn only_this_machine_counts_as_loopback() {
        for url in ["http://127.0.0.1:8787", "https://localhost/", "http://[::1]:80", "http://127.9.9.9"] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in
            ["http://10.0.0.5:8787", "http://127.0.0.1.evil.example", "http://localhost.example", "ftp://127.0.0.1"]
        {
            assert!(!is_loopback_url(url), "{url}");
        }
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
