//! What the whole-system tests share: a real `ptw-sync-server` process on loopback holding the
//! demo plant (started, killed, restarted on the same address, its admin CLI, its clock moved by
//! hand), tablets enrolled with it, the demo plant's people, a hot-work form and the convergence
//! check. Each test binary uses part of it.
//!
//! Time: the server reads its clock from a file the test writes (`--fake-clock-file`), and the
//! tablets' monotonic clock follows the wall-clock time each call is given — so a test that says
//! "31 minutes later" is 31 minutes later for the server and the tablets alike, with no sleeping.
//! [`Server::sync`] moves the server's clock to the tablet's time before the round.
#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use ptw_core::api::ListQuery;
use ptw_core::demo::DemoPlant;
use ptw_core::{PermitForm, PermitId, PersonId};
use ptw_store::time::Monotonic;
use ptw_store::{Store, StoreOptions, SyncOptions, SyncReport};
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
    /// The file the server reads its clock from.
    pub clock: PathBuf,
    /// Its configuration file, if it was given one.
    pub config: Option<PathBuf>,
}

impl Server {
    /// Start on a free loopback port with its data in `data_dir`, its clock at [`t0`], holding
    /// the demo plant.
    pub fn start(data_dir: &Path) -> Server {
        Server::start_configured(data_dir, None)
    }

    /// [`Server::start`] with `config` (TOML) as its configuration file.
    pub fn start_with_config(data_dir: &Path, config: &str) -> Server {
        Server::start_configured(data_dir, Some(config))
    }

    fn start_configured(data_dir: &Path, config: Option<&str>) -> Server {
        std::fs::create_dir_all(data_dir).expect("data dir");
        let sibling = |ext: &str| {
            data_dir
                .parent()
                .unwrap_or(data_dir)
                .join(format!("{}.{ext}", data_dir.file_name().and_then(|n| n.to_str()).unwrap_or("server")))
        };
        let clock = sibling("clock");
        write_clock(&clock, t0());
        let config = config.map(|text| {
            let path = sibling("toml");
            std::fs::write(&path, text).expect("config file");
            path
        });
        let server = Server::try_start(data_dir, &clock, config.as_deref(), "127.0.0.1:0")
            .expect("the server printed its address");
        server.admin(&["demo", "seed"]);
        server
    }

    fn try_start(data_dir: &Path, clock: &Path, config: Option<&Path>, bind: &str) -> Option<Server> {
        let mut command = Command::new(server_binary());
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        let mut child = command
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--fake-clock-file")
            .arg(clock)
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
        Some(Server {
            child,
            url: format!("http://{addr}"),
            addr,
            data_dir: data_dir.to_path_buf(),
            clock: clock.into(),
            config: config.map(Path::to_path_buf),
        })
    }

    /// Set the server's clock.
    pub fn set_clock(&self, now: DateTime<Utc>) {
        write_clock(&self.clock, now);
    }

    /// A sync round of `store` at `now`, with the server's clock at `now` too.
    pub fn sync(&self, store: &mut Store, now: DateTime<Utc>) -> ptw_store::Result<SyncReport> {
        self.set_clock(now);
        store.sync_now(now)
    }

    /// [`Server::sync`] within `options`.
    pub fn sync_with(
        &self,
        store: &mut Store,
        now: DateTime<Utc>,
        options: SyncOptions,
    ) -> ptw_store::Result<SyncReport> {
        self.set_clock(now);
        store.sync_now_with(now, options)
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
            if let Some(s) = Server::try_start(&self.data_dir, &self.clock, self.config.as_deref(), &self.addr) {
                *self = s;
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the server did not come back on {}", self.addr);
    }

    /// Run the admin CLI on the data directory (on the server's clock); its standard output.
    pub fn admin(&self, args: &[&str]) -> String {
        let out = Command::new(server_binary())
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--fake-clock-file")
            .arg(&self.clock)
            .args(args)
            .output()
            .expect("run admin");
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

    /// A tablet with its database at `db`, its clock following the times it is given, enrolled
    /// with this server and synced once at `now` (it holds the plant's registry).
    pub fn tablet(&self, db: &Path, name: &str, now: DateTime<Utc>) -> Store {
        let mut store = self.enrolled(db, name, now);
        self.sync(&mut store, now).expect("the first sync");
        store
    }

    /// A tablet enrolled with this server that has not synced yet: nothing on it.
    pub fn enrolled(&self, db: &Path, name: &str, now: DateTime<Utc>) -> Store {
        let mut store = open_tablet(db, name, now);
        self.set_clock(now);
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

/// A tablet's store at `db` whose monotonic clock follows the times it is given (see the module).
pub fn open_tablet(db: &Path, name: &str, now: DateTime<Utc>) -> Store {
    Store::open_with(db, StoreOptions { device_name: name.into(), monotonic: Monotonic::FollowWall }, now)
        .expect("open the tablet's store")
}

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).single().expect("time")
}

/// A person of the demo plant, by name.
pub fn person(name: &str) -> PersonId {
    DemoPlant::load().expect("demo").person(name).expect("person").id
}

/// A complete grade-1 hot-work form starting at `start` (the simulator's, as the load
/// benchmark files them).
pub fn hot_work(store: &Store, title: &str, start: DateTime<Utc>) -> PermitForm {
    let people = ptw_sim::People::demo().expect("the demo people");
    ptw_sim::hot_work_form(store, &people, title, start)
}

pub fn all() -> ListQuery {
    ListQuery { status: None, limit: 10_000, offset: 0, ..Default::default() }
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
    // Whether a row waits for the sync server is each device's own business.
    let rows = |s: &Store| {
        let mut rows = s.list(&all()).expect("list");
        rows.iter_mut().for_each(|r| r.pending = false);
        rows
    };
    assert_eq!(rows(a), rows(b), "{what}: list");
}

/// SplitMix64: the same sequence for the same seed everywhere (the seeded chaos and fuzz tests).
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// Write the fake clock file whole: a reader never sees it half written (truncated, it would
/// read as no fake clock, and the server would fall back to the system's).
fn write_clock(path: &Path, now: DateTime<Utc>) {
    let tmp = path.with_extension("clock-tmp");
    std::fs::write(&tmp, now.timestamp_millis().to_string()).expect("clock file");
    std::fs::rename(&tmp, path).expect("clock file in place");
}
