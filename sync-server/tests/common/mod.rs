//! A real `ptw-sync-server` process on a loopback port, the admin CLI, and simulated devices that
//! enrol, sign events with their own Ed25519 keys and make real Automerge changes.
#![allow(dead_code)]

/// The throw-away PostgreSQL cluster the storage unit tests use too.
#[path = "../../src/storage/pg_cluster.rs"]
pub mod pg_cluster;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, ROOT};
use ed25519_zebra::SigningKey;
use ptw_core::event::public_key_hex;
use ptw_core::sync::{EnrolRequest, EnrolResponse, ErrorBody, PullResponse, PushRequest, PushResponse, WireChange};
use ptw_core::{DeviceId, Event, EventId, EventKind, Hlc, PermitId, PersonId, SignedEvent};
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

    fn start_with(data_dir: &Path, database_url: Option<String>) -> Server {
        let mut child = Server::command(data_dir, database_url.as_deref())
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
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

    pub fn enrol(&self, code: &str, device: &TestDevice) -> Response {
        let req = EnrolRequest {
            code: code.to_owned(),
            device_id: device.id,
            name: device.name.clone(),
            public_key: public_key_hex(&device.key),
        };
        Client::new().post(format!("{}/api/devices/enrol", self.base)).json(&req).send().expect("enrol request")
    }

    /// A device enrolled with a fresh code, holding its token.
    pub fn enrolled_device(&self, n: u8) -> TestDevice {
        let mut device = TestDevice::new(n);
        let response = self.enrol(&self.enrolment_code(&device.name), &device);
        assert_eq!(response.status(), StatusCode::OK);
        device.token = response.json::<EnrolResponse>().expect("enrol answer").device_token;
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

/// A tablet: its id, Ed25519 key and (once enrolled) bearer token.
pub struct TestDevice {
    pub id: DeviceId,
    pub name: String,
    pub key: SigningKey,
    pub token: String,
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

    /// A comment event on `permit`, signed by this device.
    pub fn sign(&self, permit: PermitId, n: u128, text: &str) -> SignedEvent {
        let event = Event {
            id: EventId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + n)),
            permit,
            at: Hlc::new(1_700_000_000_000 + n as i64, 0),
            device: self.id,
            actor: PersonId(Uuid::from_u128(42)),
            content_hash: "form".into(),
            kind: EventKind::Comment { text: text.into() },
        };
        SignedEvent::sign(&event, &self.key)
    }
}

/// A permit document being edited on one device; each method returns the change it made.
pub struct PermitDoc {
    pub id: PermitId,
    doc: AutoCommit,
    events: ObjId,
}

impl PermitDoc {
    pub fn create(n: u128) -> (PermitDoc, WireChange) {
        let id = PermitId(Uuid::from_u128(0x0190_0000_0000_7000_9000_0000_0000_0000 + n));
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "id", id.to_string()).expect("put id");
        let events = doc.put_object(ROOT, "events", ObjType::List).expect("events list");
        let mut permit = PermitDoc { id, doc, events };
        let change = permit.last_change();
        (permit, change)
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

    fn last_change(&mut self) -> WireChange {
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
