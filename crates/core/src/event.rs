//! Events: the append-only log that *is* a permit's history.
//!
//! An [`Event`] says who did what, when (HLC), on which device, over which form content. It is
//! serialised once to canonical JSON, signed by the device's Ed25519 key and kept as a
//! [`SignedEvent`] — one immutable string in the permit document. Nothing ever edits an event;
//! a correction is a new event.
//!
//! Signatures are checked by the ZIP-215 rules (`ed25519-zebra`) everywhere — on every device
//! and on the sync server, one at a time or in a batch — so a signature that verifies in one
//! place verifies in all of them, and derivation converges. Plain Ed25519 libraries do not
//! promise that: their single and batch checks disagree on crafted edge cases.

use crate::catalog::GasLimits;
use crate::derive::ReadEvent;
use crate::hlc::Hlc;
use crate::ids::{DeviceId, EventId, PermitId, PersonId};
use crate::registry::Registry;
use crate::rules::Violation;
use ed25519_zebra::{batch, Signature, SigningKey, VerificationKeyBytes};
use rand_core::{CryptoRng, RngCore};
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
        let key = verified::verification_key(public_key_hex).ok_or(Violation::BadSignature)?;
        let sig = signature(&self.sig).ok_or(Violation::BadSignature)?;
        key.verify(&sig, self.body.as_bytes()).map_err(|_| Violation::BadSignature)?;
        verified::insert(memo);
        Ok(())
    }
}

/// Check the signatures of many events (read with [`read_events`]) in one ZIP-215 batch
/// against the device keys in `registry`, and remember those that verify, so that deriving
/// their permits afterwards finds each check already done. A batch costs a fraction of checking
/// its signatures one by one — most so when few devices signed many events, as on a tablet
/// pulling a whole plant. When the batch fails, each signature in it is checked alone, so one
/// forged event never hides the good ones; events that do not parse, name an unknown or revoked
/// device, or are already remembered are left to derivation.
///
/// `rng` supplies the batch's random coefficients (a cryptographic generator such as
/// `rand_core::OsRng`).
///
/// [`read_events`]: crate::derive::read_events
pub fn verify_batch<'a, 'b: 'a>(
    events: impl IntoIterator<Item = &'a ReadEvent<'b>>,
    registry: &Registry,
    rng: impl RngCore + CryptoRng,
) {
    let mut queue = batch::Verifier::new();
    let mut items: Vec<([u8; 32], batch::Item)> = Vec::new();
    for read in events {
        let Ok((signed, event)) = &read.parsed else { continue };
        let Some(device) = registry.device(event.device).filter(|d| !d.revoked) else { continue };
        let memo = verified::key(&device.public_key, &signed.sig, &signed.body);
        if verified::contains(&memo) {
            continue;
        }
        let (Some(key), Some(sig)) = (key_bytes(&device.public_key), signature(&signed.sig)) else { continue };
        let item = batch::Item::from((key, sig, signed.body.as_bytes()));
        queue.queue(item.clone());
        items.push((memo, item));
    }
    if items.is_empty() {
        return;
    }
    if queue.verify(rng).is_ok() {
        verified::insert_all(items.into_iter().map(|(memo, _)| memo));
    } else {
        verified::insert_all(
            items.into_iter().filter(|(_, item)| item.clone().verify_single().is_ok()).map(|(m, _)| m),
        );
    }
}

/// The 64 bytes of a hex signature, if that is what it is.
fn signature(sig_hex: &str) -> Option<Signature> {
    let bytes = <[u8; 64]>::try_from(hex::decode(sig_hex).ok()?.as_slice()).ok()?;
    Some(Signature::from_bytes(&bytes))
}

/// The 32 bytes of a hex public key, if that is what it is.
fn key_bytes(public_key_hex: &str) -> Option<VerificationKeyBytes> {
    let bytes = <[u8; 32]>::try_from(hex::decode(public_key_hex).ok()?.as_slice()).ok()?;
    Some(VerificationKeyBytes::from(bytes))
}

/// What this process already knows about signatures: the public keys it has decoded (decoding
/// an Ed25519 point costs a square root) and the signatures it has seen verify. Only successes
/// are remembered, under the SHA-256 of (key, signature, body) — the exact inputs of the check —
/// so a memo can never make a different signature, body or key pass. Both are bounded and simply
/// start over when full.
mod verified {
    use ed25519_zebra::VerificationKey;
    use sha2::{Digest, Sha256};
    use std::collections::{HashMap, HashSet};
    use std::sync::{LazyLock, Mutex};

    const MAX_SIGNATURES: usize = 250_000;
    const MAX_KEYS: usize = 4096;

    static SIGNATURES: LazyLock<Mutex<HashSet<[u8; 32]>>> = LazyLock::new(Default::default);
    static KEYS: LazyLock<Mutex<HashMap<String, VerificationKey>>> = LazyLock::new(Default::default);

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
        insert_all([memo]);
    }

    pub fn insert_all(memos: impl IntoIterator<Item = [u8; 32]>) {
        if let Ok(mut set) = SIGNATURES.lock() {
            for memo in memos {
                if set.len() >= MAX_SIGNATURES {
                    set.clear();
                }
                set.insert(memo);
            }
        }
    }

    pub fn verification_key(hex_key: &str) -> Option<VerificationKey> {
        if let Some(key) = KEYS.lock().ok().and_then(|keys| keys.get(hex_key).copied()) {
            return Some(key);
        }
        let key = VerificationKey::try_from(super::key_bytes(hex_key)?).ok()?;
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
    hex::encode(VerificationKeyBytes::from(key).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn signed_with(key: &SigningKey) -> SignedEvent {
        signed_by(key, 2, 1)
    }

    /// Event number `n` signed by `key` as device `device`.
    fn signed_by(key: &SigningKey, device: u128, n: u128) -> SignedEvent {
        let event = Event {
            id: EventId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + n)),
            permit: PermitId(Uuid::from_u128(1)),
            at: Hlc::new(n as i64, 0),
            device: DeviceId(Uuid::from_u128(device)),
            actor: PersonId(Uuid::from_u128(3)),
            content_hash: "h".into(),
            kind: EventKind::Start,
        };
        SignedEvent::sign(&event, key)
    }

    fn registry(devices: &[(u128, &SigningKey, bool)]) -> Registry {
        Registry {
            catalog: crate::catalog::Catalog::gb30871().expect("the built-in catalog loads"),
            people: vec![],
            locations: vec![],
            devices: devices
                .iter()
                .map(|(id, key, revoked)| crate::registry::Device {
                    id: DeviceId(Uuid::from_u128(*id)),
                    name: format!("T-{id}"),
                    public_key: public_key_hex(key),
                    revoked: *revoked,
                })
                .collect(),
        }
    }

    fn remembered(signed: &SignedEvent, key: &SigningKey) -> bool {
        verified::contains(&verified::key(&public_key_hex(key), &signed.sig, &signed.body))
    }

    #[test]
    fn a_batch_remembers_exactly_the_signatures_that_verify_alone() {
        // Keys of their own, so no other test has put these signatures in the memo.
        let (a, b, c) =
            (SigningKey::from_bytes(&[21; 32]), SigningKey::from_bytes(&[22; 32]), SigningKey::from_bytes(&[23; 32]));
        let registry = registry(&[(10, &a, false), (11, &b, false), (12, &c, true)]);
        let good: Vec<(SignedEvent, &SigningKey)> =
            (0..40).map(|n| if n % 3 == 0 { (signed_by(&b, 11, n), &b) } else { (signed_by(&a, 10, n), &a) }).collect();
        // Signed by a, claiming to come from b; and an a-event whose body was altered.
        let forged = signed_by(&a, 11, 100);
        let mut altered = signed_by(&a, 10, 101);
        altered.body = altered.body.replace("\"content_hash\":\"h\"", "\"content_hash\":\"x\"");
        // Valid signature, but its device is revoked: left to derivation, not remembered.
        let revoked = signed_by(&c, 12, 102);
        let mut stored: Vec<String> = good.iter().map(|(s, _)| s.to_stored()).collect();
        stored.insert(7, forged.to_stored());
        stored.insert(20, altered.to_stored());
        stored.push(revoked.to_stored());
        stored.push("not an event".into());

        verify_batch(&crate::derive::read_events(&stored), &registry, rand_core::OsRng);

        for (signed, key) in &good {
            assert!(remembered(signed, key), "a good signature in a failing batch is remembered");
            assert_eq!(signed.verify(&registry).err(), None);
        }
        assert!(!remembered(&forged, &b));
        assert!(!remembered(&altered, &a));
        assert!(!remembered(&revoked, &c));
        assert_eq!(forged.verify(&registry).err(), Some(Violation::BadSignature));
        assert_eq!(altered.verify(&registry).err(), Some(Violation::BadSignature));
        assert_eq!(
            revoked.verify(&registry).err(),
            Some(Violation::RevokedDevice { device: DeviceId(Uuid::from_u128(12)) })
        );
    }

    #[test]
    fn a_batch_of_good_signatures_is_remembered_whole() {
        let a = SigningKey::from_bytes(&[31; 32]);
        let registry = registry(&[(30, &a, false)]);
        let events: Vec<SignedEvent> = (0..64).map(|n| signed_by(&a, 30, n)).collect();
        assert!(events.iter().all(|e| !remembered(e, &a)));
        let stored: Vec<String> = events.iter().map(SignedEvent::to_stored).collect();
        verify_batch(&crate::derive::read_events(&stored), &registry, rand_core::OsRng);
        assert!(events.iter().all(|e| remembered(e, &a)));
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
