//! Deciding which pushed changes the server keeps (DESIGN: the server accepts only what every
//! device can apply). A change is judged against the document it belongs to, as stored — never
//! against what the pushing device says about it:
//!
//! 1. it is a well-formed Automerge change of a permit (the only kind of document), its id a
//!    canonical UUID, its bytes hashing to its (lower-case) hash and its header checksum right;
//! 2. the document's kind, fixed by its first change, is a permit;
//! 3. it was made by one of the pushing device's own Automerge actors (their first 16 bytes are
//!    the device id), except in the recovery window after a restore;
//! 4. its sequence number is the next one of its actor in the document, every change it
//!    depends on is stored (causal completeness: the check does not depend on arrival order),
//!    it builds on its actor's previous change, and its operations are numbered on from what
//!    it builds on — Automerge trusts all three, and a document breaking them no longer loads;
//! 5. it only appends to the events list — no second list, no delete, no overwrite — and holds
//!    only the operations a permit is made of (no counters, text objects or marks);
//! 6. test-applied to the stored document (behind a panic guard), the document gives the
//!    change back byte for byte and still has a permit's shape
//!    ([`ptw_doc::shape::check_permit`]);
//! 7. everything it appends to the events list is a signed event of this permit, verifying
//!    against the registry, signed by the pushing device, dated neither before that device's
//!    last delivered event nor ahead of the server's clock by more than
//!    [`MAX_CLOCK_AHEAD_MS`], and not by a person whose account is frozen now.
//!
//! A refusal says which rule, as a [`RefusalCode`] and words. Judging runs on the writer
//! thread, one change at a time, so the documents it judges against are exactly what is stored
//! plus what it accepted just before. What needs no stored document is done first on the push's
//! own thread ([`prepare`]): reading the change, checking its events' signatures into the memo,
//! and test-applying a permit's first change to the empty document — used only when nothing of
//! that permit is stored or accepted when its turn comes.

use crate::docs::DocCache;
use crate::error::Result;
use crate::storage::{NewChange, Storage};
use automerge::legacy::{Key, ObjectId, OpType};
use automerge::{ActorId, Change, ChangeHash, ObjType, ReadDoc, ScalarValue, ROOT};
use ptw_core::event::verify_signer;
use ptw_core::signature::{verify_batch, BatchItem, SignatureMemo};
use ptw_core::sync::{RefusalCode, WireChange, MAX_CLOCK_AHEAD_MS, PERMIT_KIND};
use ptw_core::{DeviceId, Registry, SignedEvent};
use std::collections::{HashMap, HashSet};

/// What the server decides about one change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Accept(Box<NewChange>),
    Refuse { code: RefusalCode, reason: String },
}

fn refuse(code: RefusalCode, reason: impl Into<String>) -> Verdict {
    Verdict::Refuse { code, reason: reason.into() }
}

/// What judging the changes of one group of pushes has accepted so far, not yet stored.
#[derive(Default)]
pub struct Group {
    /// Highest sequence number accepted per (document, actor).
    actor_seqs: HashMap<(String, String), u64>,
    /// Latest event time accepted per device.
    clocks: HashMap<DeviceId, i64>,
    /// Hashes accepted.
    pub accepted: HashSet<String>,
}

/// The judge of one group: the storage, the registry and clock of the moment, the documents.
pub struct Judge<'a> {
    pub storage: &'a dyn Storage,
    pub registry: &'a Registry,
    pub memo: &'a SignatureMemo,
    pub now_ms: i64,
    /// The recovery window after a restore is open: devices may push back others' changes.
    pub recovery: bool,
    pub docs: &'a mut DocCache,
    pub group: &'a mut Group,
}

impl Judge<'_> {
    /// Judge a change `device` pushed, read by [`prepare`]. `Ok(Refuse)` is a refused change;
    /// `Err` is the server's own failure (the database), which fails the push.
    pub fn judge(&mut self, device: DeviceId, prepared: &mut Prepared) -> Result<Verdict> {
        let wire = &prepared.wire;
        let (change, expanded) = match &prepared.read {
            Ok(read) => (&read.change, &read.expanded),
            Err((code, reason)) => return Ok(refuse(*code, reason.clone())),
        };
        let state = self.storage.doc_state(&wire.doc_id)?;
        // Nothing of the permit is stored or accepted yet: it is judged against the empty document.
        let fresh = state.is_none() && !self.docs.holds_pending(&wire.doc_id);
        if let Some(state) = &state {
            if state.kind != PERMIT_KIND {
                return Ok(refuse(
                    RefusalCode::Shape,
                    format!("document {} is a {:?}, not a permit", wire.doc_id, state.kind),
                ));
            }
        }
        let actor_bytes = change.actor_id().to_bytes();
        let own_actor = actor_bytes.len() > 16 && actor_bytes[..16] == device.as_uuid().as_bytes()[..];
        if !own_actor && !self.recovery {
            return Ok(refuse(RefusalCode::ForeignActor, "the change was made by another device's Automerge actor"));
        }
        let actor = change.actor_id().to_hex_string();
        let key = (wire.doc_id.clone(), actor.clone());
        let stored_seq = match self.group.actor_seqs.get(&key) {
            Some(s) => *s,
            None if state.is_none() => 0,
            None => self.storage.actor_seq(&wire.doc_id, &actor)?,
        };
        if change.seq() <= stored_seq {
            return Ok(refuse(
                RefusalCode::DuplicateSequence,
                format!("the server holds another change numbered {} by the same actor", change.seq()),
            ));
        }
        if change.seq() != stored_seq + 1 {
            return Ok(refuse(
                RefusalCode::MissingDependencies,
                format!(
                    "it is change {} of its actor, whose change {} the server does not hold",
                    change.seq(),
                    stored_seq + 1
                ),
            ));
        }

        let doc = match self.docs.get(self.storage, &wire.doc_id, state.map(|s| s.change_count))? {
            Ok(doc) => doc,
            Err(reason) => return Ok(refuse(RefusalCode::Shape, reason)),
        };
        if let Some(dep) = change.deps().iter().find(|d| doc.get_change_meta_by_hash(d).is_none()) {
            return Ok(refuse(
                RefusalCode::MissingDependencies,
                format!("it depends on change {dep}, which the server does not hold"),
            ));
        }
        let expected_start =
            change.deps().iter().filter_map(|d| doc.get_change_meta_by_hash(d).map(|m| m.max_op)).max().unwrap_or(0)
                + 1;
        if change.start_op().get() != expected_start {
            return Ok(refuse(
                RefusalCode::Malformed,
                format!(
                    "its operations are numbered from {}, but what it builds on ends at {}",
                    change.start_op(),
                    expected_start - 1
                ),
            ));
        }
        if change.seq() > 1 && !follows_own(doc, change) {
            return Ok(refuse(
                RefusalCode::MissingDependencies,
                format!(
                    "it is change {} of its actor but does not build on the actor's change {}",
                    change.seq(),
                    change.seq() - 1
                ),
            ));
        }
        let events_obj = match doc.get(ROOT, ptw_doc::EVENTS) {
            Ok(Some((automerge::Value::Object(ObjType::List), id))) => Some(id.to_string()),
            _ => None,
        };
        let events_obj = match events_obj.as_deref().map(parse_obj_id) {
            None => None,
            Some(Some(id)) => Some(id),
            Some(None) => return Ok(refuse(RefusalCode::Shape, "the permit's events list has an unreadable id")),
        };
        if let Some(reason) = append_only(expanded, events_obj) {
            return Ok(refuse(RefusalCode::NotAppendOnly, reason));
        }
        let speculated = if fresh { prepared.speculated.take() } else { None };
        let (loaded, before) = match speculated {
            // What applying it to the empty document gives was worked out on the push's thread.
            Some(spec) => {
                self.docs.replace(&wire.doc_id, spec.doc);
                (spec.outcome, HashSet::new())
            }
            None => {
                let before: HashSet<String> = event_strings(doc);
                (test_apply(&wire.doc_id, doc, change), before)
            }
        };
        let loaded = match loaded {
            Ok(loaded) => loaded,
            Err(reason) => {
                self.docs.forget(&wire.doc_id);
                return Ok(refuse(RefusalCode::Shape, reason));
            }
        };
        let mut event_times: HashMap<DeviceId, i64> = HashMap::new();
        for stored in loaded.events.iter().filter(|e| !before.contains(*e)) {
            if let Some((code, reason)) = self.check_event(device, &wire.doc_id, stored, &mut event_times) {
                self.docs.forget(&wire.doc_id);
                return Ok(refuse(code, reason));
            }
        }
        self.docs.accepted(&wire.doc_id, change.clone());
        self.group.actor_seqs.insert(key, stored_seq + 1);
        for (d, ms) in &event_times {
            let c = self.group.clocks.entry(*d).or_insert(i64::MIN);
            *c = (*c).max(*ms);
        }
        self.group.accepted.insert(wire.hash.clone());
        Ok(Verdict::Accept(Box::new(NewChange {
            change: wire.clone(),
            device_id: device,
            actor,
            actor_seq: stored_seq + 1,
            event_times: event_times.into_iter().collect(),
        })))
    }

    /// Why an appended string may not join the permit's events, if it may not.
    fn check_event(
        &mut self,
        pusher: DeviceId,
        doc_id: &str,
        stored: &str,
        times: &mut HashMap<DeviceId, i64>,
    ) -> Option<(RefusalCode, String)> {
        let Ok(signed) = SignedEvent::from_stored(stored) else {
            return Some((
                RefusalCode::NotAppendOnly,
                "it appends something that is not a signed event to the events list".into(),
            ));
        };
        let Ok(event) = signed.event() else {
            return Some((
                RefusalCode::NotAppendOnly,
                "it appends a signed envelope whose event cannot be read".into(),
            ));
        };
        if event.permit.to_string() != doc_id {
            return Some((RefusalCode::BadEvent, format!("event {} belongs to another permit", signed.hash())));
        }
        if event.device != pusher && !self.recovery {
            return Some((RefusalCode::BadEvent, format!("event {} was signed by another device", signed.hash())));
        }
        if let Err(v) = verify_signer(&event, &signed.sig, &signed.body, self.registry, Some(self.memo)) {
            return Some((RefusalCode::BadEvent, format!("event {}: {v}", signed.hash())));
        }
        let limit = self.now_ms.saturating_add(MAX_CLOCK_AHEAD_MS);
        if event.time_ms() > limit || event.at.ms > limit {
            return Some((
                RefusalCode::ClockAhead,
                format!(
                    "event {} is dated {} ms ahead of the server's clock",
                    signed.hash(),
                    event.time_ms().max(event.at.ms) - self.now_ms
                ),
            ));
        }
        if event.device == pusher {
            let delivered = match self.group.clocks.get(&pusher) {
                Some(ms) => Some(*ms),
                None => self.storage.device_clock(pusher).ok().flatten(),
            };
            let floor = delivered.into_iter().chain(times.get(&pusher).copied()).max();
            if let Some(floor) = floor.filter(|f| event.time_ms() < *f) {
                return Some((
                    RefusalCode::ClockBehind,
                    format!(
                        "event {} is dated {} ms before one this device already delivered",
                        signed.hash(),
                        floor - event.time_ms()
                    ),
                ));
            }
        }
        if self.registry.person(event.actor).is_some_and(|p| p.frozen_at(self.now_ms)) {
            return Some((
                RefusalCode::FrozenAccount,
                format!("event {} is signed by a person whose account is frozen", signed.hash()),
            ));
        }
        let t = times.entry(event.device).or_insert(i64::MIN);
        *t = (*t).max(event.time_ms());
        None
    }
}

/// A pushed change as read before it is judged.
pub struct Prepared {
    pub wire: WireChange,
    read: std::result::Result<Read, (RefusalCode, String)>,
    /// For a change that starts a permit: the empty document with it test-applied.
    speculated: Option<Speculated>,
}

/// A change test-applied to the empty document ([`test_apply`]) ahead of judging; the judge uses
/// it only when nothing of that permit is stored or accepted, so it is what the judge would get.
struct Speculated {
    doc: automerge::Automerge,
    outcome: std::result::Result<ptw_doc::permit::LoadedPermit, String>,
}

/// Test-apply `change` to `doc` (behind a panic guard): the document must give the change back
/// as it came — a change whose operations do not fit the document can be applied yet leave it
/// unable to list or save its changes — and must still read as a permit. The error says why not.
fn test_apply(
    doc_id: &str,
    doc: &mut automerge::Automerge,
    change: &Change,
) -> std::result::Result<ptw_doc::permit::LoadedPermit, String> {
    let applied = ptw_doc::guarded("test-applying a pushed change", || doc.apply_changes([change.clone()]));
    if let Err(e) = applied {
        return Err(format!("it does not apply to the permit: {e}"));
    }
    let hash = change.hash();
    let read_back = ptw_doc::guarded("reading back a test-applied change", || Ok(doc.get_change_by_hash(&hash)));
    if !matches!(&read_back, Ok(Some(c)) if c.hash() == hash) {
        return Err("the permit does not give the change back as it was pushed".into());
    }
    let checked = ptw_doc::guarded("reading a test-applied permit", || Ok(ptw_doc::shape::check_permit(doc_id, &*doc)));
    match checked {
        Ok(Ok(loaded)) => Ok(loaded),
        Ok(Err(e)) | Err(e) => Err(format!("the permit would no longer read: {e}")),
    }
}

struct Read {
    change: Change,
    expanded: automerge::ExpandedChange,
}

/// Read the changes of one push — rules 1 and the operations of rule 5, which need no stored
/// document — and check the signatures of the events they append, in one batch, remembering
/// those that verify in `memo`. This runs on the push's own thread, many pushes side by side;
/// the writer thread then judges what it read ([`Judge::judge`]) and finds the signatures done.
/// `registry` only says which keys to try: the judge verifies against its own registry.
pub fn prepare(changes: Vec<WireChange>, registry: &Registry, memo: &SignatureMemo) -> Vec<Prepared> {
    let prepared: Vec<Prepared> = changes
        .into_iter()
        .map(|wire| {
            let read = read(&wire);
            let speculated = read.as_ref().ok().filter(|r| starts_a_permit(&r.change)).map(|r| {
                let mut doc = automerge::Automerge::new();
                let outcome = test_apply(&wire.doc_id, &mut doc, &r.change);
                Speculated { doc, outcome }
            });
            Prepared { read, wire, speculated }
        })
        .collect();
    let signed: Vec<(SignedEvent, DeviceId)> = prepared
        .iter()
        .filter_map(|p| p.read.as_ref().ok())
        .flat_map(|r| r.expanded.operations.iter())
        .filter_map(|op| match (&op.action, op.insert) {
            (OpType::Put(ScalarValue::Str(s)), true) => SignedEvent::from_stored(s).ok(),
            _ => None,
        })
        .filter_map(|signed| {
            let device = signed.event().ok()?.device;
            Some((signed, device))
        })
        .collect();
    let items = signed.iter().filter_map(|(signed, device)| {
        let key = &registry.device(*device)?.public_key;
        Some(BatchItem { public_key: key, sig: &signed.sig, message: signed.body.as_bytes() })
    });
    verify_batch(items, memo, rand_core::OsRng);
    prepared
}

/// Whether `change` can only be the first change of its permit: its actor's first, built on nothing.
fn starts_a_permit(change: &Change) -> bool {
    change.seq() == 1 && change.deps().is_empty() && change.start_op().get() == 1
}

fn read(wire: &WireChange) -> std::result::Result<Read, (RefusalCode, String)> {
    let no = |code: RefusalCode, reason: String| Err((code, reason));
    if wire.kind != PERMIT_KIND {
        return no(RefusalCode::Malformed, format!("unknown document kind {:?}; only permits sync", shown(&wire.kind)));
    }
    if !ptw_doc::shape::is_permit_id(&wire.doc_id) {
        return no(
            RefusalCode::Shape,
            format!("{:?} is not a permit id (a UUID in canonical form)", shown(&wire.doc_id)),
        );
    }
    let Ok(claimed) = wire.hash.parse::<ChangeHash>() else {
        return no(RefusalCode::Malformed, "the hash is not an Automerge change hash (64 hex digits)".into());
    };
    let change = match ptw_doc::decode_change(&wire.bytes) {
        Ok(change) => change,
        Err(ptw_doc::DocError::Shape(reason)) => return no(RefusalCode::Malformed, reason),
        Err(_) => return no(RefusalCode::Malformed, "not an Automerge change".into()),
    };
    if change.hash() != claimed {
        return no(RefusalCode::Malformed, format!("the bytes hash to {}, not to the claimed hash", change.hash()));
    }
    let Ok(expanded) = ptw_doc::guarded("expanding a pushed change", || Ok(change.decode())) else {
        return no(RefusalCode::Malformed, "the change's operations cannot be read".into());
    };
    if let Some(reason) = foreign_op(&expanded) {
        return no(RefusalCode::Shape, reason);
    }
    Ok(Read { change, expanded })
}

/// The strings in a permit's events list.
fn event_strings(doc: &automerge::Automerge) -> HashSet<String> {
    match doc.get(ROOT, ptw_doc::EVENTS) {
        Ok(Some((automerge::Value::Object(ObjType::List), list))) => doc
            .list_range(&list, ..)
            .filter_map(|item| match item.value {
                automerge::ValueRef::Scalar(automerge::ScalarValueRef::Str(s)) => Some(s.to_string()),
                _ => None,
            })
            .collect(),
        _ => HashSet::new(),
    }
}

/// Why the change is not append-only on the events list `events` (its object id, when the
/// document has one), if it is not: it makes a second events list, or replaces, deletes or
/// overwrites one of its elements, or inserts anything but a string.
fn append_only(change: &automerge::ExpandedChange, events: Option<(u64, ActorId)>) -> Option<String> {
    let mut lists: HashSet<(u64, ActorId)> = events.into_iter().collect();
    let start_op = change.start_op.get();
    for (i, op) in change.operations.iter().enumerate() {
        if op.obj == ObjectId::Root && op.key == Key::Map(ptw_doc::EVENTS.into()) {
            match op.action {
                OpType::Make(ObjType::List) if op.pred.is_empty() && lists.is_empty() => {
                    lists.insert((start_op + i as u64, change.actor_id.clone()));
                }
                OpType::Make(ObjType::List) if op.pred.is_empty() => {
                    return Some("it makes a second events list beside the permit's one".into())
                }
                _ => return Some("it replaces or removes the permit's events list, which is append-only".into()),
            }
        }
        if let ObjectId::Id(obj) = &op.obj {
            if lists.iter().any(|(counter, actor)| *counter == obj.counter() && actor == obj.actor()) {
                match (&op.action, op.insert) {
                    (OpType::Put(ScalarValue::Str(_)), true) => {}
                    (OpType::Delete, _) => {
                        return Some("it deletes an event from the permit's events list, which is append-only".into())
                    }
                    (OpType::Put(_), false) => {
                        return Some("it overwrites an event in the permit's events list, which is append-only".into())
                    }
                    _ => return Some("it inserts something other than a signed event into the events list".into()),
                }
            }
        }
    }
    None
}

/// An object id as Automerge writes it (`counter@actor`), as its parts.
fn parse_obj_id(id: &str) -> Option<(u64, ActorId)> {
    let (counter, actor) = id.split_once('@')?;
    Some((counter.parse().ok()?, actor.parse().ok()?))
}

/// Why `change` holds an operation no permit is made of, if it does: a permit is maps, lists,
/// strings and numbers. Counters, increments, text objects and marks are refused — Automerge
/// applies an increment of a string differently depending on how the document was loaded, so a
/// document holding one can read on the server and not on a tablet.
fn foreign_op(change: &automerge::ExpandedChange) -> Option<String> {
    change.operations.iter().find_map(|op| match &op.action {
        OpType::Increment(_) | OpType::Put(ScalarValue::Counter(_)) => {
            Some("it holds a counter operation, which no permit uses".to_owned())
        }
        OpType::MarkBegin(_) | OpType::MarkEnd(_) => Some("it holds a text mark, which no permit uses".to_owned()),
        OpType::Make(ObjType::Text) => Some("it makes a text object, which no permit uses".to_owned()),
        _ => None,
    })
}

/// `text` as it may appear in a message: at most 80 characters (Debug formatting escapes it).
fn shown(text: &str) -> String {
    text.chars().take(80).collect()
}

/// Whether `change` builds on its actor's previous change: Automerge orders an actor's changes
/// by their numbers, and a document in which change n does not descend from change n−1 no
/// longer loads. The walk goes back from the change's dependencies and stops at the actor's
/// older changes, so it visits only what was made since the previous one.
fn follows_own(doc: &automerge::Automerge, change: &Change) -> bool {
    let actor = change.actor_id();
    let previous = change.seq() - 1;
    let mut stack: Vec<ChangeHash> = change.deps().to_vec();
    let mut seen: HashSet<ChangeHash> = HashSet::new();
    while let Some(hash) = stack.pop() {
        if !seen.insert(hash) {
            continue;
        }
        let Some(meta) = doc.get_change_meta_by_hash(&hash) else { continue };
        if meta.actor.as_ref() == actor {
            if meta.seq == previous {
                return true;
            }
            if meta.seq < previous {
                continue;
            }
        }
        stack.extend(meta.deps);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::sqlite::SqliteStorage;
    use automerge::AutoCommit;
    use ptw_core::PermitForm;

    const PERMIT: &str = "0190c5a0-0000-7000-8000-000000000777";

    fn device() -> DeviceId {
        DeviceId(uuid::Uuid::parse_str("0190c5a0-0000-7000-8000-0000000000d1").expect("uuid"))
    }

    /// The device's Automerge actor ending in `n`, as a fresh document of `PERMIT`.
    fn doc_of(n: u8) -> AutoCommit {
        let mut actor = device().as_uuid().as_bytes().to_vec();
        actor.push(n);
        AutoCommit::new().with_actor(ActorId::from(actor))
    }

    /// The last change made on `doc`, as pushed.
    fn pushed(doc: &mut AutoCommit) -> WireChange {
        let change = doc.get_last_local_change().expect("a change").clone();
        WireChange {
            doc_id: PERMIT.into(),
            kind: PERMIT_KIND.into(),
            hash: change.hash().to_string(),
            bytes: change.raw_bytes().to_vec(),
        }
    }

    /// A first change of `PERMIT` made by the device's Automerge actor ending in `n`.
    fn started_by(n: u8) -> WireChange {
        let mut doc = doc_of(n);
        ptw_doc::init_permit(&mut doc, PERMIT, "DH-1", &PermitForm::default()).expect("init");
        pushed(&mut doc)
    }

    /// A change by the device's actor ending in `n` that only sets the permit's number: the
    /// first change of that actor, built on nothing, like a permit's start.
    fn numbered_by(n: u8) -> WireChange {
        let mut doc = doc_of(n);
        automerge::transaction::Transactable::put(&mut doc, ROOT, "number", "DH-2").expect("put");
        pushed(&mut doc)
    }

    /// Judge `p`, pushed by the device, in the group `docs` and `group` belong to.
    fn judge_one(
        storage: &SqliteStorage,
        registry: &Registry,
        memo: &SignatureMemo,
        docs: &mut DocCache,
        group: &mut Group,
        p: &mut Prepared,
    ) -> Verdict {
        let mut judge = Judge { storage, registry, memo, now_ms: 0, recovery: false, docs, group };
        judge.judge(device(), p).expect("judged")
    }

    /// Judge `changes` as one push of one group; the verdicts and the heads of the document the
    /// judge holds afterwards.
    fn judge_group(changes: Vec<WireChange>) -> (Vec<Verdict>, Vec<ChangeHash>) {
        let storage = SqliteStorage::open_in_memory().expect("storage");
        let (registry, memo) = (Registry::empty(), SignatureMemo::new());
        let mut pushed = prepare(changes, &registry, &memo);
        assert!(pushed.iter().all(|p| p.speculated.is_some()), "each looks like a permit's first change");
        let (mut docs, mut group) = (DocCache::default(), Group::default());
        let verdicts: Vec<Verdict> =
            pushed.iter_mut().map(|p| judge_one(&storage, &registry, &memo, &mut docs, &mut group, p)).collect();
        let heads = docs.get(&storage, PERMIT, None).expect("cache").expect("doc").get_heads();
        (verdicts, heads)
    }

    #[test]
    fn a_second_first_change_in_the_same_group_is_judged_against_the_permit_not_the_empty_document() {
        // Against the empty document the renumbering is no permit; against the permit the
        // group already accepted it is a change of its number, and both are kept.
        let (start, renumber) = (started_by(1), numbered_by(2));
        let (verdicts, heads) = judge_group(vec![start.clone(), renumber.clone()]);
        assert!(verdicts.iter().all(|v| matches!(v, Verdict::Accept(_))), "{verdicts:?}");
        let mut expected: Vec<String> = vec![start.hash, renumber.hash];
        let mut got: Vec<String> = heads.iter().map(ToString::to_string).collect();
        expected.sort();
        got.sort();
        assert_eq!(got, expected);

        // A second start makes a second events list, whichever way it is judged.
        let (verdicts, _) = judge_group(vec![started_by(1), started_by(2)]);
        assert!(
            matches!(&verdicts[1], Verdict::Refuse { code: RefusalCode::NotAppendOnly, reason } if reason.contains("second events list")),
            "{:?}",
            verdicts[1]
        );
    }

    #[test]
    fn a_first_change_is_judged_alike_whether_it_was_test_applied_ahead_or_not() {
        let storage = SqliteStorage::open_in_memory().expect("storage");
        let (registry, memo) = (Registry::empty(), SignatureMemo::new());
        let mut ahead = prepare(vec![started_by(1)], &registry, &memo);
        let mut not_ahead = prepare(vec![started_by(1)], &registry, &memo);
        not_ahead[0].speculated = None;
        let judged = |p: &mut Prepared| {
            let (mut docs, mut group) = (DocCache::default(), Group::default());
            let verdict = judge_one(&storage, &registry, &memo, &mut docs, &mut group, p);
            let doc = docs.get(&storage, PERMIT, None).expect("cache").expect("doc");
            (verdict, doc.get_heads())
        };
        let (a, heads_a) = judged(&mut ahead[0]);
        let (b, heads_b) = judged(&mut not_ahead[0]);
        assert!(matches!(a, Verdict::Accept(_)), "{a:?}");
        assert_eq!(a, b);
        assert_eq!(heads_a, heads_b);
        assert!(!heads_a.is_empty(), "the cached document holds the change");
    }
}
