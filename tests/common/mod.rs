//! What the whole-system tests share: a real `ptw-sync-server` process on loopback (started,
//! killed, restarted on the same address, its admin CLI), the demo plant's people, a hot-work
//! form and the convergence check. Each test binary uses part of it.
#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use ptw_core::api::ListQuery;
use ptw_core::{PermitForm, PermitId, PersonId};
use ptw_store::{DemoPlant, Store};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The server binary, built by `cargo test --workspace` (or `cargo build -p ptw-sync-server`)
/// next to the test's own executable.
pub fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let debug = exe.parent().and_then(Path::parent).expect("target/debug");
    let bin = debug.join(format!("ptw-sync-server{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.is_file(), "{} is missing: build it with `cargo build -p ptw-sync-server`", bin.display());
    bin
}

/// A `ptw-sync-server serve` process; killed when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub addr: String,
    pub data_dir: PathBuf,
}

impl Server {
    /// Start on a free loopback port with its data in `data_dir`.
    pub fn start(data_dir: &Path) -> Server {
        Server::try_start(data_dir, "127.0.0.1:0").expect("the server printed its address")
    }

    fn try_start(data_dir: &Path, bind: &str) -> Option<Server> {
        let mut child = Command::new(server_binary())
            .arg("--data-dir")
            .arg(data_dir)
            .args(["serve", "--bind", bind])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the sync server");
        let stdout = child.stdout.take().expect("server stdout");
        let addr = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|l| l.strip_prefix("listening on ").map(|a| a.trim().to_string()));
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        };
        Some(Server { child, url: format!("http://{addr}"), addr, data_dir: data_dir.to_path_buf() })
    }

    /// SIGKILL: whatever the server was doing is dropped.
    pub fn kill_nine(&mut self) {
        self.child.kill().expect("kill -9 the server");
        self.child.wait().expect("reap the server");
    }

    /// Stop the server (the data directory is then safe to copy or replace).
    pub fn stop(&mut self) {
        self.kill_nine();
    }

    /// Start again on the same data directory and address (the tablets remember the URL).
    pub fn restart(&mut self) {
        for _ in 0..100 {
            if let Some(s) = Server::try_start(&self.data_dir, &self.addr) {
                *self = s;
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the server did not come back on {}", self.addr);
    }

    /// Run the admin CLI on the data directory; its standard output.
    pub fn admin(&self, args: &[&str]) -> String {
        let out =
            Command::new(server_binary()).arg("--data-dir").arg(&self.data_dir).args(args).output().expect("run admin");
        assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// A one-time enrolment code from the admin CLI, as IT would print it.
    pub fn enrol_code(&self, name: &str) -> String {
        let text = self.admin(&["device", "enrol", "--name", name, "--url", &self.url]);
        text.lines()
            .find_map(|l| l.split_once("Enrolment code for ").and_then(|(_, rest)| rest.split_once(": ")))
            .map(|(_, code)| code.trim().to_string())
            .unwrap_or_else(|| panic!("no code in: {text}"))
    }

    /// A tablet with its database at `db`, enrolled with this server; holding the demo plant
    /// when `seeded` (the plant's first tablet), empty until it syncs otherwise.
    pub fn tablet(&self, db: &Path, name: &str, seeded: bool, now: DateTime<Utc>) -> Store {
        let mut store = Store::open(db, name, now).expect("open the tablet's store");
        if seeded {
            store.seed_demo(now).expect("seed the demo plant");
        }
        store.enrol(&self.url, &self.enrol_code(name)).expect("enrol the tablet");
        store
    }

    /// `GET /health` over a plain socket: the compaction backlog.
    pub fn compaction_backlog(&self) -> u64 {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&self.addr).expect("connect");
        write!(stream, "GET /health HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", self.addr).expect("request");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("answer");
        let body = answer.split("\r\n\r\n").nth(1).expect("body");
        let health: serde_json::Value = serde_json::from_str(body).expect("health JSON");
        health["compaction_backlog"].as_u64().expect("compaction_backlog")
    }

    /// Waits (bounded) until the server has compacted everything it can, as a cold tablet
    /// would find it on a server that has been running a while.
    pub fn wait_for_compaction(&self) {
        let mut waited = 0;
        while self.compaction_backlog() > 0 && waited < 600 {
            std::thread::sleep(std::time::Duration::from_millis(50));
            waited += 1;
        }
        assert_eq!(self.compaction_backlog(), 0, "the server compacted its documents");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).single().expect("time")
}

/// A person of the demo plant, by name.
pub fn person(name: &str) -> PersonId {
    DemoPlant::load().expect("demo").people.into_iter().find(|p| p.person.name == name).expect("person").person.id
}

/// A complete grade-1 hot-work form starting at `start` (the simulator's, as the load
/// benchmark files them).
pub fn hot_work(store: &Store, title: &str, start: DateTime<Utc>) -> PermitForm {
    let people = ptw_sim::People::demo().expect("the demo people");
    ptw_sim::hot_work_form(store, &people, title, start)
}

pub fn all() -> ListQuery {
    ListQuery { status: None, limit: 10_000, offset: 0 }
}

/// Same documents, same heads, same derived permits and the same list on both stores.
pub fn assert_converged(a: &Store, b: &Store, now: DateTime<Utc>, what: &str) {
    let ids = a.document_ids().expect("ids");
    assert_eq!(ids, b.document_ids().expect("ids"), "{what}: document ids");
    for id in &ids {
        assert_eq!(a.heads(id).expect("heads"), b.heads(id).expect("heads"), "{what}: heads of {id}");
        if let Ok(pid) = id.parse::<PermitId>() {
            assert_eq!(a.permit(pid, now).expect("a"), b.permit(pid, now).expect("b"), "{what}: permit {id}");
        }
    }
    assert_eq!(a.list(&all()).expect("list"), b.list(&all()).expect("list"), "{what}: list");
}
