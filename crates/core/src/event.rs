//! Events: the append-only log that *is* a permit's history.
//!
//! An [`Event`] says who did what, when (HLC), on which device, over which form content. It is
//! serialised once to canonical JSON, signed by the device's Ed25519 key and kept as a
//! [`SignedEvent`] — one immutable string in the permit document. Nothing ever edits an event;
//! a correction is a new event.

use crate::catalog::GasLimits;
use crate::hlc::Hlc;
use crate::ids::{DeviceId, EventId, PermitId, PersonId};
use crate::registry::Registry;
use crate::rules::Violation;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier};
use serde::{Deserialize, Serialize};

/// One gas test (气体分析) reading. Values are what the instrument showed; `None` = not measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GasReading {
    pub o2_pct: Option<f64>,
    pub lel_pct: Option<f64>,
    pub h2s_ppm: Option<f64>,
    pub co_ppm: Option<f64>,
    /// Instrument model and serial, as written on the paper form.
    pub instrument: String,
    /// Where on the job the sample was taken (e.g. "upper", "near the flange").
    pub point: String,
}

/// One reading outside its limit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GasExceedance {
    /// `o2_low`, `o2_high`, `lel`, `h2s`, `co`, or `<gas>_missing` when a limited gas was not measured.
    pub gas: String,
    pub value: Option<f64>,
    pub limit: f64,
}

impl GasReading {
    /// The readings outside `limits`; empty means the test passes. A gas the grade limits but
    /// the tester did not measure fails too: a blank is not a pass.
    pub fn exceedances(&self, limits: &GasLimits) -> Vec<GasExceedance> {
        let mut out = Vec::new();
        let mut check = |gas: &str, value: Option<f64>, limit: Option<f64>, high: bool| {
            let Some(limit) = limit else { return };
            match value {
                None => out.push(GasExceedance { gas: format!("{gas}_missing"), value: None, limit }),
                Some(v) if !v.is_finite() || (high && v > limit) || (!high && v < limit) => {
                    out.push(GasExceedance { gas: gas.to_string(), value: Some(v), limit })
                }
                Some(_) => {}
            }
        };
        check("o2_low", self.o2_pct, limits.o2_min_pct, false);
        check("o2_high", self.o2_pct, limits.o2_max_pct, true);
        check("lel", self.lel_pct, limits.lel_max_pct, true);
        check("h2s", self.h2s_ppm, limits.h2s_max_ppm, true);
        check("co", self.co_ppm, limits.co_max_ppm, true);
        out
    }
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// The applicant submits the form for approval.
    Submit,
    /// A signature on an approval step.
    Approve {
        step: String,
        comment: String,
    },
    /// A refusal on an approval step; the permit is rejected.
    Reject {
        step: String,
        comment: String,
    },
    GasTest {
        reading: GasReading,
    },
    /// Work starts on site (the permit becomes active).
    Start,
    Suspend {
        reason: String,
    },
    Resume,
    /// The work is finished; acceptance opens.
    Complete,
    /// A signature on an acceptance step; the last one closes the permit.
    Accept {
        step: String,
        comment: String,
    },
    Cancel {
        reason: String,
    },
    Comment {
        text: String,
    },
}

impl EventKind {
    /// A short code for the kind, used in UI keys and logs.
    pub fn code(&self) -> &'static str {
        match self {
            EventKind::Submit => "submit",
            EventKind::Approve { .. } => "approve",
            EventKind::Reject { .. } => "reject",
            EventKind::GasTest { .. } => "gas_test",
            EventKind::Start => "start",
            EventKind::Suspend { .. } => "suspend",
            EventKind::Resume => "resume",
            EventKind::Complete => "complete",
            EventKind::Accept { .. } => "accept",
            EventKind::Cancel { .. } => "cancel",
            EventKind::Comment { .. } => "comment",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: EventId,
    pub permit: PermitId,
    pub at: Hlc,
    pub device: DeviceId,
    /// The person who acted (logged in with badge + PIN on the device).
    pub actor: PersonId,
    /// SHA-256 of the form this event acts on (see [`crate::form::PermitForm::content_hash`]).
    pub content_hash: String,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// An event as stored: its canonical JSON body and the device's signature over exactly those bytes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SignedEvent {
    pub body: String,
    /// Hex of the 64-byte Ed25519 signature.
    pub sig: String,
}

impl SignedEvent {
    /// Serialise and sign `event` with the device key.
    pub fn sign(event: &Event, key: &SigningKey) -> SignedEvent {
        // An Event holds only strings, numbers, uuids and finite-or-not floats; serde_json writes
        // non-finite floats as null rather than failing, so this cannot fail.
        let body = serde_json::to_string(event).unwrap_or_default();
        let sig = key.sign(body.as_bytes());
        SignedEvent { body, sig: hex::encode(sig.to_bytes()) }
    }

    /// The stored form: one JSON string, the immutable value kept in the permit's event list.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_stored(s: &str) -> Result<SignedEvent, Violation> {
        serde_json::from_str(s).map_err(|e| Violation::Malformed { reason: e.to_string() })
    }

    /// Parse the body without checking the signature (for ordering and display).
    pub fn event(&self) -> Result<Event, Violation> {
        serde_json::from_str(&self.body).map_err(|e| Violation::Malformed { reason: e.to_string() })
    }

    /// Parse the body and check the signature against the enrolled key of the device it names.
    pub fn verify(&self, registry: &Registry) -> Result<Event, Violation> {
        let event = self.event()?;
        self.verify_event(&event, registry)?;
        Ok(event)
    }

    /// Check the signature of this event, already parsed as `event`, against the enrolled key of
    /// the device it names.
    pub fn verify_event(&self, event: &Event, registry: &Registry) -> Result<(), Violation> {
        let device = registry.device(event.device).ok_or(Violation::UnknownDevice { device: event.device })?;
        if device.revoked {
            return Err(Violation::RevokedDevice { device: event.device });
        }
        self.check_signature(&device.public_key)
    }

    /// Parse the body and check the signature against `public_key_hex` (hex of an Ed25519 public
    /// key), whoever holds the list of enrolled devices — the registry on a device, the sync
    /// server's own device table on the server.
    pub fn verify_with_key(&self, public_key_hex: &str) -> Result<Event, Violation> {
        let event = self.event()?;
        self.check_signature(public_key_hex)?;
        Ok(event)
    }

    /// The signature over the body, checked against `public_key_hex`. A signature checked once
    /// in this process is remembered (see [`verified`]), so re-deriving a permit does not pay
    /// for its whole log again.
    fn check_signature(&self, public_key_hex: &str) -> Result<(), Violation> {
        let memo = verified::key(public_key_hex, &self.sig, &self.body);
        if verified::contains(&memo) {
            return Ok(());
        }
        let key = verified::verifying_key(public_key_hex).ok_or(Violation::BadSignature)?;
        let sig = hex::decode(&self.sig)
            .ok()
            .and_then(|b| <[u8; 64]>::try_from(b.as_slice()).ok())
            .map(|b| Signature::from_bytes(&b))
            .ok_or(Violation::BadSignature)?;
        key.verify(self.body.as_bytes(), &sig).map_err(|_| Violation::BadSignature)?;
        verified::insert(memo);
        Ok(())
    }
}

/// What this process already knows about signatures: the public keys it has decoded (decoding
/// an Ed25519 point costs a square root) and the signatures it has seen verify. Only successes
/// are remembered, under the SHA-256 of (key, signature, body) — the exact inputs of the check —
/// so a memo can never make a different signature, body or key pass. Both are bounded and simply
/// start over when full.
mod verified {
    use ed25519_dalek::VerifyingKey;
    use sha2::{Digest, Sha256};
    use std::collections::{HashMap, HashSet};
    use std::sync::{LazyLock, Mutex};

    const MAX_SIGNATURES: usize = 250_000;
    const MAX_KEYS: usize = 4096;

    static SIGNATURES: LazyLock<Mutex<HashSet<[u8; 32]>>> = LazyLock::new(Default::default);
    static KEYS: LazyLock<Mutex<HashMap<String, VerifyingKey>>> = LazyLock::new(Default::default);

    pub fn key(public_key_hex: &str, sig_hex: &str, body: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        for part in [public_key_hex, sig_hex, body] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        h.finalize().into()
    }

    pub fn contains(memo: &[u8; 32]) -> bool {
        SIGNATURES.lock().map(|set| set.contains(memo)).unwrap_or(false)
    }

    pub fn insert(memo: [u8; 32]) {
        if let Ok(mut set) = SIGNATURES.lock() {
            if set.len() >= MAX_SIGNATURES {
                set.clear();
            }
            set.insert(memo);
        }
    }

    pub fn verifying_key(hex_key: &str) -> Option<VerifyingKey> {
        if let Some(key) = KEYS.lock().ok().and_then(|keys| keys.get(hex_key).copied()) {
            return Some(key);
        }
        let bytes = hex::decode(hex_key).ok()?;
        let arr = <[u8; 32]>::try_from(bytes.as_slice()).ok()?;
        let key = VerifyingKey::from_bytes(&arr).ok()?;
        if let Ok(mut keys) = KEYS.lock() {
            if keys.len() >= MAX_KEYS {
                keys.clear();
            }
            keys.insert(hex_key.to_owned(), key);
        }
        Some(key)
    }
}

/// Hex of a device's public key, as kept in the registry.
pub fn public_key_hex(key: &SigningKey) -> String {
    hex::encode(key.verifying_key().to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn signed_with(key: &SigningKey) -> SignedEvent {
        let event = Event {
            id: EventId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001)),
            permit: PermitId(Uuid::from_u128(1)),
            at: Hlc::new(1, 0),
            device: DeviceId(Uuid::from_u128(2)),
            actor: PersonId(Uuid::from_u128(3)),
            content_hash: "h".into(),
            kind: EventKind::Start,
        };
        SignedEvent::sign(&event, key)
    }

    #[test]
    fn a_remembered_good_signature_never_lets_an_altered_body_signature_or_key_pass() {
        let key = SigningKey::from_bytes(&[5; 32]);
        let other = SigningKey::from_bytes(&[6; 32]);
        let good = signed_with(&key);
        let public = public_key_hex(&key);
        for _ in 0..2 {
            // The second round is answered from memory.
            assert!(good.verify_with_key(&public).is_ok());
        }
        let altered_body = SignedEvent {
            body: good.body.replace("\"content_hash\":\"h\"", "\"content_hash\":\"x\""),
            sig: good.sig.clone(),
        };
        assert_eq!(altered_body.verify_with_key(&public).err(), Some(Violation::BadSignature));
        let other_sig = SignedEvent { body: good.body.clone(), sig: signed_with(&other).sig };
        assert_eq!(other_sig.verify_with_key(&public).err(), Some(Violation::BadSignature));
        assert_eq!(good.verify_with_key(&public_key_hex(&other)).err(), Some(Violation::BadSignature));
        assert_eq!(good.verify_with_key("not hex").err(), Some(Violation::BadSignature));
    }
}
