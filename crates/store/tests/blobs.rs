//! Photos and signature images on the device: kept once by SHA-256, pending until the server
//! holds them, uploaded only when the server lacks them, fetched on demand and checked.
//!
//! The sync tests talk to a small scripted HTTP server on loopback that records every request,
//! so they can tell exactly what went over the wire (the real server: `tests/sync_blobs.rs`).

mod common;

use common::{hot_work_form, person, t0, TestPlant};
use ptw_core::authority::RegistryOp;
use ptw_core::sync::{
    blob_hash, BlobsMissingRequest, BlobsMissingResponse, EnrolResponse, ErrorBody, PushRequest, PushResponse,
    SnapshotResponse, MAX_BLOB_BYTES,
};
use ptw_store::{Store, StoreError};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

fn open(dir: &tempfile::TempDir, name: &str) -> Store {
    Store::open(&dir.path().join(name), "T-07", t0()).expect("open store")
}

fn bytes(seed: u8, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(17).wrapping_add(seed)).collect()
}

#[test]
fn keeping_the_same_photo_twice_names_one_blob_that_is_pending_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = open(&dir, "a.db");
    let photo = bytes(1, 5000);
    let hash = store.put_blob("image/jpeg", &photo, t0()).expect("put");
    assert_eq!(hash, blob_hash(&photo));
    assert_eq!(store.put_blob("image/jpeg", &photo, t0()).expect("put again"), hash);
    // The same bytes under another type are the same blob: the first type stays.
    assert_eq!(store.put_blob("image/png", &photo, t0()).expect("put as png"), hash);
    assert_eq!(store.pending_blobs().expect("pending"), std::slice::from_ref(&hash));
    assert_eq!(store.pending_blob_count().expect("count"), 1);
    assert_eq!(store.blob(&hash).expect("blob"), Some(("image/jpeg".to_owned(), photo)));
    assert_eq!(store.blob(&blob_hash(b"other")).expect("blob"), None);
}

#[test]
fn pending_blobs_survive_reopening_the_store_oldest_first() {
    let dir = tempfile::tempdir().expect("temp dir");
    let hashes: Vec<String> = {
        let mut store = open(&dir, "a.db");
        (0..3).map(|n| store.put_blob("image/png", &bytes(n, 100), t0()).expect("put")).collect()
    };
    let store = open(&dir, "a.db");
    assert_eq!(store.pending_blobs().expect("pending"), hashes);
    assert_eq!(store.blob(&hashes[2]).expect("blob").map(|(_, b)| b), Some(bytes(2, 100)));
}

#[test]
fn a_bad_mime_type_or_an_oversized_photo_is_refused_and_nothing_is_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = open(&dir, "a.db");
    let err = store.put_blob("jpeg", b"x", t0()).expect_err("not a MIME type");
    assert!(matches!(err, StoreError::InvalidBlob(_)) && err.to_string().contains("image/jpeg"), "{err}");
    let huge = vec![0u8; MAX_BLOB_BYTES + 1];
    let err = store.put_blob("image/jpeg", &huge, t0()).expect_err("too large");
    assert!(err.to_string().contains("lower resolution"), "{err}");
    assert!(store.pending_blobs().expect("pending").is_empty());
    assert_eq!(store.blob(&blob_hash(&huge)).expect("blob"), None);
}

#[test]
fn fetching_a_local_blob_needs_no_server_and_a_missing_one_needs_enrolment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = open(&dir, "a.db");
    let hash = store.put_blob("image/png", b"signature strokes", t0()).expect("put");
    assert_eq!(
        store.fetch_blob(&hash, t0()).expect("local"),
        Some(("image/png".into(), b"signature strokes".to_vec()))
    );
    let err = store.fetch_blob(&blob_hash(b"elsewhere"), t0()).expect_err("not enrolled");
    assert!(matches!(err, StoreError::Sync { failure: ptw_core::api::SyncFailure::NotEnrolled, .. }), "{err}");
    let err = store.fetch_blob("../etc/passwd", t0()).expect_err("not a hash");
    assert!(matches!(err, StoreError::InvalidBlob(_)), "{err}");
}

// ---- a scripted sync server ----

#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    content_type: Option<String>,
    body: Vec<u8>,
}

#[derive(Default)]
struct Script {
    /// The registry key the server answers enrolment with.
    server_key: String,
    /// Blobs the server holds: hash → (mime, bytes).
    held: HashMap<String, (String, Vec<u8>)>,
    /// Uploads of these hashes are refused with 400.
    refuse: HashSet<String>,
    /// `POST /api/blobs/missing` answers 503.
    missing_unavailable: bool,
    /// `GET /api/blobs/{hash}` answers these bytes instead of the held ones.
    lie: Option<Vec<u8>>,
    seen: Vec<Seen>,
}

struct FakeServer {
    url: String,
    script: Arc<Mutex<Script>>,
}

impl FakeServer {
    fn start() -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let script = Arc::new(Mutex::new(Script::default()));
        let shared = script.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                serve_one(stream, &shared);
            }
        });
        FakeServer { url, script }
    }

    fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script.lock().expect("script lock")
    }

    fn seen(&self) -> Vec<Seen> {
        self.script().seen.clone()
    }

    fn blob_requests(&self) -> Vec<(String, String)> {
        self.seen().into_iter().filter(|s| s.path.starts_with("/api/blobs")).map(|s| (s.method, s.path)).collect()
    }
}

fn serve_one(stream: TcpStream, script: &Mutex<Script>) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
    let (mut length, mut content_type) = (0usize, None);
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap_or(0),
                "content-type" => content_type = Some(value.trim().to_owned()),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let path_only = path.split('?').next().unwrap_or("").to_owned();
    let seen = Seen { method: method.clone(), path: path_only.clone(), content_type: content_type.clone(), body };
    let (status, ctype, answer) = {
        let mut s = script.lock().expect("script lock");
        s.seen.push(seen.clone());
        answer(&mut s, &seen)
    };
    let mut stream = reader.into_inner();
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        answer.len()
    );
    let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&answer));
}

fn json<T: serde::Serialize>(status: &str, value: &T) -> (String, String, Vec<u8>) {
    (status.into(), "application/json".into(), serde_json::to_vec(value).expect("json"))
}

fn answer(s: &mut Script, req: &Seen) -> (String, String, Vec<u8>) {
    let error = |status: &str, text: &str| {
        json(status, &ErrorBody { kind: Default::default(), error: text.into(), problem: None })
    };
    match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/api/devices/enrol") => json(
            "200 OK",
            &EnrolResponse {
                device_id: FAKE_DEVICE,
                name: "T-07".into(),
                device_token: "tok".into(),
                epoch: "e1".into(),
                server_key: s.server_key.clone(),
            },
        ),
        ("POST", "/api/sync/push") => {
            let push: PushRequest = serde_json::from_slice(&req.body).expect("push body");
            json(
                "200 OK",
                &PushResponse { acked: push.changes.into_iter().map(|c| c.hash).collect(), ..Default::default() },
            )
        }
        ("GET", "/api/sync/snapshot") => json(
            "200 OK",
            &SnapshotResponse {
                epoch: "e1".into(),
                upto: 0,
                docs: vec![],
                next_after: String::new(),
                more: false,
                registry: vec![],
                registry_more: false,
            },
        ),
        ("GET", "/api/sync/pull") => json(
            "200 OK",
            &ptw_core::sync::PullResponse {
                epoch: "e1".into(),
                changes: vec![],
                next_cursor: 0,
                more: false,
                registry: vec![],
                registry_more: false,
            },
        ),
        ("POST", "/api/blobs/missing") if s.missing_unavailable => error("503 Service Unavailable", "down"),
        ("POST", "/api/blobs/missing") => {
            let ask: BlobsMissingRequest = serde_json::from_slice(&req.body).expect("missing body");
            let missing = ask.hashes.into_iter().filter(|h| !s.held.contains_key(h)).collect();
            json("200 OK", &BlobsMissingResponse { missing })
        }
        ("PUT", path) => {
            let hash = path.trim_start_matches("/api/blobs/").to_owned();
            if s.refuse.contains(&hash) {
                return error("400 Bad Request", "the bytes hash to something else");
            }
            let mime = req.content_type.clone().unwrap_or_default();
            s.held.insert(hash, (mime, req.body.clone()));
            ("204 No Content".into(), "text/plain".into(), Vec::new())
        }
        ("GET", path) if path.starts_with("/api/blobs/") => {
            let hash = path.trim_start_matches("/api/blobs/");
            match (s.held.get(hash), &s.lie) {
                (Some((mime, _)), Some(lie)) => ("200 OK".into(), mime.clone(), lie.clone()),
                (Some((mime, bytes)), None) => ("200 OK".into(), mime.clone(), bytes.clone()),
                (None, _) => error("404 Not Found", "no such blob"),
            }
        }
        _ => error("404 Not Found", "no such route"),
    }
}

/// The device id the scripted server gives.
const FAKE_DEVICE: ptw_core::DeviceId =
    ptw_core::DeviceId(uuid::Uuid::from_u128(0x0190_c5a0_0000_7000_8000_0000_0000_0777));

/// A store enrolled with the scripted server, holding the demo plant's registry (as if pulled).
fn enrolled(dir: &tempfile::TempDir, name: &str, server: &FakeServer) -> Store {
    let mut plant = TestPlant::demo();
    server.script().server_key = plant.authority.public_key();
    let mut store = open(dir, name);
    store.enrol(&server.url, "CODE").expect("enrol");
    plant.append(RegistryOp::EnrolDevice { device: FAKE_DEVICE, name: name.into(), public_key: store.public_key() });
    plant.update(&mut store);
    store
}

/// A draft permit: a change waiting in the outbox.
fn a_change_waiting(store: &mut Store) {
    store.create_permit(person("张伟"), hot_work_form(store, t0()), t0()).expect("a draft");
}

#[test]
fn sync_asks_once_uploads_only_what_the_server_lacks_and_then_forgets_them_all() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = FakeServer::start();
    let mut store = enrolled(&dir, "a.db", &server);
    a_change_waiting(&mut store);
    let (a, b, c) = (bytes(1, 300), bytes(2, 40_000), bytes(3, 7));
    let ha = store.put_blob("image/jpeg", &a, t0()).expect("a");
    let hb = store.put_blob("image/jpeg", &b, t0()).expect("b");
    let hc = store.put_blob("image/png", &c, t0()).expect("c");
    server.script().held.insert(ha.clone(), ("image/jpeg".into(), a.clone()));

    let report = store.sync_now(t0()).expect("sync");
    assert_eq!((report.blobs_checked, report.blobs_uploaded), (3, 2), "{report:?}");
    assert!(report.blobs_refused.is_empty());
    assert!(report.bytes_sent >= b.len() + c.len(), "{report:?}");
    let blob_requests = server.blob_requests();
    assert_eq!(
        blob_requests,
        [
            ("POST".to_owned(), "/api/blobs/missing".to_owned()),
            ("PUT".to_owned(), format!("/api/blobs/{hb}")),
            ("PUT".to_owned(), format!("/api/blobs/{hc}")),
        ]
    );
    let seen = server.seen();
    let ask: BlobsMissingRequest = serde_json::from_slice(&seen[1].body).expect("the question");
    assert_eq!(ask.hashes, [ha.clone(), hb.clone(), hc.clone()], "pending blobs, oldest first");
    // Blobs go before the changes that could name them.
    let first_push = seen.iter().position(|s| s.path == "/api/sync/push").expect("the outbox was pushed");
    let last_blob = seen.iter().rposition(|s| s.path.starts_with("/api/blobs")).expect("blob requests");
    assert!(last_blob < first_push, "{:?}", seen.iter().map(|s| &s.path).collect::<Vec<_>>());
    assert!(report.acked > 0, "{report:?}");
    assert_eq!(server.script().held.get(&hb), Some(&("image/jpeg".to_owned(), b)));
    assert_eq!(server.script().held.get(&hc), Some(&("image/png".to_owned(), c)));
    assert!(store.pending_blobs().expect("pending").is_empty());

    // Nothing pending: no blob request at all.
    let again = store.sync_now(t0()).expect("sync again");
    assert_eq!((again.blobs_checked, again.blobs_uploaded), (0, 0));
    assert_eq!(server.blob_requests().len(), 3);
    // Keeping a blob already uploaded leaves nothing pending.
    store.put_blob("image/jpeg", &a, t0()).expect("a again");
    assert!(store.pending_blobs().expect("pending").is_empty());
}

#[test]
fn a_blob_the_server_refuses_stays_pending_and_the_rest_of_the_round_goes_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = FakeServer::start();
    let mut store = enrolled(&dir, "a.db", &server);
    let bad = store.put_blob("image/jpeg", &bytes(1, 10), t0()).expect("bad");
    let good = store.put_blob("image/jpeg", &bytes(2, 10), t0()).expect("good");
    server.script().refuse.insert(bad.clone());

    let report = store.sync_now(t0()).expect("sync goes on");
    assert_eq!(report.blobs_uploaded, 1);
    assert_eq!(report.blobs_refused.len(), 1);
    assert_eq!(report.blobs_refused[0].hash, bad);
    assert!(report.blobs_refused[0].reason.contains("hash to something else"), "{report:?}");
    assert_eq!(store.pending_blobs().expect("pending"), std::slice::from_ref(&bad));
    assert!(server.script().held.contains_key(&good));
    assert!(server.seen().iter().any(|s| s.path == "/api/sync/snapshot"), "the pull still ran");

    // Next round tries the refused one again, and only it.
    server.script().refuse.clear();
    let report = store.sync_now(t0()).expect("sync");
    assert_eq!((report.blobs_checked, report.blobs_uploaded), (1, 1));
    assert!(store.pending_blobs().expect("pending").is_empty());
}

#[test]
fn when_the_server_cannot_answer_every_blob_stays_pending_and_no_change_is_pushed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = FakeServer::start();
    let mut store = enrolled(&dir, "a.db", &server);
    a_change_waiting(&mut store);
    let outbox = store.pending_changes().expect("outbox");
    let hash = store.put_blob("image/jpeg", &bytes(1, 10), t0()).expect("put");
    server.script().missing_unavailable = true;
    let err = store.sync_now(t0()).expect_err("the round fails");
    assert!(
        matches!(err, StoreError::Sync { failure: ptw_core::api::SyncFailure::ServerError { status: 503 }, .. }),
        "{err}"
    );
    assert_eq!(store.pending_blobs().expect("pending"), [hash]);
    assert!(server.seen().iter().all(|s| s.path != "/api/sync/push"));
    assert!(outbox > 0);
    assert_eq!(store.pending_changes().expect("outbox"), outbox, "the changes wait for the next round");
}

#[test]
fn a_blob_fetched_from_the_server_is_checked_kept_and_not_uploaded_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = FakeServer::start();
    let mut store = enrolled(&dir, "b.db", &server);
    let photo = bytes(9, 20_000);
    let hash = blob_hash(&photo);
    assert_eq!(store.fetch_blob(&hash, t0()).expect("not there yet"), None);
    server.script().held.insert(hash.clone(), ("image/jpeg".into(), photo.clone()));

    assert_eq!(store.fetch_blob(&hash, t0()).expect("fetch"), Some(("image/jpeg".into(), photo.clone())));
    let gets = server.blob_requests().len();
    assert_eq!(store.fetch_blob(&hash, t0()).expect("local now"), Some(("image/jpeg".into(), photo)));
    assert_eq!(server.blob_requests().len(), gets, "the second fetch is answered from the device");
    assert!(store.pending_blobs().expect("pending").is_empty(), "a fetched blob is not uploaded back");

    // A server sending bytes that do not hash to the name: refused, nothing kept.
    let other = bytes(10, 50);
    let other_hash = blob_hash(&other);
    {
        let mut s = server.script();
        s.held.insert(other_hash.clone(), ("image/png".into(), other));
        s.lie = Some(b"tampered".to_vec());
    }
    let err = store.fetch_blob(&other_hash, t0()).expect_err("wrong bytes");
    assert!(err.to_string().contains(&blob_hash(b"tampered")), "{err}");
    assert_eq!(store.blob(&other_hash).expect("blob"), None);
}
