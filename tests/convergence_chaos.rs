//! Whole system under chaos: a real `ptw-sync-server` process on loopback, four tablets editing
//! at random, random partitions (tablets that skip sync rounds), the server killed with SIGKILL
//! and restarted on the same data directory mid-run (requests dropped on the floor, one of them
//! mid-sync) — then two full sync rounds, and every tablet holds the same documents, heads,
//! permits and lists; a fresh tablet syncing from zero gets the same permits back.
//!
//! Seeded: the seed is printed; set `PTW_CHAOS_SEED` to replay one. Assertions never depend on
//! timing, only on convergence.
//!
//! Also: a tablet killed with SIGKILL mid-pull resumes from its saved cursor, with no gap and
//! no change applied twice; and a server restored from an old backup gets back, from the
//! tablets, every change it had acknowledged since.

mod common;
use common::*;

use chrono::{DateTime, Duration, Utc};
use ptw_core::api::Action;
use ptw_core::{GasReading, PermitId};
use ptw_store::{Store, StoreError, SyncOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

const SEED_ENV: &str = "PTW_CHAOS_SEED";
const DEFAULT_SEED: u64 = 0x0057_A7E5_EED5;
const DEVICES: usize = 4;
const ROUNDS: usize = 12;
const EDITS_PER_ROUND: usize = 8;

fn seed() -> u64 {
    let seed = match std::env::var(SEED_ENV) {
        Ok(s) => {
            let s = s.trim();
            s.strip_prefix("0x")
                .map(|h| u64::from_str_radix(h, 16))
                .unwrap_or_else(|| s.parse())
                .unwrap_or_else(|_| panic!("{SEED_ENV}={s} is not a number"))
        }
        Err(_) => DEFAULT_SEED,
    };
    println!("chaos seed: {seed:#x} (replay with {SEED_ENV}={seed:#x})");
    seed
}

/// A random edit on `store`: create, edit a draft, or an action by a random person. Refusals
/// (the wrong person, the wrong status) are part of the game and write nothing.
fn random_edit(store: &mut Store, rng: &mut Rng, now: DateTime<Utc>, n: usize) -> bool {
    let people = ["张伟", "李娜", "刘洋", "王强", "陈静", "赵磊", "周敏"];
    let who = person(people[rng.below(people.len())]);
    let permits = store.list(&all()).expect("list");
    if permits.is_empty() || rng.chance(15) {
        let form = hot_work(store, &format!("作业 {n}"), now);
        store.create_permit(person("张伟"), form, now).expect("create");
        return true;
    }
    let id = permits[rng.below(permits.len())].id;
    let result = match rng.below(10) {
        0 => {
            let mut form = store.permit(id, now).expect("permit").form;
            form.title = format!("改标题 {n}");
            store.update_draft(person("张伟"), id, form, now)
        }
        1 => store.act(person("张伟"), id, Action::Submit, now),
        2 | 3 => store.act(who, id, Action::Approve { comment: format!("同意 {n}") }, now),
        4 => {
            let reading = GasReading {
                o2_pct: Some(20.9),
                lel_pct: Some(if rng.chance(80) { 0.0 } else { 12.0 }),
                h2s_ppm: Some(0.0),
                co_ppm: Some(0.0),
                instrument: "MSA".into(),
                point: "上部".into(),
            };
            store.act(person("李娜"), id, Action::GasTest { reading }, now)
        }
        5 => store.act(who, id, [Action::Start, Action::Complete][rng.below(2)].clone(), now),
        6 => store.act(who, id, Action::Accept { comment: "验收".into() }, now),
        7 => store.act(who, id, Action::Reject { comment: format!("驳回 {n}") }, now),
        8 if rng.chance(20) => store.act(person("张伟"), id, Action::Cancel { reason: "取消".into() }, now),
        _ => store.act(who, id, Action::Comment { text: format!("备注 {n}") }, now),
    };
    match result {
        Ok(_) => true,
        Err(StoreError::Refused(_)) => false,
        Err(e) => panic!("edit {n} failed: {e}"),
    }
}

#[test]
fn tablets_editing_through_partitions_and_server_crashes_converge() {
    let mut rng = Rng(seed());
    let dir = tempfile::tempdir().expect("temp dir");
    let mut server = Server::start(&dir.path().join("server"));
    let t = t0();

    let mut devices: Vec<Store> = Vec::new();
    for i in 0..DEVICES {
        let name = format!("T-{i}");
        devices.push(server.tablet(&dir.path().join(format!("{name}.db")), &name, t));
    }
    for d in &mut devices {
        server.sync(d, t).expect("everyone learns every key");
    }

    let (mut edits, mut refused, mut syncs, mut failed_syncs) = (0, 0, 0, 0);
    let mut now = t;
    for round in 0..ROUNDS {
        now += Duration::seconds(1);
        for _ in 0..EDITS_PER_ROUND {
            let d = rng.below(DEVICES);
            if random_edit(&mut devices[d], &mut rng, now, edits + refused) {
                edits += 1;
            } else {
                refused += 1;
            }
        }
        // A random subset syncs, in random order; the others are out of reach this round.
        let mut order: Vec<usize> = (0..DEVICES).filter(|_| rng.chance(60)).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let crash_between = round == ROUNDS / 3;
        let crash_during = round == 2 * ROUNDS / 3;
        for (k, &d) in order.iter().enumerate() {
            if crash_between && k == 1 {
                // Down for the rest of the round: these requests are refused at the door.
                server.kill_nine();
            }
            server.set_clock(now);
            let result = if crash_during && k == 0 {
                // Killed while a tablet is mid-sync: the request in flight is dropped.
                let device = &mut devices[d];
                std::thread::scope(|s| {
                    let sync = s.spawn(move || device.sync_now(now).map_err(Box::new));
                    std::thread::sleep(std::time::Duration::from_millis(3));
                    server.kill_nine();
                    sync.join().expect("sync thread")
                })
                .map_err(|e| *e)
            } else {
                devices[d].sync_now(now)
            };
            syncs += 1;
            match result {
                Ok(r) => assert!(r.refused.is_empty(), "round {round}: T-{d} had changes refused: {:?}", r.refused),
                Err(StoreError::Sync { .. }) => failed_syncs += 1,
                Err(e) => panic!("round {round}: T-{d} sync failed: {e}"),
            }
        }
        if crash_between || crash_during {
            if crash_between && order.len() < 2 {
                server.kill_nine();
            }
            server.restart();
        }
    }
    println!("{ROUNDS} rounds: {edits} edits, {refused} refused actions, {syncs} syncs of which {failed_syncs} failed");

    // Everyone back in reach: two full rounds.
    for _ in 0..2 {
        for d in &mut devices {
            let r = server.sync(d, now).expect("final sync");
            assert!(r.refused.is_empty(), "{:?}", r.refused);
        }
    }
    for (i, d) in devices.iter().enumerate().skip(1) {
        assert_eq!(d.pending_changes().expect("outbox"), 0, "T-{i} has everything acknowledged");
        assert_converged(&devices[0], d, now, &format!("T-0 and T-{i}"));
    }
    assert_eq!(devices[0].pending_changes().expect("outbox"), 0);
    let permits = devices[0].list(&all()).expect("list");
    assert!(!permits.is_empty());

    // The server has everything: a tablet starting from zero ends with the same permits.
    let fresh = server.tablet(&dir.path().join("fresh.db"), "fresh", now);
    let ids = devices[0].document_ids().expect("ids");
    assert_eq!(fresh.document_ids().expect("ids"), ids);
    for id in ids.iter().filter(|id| id.parse::<PermitId>().is_ok()) {
        assert_eq!(fresh.heads(id).expect("heads"), devices[0].heads(id).expect("heads"), "heads of {id}");
        let pid: PermitId = id.parse().expect("permit id");
        assert_eq!(fresh.permit(pid, now).expect("fresh"), devices[0].permit(pid, now).expect("T-0"), "{id}");
    }
    assert_eq!(fresh.list(&all()).expect("list"), permits);
    assert_converged(&devices[0], &fresh, now, "T-0 and the fresh tablet");
}

const CHILD_ENV: &str = "PTW_PULL_RESUME_CHILD_DB";
const BACKLOG: usize = 300;
const PAGE: usize = 25;

/// The child: runs only when the parent re-executes this test binary with the env var set.
/// Pulls one page per sync round, prints what it applied, and waits for "go" before the next.
#[test]
#[ignore = "child process of another test; it runs only when that test re-executes this binary"]
fn pull_resume_child_device() {
    let Ok(db) = std::env::var(CHILD_ENV) else { return };
    let mut store = open_tablet(Path::new(&db), "B", t0());
    let mut out = std::io::stdout().lock();
    let mut input = BufReader::new(std::io::stdin().lock()).lines();
    let one_page = SyncOptions { pull_max_changes: PAGE, max_requests: 1 };
    loop {
        let r = store.sync_now_with(t0(), one_page).expect("one page");
        writeln!(out, "\npage pulled={} applied={}", r.pulled, r.applied).expect("stdout");
        out.flush().expect("flush");
        if r.pulled == 0 && r.pushed == 0 {
            return;
        }
        match input.next() {
            Some(Ok(line)) if line.trim() == "go" => {}
            _ => return,
        }
    }
}

#[test]
fn a_tablet_killed_mid_pull_resumes_from_its_cursor_without_gaps_or_duplicates() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("server"));
    let t = t0();
    let zhang = person("张伟");

    let mut a = server.tablet(&dir.path().join("a.db"), "A", t);
    let b_db = dir.path().join("b.db");
    drop(server.tablet(&b_db, "B", t));
    server.sync(&mut a, t).expect("A learns B's key");

    // The backlog: one change per permit, so the permits B holds count the changes it applied.
    for i in 0..BACKLOG {
        a.create_permit(zhang, hot_work(&a, &format!("积压 {i}"), t), t).expect("create");
    }
    let pushed = server.sync(&mut a, t).expect("A pushes the backlog");
    assert_eq!(pushed.acked, BACKLOG);
    let permits_on = |path: &Path| {
        let s = open_tablet(path, "B", t);
        s.document_ids().expect("ids").iter().filter(|id| id.parse::<PermitId>().is_ok()).count()
    };
    assert_eq!(permits_on(&b_db), 0);

    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "pull_resume_child_device", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &b_db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let mut stdin = child.stdin.take().expect("child stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("child stdout")).lines();
    let mut reported = 0;
    let mut pages = 0;
    for line in lines.by_ref() {
        let line = line.expect("read child");
        let Some(rest) = line.strip_prefix("page ") else { continue };
        let applied: usize = rest.rsplit_once("applied=").expect("applied").1.parse().expect("number");
        reported += applied;
        pages += 1;
        // Let it run free into the next pages, then SIGKILL it wherever it is.
        writeln!(stdin, "go").expect("tell the child to go on");
        if pages == 3 {
            child.kill().expect("kill -9 the child");
            break;
        }
    }
    assert!(!child.wait().expect("reap child").success(), "the child was killed, not finished");
    assert_eq!(pages, 3, "the child pulled pages before it was killed");

    // What the killed tablet kept: at least the pages it reported, short of the whole backlog.
    let kept = permits_on(&b_db);
    assert!(kept >= reported && reported >= PAGE, "kept {kept}, reported {reported}");
    assert!(kept < BACKLOG, "the kill landed before the end of the pull (kept {kept})");

    // A new process finishes the pull from the saved cursor.
    let mut b = open_tablet(&b_db, "B", t);
    let rest =
        server.sync_with(&mut b, t, SyncOptions { pull_max_changes: PAGE, ..SyncOptions::default() }).expect("resume");
    println!("killed after {pages} pages, {kept} changes kept; resumed: {rest:?}");
    assert_eq!(rest.pulled, rest.applied, "nothing already kept was sent again");
    assert_eq!(kept + rest.applied, BACKLOG, "every change applied exactly once");
    assert_converged(&a, &b, t, "A and B");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

#[test]
fn a_server_restored_from_an_old_backup_gets_every_acknowledged_change_back_from_the_tablets() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("server");
    let mut server = Server::start(&data);
    let t = t0();
    let zhang = person("张伟");
    let mut a = server.tablet(&dir.path().join("a.db"), "T-07", t);
    let mut b = server.tablet(&dir.path().join("b.db"), "T-08", t);
    for _ in 0..2 {
        server.sync(&mut a, t).expect("A");
        server.sync(&mut b, t).expect("B");
    }

    // Nightly backup, taken with the server stopped.
    server.stop();
    copy_dir(&data, &dir.path().join("backup"));
    server.restart();

    // After the backup: A makes permits, B approves one; the server acknowledges all of it.
    let mut ids = Vec::new();
    for i in 0..3 {
        let p = a.create_permit(zhang, hot_work(&a, &format!("备份后 {i}"), t), t).expect("permit").id;
        a.act(zhang, p, Action::Submit, t).expect("submit");
        ids.push(p);
    }
    server.sync(&mut a, t).expect("A pushes");
    server.sync(&mut b, t).expect("B pulls");
    b.act(person("刘洋"), ids[0], Action::Approve { comment: "同意".into() }, t).expect("approve on B");
    assert_eq!(server.sync(&mut b, t).expect("B pushes").acked, 1);
    assert_eq!((a.pending_changes().expect("A"), b.pending_changes().expect("B")), (0, 0), "all acknowledged");

    // The disk dies; IT restores last night's backup and gives it a new epoch.
    server.stop();
    std::fs::remove_dir_all(&data).expect("lose the data");
    copy_dir(&dir.path().join("backup"), &data);
    let rotated = server.admin(&["epoch", "rotate"]);
    assert!(rotated.contains("new epoch"), "{rotated}");
    server.restart();

    // Each tablet notices the new epoch, sends everything it holds, and starts pulling cold.
    let ra = server.sync(&mut a, t).expect("A after the restore");
    assert!(ra.requeued > 0 && ra.refused.is_empty(), "{ra:?}");
    let rb = server.sync(&mut b, t).expect("B after the restore");
    assert!(rb.requeued > 0 && rb.refused.is_empty(), "{rb:?}");
    server.sync(&mut a, t).expect("A");
    assert_converged(&a, &b, t, "after the restore");

    // A new tablet gets everything from the restored server alone.
    let mut c = server.tablet(&dir.path().join("c.db"), "T-09", t);
    server.sync(&mut c, t).expect("C");
    for p in &ids {
        assert_eq!(c.permit(*p, t).expect("on C"), a.permit(*p, t).expect("on A"), "permit {p}");
    }
    let approved = c.permit(ids[0], t).expect("on C").state;
    assert!(approved.timeline.len() >= 2, "B's approval came back: {approved:?}");
}
