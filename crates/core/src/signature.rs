//! Ed25519 signatures: checking one, checking many in a batch, and remembering the ones that
//! verified.
//!
//! Signatures are checked by the ZIP-215 rules (`ed25519-zebra`) everywhere — on every device
//! and on the sync server, one at a time or in a batch — so a signature that verifies in one
//! place verifies in all of them, and derivation converges. Plain Ed25519 libraries do not
//! promise that: their single and batch checks disagree on crafted edge cases.
//!
//! What has verified is remembered in a [`SignatureMemo`] the caller owns (the device store
//! keeps one for its life, the server one per process): this crate holds no global state.

use ed25519_zebra::{batch, Signature, SigningKey, VerificationKey, VerificationKeyBytes};
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// Hex of the public key of `key`, as kept in the registry.
pub fn public_key_hex(key: &SigningKey) -> String {
    hex::encode(VerificationKeyBytes::from(key).as_ref())
}

/// Hex of the signature of `message` by `key`.
pub fn sign_hex(key: &SigningKey, message: &[u8]) -> String {
    hex::encode(key.sign(message).to_bytes())
}

/// The 64 bytes of a hex signature, if that is what it is.
pub(crate) fn signature(sig_hex: &str) -> Option<Signature> {
    let bytes = <[u8; 64]>::try_from(hex::decode(sig_hex).ok()?.as_slice()).ok()?;
    Some(Signature::from_bytes(&bytes))
}

/// The 32 bytes of a hex public key, if that is what it is.
pub(crate) fn key_bytes(public_key_hex: &str) -> Option<VerificationKeyBytes> {
    let bytes = <[u8; 32]>::try_from(hex::decode(public_key_hex).ok()?.as_slice()).ok()?;
    Some(VerificationKeyBytes::from(bytes))
}

/// Whether `public_key_hex` is the hex of a usable Ed25519 public key (a point on the curve).
pub fn is_public_key(public_key_hex: &str) -> bool {
    key_bytes(public_key_hex).is_some_and(|k| VerificationKey::try_from(k).is_ok())
}

/// Whether `sig_hex` is a signature of `message` by `public_key_hex`. A check done before with
/// the same memo is answered from it.
pub fn verify(public_key_hex: &str, sig_hex: &str, message: &[u8], memo: Option<&SignatureMemo>) -> bool {
    let remembered = memo.map(|m| (m, SignatureMemo::key(public_key_hex, sig_hex, message)));
    if let Some((m, k)) = &remembered {
        if m.contains(k) {
            return true;
        }
    }
    let key = match memo {
        Some(m) => m.verification_key(public_key_hex),
        None => key_bytes(public_key_hex).and_then(|k| VerificationKey::try_from(k).ok()),
    };
    let (Some(key), Some(sig)) = (key, signature(sig_hex)) else { return false };
    if key.verify(&sig, message).is_err() {
        return false;
    }
    if let Some((m, k)) = remembered {
        m.insert_all([k]);
    }
    true
}

/// One signature to check in a batch: the signer's key (hex), the signature (hex), the message.
pub struct BatchItem<'a> {
    pub public_key: &'a str,
    pub sig: &'a str,
    pub message: &'a [u8],
}

/// Check many signatures in one ZIP-215 batch and remember those that verify in `memo`, so the
/// single checks that follow (derivation) find them done. A batch costs a fraction of checking
/// its signatures one by one — most so when few devices signed many events, as on a tablet
/// pulling a whole plant. When the batch fails, each signature in it is checked alone, so one
/// forged signature never hides the good ones. Items already remembered, or whose key or
/// signature is not even well formed, are skipped (the single check refuses the latter).
///
/// `rng` supplies the batch's random coefficients (a cryptographic generator such as
/// `rand_core::OsRng`).
pub fn verify_batch<'a>(
    items: impl IntoIterator<Item = BatchItem<'a>>,
    memo: &SignatureMemo,
    rng: impl RngCore + CryptoRng,
) {
    let mut queue = batch::Verifier::new();
    let mut queued: Vec<([u8; 32], batch::Item)> = Vec::new();
    for item in items {
        let k = SignatureMemo::key(item.public_key, item.sig, item.message);
        if memo.contains(&k) {
            continue;
        }
        let (Some(key), Some(sig)) = (key_bytes(item.public_key), signature(item.sig)) else { continue };
        let entry = batch::Item::from((key, sig, item.message));
        queue.queue(entry.clone());
        queued.push((k, entry));
    }
    if queued.is_empty() {
        return;
    }
    if queue.verify(rng).is_ok() {
        memo.insert_all(queued.into_iter().map(|(k, _)| k));
    } else {
        memo.insert_all(queued.into_iter().filter(|(_, item)| item.clone().verify_single().is_ok()).map(|(k, _)| k));
    }
}

/// What one device or server already knows about signatures: the public keys it has decoded
/// (decoding an Ed25519 point costs a square root) and the signatures it has seen verify. Only
/// successes are remembered, under the SHA-256 of (key, signature, message) — the exact inputs
/// of the check — so a memo can never make a different signature, message or key pass. Both
/// are bounded and simply start over when full. Shared between threads.
#[derive(Default)]
pub struct SignatureMemo {
    signatures: Mutex<HashSet<[u8; 32]>>,
    keys: Mutex<HashMap<String, VerificationKey>>,
}

impl std::fmt::Debug for SignatureMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignatureMemo").finish_non_exhaustive()
    }
}

const MAX_SIGNATURES: usize = 250_000;
const MAX_KEYS: usize = 4096;

impl SignatureMemo {
    pub fn new() -> SignatureMemo {
        SignatureMemo::default()
    }

    fn key(public_key_hex: &str, sig_hex: &str, message: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        for part in [public_key_hex.as_bytes(), sig_hex.as_bytes(), message] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
        h.finalize().into()
    }

    /// Whether the check of this exact key, signature and message has succeeded before.
    pub fn remembers(&self, public_key_hex: &str, sig_hex: &str, message: &[u8]) -> bool {
        self.contains(&SignatureMemo::key(public_key_hex, sig_hex, message))
    }

    fn contains(&self, k: &[u8; 32]) -> bool {
        self.signatures.lock().map(|set| set.contains(k)).unwrap_or(false)
    }

    fn insert_all(&self, ks: impl IntoIterator<Item = [u8; 32]>) {
        if let Ok(mut set) = self.signatures.lock() {
            for k in ks {
                if set.len() >= MAX_SIGNATURES {
                    set.clear();
                }
                set.insert(k);
            }
        }
    }

    fn verification_key(&self, hex_key: &str) -> Option<VerificationKey> {
        if let Some(key) = self.keys.lock().ok().and_then(|keys| keys.get(hex_key).copied()) {
            return Some(key);
        }
        let key = VerificationKey::try_from(key_bytes(hex_key)?).ok()?;
        if let Ok(mut keys) = self.keys.lock() {
            if keys.len() >= MAX_KEYS {
                keys.clear();
            }
            keys.insert(hex_key.to_owned(), key);
        }
        Some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_good_signature_never_lets_an_altered_message_signature_or_key_pass() {
        let key = SigningKey::from_bytes(&[5; 32]);
        let other = SigningKey::from_bytes(&[6; 32]);
        let memo = SignatureMemo::new();
        let public = public_key_hex(&key);
        let sig = sign_hex(&key, b"start");
        for _ in 0..2 {
            // The second round is answered from memory.
            assert!(verify(&public, &sig, b"start", Some(&memo)));
        }
        assert!(memo.remembers(&public, &sig, b"start"));
        assert!(!verify(&public, &sig, b"cancel", Some(&memo)));
        assert!(!verify(&public, &sign_hex(&other, b"start"), b"start", Some(&memo)));
        assert!(!verify(&public_key_hex(&other), &sig, b"start", Some(&memo)));
        assert!(!verify("not hex", &sig, b"start", Some(&memo)));
        assert!(!verify(&public, "00", b"start", None));
    }

    #[test]
    fn a_batch_remembers_exactly_the_signatures_that_verify_alone() {
        let (a, b) = (SigningKey::from_bytes(&[21; 32]), SigningKey::from_bytes(&[22; 32]));
        let (pa, pb) = (public_key_hex(&a), public_key_hex(&b));
        let messages: Vec<String> = (0..40).map(|n| format!("event {n}")).collect();
        let mut items: Vec<(String, String, Vec<u8>)> = messages
            .iter()
            .enumerate()
            .map(|(n, m)| {
                let k = if n % 3 == 0 { &b } else { &a };
                (public_key_hex(k), sign_hex(k, m.as_bytes()), m.clone().into_bytes())
            })
            .collect();
        // Signed by a, claimed to be b's; and a good signature over an altered message.
        let forged = (pb.clone(), sign_hex(&a, b"forged"), b"forged".to_vec());
        let altered = (pa.clone(), sign_hex(&a, b"original"), b"altered".to_vec());
        items.insert(7, forged.clone());
        items.insert(20, altered.clone());
        let memo = SignatureMemo::new();
        verify_batch(
            items.iter().map(|(k, s, m)| BatchItem { public_key: k, sig: s, message: m }),
            &memo,
            rand_core::OsRng,
        );
        for (k, s, m) in &items {
            let good =
                (k, s, m) != (&forged.0, &forged.1, &forged.2) && (k, s, m) != (&altered.0, &altered.1, &altered.2);
            assert_eq!(memo.remembers(k, s, m), good, "{}", String::from_utf8_lossy(m));
        }
    }

    #[test]
    fn a_batch_of_good_signatures_is_remembered_whole() {
        let a = SigningKey::from_bytes(&[31; 32]);
        let pa = public_key_hex(&a);
        let items: Vec<(String, Vec<u8>)> =
            (0..64).map(|n| format!("m{n}").into_bytes()).map(|m| (sign_hex(&a, &m), m)).collect();
        let memo = SignatureMemo::new();
        verify_batch(
            items.iter().map(|(s, m)| BatchItem { public_key: &pa, sig: s, message: m }),
            &memo,
            rand_core::OsRng,
        );
        assert!(items.iter().all(|(s, m)| memo.remembers(&pa, s, m)));
    }
}
