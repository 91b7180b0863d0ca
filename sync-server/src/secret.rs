//! Secrets: the device bearer tokens and one-time enrolment codes the server hands out — kept
//! only as SHA-256 hashes, so a copy of the database enrols nobody and impersonates no device —
//! and the server's own registry key, kept in a file of its own (not in the database), readable
//! only by the server's user.

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

/// A fresh device id: a UUID v7 for `now_ms` (time-ordered, random tail). The server chooses
/// it, never the device.
pub fn new_device_id(now_ms: i64) -> uuid::Uuid {
    let ms = u64::try_from(now_ms.max(0)).unwrap_or(0);
    let ts = uuid::Timestamp::from_unix(uuid::NoContext, ms / 1000, ((ms % 1000) * 1_000_000) as u32);
    uuid::Uuid::new_v7(ts)
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

/// The server's registry key from `path` (64 hex digits of its Ed25519 seed), made there on
/// first use.
pub fn load_or_create_key(path: &std::path::Path) -> std::io::Result<ed25519_zebra::SigningKey> {
    use std::io::{Error, ErrorKind};
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let bytes = hex::decode(text.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
                .ok_or_else(|| Error::new(ErrorKind::InvalidData, format!("{} is not a server key", path.display())))?;
            Ok(ed25519_zebra::SigningKey::from_bytes(&bytes))
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let mut seed = [0u8; 32];
            OsRng.fill_bytes(&mut seed);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            use std::io::Write;
            let mut file = options.open(path)?;
            writeln!(file, "{}", hex::encode(seed))?;
            file.sync_all()?;
            Ok(ed25519_zebra::SigningKey::from_bytes(&seed))
        }
        Err(e) => Err(e),
    }
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
    fn the_server_key_is_made_once_and_read_back_the_same() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("keys/server-key");
        let made = load_or_create_key(&path).expect("made");
        let read = load_or_create_key(&path).expect("read");
        assert_eq!(made.to_bytes(), read.to_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o077, 0, "only the server's user reads it");
        }
        std::fs::write(&path, "nonsense").expect("spoil");
        assert!(load_or_create_key(&path).is_err());
    }

    #[test]
    fn two_codes_are_never_the_same() {
        assert_ne!(new_enrol_code(), new_enrol_code());
        assert_ne!(new_token(), new_token());
    }
}
