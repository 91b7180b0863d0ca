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
//! Every request but enrolment carries `Authorization: Bearer <device token>`.

use serde::{Deserialize, Serialize};

/// Bumped when a wire type changes incompatibly.
pub const PROTOCOL_VERSION: u32 = 1;

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
    fn change_bytes_travel_as_base64_and_come_back_identical() {
        let c =
            WireChange { doc_id: "d".into(), kind: "permit".into(), hash: "ab".into(), bytes: vec![0, 1, 254, 255] };
        let json = serde_json::to_string(&c).expect("serialise");
        assert!(json.contains("\"AAH+/w==\""), "{json}");
        assert_eq!(serde_json::from_str::<WireChange>(&json).expect("parse"), c);
        assert!(serde_json::from_str::<WireChange>(&json.replace("AAH+/w==", "***")).is_err());
    }
}
