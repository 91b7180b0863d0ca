//! Enrolment: this device registers its public key with the one-time code IT printed, and
//! takes on the id, token and name the server gives it. Scanned from the QR code, the server's
//! registry key and TLS certificate are checked against the ones the code names and pinned; a
//! typed code trusts whichever server answers at the address, and pins what it showed.

use super::http::{parse, SyncClient};
use crate::error::{Result, StoreError};
use crate::registry::Enrolment;
use crate::Store;
use ptw_core::api::SyncFailure;
use ptw_core::sync::{EnrolQr, EnrolRequest, EnrolResponse};

impl Store {
    /// Enrol this device with the server at `url` using the one-time `code` IT printed. The
    /// server key and certificate are trusted as first shown (prefer [`Store::enrol_qr`]).
    pub fn enrol(&mut self, url: &str, code: &str) -> Result<()> {
        self.enrol_qr(&EnrolQr { url: url.into(), code: code.into(), server_key: None, tls_fingerprint: None })
    }

    /// Enrol this device from what the enrolment QR code says: the server must show the TLS
    /// certificate and registry key the code names.
    pub fn enrol_qr(&mut self, qr: &EnrolQr) -> Result<()> {
        if qr.code.trim().is_empty() || !ptw_core::sync::is_server_url(qr.url.trim()) {
            return Err(StoreError::sync(
                SyncFailure::EnrolIncomplete,
                "enrolment needs the server address and the code",
            ));
        }
        let client = SyncClient::new(&qr.url, qr.tls_fingerprint.as_deref())?;
        let request = EnrolRequest { code: qr.code.trim().to_string(), public_key: self.public_key() };
        let what = "enrolment";
        let json =
            serde_json::to_string(&request).map_err(|e| StoreError::sync(SyncFailure::BadAnswer, e.to_string()))?;
        let (_, body) = client.send(
            client
                .http
                .post(client.url("/api/devices/enrol"))
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(json),
            what,
        )?;
        let answer: EnrolResponse = parse(&body, what)?;
        if qr.server_key.as_deref().is_some_and(|k| k != answer.server_key) {
            return Err(StoreError::sync(
                SyncFailure::ServerKeyMismatch,
                "the server that answered does not hold the registry key the QR code names",
            ));
        }
        if !ptw_core::signature::is_public_key(&answer.server_key) {
            return Err(StoreError::sync(SyncFailure::BadAnswer, "the server's registry key is not an Ed25519 key"));
        }
        let tls_fingerprint = qr.tls_fingerprint.clone().or_else(|| client.seen_certificate());
        self.adopt_enrolment(&Enrolment {
            url: client.base.clone(),
            token: answer.device_token,
            device_id: answer.device_id,
            name: answer.name,
            server_key: answer.server_key,
            tls_fingerprint,
        })?;
        self.http = Some(client);
        Ok(())
    }
}
