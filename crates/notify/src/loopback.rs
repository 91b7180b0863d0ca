//! For tests (feature `loopback`): HTTP receivers on loopback — a small HTTP/1.1 server over
//! std's TcpListener that records every request and its answer and answers what its handler
//! says: the stand-ins for DingTalk, WeCom, the SMS gateway and a webhook, each checking the
//! wire format in the test that starts it.

use base64::Engine;
use hmac::{Hmac, Mac};
use percent_encoding::percent_decode_str;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// The query, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The status answered (`None`: the connection was closed with no answer).
    pub answered: Option<u16>,
    /// The body answered.
    pub answer: Option<String>,
}

impl Received {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// Whether the receiver took it: a 2xx answer that is empty or says so in the service's
    /// words (DingTalk's and WeCom's errcode 0, Aliyun's Code "OK").
    pub fn accepted(&self) -> bool {
        if !self.answered.is_some_and(|s| (200..300).contains(&s)) {
            return false;
        }
        let Some(answer) = self.answer.as_deref().filter(|a| !a.trim().is_empty()) else { return true };
        let Ok(answer) = serde_json::from_str::<Value>(answer) else { return false };
        answer.get("errcode").is_some_and(|c| c == 0) || answer.get("Code").is_some_and(|c| c == "OK")
    }

    pub fn params(&self) -> BTreeMap<String, String> {
        self.query.iter().cloned().collect()
    }
}

/// What the handler answers: a status and a JSON body, or `None` to close the connection with
/// no answer at all (the request was read: it may have been delivered).
pub type Answer = Option<(u16, String)>;

pub struct Receiver {
    pub base: String,
    pub got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub fn requests(&self) -> Vec<Received> {
        self.got.lock().map(|g| g.clone()).unwrap_or_default()
    }
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Starts a receiver on 127.0.0.1; `handler` sees each request and the ones before it.
pub fn start(handler: impl Fn(&Received, &[Received]) -> Answer + Send + 'static) -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a test receiver binds a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("a bound listener has an address"));
    let got = Arc::new(Mutex::new(Vec::<Received>::new()));
    let seen = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Ok(clone) = stream.try_clone() else { continue };
            let mut reader = BufReader::new(clone);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or_default().to_owned();
            let target = parts.next().unwrap_or_default().to_owned();
            let mut headers = Vec::new();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h == "\r\n" || h.is_empty() {
                    break;
                }
                if let Some((k, v)) = h.trim_end().split_once(':') {
                    headers.push((k.trim().to_owned(), v.trim().to_owned()));
                }
            }
            let length = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.parse::<usize>().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let (path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
            let query = query
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (decode(k), decode(v))
                })
                .collect();
            let mut request =
                Received { method, path: path.to_owned(), query, headers, body, answered: None, answer: None };
            let answer = {
                let Ok(mut all) = seen.lock() else { return };
                let answer = handler(&request, &all);
                request.answered = answer.as_ref().map(|(status, _)| *status);
                request.answer = answer.as_ref().map(|(_, body)| body.clone());
                all.push(request);
                answer
            };
            if let Some((status, body)) = answer {
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json;charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
            // Dropping the stream closes it: with no answer written, the client gets none.
        }
    });
    Receiver { base, got }
}

fn answer(errcode: i64, errmsg: &str) -> Answer {
    Some((200, json!({ "errcode": errcode, "errmsg": errmsg }).to_string()))
}

/// A receiver that is DingTalk as its documentation describes it: the token, a timestamp within an hour of its own
/// clock, the signature of timestamp + "\n" + secret, a JSON body of a known type with its
/// fields, and no more than 20 messages a minute.
pub fn dingtalk(
    token: &'static str,
    secret: &'static str,
    now_ms: impl Fn() -> i64 + Send + 'static,
) -> impl Fn(&Received, &[Received]) -> Answer + Send + 'static {
    move |r, before| {
        let now_ms = now_ms();
        if r.method != "POST" || r.path != "/robot/send" {
            return Some((404, "{}".into()));
        }
        if r.param("access_token") != Some(token) {
            return answer(300001, "token is not exist");
        }
        let Some(ts) = r.param("timestamp").and_then(|t| t.parse::<i64>().ok()) else {
            return answer(310000, "sign not match: timestamp missing");
        };
        if (now_ms - ts).abs() > 3_600_000 {
            return answer(310000, "timestamp is too far from now");
        }
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
        mac.update(format!("{ts}\n{secret}").as_bytes());
        let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        if r.param("sign") != Some(expected.as_str()) {
            return answer(310000, "sign not match");
        }
        if !r.header("content-type").is_some_and(|c| c.starts_with("application/json")) {
            return answer(40035, "content type is not json");
        }
        let Some(body) = r.json() else { return answer(40035, "body is not json") };
        let ok = match body["msgtype"].as_str() {
            Some("text") => body["text"]["content"].as_str().is_some_and(|c| !c.is_empty()),
            Some("markdown") => {
                body["markdown"]["title"].as_str().is_some()
                    && body["markdown"]["text"].as_str().is_some_and(|t| !t.is_empty())
            }
            Some("actionCard") => {
                ["title", "text", "singleTitle", "singleURL"].iter().all(|f| body["actionCard"][f].is_string())
            }
            _ => false,
        };
        if !ok {
            return answer(40035, "missing parameter");
        }
        if let Some(at) = body.get("at") {
            let mobiles_ok = at["atMobiles"].as_array().is_some_and(|m| m.iter().all(Value::is_string));
            if !mobiles_ok {
                return answer(40035, "atMobiles is not a list of strings");
            }
        }
        // Accepted messages of the last minute, by their own timestamps.
        let recent = before
            .iter()
            .filter(|b| b.answered == Some(200))
            .filter(|b| {
                b.param("timestamp").and_then(|t| t.parse::<i64>().ok()).is_some_and(|t| ts - t < 60_000 && t <= ts)
            })
            .count();
        if recent >= 20 {
            return answer(crate::dingtalk::RATE_LIMITED, "send too fast, exceed 20 times per minute");
        }
        answer(0, "ok")
    }
}

/// WeCom as documented: its key, a text of at most 2,048 bytes or a markdown of at most 4,096,
/// mobiles as a list of strings, 20 a minute.
pub fn wecom(key: &'static str) -> impl Fn(&Received, &[Received]) -> Answer + Send + 'static {
    move |r, before| {
        if r.method != "POST" || r.path != "/cgi-bin/webhook/send" {
            return Some((404, "{}".into()));
        }
        if r.param("key") != Some(key) {
            return answer(93000, "invalid webhook url");
        }
        let Some(body) = r.json() else { return answer(40035, "invalid json") };
        match body["msgtype"].as_str() {
            Some("text") => {
                let Some(content) = body["text"]["content"].as_str() else { return answer(40035, "missing content") };
                if content.len() > 2_048 {
                    return answer(40058, "content exceed max length 2048");
                }
                if let Some(m) = body["text"].get("mentioned_mobile_list") {
                    if !m.as_array().is_some_and(|m| m.iter().all(Value::is_string)) {
                        return answer(40035, "mentioned_mobile_list");
                    }
                }
            }
            Some("markdown") => {
                let Some(content) = body["markdown"]["content"].as_str() else {
                    return answer(40035, "missing content");
                };
                if content.len() > 4_096 {
                    return answer(40058, "content exceed max length 4096");
                }
            }
            _ => return answer(40008, "invalid message type"),
        }
        if before.len() >= 20 {
            return answer(crate::wecom::RATE_LIMITED, "api freq out of limit");
        }
        answer(0, "ok")
    }
}

/// Aliyun's POP encoding: URL-encoding with space as %20, * as %2A and ~ kept.
fn pop(s: &str) -> String {
    let mut out = String::new();
    for b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(*b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The account an SMS gateway receiver knows.
#[derive(Clone, Copy, Debug)]
pub struct SmsAccount {
    pub access_key_id: &'static str,
    pub access_key_secret: &'static str,
    pub sign_name: &'static str,
    pub template_code: &'static str,
}

/// The SMS gateway as Aliyun documents SendSms: every common parameter, a signature it
/// recomputes, a fresh nonce, a timestamp within 15 minutes, 11-digit numbers, the plant's sign
/// name and template, and TemplateParam a JSON object of strings.
pub fn sms(
    account: SmsAccount,
    now_ms: impl Fn() -> i64 + Send + 'static,
) -> impl Fn(&Received, &[Received]) -> Answer + Send + 'static {
    move |r, before| {
        let now_ms = now_ms();
        let code = |c: &str, m: &str| Some((200, json!({ "Code": c, "Message": m, "RequestId": "R1" }).to_string()));
        if r.method != "GET" || r.path != "/" {
            return Some((404, "{}".into()));
        }
        let p = r.params();
        for (k, v) in [
            ("Action", "SendSms"),
            ("Version", "2017-05-25"),
            ("Format", "JSON"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("RegionId", "cn-hangzhou"),
        ] {
            if p.get(k).map(String::as_str) != Some(v) {
                return code("MissingParameter", k);
            }
        }
        if p.get("AccessKeyId").map(String::as_str) != Some(account.access_key_id) {
            return code("InvalidAccessKeyId.NotFound", "Specified access key is not found.");
        }
        let mut unsigned: BTreeMap<String, String> = p.clone();
        let Some(sig) = unsigned.remove("Signature") else { return code("MissingParameter", "Signature") };
        let canonical: Vec<String> = unsigned.iter().map(|(k, v)| format!("{}={}", pop(k), pop(v))).collect();
        let to_sign = format!("GET&%2F&{}", pop(&canonical.join("&")));
        let mut mac =
            Hmac::<sha1::Sha1>::new_from_slice(format!("{}&", account.access_key_secret).as_bytes()).expect("key");
        mac.update(to_sign.as_bytes());
        if base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()) != sig {
            return code("SignatureDoesNotMatch", "Specified signature is not matched with our calculation.");
        }
        let nonce = p.get("SignatureNonce").cloned().unwrap_or_default();
        if nonce.is_empty() || before.iter().any(|b| b.param("SignatureNonce") == Some(nonce.as_str())) {
            return code("SignatureNonceUsed", "Specified signature nonce was used already.");
        }
        let ts = p.get("Timestamp").and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
        if ts.is_none_or(|t| (t.timestamp_millis() - now_ms).abs() > 15 * 60_000) {
            return code("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.");
        }
        let numbers = p.get("PhoneNumbers").cloned().unwrap_or_default();
        if numbers.is_empty() || !numbers.split(',').all(|n| n.len() == 11 && n.bytes().all(|b| b.is_ascii_digit())) {
            return code("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号");
        }
        if p.get("SignName").map(String::as_str) != Some(account.sign_name) {
            return code("isv.SMS_SIGNATURE_ILLEGAL", "签名不合法");
        }
        if p.get("TemplateCode").map(String::as_str) != Some(account.template_code) {
            return code("isv.SMS_TEMPLATE_ILLEGAL", "模板不合法");
        }
        let params: Option<serde_json::Map<String, Value>> =
            p.get("TemplateParam").and_then(|t| serde_json::from_str(t).ok());
        if !params.is_some_and(|m| m.values().all(Value::is_string)) {
            return code("isv.INVALID_JSON_PARAM", "JSON参数不合法");
        }
        Some((
            200,
            json!({ "Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "R1" }).to_string(),
        ))
    }
}

/// Whether a webhook request is signed with `secret` as the plant's receivers check it:
/// `X-Openptw-Signature: sha256=<hex HMAC-SHA256 of "<X-Openptw-Timestamp>." + body>`.
pub fn webhook_signed(secret: &str, r: &Received) -> bool {
    let Some(ts) = r.header("x-openptw-timestamp").filter(|t| !t.is_empty()) else { return false };
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{ts}.").as_bytes());
    mac.update(&r.body);
    r.header("x-openptw-signature") == Some(format!("sha256={}", hex::encode(mac.finalize().into_bytes())).as_str())
}
