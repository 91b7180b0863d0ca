//! A real `ptw-sync-server` process on a loopback port, the admin CLI, and simulated devices that
//! enrol, sign events with their own Ed25519 keys and make real Automerge changes.
#![allow(dead_code)]

/// The throw-away PostgreSQL cluster the storage unit tests use too.
#[path = "../../src/storage/pg_cluster.rs"]
pub mod pg_cluster;

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ObjId, ReadDoc, ScalarValue, ROOT};
use ed25519_zebra::SigningKey;
use ptw_core::signature::public_key_hex;
use ptw_core::sync::{EnrolRequest, EnrolResponse, ErrorBody, PullResponse, PushRequest, PushResponse, WireChange};
use ptw_core::{
    DeviceId, Event, EventId, EventKind, Hlc, PermitForm, PermitId, PersonId, SignedEvent, Stamp, TimeTrust,
};
use reqwest::blocking::{Client, Response};
use reqwest::StatusCode;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_ptw-sync-server");

/// A server process serving `data_dir` (or a PostgreSQL database); killed (SIGKILL) when dropped.
pub struct Server {
    child: Child,
    pub base: String,
    pub addr: String,
    pub data_dir: PathBuf,
    /// `--database-url`, when the server runs on PostgreSQL.
    pub database_url: Option<String>,
}

impl Server {
    /// A server on SQLite in `data_dir`.
    pub fn start(data_dir: &Path) -> Server {
        Server::start_with(data_dir, None)
    }

    /// A server on the PostgreSQL database at `url` (`data_dir` holds nothing then).
    pub fn start_postgres(data_dir: &Path, url: &str) -> Server {
        Server::start_with(data_dir, Some(url.to_owned()))
    }

    /// A server on SQLite in `data_dir` whose log (at `info`) goes to `log`.
    pub fn start_logged(data_dir: &Path, log: &Path) -> Server {
        let file = std::fs::File::create(log).expect("log file");
        Server::spawn(data_dir, None, Stdio::from(file), "info")
    }

    fn start_with(data_dir: &Path, database_url: Option<String>) -> Server {
        Server::spawn(data_dir, database_url, Stdio::inherit(), "error")
    }

    fn spawn(data_dir: &Path, database_url: Option<String>, stderr: Stdio, log_level: &str) -> Server {
        // The tests' HTTP clients: rustls with ring (built with the device store's features,
        // reqwest looks for a process-wide provider).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut child = Server::command(data_dir, database_url.as_deref())
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("RUST_LOG", log_level)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start the server");
        let stdout = child.stdout.take().expect("server stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read the listening line");
        let addr = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected: {line}")).to_owned();
        Server { child, base: format!("http://{addr}"), addr, data_dir: data_dir.to_owned(), database_url }
    }

    /// The server binary pointed at this storage.
    fn command(data_dir: &Path, database_url: Option<&str>) -> Command {
        let mut command = Command::new(BIN);
        command.arg("--data-dir").arg(data_dir).env_remove("PTW_SYNC_DATABASE_URL");
        if let Some(url) = database_url {
            command.args(["--database-url", url]);
        }
        command
    }

    /// `kill -9`: no shutdown, no flushing beyond what the server already made durable.
    pub fn kill_hard(mut self) {
        self.child.kill().expect("SIGKILL the server");
        self.child.wait().expect("reap the server");
    }

    /// A one-time enrolment code printed by `device enrol` (IT at the server's console).
    pub fn enrolment_code(&self, name: &str) -> String {
        let out = self.admin(&["device", "enrol", "--name", name, "--url", &self.base]);
        let prefix = format!("Enrolment code for {name}: ");
        let code = out.lines().find_map(|l| l.strip_prefix(&prefix)).expect("the code line").trim().to_owned();
        assert!(out.contains('█') || out.contains('▀') || out.contains('▄'), "a QR is printed: {out}");
        code
    }

    /// Run an admin command against this server's data directory; its stdout.
    pub fn admin(&self, args: &[&str]) -> String {
        let out =
            Server::command(&self.data_dir, self.database_url.as_deref()).args(args).output().expect("run the CLI");
        assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// Run an admin command that must fail; its stderr (what the admin reads).
    pub fn admin_refused(&self, args: &[&str]) -> String {
        let out =
            Server::command(&self.data_dir, self.database_url.as_deref()).args(args).output().expect("run the CLI");
        assert!(!out.status.success(), "{args:?} succeeded: {}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub fn enrol(&self, code: &str, device: &TestDevice) -> Response {
        let req = EnrolRequest { code: code.to_owned(), public_key: public_key_hex(&device.key) };
        Client::new().post(format!("{}/api/devices/enrol", self.base)).json(&req).send().expect("enrol request")
    }

    /// A device enrolled with a fresh code, holding the id and token the server gave it.
    pub fn enrolled_device(&self, n: u8) -> TestDevice {
        let mut device = TestDevice::new(n);
        let response = self.enrol(&self.enrolment_code(&device.name), &device);
        assert_eq!(response.status(), StatusCode::OK);
        let answer = response.json::<EnrolResponse>().expect("enrol answer");
        device.token = answer.device_token;
        device.id = answer.device_id;
        device
    }

    pub fn push(&self, token: Option<&str>, changes: &[WireChange]) -> Response {
        let mut req =
            Client::new().post(format!("{}/api/sync/push", self.base)).json(&PushRequest { changes: changes.to_vec() });
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().expect("push request")
    }

    pub fn push_ok(&self, device: &TestDevice, changes: &[WireChange]) -> PushResponse {
        let response = self.push(Some(&device.token), changes);
        assert_eq!(response.status(), StatusCode::OK);
        response.json().expect("push answer")
    }

    pub fn pull(&self, token: &str, query: &str) -> Response {
        Client::new().get(format!("{}/api/sync/pull?{query}", self.base)).bearer_auth(token).send().expect("pull")
    }

    pub fn pull_ok(&self, device: &TestDevice, query: &str) -> PullResponse {
        let response = self.pull(&device.token, query);
        assert_eq!(response.status(), StatusCode::OK);
        response.json().expect("pull answer")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn error_of(response: Response) -> (StatusCode, String) {
    let status = response.status();
    (status, response.json::<ErrorBody>().expect("an ErrorBody").error)
}

/// The status and the typed kind of an error answer.
pub fn kind_of(response: Response) -> (StatusCode, ptw_core::sync::ErrorKind) {
    let status = response.status();
    (status, response.json::<ErrorBody>().expect("an ErrorBody").kind)
}

/// A tablet: its Ed25519 key and (once enrolled) the id and bearer token the server gave it.
pub struct TestDevice {
    pub id: DeviceId,
    pub name: String,
    pub key: SigningKey,
    pub token: String,
}

/// The time every test event is dated at, plus its number: the present, as the server's clock
/// reads it (events ahead of it are refused).
pub fn test_time_ms(n: u128) -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64;
    now - 60_000 + n as i64
}

impl TestDevice {
    pub fn new(n: u8) -> TestDevice {
        TestDevice {
            id: DeviceId(Uuid::from_u128(0xD000 + u128::from(n))),
            name: format!("T-{n:02}"),
            key: SigningKey::from_bytes(&[n; 32]),
            token: String::new(),
        }
    }

    /// An Automerge actor of this device (its id, then `tail`).
    pub fn actor(&self, tail: u8) -> ActorId {
        let mut bytes = self.id.as_uuid().as_bytes().to_vec();
        bytes.extend_from_slice(&[tail; 8]);
        ActorId::from(bytes.as_slice())
    }

    /// A comment event on `permit`, signed by this device, dated a minute ago plus `n` ms.
    pub fn sign(&self, permit: PermitId, n: u128, text: &str) -> SignedEvent {
        let ms = test_time_ms(n);
        self.sign_event(Event {
            id: EventId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + n)),
            permit,
            at: Hlc::new(ms, 0),
            time: Some(Stamp { ms, trust: TimeTrust::Server }),
            prev: None,
            device: self.id,
            actor: PersonId(Uuid::from_u128(42)),
            content_hash: "form".into(),
            handwriting: None,
            kind: EventKind::Comment { text: text.into() },
        })
    }

    pub fn sign_event(&self, event: Event) -> SignedEvent {
        SignedEvent::sign(&event, &self.key)
    }
}

/// A permit document being edited on one device; each method returns the change it made.
pub struct PermitDoc {
    pub id: PermitId,
    pub doc: AutoCommit,
    events: ObjId,
}

impl PermitDoc {
    /// A new permit document made by `device`: id, number, an empty form and events list.
    pub fn create(device: &TestDevice, n: u128) -> (PermitDoc, WireChange) {
        let id = PermitId(Uuid::from_u128(0x0190_0000_0000_7000_9000_0000_0000_0000 + n));
        let mut doc = AutoCommit::new();
        doc.set_actor(device.actor(n as u8));
        ptw_doc::init_permit(&mut doc, &id.to_string(), &format!("DH-{n}"), &PermitForm::default()).expect("init");
        let events = match doc.get(ROOT, "events").expect("get") {
            Some((_, events)) => events,
            None => panic!("no events list"),
        };
        let mut permit = PermitDoc { id, doc, events };
        let change = permit.last_change();
        (permit, change)
    }

    /// The same permit as edited from here on by another actor (`tail`) of `device`.
    pub fn fork(&self, device: &TestDevice, tail: u8) -> PermitDoc {
        let mut doc = self.doc.clone();
        doc.set_actor(device.actor(tail));
        PermitDoc { id: self.id, doc, events: self.events.clone() }
    }

    /// Put `key` = `value` at the root (tampering with the layout).
    pub fn put_root(&mut self, key: &str, value: &str) -> WireChange {
        self.doc.put(ROOT, key, value).expect("put");
        self.last_change()
    }

    pub fn append(&mut self, signed: &SignedEvent) -> WireChange {
        let len = self.doc.length(&self.events);
        self.doc.insert(&self.events, len, ScalarValue::Str(signed.to_stored().into())).expect("append event");
        self.last_change()
    }

    /// Tampering: delete the first event.
    pub fn delete_first_event(&mut self) -> WireChange {
        self.doc.delete(&self.events, 0).expect("delete");
        self.last_change()
    }

    pub fn last_change(&mut self) -> WireChange {
        self.doc.commit();
        let change = self.doc.get_last_local_change().expect("a change");
        WireChange {
            doc_id: self.id.to_string(),
            kind: "permit".into(),
            hash: change.hash().to_string(),
            bytes: change.raw_bytes().to_vec(),
        }
    }
}
