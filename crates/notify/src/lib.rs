//! ptw-notify: how openptw reaches people outside the app (R-ALERT) — the DingTalk custom
//! robot, the WeCom group robot, SMS through a gateway in Aliyun's SendSms shape, and a generic
//! webhook with an HMAC-signed body.
//!
//! Each channel is two pure halves around one HTTP exchange: building the exact request the
//! service expects (URL, headers, body, signature) from a message and the time, and reading
//! its answer into an [`Outcome`] that says what the sender may do next — done, wait for the
//! rate limit, retry, give up, or (for SMS, which is not idempotent) never retry blindly. The
//! exchange itself is a [`Transport`]; [`HttpTransport`] is the real one. The tests run every
//! channel against receivers on loopback that check the wire format as strictly as the
//! services do.

pub mod dingtalk;
pub mod limit;
#[cfg(feature = "loopback")]
pub mod loopback;
pub mod sms;
pub mod transport;
pub mod webhook;
pub mod wecom;

pub use transport::{HttpTransport, Transport, TransportError};

/// One HTTP request, exactly as it goes on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// A service's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// What became of one send, and so what the sender may do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The service took it.
    Sent,
    /// Over the channel's rate limit: nothing was sent; send again once the window allows.
    RateLimited { reason: String },
    /// Not delivered, and a later try may succeed (the network, the service busy).
    Retry { reason: String },
    /// Refused for good (a wrong key, signature or template): retrying cannot help.
    Refused { reason: String },
    /// It may have been delivered (an SMS whose answer never came): a channel that is not
    /// idempotent is never sent again blindly; a person must look.
    Uncertain { reason: String },
}

/// What a channel cannot build from a message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BuildError {
    #[error("the message is empty")]
    Empty,
    #[error("the channel's configuration is incomplete: {0}")]
    Config(String),
}

/// `text` cut to at most `max_bytes` bytes of UTF-8 on a character boundary, ending in "…"
/// when it was cut (the robots refuse longer messages).
pub fn fit(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_owned();
    }
    const MORE: &str = "…";
    let mut end = max_bytes.saturating_sub(MORE.len());
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{MORE}", &text[..end])
}

/// The JSON `{"errcode": …, "errmsg": …}` both robots answer with.
#[derive(serde::Deserialize)]
struct RobotAnswer {
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

/// Reads a robot's answer: errcode 0 is sent, the codes in `rate_limited` wait for the window,
/// a server error retries, anything else is refused.
fn robot_outcome(response: &HttpResponse, rate_limited: &[i64]) -> Outcome {
    if response.status >= 500 {
        return Outcome::Retry { reason: format!("HTTP {}", response.status) };
    }
    match serde_json::from_slice::<RobotAnswer>(&response.body) {
        Ok(a) if a.errcode == 0 => Outcome::Sent,
        Ok(a) if rate_limited.contains(&a.errcode) => {
            Outcome::RateLimited { reason: format!("errcode {}: {}", a.errcode, a.errmsg) }
        }
        Ok(a) => Outcome::Refused { reason: format!("errcode {}: {}", a.errcode, a.errmsg) },
        Err(_) => Outcome::Retry { reason: format!("HTTP {}: not a robot's answer", response.status) },
    }
}

/// One exchange of `request` over `transport`, its answer read by `read`. No connection is
/// [`Outcome::Retry`]; an answer that never came is a retry only when sending twice does no
/// harm (`twice_is_harmless`: a robot's group message, a webhook the receiver deduplicates),
/// else [`Outcome::Uncertain`] (an SMS).
pub fn deliver(
    transport: &dyn Transport,
    request: &HttpRequest,
    read: fn(&HttpResponse) -> Outcome,
    twice_is_harmless: bool,
) -> Outcome {
    match transport.exchange(request) {
        Ok(response) => read(&response),
        Err(TransportError::NotSent(reason)) => Outcome::Retry { reason },
        Err(TransportError::NoAnswer(reason)) if twice_is_harmless => Outcome::Retry { reason },
        Err(TransportError::NoAnswer(reason)) => Outcome::Uncertain { reason },
    }
}

#[cfg(test)]
mod tests {
    use super::fit;

    #[test]
    fn fit_cuts_on_a_character_boundary_and_marks_the_cut() {
        assert_eq!(fit("作业票", 9), "作业票");
        let cut = fit("作业票超时", 10);
        assert!(cut.len() <= 10 && cut.ends_with('…'), "{cut}");
        assert_eq!(cut, "作业…");
    }
}
