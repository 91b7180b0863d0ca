//! Alerts while the tablets are offline, through a real sync server process: an approval step
//! runs past its limit on the server's clock and the DingTalk receiver on loopback gets the
//! escalation, signed as DingTalk checks it, once per level; notifications waiting when the
//! server is killed -9 are each sent exactly once after it restarts; the approver's
//! acknowledgement reaches the server and counts for the response rate.

mod common;
use chrono::{DateTime, Duration, Utc};
use common::*;
use ptw_core::api::Action;
use ptw_notify::loopback::{self, Received};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

const TOKEN: &str = "plant-robot-token";
const SECRET: &str = "SECplant0123456789abcdef";

/// Waits (polling, at most 60 s of real time) until `what` holds of the receiver's requests.
fn wait_for(rx: &loopback::Receiver, what: &str, holds: impl Fn(&[Received]) -> bool) -> Vec<Received> {
    for _ in 0..600 {
        let got = rx.requests();
        if holds(&got) {
            return got;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the receiver never saw {what}: {:#?}", rx.requests().iter().map(text_of).collect::<Vec<_>>());
}

fn text_of(r: &Received) -> String {
    r.json().map(|j| j.to_string()).unwrap_or_default()
}

/// Accepted messages whose text says `needle`.
fn accepted(got: &[Received], needle: &str) -> usize {
    got.iter().filter(|r| r.answered == Some(200) && text_of(r).contains(needle) && !text_of(r).is_empty()).count()
}

#[test]
fn an_overdue_approval_reaches_dingtalk_once_per_level_survives_a_kill_and_its_acknowledgement_is_counted() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The receiver's clock is the server's: the test moves both.
    let clock = Arc::new(AtomicI64::new(t0().timestamp_millis()));
    let busy = Arc::new(AtomicBool::new(false));
    let (c, b) = (clock.clone(), busy.clone());
    let dingtalk = loopback::dingtalk(TOKEN, SECRET, move || c.load(Ordering::SeqCst));
    let rx = loopback::start(move |r, before| {
        if b.load(Ordering::SeqCst) {
            return Some((503, "{}".into()));
        }
        dingtalk(r, before)
    });
    let config = format!(
        r#"
[alerts]
interval_seconds = 1
permit_url = "https://ptw.example/permits/{{permit}}"

[[alerts.channel]]
name = "安全群"
kind = "dingtalk"
webhook = "{}/robot/send"
access_token = "{TOKEN}"
secret = "{SECRET}"
min_severity = "warning"
"#,
        rx.base
    );
    let mut server = Server::start_with_config(&dir.path().join("server"), &config);
    let at = |minutes: i64| t0() + Duration::minutes(minutes);
    let set = |server: &Server, now: DateTime<Utc>| {
        clock.store(now.timestamp_millis(), Ordering::SeqCst);
        server.set_clock(now);
    };
    let mut tablet = server.tablet(&dir.path().join("tablet.db"), "T-01", at(0));
    let zhao = person("赵磊");
    let form = hot_work(&tablet, "T-101 罐顶人孔法兰补焊", at(30));
    let area = form
        .location
        .and_then(|l| tablet.registry().location(l))
        .map(|l| l.area.clone())
        .expect("the permit's place has an area");
    let id = tablet.create_permit(zhao, form, at(1)).expect("draft").id;
    let number = tablet.act(zhao, id, Action::Submit, at(1)).expect("submitted").number;
    server.sync(&mut tablet, at(2)).expect("synced");
    // Then the tablets are off: nothing more comes from them for two hours.

    // The review is due at +61 min: nothing before it (a reminder is a notice, not for this
    // channel), the first escalation after.
    set(&server, at(50));
    set(&server, at(62));
    let got = wait_for(&rx, "the first escalation", |g| accepted(g, "已升级 1 级") == 1);
    let first = got.iter().find(|r| text_of(r).contains("已升级 1 级")).expect("the message");
    let body = first.json().expect("json");
    assert_eq!(body["msgtype"], "actionCard", "one alert: a card that opens the permit");
    let card = body["actionCard"]["text"].as_str().expect("text");
    assert!(card.contains(&number) && card.contains("车间审核") && card.contains("刘洋"), "{card}");
    assert!(body["actionCard"]["singleURL"].as_str().expect("url").ends_with(&id.to_string()));
    assert_eq!(accepted(&got, "即将超时"), 0, "the reminder is below the channel's severity");

    // DingTalk is down when level 2 comes due; the notification waits (retried with backoff)
    // and the server is killed -9 meanwhile.
    busy.store(true, Ordering::SeqCst);
    set(&server, at(122));
    wait_for(&rx, "a try of the second level", |g| g.iter().any(|r| r.answered == Some(503)));
    server.kill_nine();
    busy.store(false, Ordering::SeqCst);
    server.restart();
    // Past any backoff: sent now, once.
    set(&server, at(140));
    wait_for(&rx, "the second level", |g| accepted(g, "已升级 2 级") == 1);
    // Level 3 at +181 min proves later rounds ran: still one of each level before it.
    set(&server, at(182));
    let got = wait_for(&rx, "the third level", |g| accepted(g, "已升级 3 级") == 1);
    assert_eq!(accepted(&got, "已升级 1 级"), 1, "level 1 once");
    assert_eq!(accepted(&got, "已升级 2 级"), 1, "level 2 once, after the restart");
    let outbox = server.admin(&["alerts", "outbox"]);
    let lines: Vec<serde_json::Value> = outbox.lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    assert_eq!(lines.len(), 3, "{outbox}");
    assert!(lines.iter().all(|l| l["status"] == "sent"), "{outbox}");

    // 刘洋's tablet comes back: he acknowledges and signs; the server learns it.
    let liu = person("刘洋");
    server.sync(&mut tablet, at(185)).expect("synced");
    let key = tablet
        .inbox(Some(liu), at(185))
        .expect("inbox")
        .items
        .into_iter()
        .find(|i| i.alert.alert.code() == "step_overdue")
        .map(|i| i.alert.key)
        .expect("the overdue step is in his inbox");
    tablet.act(liu, id, Action::Acknowledge { alert: key }, at(185)).expect("acknowledged");
    server.sync(&mut tablet, at(186)).expect("synced");
    // Signing resolves it; later rounds send nothing more for it.
    tablet.act(liu, id, Action::Approve { comment: "同意".into() }, at(187)).expect("signed");
    server.sync(&mut tablet, at(188)).expect("synced");
    let report = || {
        let text = server.admin(&["alerts", "response", "--from", &at(0).to_rfc3339(), "--to", &at(300).to_rfc3339()]);
        serde_json::from_str::<serde_json::Value>(text.trim()).expect("json")
    };
    let row =
        |r: &serde_json::Value| r.as_array().and_then(|rows| rows.iter().find(|a| a["area"] == area.as_str()).cloned());
    for _ in 0..600 {
        if row(&report()).is_some_and(|a| a["acknowledged"] == 1) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let r = report();
    // Raised at +61, acknowledged at +185: not within the catalog's 30 minutes.
    let area = row(&r).unwrap_or_else(|| panic!("no row for the permit's area in {r}"));
    assert!(area["raised"].as_u64().expect("raised") >= 1, "{r}");
    assert_eq!(area["acknowledged"], 1, "the acknowledgement reached the server: {r}");
    assert_eq!(area["handled_in_time"], 0, "{r}");
    assert_eq!(accepted(&rx.requests(), "已升级 4 级"), 0);
}
