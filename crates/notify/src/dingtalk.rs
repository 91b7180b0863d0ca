//! The DingTalk custom robot (钉钉自定义机器人): `POST {webhook}?access_token=…&timestamp=…&sign=…`
//! with a JSON body of `text`, `markdown` or `actionCard`, and the mobiles to @. With 加签 the
//! signature is urlencode(base64(HMAC-SHA256(key = secret, msg = timestamp + "\n" + secret))),
//! the timestamp in milliseconds; DingTalk refuses one more than an hour off. A robot takes
//! about 20 messages a minute and answers errcode 130101 beyond that.

use crate::{robot_outcome, BuildError, HttpRequest, HttpResponse, Method, Outcome};
use base64::Engine;
use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::json;
use sha2::Sha256;

/// DingTalk's answer when a robot is sent more than its limit.
pub const RATE_LIMITED: i64 = 130101;

/// A robot of a group.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Robot {
    /// `https://oapi.dingtalk.com/robot/send` (or a test receiver).
    pub webhook: String,
    pub access_token: String,
    /// The 加签 secret (`SEC…`), when the robot is set to sign.
    #[serde(default)]
    pub secret: Option<String>,
}

/// What a robot can post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    Text {
        content: String,
        at_mobiles: Vec<String>,
    },
    Markdown {
        title: String,
        text: String,
        at_mobiles: Vec<String>,
    },
    /// A card with one button that opens `url`.
    ActionCard {
        title: String,
        text: String,
        button: String,
        url: String,
    },
}

/// The signature of `timestamp_ms` with `secret`, before URL-encoding.
pub fn sign(secret: &str, timestamp_ms: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

impl Robot {
    /// The request posting `message` at `timestamp_ms`.
    pub fn request(&self, message: &Message, timestamp_ms: i64) -> Result<HttpRequest, BuildError> {
        if self.webhook.is_empty() || self.access_token.is_empty() {
            return Err(BuildError::Config("a DingTalk robot needs its webhook and access_token".into()));
        }
        let body = match message {
            Message::Text { content, at_mobiles } => {
                if content.trim().is_empty() {
                    return Err(BuildError::Empty);
                }
                json!({ "msgtype": "text", "text": { "content": content }, "at": { "atMobiles": at_mobiles, "isAtAll": false } })
            }
            Message::Markdown { title, text, at_mobiles } => {
                if text.trim().is_empty() {
                    return Err(BuildError::Empty);
                }
                // A mobile is @-ed only when the text names it too.
                let mut text = text.clone();
                for m in at_mobiles {
                    let at = format!("@{m}");
                    if !text.contains(&at) {
                        text.push(' ');
                        text.push_str(&at);
                    }
                }
                json!({ "msgtype": "markdown", "markdown": { "title": title, "text": text }, "at": { "atMobiles": at_mobiles, "isAtAll": false } })
            }
            Message::ActionCard { title, text, button, url } => {
                if text.trim().is_empty() {
                    return Err(BuildError::Empty);
                }
                json!({ "msgtype": "actionCard", "actionCard": { "title": title, "text": text, "singleTitle": button, "singleURL": url } })
            }
        };
        let token = utf8_percent_encode(&self.access_token, NON_ALPHANUMERIC);
        let mut url = format!("{}?access_token={token}", self.webhook);
        if let Some(secret) = &self.secret {
            let sign = sign(secret, timestamp_ms);
            url.push_str(&format!("&timestamp={timestamp_ms}&sign={}", utf8_percent_encode(&sign, NON_ALPHANUMERIC)));
        }
        Ok(HttpRequest {
            method: Method::Post,
            url,
            headers: vec![("Content-Type".into(), "application/json;charset=utf-8".into())],
            body: body.to_string().into_bytes(),
        })
    }
}

/// What DingTalk's answer means.
pub fn outcome(response: &HttpResponse) -> Outcome {
    robot_outcome(response, &[RATE_LIMITED])
}
