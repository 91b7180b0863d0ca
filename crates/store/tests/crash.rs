//! Invariant (no loss): a kill -9 in the middle of a stream of writes loses nothing that was
//! acknowledged. A child process writes events as fast as it can and prints "ack N" after each
//! `act` returns; the parent kills it mid-stream, reopens the database and checks every
//! acknowledged event is there.

mod common;
use common::*;
use ptw_core::api::Action;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

const CHILD_ENV: &str = "PTW_STORE_CRASH_CHILD_DB";

/// The child: runs only when the parent re-executes this test binary with the env var set.
#[test]
#[ignore = "child process of another test; it runs only when that test re-executes this binary"]
fn crash_child_writer() {
    let Ok(db) = std::env::var(CHILD_ENV) else { return };
    let mut store = open_demo(std::path::Path::new(&db));
    let zhang = person("张伟");
    let id = store.create_permit(zhang, hot_work_form(&store, t0()), t0()).expect("draft").id;
    let mut out = std::io::stdout().lock();
    writeln!(out, "\npermit {id}").expect("stdout");
    out.flush().expect("flush");
    for i in 0.. {
        store.act(zhang, id, Action::Comment { text: format!("note {i}") }, t0()).expect("write");
        writeln!(out, "ack {i}").expect("stdout");
        out.flush().expect("flush");
    }
}

#[test]
fn a_kill_nine_mid_write_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("crash.db");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "crash_child_writer", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("child stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut permit = None;
    let mut acked = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("read child");
        if let Some(id) = line.strip_prefix("permit ") {
            permit = Some(id.parse::<ptw_core::PermitId>().expect("permit id"));
        } else if let Some(n) = line.strip_prefix("ack ") {
            acked.push(n.parse::<u32>().expect("ack number"));
            if acked.len() == 40 {
                child.kill().expect("kill -9");
                break;
            }
        }
    }
    // Acks the child printed before it died are acknowledgements too.
    for line in lines.map_while(Result::ok) {
        if let Some(n) = line.strip_prefix("ack ") {
            acked.push(n.parse().expect("ack number"));
        }
    }
    let status = child.wait().expect("reap child");
    assert!(!status.success(), "the child was killed, not finished");
    let permit = permit.expect("child created a permit");

    let store = open_demo(&db);
    let view = store.permit(permit, t0()).expect("permit survives");
    let texts: Vec<String> = view
        .state
        .timeline
        .iter()
        .filter_map(|t| match &t.event.as_ref()?.kind {
            ptw_core::EventKind::Comment { text } => Some(text.clone()),
            _ => None,
        })
        .collect();
    for n in &acked {
        assert!(texts.contains(&format!("note {n}")), "acknowledged note {n} was lost; have {}", texts.len());
    }
    assert!(texts.len() >= acked.len());
    assert!(store.pending_changes().expect("outbox") as usize >= acked.len());
}
