//! Fuzzing the server's intake: valid changes of a real plant's permits, mutated — bytes flipped,
//! operations, ids, actors, sequence numbers, dependencies, kinds and hashes changed — and pushed
//! to a real `ptw-sync-server` process, by an enrolled tablet and in an honest tablet's name.
//! Whatever the server acknowledges, every device still syncs — an old one and a new one — with
//! nothing quarantined and no panic, and both show every permit the same; `/health` answers
//! after every push.
//!
//! Bounded for the test suite (`PTW_FUZZ_ITERATIONS`, default 250); seeded (`PTW_FUZZ_SEED`
//! replays a run; the seed is printed).

mod common;
use common::*;

use automerge::legacy::{Key, ObjectId, OpId, OpType};
use automerge::{ActorId, Change, ChangeHash, ScalarValue};
use chrono::Duration;
use ptw_core::api::Action;
use ptw_core::sync::{PullResponse, PushRequest, PushResponse, WireChange};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.trim_start_matches("0x").parse().ok()).unwrap_or(default)
}

/// `c` re-encoded after `edit` (Automerge may refuse to encode what the edit made: `None`).
fn reencoded(c: &Change, edit: impl FnOnce(&mut automerge::ExpandedChange)) -> Option<Vec<u8>> {
    let mut expanded = c.decode();
    edit(&mut expanded);
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Change::from(expanded).raw_bytes().to_vec())).ok()
}

/// One mutation of a valid change `w`; `others` are the plant's other valid changes.
fn mutate(rng: &mut Rng, w: &WireChange, others: &[WireChange], attacker: &ActorId) -> WireChange {
    let mut out = w.clone();
    let Ok(change) = Change::from_bytes(w.bytes.clone()) else { return out };
    let new_bytes = match rng.below(12) {
        0 => {
            let mut b = w.bytes.clone();
            for _ in 0..=rng.below(4) {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            Some(b)
        }
        1 => {
            let mut b = w.bytes.clone();
            b.truncate(rng.below(b.len()));
            Some(b)
        }
        2 => reencoded(&change, |e| e.actor_id = attacker.clone()),
        3 => reencoded(&change, |e| e.seq = [0, e.seq + 1, e.seq.saturating_sub(1), u64::MAX, 7][rng.below(5)]),
        4 => reencoded(&change, |e| e.deps.clear()),
        5 => {
            let other = &others[rng.below(others.len())];
            let dep: Option<ChangeHash> = other.hash.parse().ok();
            reencoded(&change, |e| e.deps.extend(dep))
        }
        6 => reencoded(&change, |e| {
            for op in &mut e.operations {
                if let OpType::Put(ScalarValue::Str(_)) = op.action {
                    op.action = OpType::Put(ScalarValue::Int(rng.next_u64() as i64));
                }
            }
        }),
        7 => reencoded(&change, |e| {
            let n = e.operations.len();
            if n > 0 {
                let op = &mut e.operations[rng.below(n)];
                op.action =
                    [OpType::Delete, OpType::Increment(1), OpType::Put(ScalarValue::Null)][rng.below(3)].clone();
            }
        }),
        8 => reencoded(&change, |e| {
            let n = e.operations.len();
            if n > 0 {
                let i = rng.below(n);
                e.operations[i].insert = !e.operations[i].insert;
                e.operations[i].key = Key::Map(["events", "form", "id", "people"][rng.below(4)].into());
                e.operations[i].obj = ObjectId::Root;
            }
        }),
        9 => reencoded(&change, |e| {
            let n = e.operations.len();
            if n > 0 {
                let i = rng.below(n);
                e.operations[i].obj = ObjectId::Id(OpId::new(rng.next_u64() % 50 + 1, &e.actor_id));
            }
        }),
        10 => reencoded(&change, |e| {
            e.start_op = std::num::NonZeroU64::new(rng.next_u64() % 40 + 1).unwrap_or(e.start_op)
        }),
        _ => {
            // Not the bytes: the envelope.
            match rng.below(4) {
                0 => out.doc_id = others[rng.below(others.len())].doc_id.clone(),
                1 => out.kind = ["org", "Permit", "", "permit\u{0}"][rng.below(4)].into(),
                2 => out.doc_id = ["org", "", "../x", "0190C5A0-0000-7000-8000-000000000001"][rng.below(4)].into(),
                _ => out.hash = w.hash.to_uppercase(),
            }
            None
        }
    };
    if let Some(bytes) = new_bytes {
        // Mostly with the hash the new bytes really have, so the change reaches the deeper checks.
        if rng.below(4) > 0 {
            if let Ok(c) = Change::from_bytes(bytes.clone()) {
                out.hash = c.hash().to_string();
            }
        }
        out.bytes = bytes;
    }
    out
}

fn push(
    http: &reqwest::blocking::Client,
    server: &Server,
    token: &str,
    changes: Vec<WireChange>,
) -> Option<PushResponse> {
    let resp = http
        .post(format!("{}/api/sync/push", server.url))
        .bearer_auth(token)
        .json(&PushRequest { changes })
        .send()
        .ok()?;
    resp.status().is_success().then(|| resp.json().ok()).flatten()
}

fn health(http: &reqwest::blocking::Client, server: &Server) -> bool {
    http.get(format!("{}/health", server.url)).send().is_ok_and(|r| r.status().is_success())
}

#[test]
fn nothing_a_fuzzed_push_gets_acknowledged_stops_a_device_syncing_or_changes_what_it_shows() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let iterations = env_number("PTW_FUZZ_ITERATIONS", 250);
    let seed = env_number("PTW_FUZZ_SEED", std::process::id() as u64 ^ 0x5EED_F00D);
    println!("fuzz seed: {seed} (replay with PTW_FUZZ_SEED={seed}), {iterations} iterations");
    let mut rng = Rng(seed);

    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("server"));
    let t = t0();
    let mut h = server.tablet(&dir.path().join("h.db"), "T-07", t);
    let mut attacker = server.tablet(&dir.path().join("x.db"), "T-66", t);
    let zhang = person("张伟");
    let mut honest = Vec::new();
    for i in 0..3 {
        let id = h.create_permit(zhang, hot_work(&h, &format!("作业 {i}"), t), t).expect("draft").id;
        h.act(zhang, id, Action::Submit, t).expect("submit");
        h.act(person("刘洋"), id, Action::Approve { comment: "同意".into() }, t).expect("approve");
        h.act(zhang, id, Action::Comment { text: "材料已到".into() }, t).expect("comment");
        honest.push(id);
    }
    server.sync(&mut h, t).expect("push the plant's permits");
    let http = reqwest::blocking::Client::new();
    let h_token = h.sync_token().expect("token").expect("enrolled");
    let x_token = attacker.sync_token().expect("token").expect("enrolled");
    let page: PullResponse = http
        .get(format!("{}/api/sync/pull?since=0", server.url))
        .bearer_auth(&h_token)
        .send()
        .expect("pull")
        .json()
        .expect("pull answer");
    let valid: Vec<WireChange> = page.changes.into_iter().map(|c| c.change).collect();
    assert!(valid.len() >= 12, "{}", valid.len());
    let x_actor = {
        let mut bytes = attacker.device_id().expect("id").as_uuid().as_bytes().to_vec();
        bytes.extend_from_slice(&[9; 8]);
        ActorId::from(bytes.as_slice())
    };

    let known: std::collections::HashSet<String> = valid.iter().map(|c| c.hash.clone()).collect();
    let (mut acknowledged, mut new_accepted) = (0, 0);
    let mut own_draft = None;
    for i in 0..iterations {
        // Half the time the attacker starts from a change its own store just made and the server
        // has not seen (a draft, an edit of it, a comment): small mutations of those can be valid.
        let fresh = if rng.below(2) == 0 {
            let ti = t + Duration::milliseconds(i as i64);
            match own_draft {
                Some(id) if rng.below(3) > 0 => {
                    let mut form = attacker.permit(id, ti).expect("draft").form;
                    form.title = format!("改 {i}");
                    attacker.update_draft(zhang, id, form, ti).expect("edit");
                }
                Some(id) => {
                    attacker.act(zhang, id, Action::Comment { text: format!("备注 {i}") }, ti).expect("comment");
                }
                None => {
                    own_draft = Some(
                        attacker.create_permit(zhang, hot_work(&attacker, "攻击者的作业", ti), ti).expect("draft").id,
                    )
                }
            }
            attacker.outbox_page(10_000).expect("outbox").pop().map(|c| WireChange {
                doc_id: c.doc_id,
                kind: c.kind,
                hash: c.hash,
                bytes: c.bytes,
            })
        } else {
            None
        };
        let n = 1 + rng.below(3);
        let mut batch: Vec<WireChange> = (0..n)
            .map(|_| {
                let pick = rng.below(valid.len());
                mutate(&mut rng, &valid[pick], &valid, &x_actor)
            })
            .collect();
        let own = fresh.is_some();
        if let Some(own) = fresh {
            batch = vec![mutate(&mut rng, &own, &valid, &x_actor)];
        }
        // In the attacker's name, or in the honest tablet's (a tablet whose software was changed).
        let token = if batch.len() == 1 && rng.below(4) > 0 || rng.below(2) == 0 { &x_token } else { &h_token };
        if let Some(answer) = push(&http, &server, token, batch) {
            acknowledged += answer.acked.len();
            new_accepted += answer.acked.iter().filter(|h| !known.contains(*h)).count();
        }
        assert!(health(&http, &server), "iteration {i}: /health stopped answering");
        if own {
            // The attacker's store pushes its real change after the mutant: whichever the server
            // took first stands, the other is refused and taken back on the store.
            server.sync(&mut attacker, t + Duration::milliseconds(i as i64)).expect("the attacker's store syncs");
            let waiting = attacker.outbox_page(10).expect("outbox");
            assert!(waiting.is_empty(), "iteration {i}: after a sync, changes still wait: {}", waiting.len());
        }
        if (i + 1) % 250 == 0 {
            println!("{} pushes: {acknowledged} acknowledged, {new_accepted} of them mutated", i + 1);
        }
    }
    println!(
        "{iterations} fuzzed pushes: {acknowledged} changes acknowledged, of which {new_accepted} mutated ones the server \
         found valid"
    );

    // The honest tablet acts on after the storm, and every device syncs.
    let t1 = t + Duration::minutes(1);
    let first = h.list(&all()).expect("list")[0].id;
    h.act(person("王强"), first, Action::Approve { comment: "安全部同意".into() }, t1).expect("approve");
    let report = server.sync(&mut h, t1).expect("the honest tablet syncs");
    assert!(report.refused.is_empty(), "{report:?}");
    assert_eq!(report.quarantined, 0, "{report:?}");
    server.sync(&mut attacker, t1).expect("the attacker's own store syncs too");
    server.sync(&mut h, t1).expect("and the honest one takes what it pushed");
    let fresh = server.tablet(&dir.path().join("fresh.db"), "T-09", t1);
    for (name, store) in [("honest", &h), ("attacker", &attacker), ("fresh", &fresh)] {
        let quarantined = store.quarantined().expect("quarantine");
        assert!(quarantined.is_empty(), "the {name} store quarantined {quarantined:?}");
    }
    assert_converged(&h, &fresh, t1, "the honest tablet and a new one");
    assert_converged(&h, &attacker, t1, "the honest tablet and the attacker's store");
    // The honest permits were submitted and approved: no mutant took them back to a draft.
    for id in honest {
        let view = h.permit(id, t1).expect("permit");
        assert!(view.state.status != ptw_core::Status::Draft, "{:?}", view.state.status);
    }
}
