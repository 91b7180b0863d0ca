//! Whole system: two tablets and a real `ptw-sync-server` process on loopback. The tablets edit
//! the same permits offline, sync through the server, and end with identical documents and
//! permits. Also the round-trip budget: nothing changed costs one small round trip, one changed
//! permit at most two.

use chrono::{DateTime, Duration, TimeZone, Utc};
use ptw_core::api::{Action, ListQuery};
use ptw_core::{PermitForm, PermitId, PersonId, Status};
use ptw_store::{DemoPlant, Store};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The server binary, built by `cargo test --workspace` next to this test's own executable.
fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let debug = exe.parent().and_then(Path::parent).expect("target/debug");
    let bin = debug.join(format!("ptw-sync-server{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.is_file(), "{} is missing: build it with `cargo build -p ptw-sync-server`", bin.display());
    bin
}

struct Server {
    child: Child,
    url: String,
    data_dir: PathBuf,
}

impl Server {
    fn start(data_dir: &Path) -> Server {
        let mut child = Command::new(server_binary())
            .args(["--data-dir"])
            .arg(data_dir)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the sync server");
        let stdout = child.stdout.take().expect("server stdout");
        let mut addr = None;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(a) = line.strip_prefix("listening on ") {
                addr = Some(a.trim().to_string());
                break;
            }
        }
        let addr = addr.expect("the server printed its address");
        Server { child, url: format!("http://{addr}"), data_dir: data_dir.to_path_buf() }
    }

    /// A one-time enrolment code from the admin CLI, as IT would print it.
    fn enrol_code(&self, name: &str) -> String {
        let out = Command::new(server_binary())
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["device", "enrol", "--name", name, "--url", &self.url])
            .output()
            .expect("run device enrol");
        assert!(out.status.success(), "device enrol failed: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        text.lines()
            .find_map(|l| l.split_once("Enrolment code for ").and_then(|(_, rest)| rest.split_once(": ")))
            .map(|(_, code)| code.trim().to_string())
            .unwrap_or_else(|| panic!("no code in: {text}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).single().expect("time")
}

fn person(name: &str) -> PersonId {
    DemoPlant::load().expect("demo").people.into_iter().find(|p| p.person.name == name).expect("person").person.id
}

fn hot_work(store: &Store, start: DateTime<Utc>) -> PermitForm {
    let r = store.registry();
    PermitForm {
        permit_type: "hot_work".into(),
        grade: "grade_1".into(),
        title: "T-101 出料管线法兰焊接".into(),
        location: r.locations.first().map(|l| l.id),
        work_description: "更换法兰".into(),
        planned_start: Some(start),
        planned_end: Some(start + Duration::hours(4)),
        guardian: Some(person("李娜")),
        crew: vec![person("孙浩")],
        hazards: "可燃气体".into(),
        precautions: r
            .catalog
            .permit_type("hot_work")
            .expect("type")
            .precautions
            .iter()
            .map(|p| p.code.clone())
            .collect(),
        ..Default::default()
    }
}

fn assert_converged(a: &Store, b: &Store, now: DateTime<Utc>) {
    let ids = a.document_ids().expect("ids");
    assert_eq!(ids, b.document_ids().expect("ids"));
    for id in &ids {
        assert_eq!(a.heads(id).expect("heads"), b.heads(id).expect("heads"), "heads of {id}");
        if let Ok(pid) = id.parse::<PermitId>() {
            assert_eq!(a.permit(pid, now).expect("a"), b.permit(pid, now).expect("b"), "permit {id}");
        }
    }
    let all = ListQuery { status: None, limit: 500, offset: 0 };
    assert_eq!(a.list(&all).expect("list"), b.list(&all).expect("list"));
}

#[test]
fn two_tablets_editing_offline_converge_through_the_sync_server() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("server"));
    let t = t0();

    let mut a = Store::open(&dir.path().join("a.db"), "T-07", t).expect("open A");
    a.seed_demo(t).expect("seed");
    a.enrol(&server.url, &server.enrol_code("T-07")).expect("enrol A");
    let first = a.sync_now(t).expect("A syncs");
    assert_eq!(first.acked, first.pushed, "the server acknowledged everything A pushed");

    // B is a new tablet: empty until the plant arrives from the server; then it adds its key.
    let mut b = Store::open(&dir.path().join("b.db"), "T-08", t).expect("open B");
    b.enrol(&server.url, &server.enrol_code("T-08")).expect("enrol B");
    b.sync_now(t).expect("B pulls the plant");
    assert!(!b.is_empty());
    b.sync_now(t).expect("B pushes its key");
    a.sync_now(t).expect("A learns B's key");
    assert!(a.registry().device(b.device_id()).is_some());

    let zhang = person("张伟");
    let p = a.create_permit(zhang, hot_work(&a, t + Duration::minutes(30)), t).expect("P").id;
    a.act(zhang, p, Action::Submit, t).expect("submit P");
    let q = a.create_permit(zhang, hot_work(&a, t), t).expect("Q").id;
    a.sync_now(t).expect("A pushes");
    b.sync_now(t).expect("B pulls");

    // Offline: both approve P's open step at once; both edit Q's title; then a cancel races.
    let t1 = t + Duration::minutes(5);
    a.act(person("刘洋"), p, Action::Approve { comment: "A 同意".into() }, t1).expect("A approves");
    b.act(person("赵磊"), p, Action::Approve { comment: "B 同意".into() }, t1).expect("B approves");
    let mut qa = a.permit(q, t1).expect("Q").form;
    qa.title = "A 的标题".into();
    a.update_draft(zhang, q, qa, t1).expect("edit on A");
    let mut qb = b.permit(q, t1).expect("Q").form;
    qb.title = "B 的标题".into();
    b.update_draft(zhang, q, qb, t1).expect("edit on B");
    b.act(zhang, q, Action::Cancel { reason: "不做了".into() }, t1).expect("cancel on B");

    a.sync_now(t1).expect("A");
    b.sync_now(t1).expect("B");
    a.sync_now(t1).expect("A again");
    assert_converged(&a, &b, t1);
    let pv = a.permit(p, t1).expect("P");
    // Any-sign step: the first approval in (HLC, id) order signs it; the other finds the next
    // step open for a workshop director and is kept as rejected — identically on both.
    assert_eq!(pv.state.step("workshop_review").map(|s| s.signatures.len()), Some(1));
    assert_eq!(pv.state.rejected().count(), 1);
    assert_eq!(a.permit(q, t1).expect("Q").state.status, Status::Cancelled);

    // Nothing changed: one round trip, a small answer.
    let idle = a.sync_now(t1).expect("idle sync");
    assert_eq!(idle.round_trips, 1, "{idle:?}");
    assert!(idle.bytes_received < 1024, "{idle:?}");
    println!("no-change sync: {} round trip(s), {} bytes received", idle.round_trips, idle.bytes_received);

    // One changed permit: push + pull.
    a.act(person("王强"), p, Action::Approve { comment: "安全部同意".into() }, t1).expect("approve");
    let one = a.sync_now(t1).expect("one change");
    assert!(one.round_trips <= 2, "{one:?}");
    println!("one changed permit: {} round trip(s), {} bytes sent", one.round_trips, one.bytes_sent);
    b.sync_now(t1).expect("B catches up");
    assert_converged(&a, &b, t1);
    assert_eq!(b.permit(p, t1).expect("P on B").state.status, Status::Approved);
}

/// `GET /health` over a plain socket; the server's compaction backlog.
fn compaction_backlog(url: &str) -> u64 {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    write!(stream, "GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").expect("request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    let body = answer.split("\r\n\r\n").nth(1).expect("body");
    let health: serde_json::Value = serde_json::from_str(body).expect("health JSON");
    health["compaction_backlog"].as_u64().expect("compaction_backlog")
}

#[test]
fn a_new_tablet_starts_from_compacted_documents_and_ends_identical() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("server"));
    let t = t0();
    let mut a = Store::open(&dir.path().join("a.db"), "T-07", t).expect("open A");
    a.seed_demo(t).expect("seed");
    a.enrol(&server.url, &server.enrol_code("T-07")).expect("enrol A");
    let zhang = person("张伟");
    for i in 0..6 {
        let p = a.create_permit(zhang, hot_work(&a, t + Duration::minutes(30)), t).expect("permit").id;
        a.act(zhang, p, Action::Submit, t).expect("submit");
        a.act(person("刘洋"), p, Action::Approve { comment: format!("同意 {i}") }, t).expect("approve");
        a.act(zhang, p, Action::Comment { text: "材料已到".into() }, t).expect("comment");
    }
    a.sync_now(t).expect("A pushes");
    // The server compacts in the background; wait for it (bounded), as a cold tablet would
    // find it on a server that has been running a while.
    let mut waited = 0;
    while compaction_backlog(&server.url) > 0 && waited < 600 {
        std::thread::sleep(std::time::Duration::from_millis(50));
        waited += 1;
    }
    assert_eq!(compaction_backlog(&server.url), 0, "the server compacted its documents");

    // Two documents per page: the cold start spans several pages, each applied with its cursor.
    let mut c = Store::open(&dir.path().join("c.db"), "T-09", t).expect("open C");
    c.enrol(&server.url, &server.enrol_code("T-09")).expect("enrol C");
    let options = ptw_store::SyncOptions { pull_max_changes: 2, ..Default::default() };
    let cold = c.sync_now_with(t, options).expect("C starts cold");
    assert_eq!(cold.snapshots, 6, "the six permits arrive compacted (the one-change org document raw): {cold:?}");
    assert!(cold.round_trips >= 4, "several pages: {cold:?}");
    assert!(cold.applied >= 6 * 4, "every change of the six permits is on C: {cold:?}");
    // C's own key goes up; A learns it; both end identical.
    c.sync_now(t).expect("C pushes its key");
    a.sync_now(t).expect("A");
    c.sync_now(t).expect("C");
    assert_converged(&a, &c, t);
    let again = c.sync_now(t).expect("idle");
    assert_eq!((again.round_trips, again.applied), (1, 0), "after the cold start C pulls from its cursor: {again:?}");
}

/// Waits (bounded) until the server has compacted everything it can.
fn wait_for_compaction(url: &str) {
    let mut waited = 0;
    while compaction_backlog(url) > 0 && waited < 600 {
        std::thread::sleep(std::time::Duration::from_millis(50));
        waited += 1;
    }
    assert_eq!(compaction_backlog(url), 0, "the server compacted its documents");
}

#[test]
fn a_tablet_starting_cold_again_merges_what_it_has_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("server"));
    let t = t0();
    let zhang = person("张伟");
    let mut a = Store::open(&dir.path().join("a.db"), "T-07", t).expect("open A");
    a.seed_demo(t).expect("seed");
    a.enrol(&server.url, &server.enrol_code("T-07")).expect("enrol A");
    let mut ids = Vec::new();
    for _ in 0..5 {
        let p = a.create_permit(zhang, hot_work(&a, t + Duration::minutes(30)), t).expect("permit").id;
        a.act(zhang, p, Action::Submit, t).expect("submit");
        ids.push(p);
    }
    a.sync_now(t).expect("A pushes");
    let mut b = Store::open(&dir.path().join("b.db"), "T-08", t).expect("open B");
    b.enrol(&server.url, &server.enrol_code("T-08")).expect("enrol B");
    b.sync_now(t).expect("B pulls");
    b.sync_now(t).expect("B pushes its key");
    a.sync_now(t).expect("A learns B's key");

    // A moves every permit on; B, offline, comments on one; the server compacts.
    for p in &ids {
        a.act(person("刘洋"), *p, Action::Approve { comment: "同意".into() }, t).expect("approve");
    }
    b.act(zhang, ids[0], Action::Comment { text: "B 离线备注".into() }, t).expect("comment on B");
    a.sync_now(t).expect("A pushes");
    wait_for_compaction(&server.url);

    // B starts cold again: compacted documents merged into the ones it holds, its own
    // unpushed comment kept and pushed.
    b.forget_sync_cursor().expect("forget");
    let cold = b.sync_now_with(t, ptw_store::SyncOptions { pull_max_changes: 2, ..Default::default() }).expect("B");
    assert!(cold.snapshots >= 5, "{cold:?}");
    assert_eq!(cold.acked, 1, "B's comment went up: {cold:?}");
    assert!(cold.applied >= 5, "A's approvals arrived: {cold:?}");
    a.sync_now(t).expect("A");
    b.sync_now(t).expect("B");
    assert_converged(&a, &b, t);
    let timeline = a.permit(ids[0], t).expect("permit").state.timeline.len();
    assert!(timeline >= 3, "submit, approve and B's comment are all on A: {timeline}");
}
