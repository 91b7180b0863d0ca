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
            let mut request = Received { method, path: path.to_owned(), query, headers, body, answered: None };
            let answer = {
                let Ok(mut all) = seen.lock() else { return };
                let answer = handler(&request, &all);
                request.answered = answer.as_ref().map(|(status, _)| *status);
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
