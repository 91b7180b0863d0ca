//! Whole system: photos and signature images travel between two tablets through a real
//! `ptw-sync-server` process on loopback, by SHA-256, uploaded only when the server lacks them —
//! and with nothing pending, a sync still costs one round trip.

use chrono::{DateTime, TimeZone, Utc};
use ptw_core::sync::blob_hash;
use ptw_store::Store;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The server binary, built by `cargo build -p ptw-sync-server` next to this test's own executable.
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

/// A made-up gas-test photo: large enough to matter, different for each `seed`.
fn photo(seed: u8) -> Vec<u8> {
    let mut bytes = vec![0xff, 0xd8, 0xff, 0xe0];
    bytes.extend((0..300_000u32).map(|i| (i as u8).wrapping_mul(29).wrapping_add(seed)));
    bytes
}

#[test]
fn a_photo_goes_up_once_and_another_tablet_fetches_the_identical_bytes_by_hash() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("server"));
    let t = t0();

    let mut a = Store::open(&dir.path().join("a.db"), "T-07", t).expect("open A");
    a.seed_demo(t).expect("seed");
    a.enrol(&server.url, &server.enrol_code("T-07")).expect("enrol A");
    a.sync_now(t).expect("A pushes the plant");

    let gas_photo = photo(1);
    let signature = b"\x89PNG\r\n\x1a\nhandwritten signature of the area authority".to_vec();
    let hp = a.put_blob("image/jpeg", &gas_photo, t).expect("keep the photo");
    let hs = a.put_blob("image/png", &signature, t).expect("keep the signature");
    assert_eq!(hp, blob_hash(&gas_photo));
    assert_eq!(a.pending_blobs().expect("pending"), [hp.clone(), hs.clone()]);

    let first = a.sync_now(t).expect("A uploads");
    assert_eq!((first.blobs_checked, first.blobs_uploaded), (2, 2), "{first:?}");
    assert!(first.blobs_refused.is_empty(), "{first:?}");
    assert!(first.bytes_sent >= gas_photo.len() + signature.len(), "{first:?}");
    assert!(a.pending_blobs().expect("pending").is_empty());

    // Nothing pending: nothing uploaded again, and the round is the one pull it always was.
    let idle = a.sync_now(t).expect("A idle");
    assert_eq!((idle.blobs_checked, idle.blobs_uploaded), (0, 0), "{idle:?}");
    assert_eq!(idle.round_trips, 1, "{idle:?}");
    assert!(idle.bytes_received < 1024, "{idle:?}");

    // B is another tablet: it fetches by hash and gets identical bytes, checked and kept.
    let mut b = Store::open(&dir.path().join("b.db"), "T-08", t).expect("open B");
    b.enrol(&server.url, &server.enrol_code("T-08")).expect("enrol B");
    assert_eq!(b.blob(&hp).expect("local"), None);
    assert_eq!(b.fetch_blob(&hp, t).expect("fetch photo"), Some(("image/jpeg".to_owned(), gas_photo.clone())));
    assert_eq!(b.fetch_blob(&hs, t).expect("fetch signature"), Some(("image/png".to_owned(), signature.clone())));
    assert_eq!(b.blob(&hp).expect("kept on B"), Some(("image/jpeg".to_owned(), gas_photo.clone())));
    assert_eq!(b.fetch_blob(&blob_hash(b"never taken"), t).expect("unknown"), None);
    assert!(b.pending_blobs().expect("pending").is_empty(), "a fetched blob is not uploaded back");

    // C, a third tablet, keeps the same photo (same bytes): the server has it, so C asks once and
    // uploads nothing.
    let mut c = Store::open(&dir.path().join("c.db"), "T-09", t).expect("open C");
    c.enrol(&server.url, &server.enrol_code("T-09")).expect("enrol C");
    c.put_blob("image/jpeg", &gas_photo, t).expect("same photo on C");
    let known = c.sync_now(t).expect("C syncs");
    assert_eq!((known.blobs_checked, known.blobs_uploaded), (1, 0), "{known:?}");
    assert!(c.pending_blobs().expect("pending").is_empty());
}
