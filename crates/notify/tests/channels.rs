//! Every channel against a receiver on loopback that checks the wire format as strictly as the
//! real service: DingTalk's signature and timestamp and its answer past 20 a minute (errcode
//! 130101), WeCom's key and byte limits, the SMS gateway's parameters and HMAC-SHA1 signature
//! and its one-use nonce, the webhook's signature. The receivers (`ptw_notify::loopback`) compute
//! every signature themselves, from the services' documented recipes, not with the code under
//! test.

use chrono::{TimeZone, Utc};
use ptw_notify::loopback::{self, start, Answer, Received};
use ptw_notify::{deliver, dingtalk, limit, sms, webhook, wecom, HttpTransport, Outcome};
use serde_json::json;
use std::time::Duration;

const NOW_MS: i64 = 1_796_025_600_000;
const TOKEN: &str = "9f0c1d2e3b4a";
const SECRET: &str = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd";

fn transport() -> HttpTransport {
    HttpTransport::new(Duration::from_secs(5)).expect("client")
}

fn dingtalk_receiver(now_ms: i64) -> impl Fn(&Received, &[Received]) -> Answer {
    loopback::dingtalk(TOKEN, SECRET, move || now_ms)
}

fn robot(base: &str, secret: &str) -> dingtalk::Robot {
    dingtalk::Robot { webhook: format!("{base}/robot/send"), access_token: TOKEN.into(), secret: Some(secret.into()) }
}

#[test]
fn dingtalk_takes_text_markdown_and_action_cards_signed_with_the_secret_and_the_mobiles_to_at() {
    let rx = start(dingtalk_receiver(NOW_MS));
    let t = transport();
    let r = robot(&rx.base, SECRET);
    let messages = [
        dingtalk::Message::Text {
            content: "DH-001 车间审核已超时".into(), at_mobiles: vec!["13800000003".into()]
        },
        dingtalk::Message::Markdown {
            title: "作业票超时".into(),
            text: "### DH-001\n车间审核已超时，已升级 1 级".into(),
            at_mobiles: vec!["13800000005".into()],
        },
        dingtalk::Message::ActionCard {
            title: "作业票超时".into(),
            text: "DH-001 车间审核已超时".into(),
            button: "查看作业票".into(),
            url: "https://ptw.example/permits/1".into(),
        },
    ];
    for m in &messages {
        let req = r.request(m, NOW_MS).expect("request");
        assert_eq!(deliver(&t, &req, dingtalk::outcome, true), Outcome::Sent, "{m:?}");
    }
    let got = rx.requests();
    assert_eq!(got.len(), 3);
    let md = got[1].json().expect("json");
    assert_eq!(md["at"]["atMobiles"], json!(["13800000005"]));
    assert!(md["markdown"]["text"].as_str().expect("text").contains("@13800000005"), "the text @s the mobile too");
    assert_eq!(got[2].json().expect("json")["actionCard"]["singleURL"], "https://ptw.example/permits/1");
}

#[test]
fn dingtalk_refuses_a_wrong_secret_and_an_hour_old_timestamp_for_good() {
    let rx = start(dingtalk_receiver(NOW_MS));
    let t = transport();
    let text = dingtalk::Message::Text { content: "x".into(), at_mobiles: vec![] };
    let wrong = robot(&rx.base, "SECwrong").request(&text, NOW_MS).expect("request");
    assert!(
        matches!(deliver(&t, &wrong, dingtalk::outcome, true), Outcome::Refused { reason } if reason.contains("310000"))
    );
    let stale = robot(&rx.base, SECRET).request(&text, NOW_MS - 3_600_001).expect("request");
    assert!(matches!(deliver(&t, &stale, dingtalk::outcome, true), Outcome::Refused { .. }));
    let mut no_token = robot(&rx.base, SECRET);
    no_token.access_token = "other".into();
    let req = no_token.request(&text, NOW_MS).expect("request");
    assert!(
        matches!(deliver(&t, &req, dingtalk::outcome, true), Outcome::Refused { reason } if reason.contains("300001"))
    );
}

#[test]
fn dingtalk_answers_130101_past_twenty_a_minute_and_the_window_and_digest_keep_every_alert() {
    // Sent blindly, the 21st in a minute is refused as too fast: wait, not lost.
    let rx = start(dingtalk_receiver(NOW_MS));
    let t = transport();
    let r = robot(&rx.base, SECRET);
    let mut outcomes = Vec::new();
    for i in 0..21 {
        let m = dingtalk::Message::Text { content: format!("alert {i}"), at_mobiles: vec![] };
        outcomes.push(deliver(&t, &r.request(&m, NOW_MS + i * 100).expect("request"), dingtalk::outcome, true));
    }
    assert!(outcomes[..20].iter().all(|o| *o == Outcome::Sent));
    assert!(
        matches!(&outcomes[20], Outcome::RateLimited { reason } if reason.contains("130101")),
        "{:?}",
        outcomes[20]
    );

    // Kept by the sender: 30 alerts in a minute go as 19 alone and one digest of 11, all inside
    // the limit, every alert's text delivered.
    let rx = start(dingtalk_receiver(NOW_MS));
    let r = robot(&rx.base, SECRET);
    let waiting: Vec<String> = (0..30).map(|i| format!("DH-{i:03} 审批超时")).collect();
    let window = limit::Window::ROBOT;
    let mut sent_ms = Vec::new();
    let now = NOW_MS;
    for batch in limit::batches(&waiting, window.allowance(&sent_ms, now)) {
        let content = batch.join("\n");
        let m =
            dingtalk::Message::Markdown {
                title: format!("{} 条警报", batch.len()), text: content, at_mobiles: vec![]
            };
        assert_eq!(deliver(&t, &r.request(&m, now).expect("request"), dingtalk::outcome, true), Outcome::Sent);
        sent_ms.push(now);
    }
    assert_eq!(sent_ms.len(), 20);
    assert_eq!(window.allowance(&sent_ms, now + 59_999), 0);
    let delivered: String =
        rx.requests().iter().map(|r| r.json().expect("json")["markdown"]["text"].to_string()).collect();
    for w in &waiting {
        assert!(delivered.contains(w), "{w} was lost");
    }
}

fn wecom_receiver(key: &'static str) -> impl Fn(&Received, &[Received]) -> Answer {
    loopback::wecom(key)
}

#[test]
fn wecom_checks_the_key_and_the_byte_limits_and_the_robot_cuts_a_long_message_to_fit() {
    let rx = start(wecom_receiver("693a91f6-7xxx"));
    let t = transport();
    let r = wecom::Robot { base: rx.base.clone(), key: "693a91f6-7xxx".into() };
    let long = "动火作业票审批超时，".repeat(300); // 3,000 CJK characters: 9,000 bytes
    let text = wecom::Message::Text { content: long.clone(), mentioned_mobiles: vec!["13800000003".into()] };
    assert_eq!(deliver(&t, &r.request(&text).expect("request"), wecom::outcome, true), Outcome::Sent);
    let md = wecom::Message::Markdown { content: long.clone() };
    assert_eq!(deliver(&t, &r.request(&md).expect("request"), wecom::outcome, true), Outcome::Sent);
    let got = rx.requests();
    let sent = got[0].json().expect("json");
    let content = sent["text"]["content"].as_str().expect("content");
    assert!(content.len() <= 2_048 && content.ends_with('…'), "{}", content.len());
    assert_eq!(sent["text"]["mentioned_mobile_list"], json!(["13800000003"]));
    assert!(got[1].json().expect("json")["markdown"]["content"].as_str().expect("md").len() <= 4_096);

    // The receiver does check: the same text not cut is refused, as WeCom refuses it.
    let mut raw = r.request(&text).expect("request");
    raw.body = json!({ "msgtype": "text", "text": { "content": long } }).to_string().into_bytes();
    assert!(matches!(deliver(&t, &raw, wecom::outcome, true), Outcome::Refused { reason } if reason.contains("40058")));
    let wrong = wecom::Robot { base: rx.base.clone(), key: "other".into() };
    assert!(
        matches!(deliver(&t, &wrong.request(&md).expect("request"), wecom::outcome, true), Outcome::Refused { reason } if reason.contains("93000"))
    );
}

#[test]
fn wecom_past_twenty_a_minute_is_rate_limited_not_refused() {
    let rx = start(wecom_receiver("k"));
    let t = transport();
    let r = wecom::Robot { base: rx.base.clone(), key: "k".into() };
    let m = wecom::Message::Markdown { content: "警报".into() };
    for _ in 0..20 {
        assert_eq!(deliver(&t, &r.request(&m).expect("request"), wecom::outcome, true), Outcome::Sent);
    }
    assert!(matches!(deliver(&t, &r.request(&m).expect("request"), wecom::outcome, true), Outcome::RateLimited { .. }));
}

const AK: &str = "LTAI5tExample";
const AK_SECRET: &str = "ExampleSecretForTests";

fn sms_receiver(now_ms: i64) -> impl Fn(&Received, &[Received]) -> Answer {
    loopback::sms(
        loopback::SmsAccount {
            access_key_id: AK,
            access_key_secret: AK_SECRET,
            sign_name: "安全生产",
            template_code: "SMS_154950909",
        },
        move || now_ms,
    )
}

fn gateway(base: &str) -> sms::Gateway {
    sms::Gateway {
        endpoint: base.into(),
        access_key_id: AK.into(),
        access_key_secret: AK_SECRET.into(),
        sign_name: "安全生产".into(),
        template_code: "SMS_154950909".into(),
        region: "cn-hangzhou".into(),
    }
}

fn an_sms() -> sms::Sms {
    sms::Sms {
        phone_numbers: vec!["13800000003".into(), "13800000005".into()],
        params: [
            ("permit".to_string(), "DH-001".to_string()),
            ("alert".to_string(), "审批超时 2 级 + 紧急".to_string()),
        ]
        .into(),
    }
}

#[test]
fn an_sms_goes_with_every_parameter_signed_and_a_replayed_nonce_sends_nothing_twice() {
    let rx = start(sms_receiver(NOW_MS));
    let t = transport();
    let now = Utc.timestamp_millis_opt(NOW_MS).single().expect("time");
    let g = gateway(&rx.base);
    let req = g.request(&an_sms(), now, "5f2b8c1e-nonce-1").expect("request");
    assert_eq!(deliver(&t, &req, sms::outcome, false), Outcome::Sent);
    assert_eq!(rx.requests()[0].param("TemplateParam"), Some(r#"{"alert":"审批超时 2 级 + 紧急","permit":"DH-001"}"#));
    // The same request again (a replay) is refused by its nonce: one SMS, not two.
    assert!(
        matches!(deliver(&t, &req, sms::outcome, false), Outcome::Refused { reason } if reason.contains("SignatureNonceUsed"))
    );

    let mut wrong = g.clone();
    wrong.access_key_secret = "not-it".into();
    let req = wrong.request(&an_sms(), now, "nonce-2").expect("request");
    assert!(
        matches!(deliver(&t, &req, sms::outcome, false), Outcome::Refused { reason } if reason.contains("SignatureDoesNotMatch"))
    );
    let mut bad = an_sms();
    bad.phone_numbers = vec!["1380000".into()];
    let req = g.request(&bad, now, "nonce-3").expect("request");
    assert!(
        matches!(deliver(&t, &req, sms::outcome, false), Outcome::Refused { reason } if reason.contains("MOBILE_NUMBER_ILLEGAL"))
    );
    let late = g.request(&an_sms(), now + chrono::Duration::minutes(16), "nonce-4").expect("request");
    assert!(
        matches!(deliver(&t, &late, sms::outcome, false), Outcome::Refused { reason } if reason.contains("Expired"))
    );
}

#[test]
fn an_sms_whose_answer_never_came_is_uncertain_and_a_robots_is_retried() {
    // The gateway reads the request and hangs up without answering.
    let rx = start(|_, _| None);
    let t = transport();
    let now = Utc.timestamp_millis_opt(NOW_MS).single().expect("time");
    let req = gateway(&rx.base).request(&an_sms(), now, "n").expect("request");
    assert!(matches!(deliver(&t, &req, sms::outcome, false), Outcome::Uncertain { .. }));
    assert_eq!(rx.requests().len(), 1, "it did reach the gateway");
    let m = dingtalk::Message::Text { content: "x".into(), at_mobiles: vec![] };
    let req = robot(&rx.base, SECRET).request(&m, NOW_MS).expect("request");
    assert!(matches!(deliver(&t, &req, dingtalk::outcome, true), Outcome::Retry { .. }));
    // Nobody listening at all: nothing was sent, so even an SMS may be tried again.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = closed.local_addr().expect("addr");
    drop(closed);
    let req = gateway(&format!("http://{addr}")).request(&an_sms(), now, "n2").expect("request");
    assert!(matches!(deliver(&t, &req, sms::outcome, false), Outcome::Retry { .. }));
}

#[test]
fn a_webhook_is_signed_over_its_timestamp_and_body_and_its_status_says_what_to_do() {
    let rx = start(|r, before| {
        if !loopback::webhook_signed("hook-secret", r) {
            return Some((401, "{}".into()));
        }
        match before.len() {
            1 => Some((503, "{}".into())),
            2 => Some((429, "{}".into())),
            _ => Some((204, String::new())),
        }
    });
    let t = transport();
    let hook = webhook::Hook { url: format!("{}/hooks/ptw", rx.base), secret: "hook-secret".into() };
    let payload = json!({ "alert": "step_overdue", "permit": "DH-001", "level": 2 });
    let req = hook.request(&payload, NOW_MS).expect("request");
    assert_eq!(deliver(&t, &req, webhook::outcome, true), Outcome::Sent);
    assert!(matches!(deliver(&t, &req, webhook::outcome, true), Outcome::Retry { .. }));
    assert!(matches!(deliver(&t, &req, webhook::outcome, true), Outcome::RateLimited { .. }));
    let forged =
        webhook::Hook { url: hook.url.clone(), secret: "guess".into() }.request(&payload, NOW_MS).expect("request");
    assert!(
        matches!(deliver(&t, &forged, webhook::outcome, true), Outcome::Refused { reason } if reason.contains("401"))
    );
    assert_eq!(rx.requests()[0].json(), Some(payload));
}
