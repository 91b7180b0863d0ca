//! The WeCom group robot (企业微信群机器人): `POST {base}/cgi-bin/webhook/send?key=…` with a
//! `text` (content at most 2,048 bytes, and the mobiles to mention) or `markdown` (at most
//! 4,096 bytes) body. A robot takes 20 messages a minute and answers errcode 45009 beyond.

use crate::{fit, robot_outcome, BuildError, HttpRequest, HttpResponse, Method, Outcome};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::json;

pub const TEXT_MAX_BYTES: usize = 2_048;
pub const MARKDOWN_MAX_BYTES: usize = 4_096;
/// WeCom's answer when a robot is sent more than its limit ("api freq out of limit").
pub const RATE_LIMITED: i64 = 45009;

#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Robot {
    /// `https://qyapi.weixin.qq.com` (or a test receiver).
    pub base: String,
    pub key: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    Text { content: String, mentioned_mobiles: Vec<String> },
    Markdown { content: String },
}

impl Robot {
    /// The request posting `message`, its content cut to the robot's byte limit.
    pub fn request(&self, message: &Message) -> Result<HttpRequest, BuildError> {
        if self.base.is_empty() || self.key.is_empty() {
            return Err(BuildError::Config("a WeCom robot needs its base URL and key".into()));
        }
        let body = match message {
            Message::Text { content, mentioned_mobiles } => {
                if content.trim().is_empty() {
                    return Err(BuildError::Empty);
                }
                json!({ "msgtype": "text", "text": { "content": fit(content, TEXT_MAX_BYTES), "mentioned_mobile_list": mentioned_mobiles } })
            }
            Message::Markdown { content } => {
                if content.trim().is_empty() {
                    return Err(BuildError::Empty);
                }
                json!({ "msgtype": "markdown", "markdown": { "content": fit(content, MARKDOWN_MAX_BYTES) } })
            }
        };
        Ok(HttpRequest {
            method: Method::Post,
            url: format!(
                "{}/cgi-bin/webhook/send?key={}",
                self.base.trim_end_matches('/'),
                utf8_percent_encode(&self.key, NON_ALPHANUMERIC)
            ),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        })
    }
}

pub fn outcome(response: &HttpResponse) -> Outcome {
    robot_outcome(response, &[RATE_LIMITED])
}
