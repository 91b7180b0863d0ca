//! The core sync story against a real server process running on PostgreSQL (`--database-url`,
//! a database of its own in the test binary's throw-away cluster): push, pull, idempotent
//! re-push, durability across `kill -9`, and two server instances sharing one database.

mod common;

use common::pg_cluster::fresh_database_url;
use common::{PermitDoc, Server};

fn server() -> (tempfile::TempDir, String, Server) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = fresh_database_url();
    let server = Server::start_postgres(dir.path(), &url);
    (dir, url, server)
}

#[test]
fn on_postgres_two_changes_pushed_twice_are_acknowledged_both_times_stored_once_and_pulled_in_order() {
    let (dir, _url, server) = server();
    let writer = server.enrolled_device(1);
    let reader = server.enrolled_device(2);
    let (mut permit, created) = PermitDoc::create(&writer, 1);
    let commented = permit.append(&writer.sign(permit.id, 1, "hot work at flange F-3"));
    let batch = [created.clone(), commented.clone()];

    let first = server.push_ok(&writer, &batch);
    assert_eq!(first.acked, [created.hash.clone(), commented.hash.clone()]);
    assert!(first.refused.is_empty(), "{:?}", first.refused);
    assert_eq!(server.push_ok(&writer, &batch).acked, first.acked);

    let page = server.pull_ok(&reader, "since=0");
    let hashes: Vec<_> = page.changes.iter().map(|c| c.change.hash.clone()).collect();
    assert_eq!(hashes, [created.hash, commented.hash], "pushing twice stored nothing twice");
    assert_eq!(page.changes[1].change.bytes, commented.bytes, "the stored bytes come back unchanged");
    assert!(page.changes[0].seq < page.changes[1].seq && !page.more);
    let empty = server.pull_ok(&reader, &format!("since={}", page.next_cursor));
    assert!(empty.changes.is_empty() && !empty.more);
    assert!(!dir.path().join("sync.sqlite3").exists(), "no SQLite file was made");
}

#[test]
fn on_postgres_every_acknowledged_change_survives_a_kill_9_of_the_server() {
    let (dir, url, server) = server();
    let tablet = server.enrolled_device(1);
    let mut acked = Vec::new();
    for n in 0..5 {
        let (mut permit, created) = PermitDoc::create(&tablet, n);
        let event = permit.append(&tablet.sign(permit.id, n, "logged before the power cut"));
        acked.extend(server.push_ok(&tablet, &[created, event]).acked);
    }
    assert_eq!(acked.len(), 10);
    let epoch = server.pull_ok(&tablet, "since=0").epoch;
    server.kill_hard();

    let server = Server::start_postgres(dir.path(), &url);
    let page = server.pull_ok(&tablet, "since=0");
    let pulled: Vec<_> = page.changes.iter().map(|c| c.change.hash.clone()).collect();
    assert_eq!(pulled, acked, "nothing acknowledged was lost, and the order held");
    assert_eq!(page.epoch, epoch, "the same database keeps its epoch");
}

#[test]
fn two_server_instances_sharing_one_postgres_agree_on_the_epoch_and_see_each_others_changes() {
    let (dir, url, first) = server();
    let second = Server::start_postgres(dir.path(), &url);
    let tablet = first.enrolled_device(1);
    let (_permit, created) = PermitDoc::create(&tablet, 1);
    let batch = std::slice::from_ref(&created);
    let acked = vec![created.hash.clone()];
    assert_eq!(first.push_ok(&tablet, batch).acked, acked);
    assert_eq!(second.push_ok(&tablet, batch).acked, acked, "the other instance knows it is stored");

    let via_first = first.pull_ok(&tablet, "since=0");
    let via_second = second.pull_ok(&tablet, "since=0");
    assert_eq!(via_first.epoch, via_second.epoch);
    assert_eq!(via_second.changes.len(), 1, "stored once, whichever instance took the push");
    assert_eq!(via_second.changes, via_first.changes);
}
