//! Alerts while the tablets are offline, through a real sync server process: an approval step
//! runs past its limit on the server's clock and the DingTalk receiver on loopback gets the
//! escalation, signed as DingTalk checks it, once per level; notifications waiting when the
//! server is killed -9 are each sent exactly once after it restarts; the approver's
//! acknowledgement reaches the server and counts for the response rate.

mod common;
use chrono::{DateTime, Duration, TimeZone, Utc};
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

const AK: &str = "LTAI5tPlantDuty";
const AK_SECRET: &str = "PlantDutySecretForTests";

/// The requests a receiver took.
fn delivered(got: &[Received]) -> Vec<&Received> {
    got.iter().filter(|r| r.accepted()).collect()
}

/// Taken requests that say `needle` (in the body or the query).
fn mentions(got: &[Received], needle: &str) -> usize {
    delivered(got).into_iter().filter(|r| format!("{}{:?}", text_of(r), r.params()).contains(needle)).count()
}

/// The server's open alerts (`alerts open`): (permit, key, level).
fn open_alerts(server: &Server) -> Vec<(String, String, u64)> {
    server
        .admin(&["alerts", "open"])
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json line"))
        .map(|a| {
            (
                a["permit"].as_str().unwrap_or_default().to_owned(),
                a["key"].as_str().unwrap_or_default().to_owned(),
                a["level"].as_u64().unwrap_or(u64::MAX),
            )
        })
        .collect()
}

#[test]
fn each_channel_takes_only_its_area_role_and_severity_in_its_own_wire_format_and_the_server_sees_what_the_tablet_sees()
{
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = Arc::new(AtomicI64::new(t0().timestamp_millis()));
    let tank = loopback::start(loopback::wecom("k-tank"));
    let synthesis = loopback::start(loopback::wecom("k-synthesis"));
    let c = clock.clone();
    let account = loopback::SmsAccount {
        access_key_id: AK,
        access_key_secret: AK_SECRET,
        sign_name: "安全生产",
        template_code: "SMS_154950909",
    };
    let sms = loopback::start(loopback::sms(account, move || c.load(Ordering::SeqCst)));
    let hook = loopback::start(|r, _| {
        Some(if r.path == "/hooks/ptw" && loopback::webhook_signed("hook-secret", r) {
            (204, String::new())
        } else {
            (401, "{}".into())
        })
    });
    let config = format!(
        r#"
[alerts]
interval_seconds = 1

[[alerts.channel]]
name = "罐区企微"
kind = "wecom"
base = "{tank}"
key = "k-tank"
areas = ["罐区"]

[[alerts.channel]]
name = "合成车间企微"
kind = "wecom"
base = "{synthesis}"
key = "k-synthesis"
areas = ["合成车间"]

[[alerts.channel]]
name = "值班短信"
kind = "sms"
endpoint = "{sms}"
access_key_id = "{AK}"
access_key_secret = "{AK_SECRET}"
sign_name = "安全生产"
template_code = "SMS_154950909"
min_severity = "notice"

[[alerts.channel]]
name = "厂长"
kind = "webhook"
url = "{hook}/hooks/ptw"
secret = "hook-secret"
roles = ["plant_manager"]
"#,
        tank = tank.base,
        synthesis = synthesis.base,
        sms = sms.base,
        hook = hook.base,
    );
    let server = Server::start_with_config(&dir.path().join("server"), &config);
    let at = |minutes: i64| t0() + Duration::minutes(minutes);
    let set = |now: DateTime<Utc>| {
        clock.store(now.timestamp_millis(), Ordering::SeqCst);
        server.set_clock(now);
    };
    let mut tablet = server.tablet(&dir.path().join("tablet.db"), "T-01", at(0));
    let zhao = person("赵磊");
    let mut form = hot_work(&tablet, "T-101 罐顶人孔法兰补焊", at(30));
    form.location = tablet.registry().locations.iter().find(|l| l.code == "T-101").map(|l| l.id);
    let area = form.location.and_then(|l| tablet.registry().location(l)).map(|l| l.area.clone());
    assert_eq!(area.as_deref(), Some("罐区"), "the story needs a permit in the tank farm");
    let id = tablet.create_permit(zhao, form, at(1)).expect("draft").id;
    let number = tablet.act(zhao, id, Action::Submit, at(1)).expect("submitted").number;
    server.sync(&mut tablet, at(2)).expect("synced");

    // Level 1 (a warning): the tank farm's group only, @ the approver.
    set(at(62));
    wait_for(&tank, "level 1 in the tank farm's group", |g| mentions(g, "已升级 1 级") == 1);
    // Level 2 (critical): the group and the duty SMS, to the safety manager too.
    set(at(122));
    wait_for(&tank, "level 2 in the tank farm's group", |g| mentions(g, "已升级 2 级") == 1);
    let texts = wait_for(&sms, "the level-2 SMS", |g| delivered(g).len() == 1);
    // Level 3: the plant manager's webhook as well.
    set(at(182));
    let got_tank = wait_for(&tank, "level 3 in the tank farm's group", |g| mentions(g, "已升级 3 级") == 1);
    let got_sms = wait_for(&sms, "the level-3 SMS", |g| delivered(g).len() == 2);
    let got_hook = wait_for(&hook, "the plant manager's webhook", |g| delivered(g).len() == 1);

    let first = delivered(&got_tank)[0].json().expect("json");
    assert_eq!(first["msgtype"], "text");
    let content = first["text"]["content"].as_str().expect("content");
    assert!(content.contains(&number) && content.contains("车间审核"), "{content}");
    assert!(
        first["text"]["mentioned_mobile_list"].as_array().expect("mobiles").iter().any(|m| m == "13800000003"),
        "刘洋 is @-ed: {first}"
    );
    assert_eq!(mentions(&got_tank, "已升级 1 级") + mentions(&got_tank, "已升级 2 级"), 2, "each level once");
    assert!(synthesis.requests().is_empty(), "another area's group hears nothing: {:?}", synthesis.requests());

    // The SMS: only the critical levels (whatever the channel's min_severity says), each
    // signed with a nonce of its own, to the people asked.
    let first_sms = delivered(&texts)[0].params();
    assert!(first_sms["PhoneNumbers"].split(',').any(|n| n == "13800000004"), "王强: {first_sms:?}");
    let template: serde_json::Value = serde_json::from_str(&first_sms["TemplateParam"]).expect("template json");
    assert!(template["title"].as_str().expect("title").contains(&number), "{template}");
    assert!(template["detail"].as_str().expect("detail").contains("已升级 2 级"), "{template}");
    assert_eq!(mentions(&got_sms, "已升级 1 级"), 0, "a warning sends no SMS");
    assert_eq!(got_sms.len(), 2, "nothing refused, nothing sent twice: {got_sms:?}");

    // The webhook: signed, only the level that asks the plant manager.
    assert_eq!(got_hook.len(), 1, "{got_hook:?}");
    let payload = got_hook[0].json().expect("json");
    let alerts = payload["alerts"].as_array().expect("alerts");
    assert_eq!(alerts.len(), 1, "{payload}");
    assert_eq!(alerts[0]["permit"], id.to_string());
    assert!(alerts[0]["state"].as_str().expect("state").ends_with("#3"), "{payload}");

    let outbox = server.admin(&["alerts", "outbox"]);
    let lines: Vec<serde_json::Value> = outbox.lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    assert_eq!(lines.len(), 3 + 2 + 1, "{outbox}");
    assert!(lines.iter().all(|l| l["status"] == "sent"), "{outbox}");

    // The same alerts on the tablet (same data, same moment) as on the server.
    let mut on_tablet: Vec<(String, String, u64)> = tablet
        .inbox(None, at(182))
        .expect("inbox")
        .items
        .into_iter()
        .map(|i| {
            (i.alert.permit().map(|p| p.to_string()).unwrap_or_default(), i.alert.key.clone(), u64::from(i.alert.level))
        })
        .collect();
    on_tablet.sort();
    let mut on_server = Vec::new();
    for _ in 0..600 {
        on_server = open_alerts(&server);
        if on_server.iter().any(|(_, k, level)| k.starts_with("step_overdue") && *level == 3) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(!on_tablet.is_empty());
    assert_eq!(on_server, on_tablet, "the server raises what the tablet shows");
}

#[test]
fn an_expired_certificate_reaches_the_plant_wide_channel_and_no_area_group() {
    let dir = tempfile::tempdir().expect("temp dir");
    let hook = loopback::start(|r, _| {
        Some(if loopback::webhook_signed("hook-secret", r) { (204, String::new()) } else { (401, "{}".into()) })
    });
    let tank = loopback::start(loopback::wecom("k-tank"));
    let config = format!(
        r#"
[alerts]
interval_seconds = 1

[[alerts.channel]]
name = "安全部"
kind = "webhook"
url = "{hook}/hooks/ptw"
secret = "hook-secret"

[[alerts.channel]]
name = "罐区企微"
kind = "wecom"
base = "{tank}"
key = "k-tank"
areas = ["罐区"]
"#,
        hook = hook.base,
        tank = tank.base,
    );
    let server = Server::start_with_config(&dir.path().join("server"), &config);
    // 孙浩's and 钱勇's confined-space certificates end on 2028-01-09 (plant time).
    let morning_after = Utc.with_ymd_and_hms(2028, 1, 10, 1, 0, 0).single().expect("time");
    server.set_clock(morning_after);
    let got = wait_for(&hook, "both expired certificates", |g| delivered(g).len() == 2);
    assert_eq!(got.len(), 2, "each once, nothing refused: {got:?}");
    let texts: Vec<String> = got.iter().map(text_of).collect();
    for number in ["SX-2025-0117", "SX-2025-0121"] {
        assert_eq!(texts.iter().filter(|t| t.contains(number) && t.contains("已到期")).count(), 1, "{texts:?}");
    }
    assert!(texts.iter().all(|t| t.contains("人员资格")), "{texts:?}");
    let payload = got[0].json().expect("json");
    assert!(payload["alerts"][0]["permit"].is_null(), "the register's alert is under no permit: {payload}");
    assert!(tank.requests().is_empty(), "an area's group does not take the plant's register alerts");
    let open = open_alerts(&server);
    assert_eq!(
        open.iter().filter(|(p, k, _)| p.is_empty() && k.starts_with("certificate_expired/")).count(),
        2,
        "{open:?}"
    );
    let report = server.admin(&[
        "alerts",
        "response",
        "--from",
        &(morning_after - Duration::days(30)).to_rfc3339(),
        "--to",
        &(morning_after + Duration::days(1)).to_rfc3339(),
    ]);
    let rows: serde_json::Value = serde_json::from_str(report.trim()).expect("json");
    let plant = rows.as_array().and_then(|r| r.iter().find(|a| a["area"] == "")).cloned().expect("the plant's row");
    assert_eq!(plant["raised"], 2, "{rows}");
}

#[test]
fn hot_work_filed_beside_a_line_blinding_job_reaches_the_areas_group_as_a_conflict_and_the_server_sees_what_the_tablet_sees(
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let tank = loopback::start(loopback::wecom("k-tank"));
    let config = format!(
        r#"
[alerts]
interval_seconds = 1

[[alerts.channel]]
name = "罐区企微"
kind = "wecom"
base = "{tank}"
key = "k-tank"
areas = ["罐区"]
"#,
        tank = tank.base,
    );
    let server = Server::start_with_config(&dir.path().join("server"), &config);
    let at = |minutes: i64| t0() + Duration::minutes(minutes);
    let mut tablet = server.tablet(&dir.path().join("tablet.db"), "T-01", at(0));
    let zhao = person("赵磊");
    let tank_101 = tablet.registry().locations.iter().find(|l| l.code == "T-101").map(|l| l.id);
    let mut hot = hot_work(&tablet, "T-101 罐顶人孔法兰补焊", at(30));
    hot.location = tank_101;
    let mut blind = hot_work(&tablet, "T-101 出料线加盲板 MB-017", at(90));
    let precautions =
        tablet.registry().catalog.permit_type("line_blinding").expect("line blinding").precautions.clone();
    blind.permit_type = "line_blinding".into();
    blind.grade = "standard".into();
    blind.subtype = Some("fit".into());
    blind.location = tank_101;
    blind.precautions = precautions.iter().map(|p| p.code.clone()).collect();
    blind.details = ptw_core::demo::blind_mb017();
    let hot = tablet.create_permit(zhao, hot, at(1)).expect("hot work").id;
    let hot_number = tablet.act(zhao, hot, Action::Submit, at(1)).expect("submitted").number;
    let blind = tablet.create_permit(zhao, blind, at(2)).expect("line blinding").id;
    let blind_number = tablet.act(zhao, blind, Action::Submit, at(2)).expect("submitted").number;
    server.set_clock(at(5));
    server.sync(&mut tablet, at(5)).expect("synced");

    // Both permits' conflict reaches the tank farm's group, in the plant's words.
    let got = wait_for(&tank, "the conflict on both permits", |g| {
        mentions(g, "交叉作业冲突") >= 1 && mentions(g, &hot_number) >= 1 && mentions(g, &blind_number) >= 1
    });
    assert!(
        mentions(&got, "盲板抽堵作业点附近动火") >= 1,
        "the rule's name: {:?}",
        got.iter().map(text_of).collect::<Vec<_>>()
    );
    assert!(mentions(&got, "T-101 出料线加盲板 MB-017") >= 1, "the other permit's title");

    let mut on_tablet: Vec<(String, String, u64)> = tablet
        .inbox(None, at(5))
        .expect("inbox")
        .items
        .into_iter()
        .map(|i| {
            (i.alert.permit().map(|p| p.to_string()).unwrap_or_default(), i.alert.key.clone(), u64::from(i.alert.level))
        })
        .collect();
    on_tablet.sort();
    assert_eq!(
        on_tablet.iter().filter(|(_, k, _)| k.starts_with("conflict/")).count(),
        2,
        "one on each permit: {on_tablet:?}"
    );
    assert_eq!(open_alerts(&server), on_tablet, "the server raises what the tablet shows");

    // The line-blinding job cancelled: the conflict ends on the server too.
    tablet.act(zhao, blind, Action::Cancel { reason: "改期".into() }, at(6)).expect("cancelled");
    server.set_clock(at(7));
    server.sync(&mut tablet, at(7)).expect("synced");
    for _ in 0..600 {
        if !open_alerts(&server).iter().any(|(_, k, _)| k.starts_with("conflict/")) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the conflict never ended on the server: {:?}", open_alerts(&server));
}
