//! Secrets the server hands out — device bearer tokens and one-time enrolment codes — and how
//! it keeps them: only as SHA-256 hashes, so a copy of the database enrols nobody and
//! impersonates no device.

use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

/// How long a printed enrolment code stays valid.
pub const ENROL_CODE_LIFETIME_MS: i64 = 24 * 60 * 60 * 1000;

/// Crockford's base32: no I, L, O or U, so a code read aloud or typed from paper survives.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A fresh device bearer token (256 random bits, hex).
pub fn new_token() -> String {
    random_hex(32)
}

/// A fresh one-time enrolment code: 4 groups of 4 base32 characters (80 random bits),
/// e.g. `7KQ2-M9XD-4TRB-0HZW`.
pub fn new_enrol_code() -> String {
    let mut buf = [0u8; 16];
    OsRng.fill_bytes(&mut buf);
    let chars: Vec<char> = buf.iter().map(|b| CODE_ALPHABET[usize::from(b & 31)] as char).collect();
    chars.chunks(4).map(|g| g.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

/// The canonical form of a typed code: upper case, no dashes or spaces, and the letters people
/// confuse with digits read as those digits (Crockford's rule). Hash this, never the raw input.
pub fn normalise_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'I' | 'L' => '1',
            'O' => '0',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_typed_in_lower_case_without_dashes_is_the_same_code() {
        let code = new_enrol_code();
        assert_eq!(code.len(), 19);
        let typed = code.replace('-', " ").to_lowercase();
        assert_eq!(normalise_code(&typed), normalise_code(&code));
        assert_eq!(normalise_code("oi-l0"), "0110");
    }

    #[test]
    fn two_codes_are_never_the_same() {
        assert_ne!(new_enrol_code(), new_enrol_code());
        assert_ne!(new_token(), new_token());
    }
}
