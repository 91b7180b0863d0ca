//! SMS through a gateway in the shape of Aliyun's SendSms (dysmsapi, RPC style, signature
//! version 1.0): a GET whose query carries `Action=SendSms`, `PhoneNumbers`, `SignName`,
//! `TemplateCode`, `TemplateParam` (a JSON object) and the common parameters, signed with
//! HMAC-SHA1 over `GET&%2F&` + the percent-encoded, sorted query, keyed by the secret and "&".
//! Sending an SMS is not idempotent: an answer that never came is [`Outcome::Uncertain`], never
//! retried blindly.

use crate::{BuildError, HttpRequest, HttpResponse, Method, Outcome};
use base64::Engine;
use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha1::Sha1;
use std::collections::BTreeMap;

/// RFC 3986 unreserved characters stay; everything else is encoded (Aliyun's POP encoding).
const POP: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Aliyun's answer when a number was sent too many messages ("business limit control").
pub const RATE_LIMITED: &str = "isv.BUSINESS_LIMIT_CONTROL";

#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Gateway {
    /// `https://dysmsapi.aliyuncs.com/` (or a test receiver).
    pub endpoint: String,
    pub access_key_id: String,
    pub access_key_secret: String,
    pub sign_name: String,
    pub template_code: String,
    #[serde(default = "default_region")]
    pub region: String,
}

fn default_region() -> String {
    "cn-hangzhou".into()
}

/// One SMS: to these numbers, the template's parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sms {
    pub phone_numbers: Vec<String>,
    pub params: BTreeMap<String, String>,
}

pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, POP).to_string()
}

/// The signature of a GET with `query` (without `Signature`), by `secret`.
pub fn signature(secret: &str, query: &BTreeMap<String, String>) -> String {
    let canonical: Vec<String> = query.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
    let to_sign = format!("GET&{}&{}", encode("/"), encode(&canonical.join("&")));
    let mut mac = Hmac::<Sha1>::new_from_slice(format!("{secret}&").as_bytes()).expect("HMAC takes any key");
    mac.update(to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

impl Gateway {
    /// The request sending `sms` at `now` with `nonce` (unique per request: the gateway refuses
    /// a nonce it has seen, which is what keeps a replay from sending twice).
    pub fn request(
        &self,
        sms: &Sms,
        now: chrono::DateTime<chrono::Utc>,
        nonce: &str,
    ) -> Result<HttpRequest, BuildError> {
        if sms.phone_numbers.is_empty() {
            return Err(BuildError::Empty);
        }
        if [&self.endpoint, &self.access_key_id, &self.access_key_secret, &self.sign_name, &self.template_code]
            .iter()
            .any(|v| v.is_empty())
        {
            return Err(BuildError::Config(
                "an SMS gateway needs its endpoint, access key, sign name and template".into(),
            ));
        }
        let params = serde_json::to_string(&sms.params).map_err(|e| BuildError::Config(e.to_string()))?;
        let mut query: BTreeMap<String, String> = [
            ("AccessKeyId", self.access_key_id.clone()),
            ("Action", "SendSms".into()),
            ("Format", "JSON".into()),
            ("PhoneNumbers", sms.phone_numbers.join(",")),
            ("RegionId", self.region.clone()),
            ("SignName", self.sign_name.clone()),
            ("SignatureMethod", "HMAC-SHA1".into()),
            ("SignatureNonce", nonce.to_owned()),
            ("SignatureVersion", "1.0".into()),
            ("TemplateCode", self.template_code.clone()),
            ("TemplateParam", params),
            ("Timestamp", now.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            ("Version", "2017-05-25".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let sig = signature(&self.access_key_secret, &query);
        query.insert("Signature".into(), sig);
        let q: Vec<String> = query.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
        let base = if self.endpoint.ends_with('/') { self.endpoint.clone() } else { format!("{}/", self.endpoint) };
        Ok(HttpRequest { method: Method::Get, url: format!("{base}?{}", q.join("&")), headers: vec![], body: vec![] })
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    code: String,
    #[serde(default)]
    message: String,
}

/// What the gateway's answer means. A gateway error with no readable answer may have sent the
/// message: uncertain, not retried.
pub fn outcome(response: &HttpResponse) -> Outcome {
    match serde_json::from_slice::<Answer>(&response.body) {
        Ok(a) if a.code == "OK" => Outcome::Sent,
        Ok(a) if a.code == RATE_LIMITED => Outcome::RateLimited { reason: format!("{}: {}", a.code, a.message) },
        Ok(a) if a.code == "ServiceUnavailable" || a.code == "Throttling" => {
            // Refused before sending: safe to try again.
            Outcome::Retry { reason: format!("{}: {}", a.code, a.message) }
        }
        Ok(a) => Outcome::Refused { reason: format!("{}: {}", a.code, a.message) },
        Err(_) => Outcome::Uncertain { reason: format!("HTTP {} with no readable answer", response.status) },
    }
}
