//! A generic webhook: `POST` of the alert as JSON, signed so the receiver can tell it came from
//! this plant's server and was not replayed: `X-Openptw-Timestamp: <ms>` and
//! `X-Openptw-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`. A 2xx is
//! sent, 429 waits for the window, 5xx and no answer retry, any other 4xx is refused.

use crate::{BuildError, HttpRequest, HttpResponse, Method, Outcome};
use hmac::{Hmac, Mac};
use sha2::Sha256;

#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Hook {
    pub url: String,
    pub secret: String,
}

/// `sha256=<hex>` of `timestamp_ms` and `body` with `secret`.
pub fn signature(secret: &str, timestamp_ms: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("{timestamp_ms}.").as_bytes());
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl Hook {
    pub fn request(&self, payload: &serde_json::Value, timestamp_ms: i64) -> Result<HttpRequest, BuildError> {
        if self.url.is_empty() || self.secret.is_empty() {
            return Err(BuildError::Config("a webhook needs its URL and secret".into()));
        }
        let body = payload.to_string().into_bytes();
        Ok(HttpRequest {
            method: Method::Post,
            url: self.url.clone(),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("X-Openptw-Timestamp".into(), timestamp_ms.to_string()),
                ("X-Openptw-Signature".into(), signature(&self.secret, timestamp_ms, &body)),
            ],
            body,
        })
    }
}

pub fn outcome(response: &HttpResponse) -> Outcome {
    match response.status {
        200..=299 => Outcome::Sent,
        429 => Outcome::RateLimited { reason: "HTTP 429".into() },
        500..=599 => Outcome::Retry { reason: format!("HTTP {}", response.status) },
        s => Outcome::Refused { reason: format!("HTTP {s}") },
    }
}
