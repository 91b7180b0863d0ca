//! The HTTP connection to one sync server: TLS pinned to the certificate fingerprint from the
//! enrolment QR (a plant needs no certificate authority), plain HTTP only to this machine, one
//! JSON round trip at a time, every answer's error body read as its typed [`ErrorKind`] and the
//! server's clock read off every answer (R-TIME).

use crate::error::{Result, StoreError};
use ptw_core::api::SyncFailure;
use ptw_core::sync::{is_loopback_url, ErrorBody, ErrorKind, SERVER_TIME_HEADER};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long one ordinary request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one blob upload or download may take: a 16 MiB photo over weak plant Wi-Fi needs
/// far longer than an ordinary request.
pub(crate) const BLOB_TIMEOUT: Duration = Duration::from_secs(600);

/// What one request or round counted.
pub(crate) trait Traffic {
    fn count(&mut self, sent: usize, received: usize);
}

/// An HTTP connection to one sync server. Cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct SyncClient {
    pub(crate) http: reqwest::blocking::Client,
    pub(crate) base: String,
    /// The fingerprint of the certificate the server showed (recorded when none was pinned).
    seen_certificate: Arc<Mutex<Option<String>>>,
    /// The server's clock on the last answer (Unix ms), with the device's monotonic readings
    /// when the request went out and the answer came back.
    pub(crate) last_server_time: Arc<Mutex<Option<i64>>>,
}

impl SyncClient {
    /// A client for the server at `base_url`. An `https://` server must show the certificate
    /// whose SHA-256 is `pinned` (hex); with `pinned` `None` (a code typed, not scanned) the
    /// first certificate it shows is trusted and can be read back with
    /// [`SyncClient::seen_certificate`] to pin from then on. Plain `http://` only to this machine.
    pub fn new(base_url: &str, pinned: Option<&str>) -> Result<SyncClient> {
        let base = base_url.trim().trim_end_matches('/').to_string();
        let seen = Arc::new(Mutex::new(None));
        let builder = reqwest::blocking::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .no_proxy();
        if base.starts_with("http://") && !is_loopback_url(&base) {
            return Err(StoreError::sync(
                SyncFailure::InsecureAddress,
                format!("{base} is plain HTTP to another machine; use the https:// address from the QR code"),
            ));
        }
        if !base.starts_with("http://") && !base.starts_with("https://") {
            return Err(StoreError::sync(
                SyncFailure::EnrolIncomplete,
                format!("'{base}' is not an http(s):// address"),
            ));
        }
        // Always our own TLS set-up (ring, the pinned certificate), even for a loopback
        // http:// server that never uses it: reqwest would otherwise look for a default one.
        let verifier = Arc::new(PinnedCertificate::new(pinned, seen.clone()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::sync(SyncFailure::BadAnswer, format!("cannot set up TLS: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        let builder = builder.tls_backend_preconfigured(tls);
        let http = builder
            .build()
            .map_err(|e| StoreError::sync(SyncFailure::BadAnswer, format!("cannot set up HTTP: {e}")))?;
        Ok(SyncClient { http, base, seen_certificate: seen, last_server_time: Arc::new(Mutex::new(None)) })
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The fingerprint of the certificate the server showed, if it was asked over HTTPS.
    pub fn seen_certificate(&self) -> Option<String> {
        self.seen_certificate.lock().ok().and_then(|s| s.clone())
    }

    /// The server's clock on its last answer.
    pub(crate) fn server_time(&self) -> Option<i64> {
        self.last_server_time.lock().ok().and_then(|t| *t)
    }

    /// Send `request`, keep the server's clock from the answer, and read it as text. Non-2xx
    /// answers become errors that say what the server said, prefixed with `what` the device was
    /// doing.
    pub(crate) fn send(&self, request: reqwest::blocking::RequestBuilder, what: &str) -> Result<(StatusCode, String)> {
        let (status, body) = self.send_raw(request, what)?;
        if status.is_success() {
            Ok((status, body))
        } else {
            Err(server_said(status, &body, what))
        }
    }

    /// [`SyncClient::send`], with an error answer returned as it came, for the caller to read.
    pub(crate) fn send_raw(
        &self,
        request: reqwest::blocking::RequestBuilder,
        what: &str,
    ) -> Result<(StatusCode, String)> {
        let resp = request.send().map_err(|e| net(what, &e))?;
        self.note_server_time(resp.headers());
        let status = resp.status();
        let body = resp.text().map_err(|e| {
            StoreError::sync(SyncFailure::Unreachable, format!("{what}: reading the answer failed: {e}"))
        })?;
        Ok((status, body))
    }

    pub(crate) fn note_server_time(&self, headers: &reqwest::header::HeaderMap) {
        let time = headers.get(SERVER_TIME_HEADER).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<i64>().ok());
        if let (Some(t), Ok(mut last)) = (time, self.last_server_time.lock()) {
            *last = Some(t);
        }
    }

    /// One JSON round trip: `POST path` with `body`, or `GET path?query` when `body` is `None`,
    /// counted in `traffic` (round trips, bytes both ways).
    pub(crate) fn round_trip<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        path: &str,
        query: &[(&str, String)],
        body: Option<&impl serde::Serialize>,
        what: &str,
        traffic: &mut impl Traffic,
    ) -> Result<T> {
        let (request, sent) = match body {
            Some(body) => {
                let json = serde_json::to_string(body)
                    .map_err(|e| StoreError::sync(SyncFailure::BadAnswer, format!("{what}: {e}")))?;
                let sent = json.len();
                (
                    self.http.post(self.url(path)).header(reqwest::header::CONTENT_TYPE, "application/json").body(json),
                    sent,
                )
            }
            None => (self.http.get(self.url(path)), 0),
        };
        let request = if token.is_empty() { request } else { request.bearer_auth(token) };
        let (_, text) = self.send(request.query(query), what)?;
        traffic.count(sent, text.len());
        parse(&text, what)
    }
}

pub(crate) fn parse<T: serde::de::DeserializeOwned>(body: &str, what: &str) -> Result<T> {
    serde_json::from_str(body).map_err(|e| {
        StoreError::sync(SyncFailure::BadAnswer, format!("{what}: unexpected answer from the server: {e}"))
    })
}

fn net(what: &str, e: &reqwest::Error) -> StoreError {
    // A certificate that is not the pinned one shows up as a connection error whose source is
    // our verifier's; anything else is "cannot be reached".
    let mismatch = std::iter::successors(Some(e as &dyn std::error::Error), |e| e.source())
        .any(|e| e.to_string().contains(CERTIFICATE_MISMATCH));
    let failure = if mismatch { SyncFailure::CertificateMismatch } else { SyncFailure::Unreachable };
    StoreError::sync(failure, format!("{what}: the sync server cannot be reached: {e}"))
}

/// The typed failure and the words of an error answer.
pub(crate) fn server_said(status: StatusCode, body: &str, what: &str) -> StoreError {
    let parsed = serde_json::from_str::<ErrorBody>(body).ok();
    let words = parsed.as_ref().map_or_else(|| body.chars().take(200).collect(), |b| b.error.clone());
    let failure = match parsed.map(|b| b.kind) {
        Some(ErrorKind::NotEnrolled) => SyncFailure::NotEnrolled,
        Some(ErrorKind::DeviceRevoked) => SyncFailure::DeviceRevoked,
        Some(ErrorKind::EnrolCodeUnknown) => SyncFailure::EnrolCodeUnknown,
        Some(ErrorKind::EnrolCodeUsed) => SyncFailure::EnrolCodeUsed,
        Some(ErrorKind::EnrolCodeExpired) => SyncFailure::EnrolCodeExpired,
        Some(ErrorKind::RateLimited) => SyncFailure::RateLimited,
        _ if status.is_server_error() => SyncFailure::ServerError { status: status.as_u16() },
        Some(_) => SyncFailure::Refused { status: status.as_u16() },
        None => SyncFailure::BadAnswer,
    };
    StoreError::sync(failure, format!("{what}: the server answered {status}: {words}"))
}

/// The words our certificate check fails with, recognised in reqwest's error chain.
const CERTIFICATE_MISMATCH: &str = "the server's certificate is not the one pinned at enrolment";

/// Hex SHA-256 of a certificate's DER bytes: how a plant's self-signed certificate is pinned.
pub fn certificate_fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// A TLS certificate check that trusts exactly one certificate, by fingerprint — or, with none
/// pinned yet, the first one shown (recorded for pinning). The handshake signatures are still
/// checked, so only the holder of that certificate's key can answer.
#[derive(Debug)]
struct PinnedCertificate {
    pinned: Option<String>,
    seen: Arc<Mutex<Option<String>>>,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl PinnedCertificate {
    fn new(pinned: Option<&str>, seen: Arc<Mutex<Option<String>>>) -> PinnedCertificate {
        PinnedCertificate {
            pinned: pinned.map(str::to_ascii_lowercase),
            seen,
            algorithms: rustls::crypto::ring::default_provider().signature_verification_algorithms,
        }
    }
}

impl rustls::client::danger::ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        let fingerprint = certificate_fingerprint(end_entity.as_ref());
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(fingerprint.clone());
        }
        match &self.pinned {
            Some(pinned) if *pinned != fingerprint => Err(rustls::Error::General(CERTIFICATE_MISMATCH.into())),
            _ => Ok(rustls::client::danger::ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
