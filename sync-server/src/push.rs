//! Deciding which pushed changes the server keeps: each change is decoded (never merged into a
//! document), its bytes must hash to the hash it claims, its kind must be known, every signed
//! event it carries must verify against the key of an enrolled, non-revoked device, and it must
//! not delete, overwrite or replace a permit's events list (DESIGN: append-only).
//!
//! This module only judges; looking devices and events lists up is passed in, and storing is the
//! caller's job, so the rules are tested without a database or a network.

use crate::error::Result;
use crate::storage::DeviceRecord;
use automerge::legacy::{Key, ObjectId, OpId, OpType};
use automerge::{Change, ChangeHash, ObjType, ScalarValue};
use ptw_core::sync::WireChange;
use ptw_core::{DeviceId, SignedEvent};
use std::collections::HashSet;

/// Document kinds the server relays.
pub const DOC_KINDS: [&str; 2] = ["permit", "org"];

/// The root key of a permit document holding its events list (see ptw-store's `docs.rs`).
pub const EVENTS_KEY: &str = "events";

/// The longest document id accepted; ids are UUIDs or short names like `org`.
const MAX_DOC_ID_LEN: usize = 128;

/// What the server decides about one change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Keep it; it creates these events lists (object ids `counter@actor`).
    Accept {
        new_event_lists: Vec<String>,
    },
    Refuse {
        reason: String,
    },
}

fn refuse(reason: impl Into<String>) -> Verdict {
    Verdict::Refuse { reason: reason.into() }
}

fn op_id_text(id: &OpId) -> String {
    format!("{}@{}", id.counter(), id.actor())
}

/// Judge one change. `event_lists` holds the events lists already known in its document;
/// `device` looks up the device an event names.
pub fn judge(
    wire: &WireChange,
    event_lists: &HashSet<String>,
    device: &mut dyn FnMut(DeviceId) -> Result<Option<DeviceRecord>>,
) -> Result<Verdict> {
    if !DOC_KINDS.contains(&wire.kind.as_str()) {
        return Ok(refuse(format!("unknown document kind '{}'; expected one of {DOC_KINDS:?}", wire.kind)));
    }
    if wire.doc_id.is_empty() || wire.doc_id.len() > MAX_DOC_ID_LEN {
        return Ok(refuse("the document id is empty or too long"));
    }
    let Ok(claimed) = wire.hash.parse::<ChangeHash>() else {
        return Ok(refuse("the hash is not an Automerge change hash (64 hex digits)"));
    };
    // Decoding walks untrusted bytes; automerge's expansion has internal asserts, so a malformed
    // change must cost one refusal, not the request.
    let bytes = wire.bytes.clone();
    let decoded = std::panic::catch_unwind(move || {
        Change::from_bytes(bytes).map(|c| {
            let expanded = c.decode();
            (c.hash(), expanded)
        })
    });
    let (actual, expanded) = match decoded {
        Ok(Ok(decoded)) => decoded,
        Ok(Err(e)) => return Ok(refuse(format!("not an Automerge change: {e}"))),
        Err(_) => return Ok(refuse("not an Automerge change: it could not be decoded")),
    };
    if actual != claimed {
        return Ok(refuse(format!("the bytes hash to {actual}, not to the claimed hash")));
    }

    let is_permit = wire.kind == "permit";
    let mut lists = event_lists.clone();
    let mut new_event_lists = Vec::new();
    let start_op = expanded.start_op.get();
    for (i, op) in expanded.operations.iter().enumerate() {
        if is_permit && op.obj == ObjectId::Root && op.key == Key::Map(EVENTS_KEY.into()) {
            match op.action {
                OpType::Make(ObjType::List) if op.pred.is_empty() => {
                    let id = OpId::new(start_op + i as u64, &expanded.actor_id);
                    lists.insert(op_id_text(&id));
                    new_event_lists.push(op_id_text(&id));
                }
                _ => return Ok(refuse("it replaces or removes the permit's events list, which is append-only")),
            }
        }
        if let ObjectId::Id(obj) = &op.obj {
            if lists.contains(&op_id_text(obj)) {
                match (&op.action, op.insert) {
                    (OpType::Put(ScalarValue::Str(_)), true) => {}
                    (OpType::Delete, _) => {
                        return Ok(refuse("it deletes an event from the permit's events list, which is append-only"))
                    }
                    (OpType::Put(_), false) => {
                        return Ok(refuse("it overwrites an event in the permit's events list, which is append-only"))
                    }
                    _ => return Ok(refuse("it inserts something other than a signed event into the events list")),
                }
            }
        }
        if let OpType::Put(ScalarValue::Str(text)) = &op.action {
            if let Some(reason) = check_signed(text, device)? {
                return Ok(refuse(reason));
            }
        }
    }
    Ok(Verdict::Accept { new_event_lists })
}

/// `Some(reason)` when `text` is a signed event that does not verify; `None` when it verifies or
/// is not a signed event at all (form fields, names…).
fn check_signed(
    text: &str,
    device: &mut dyn FnMut(DeviceId) -> Result<Option<DeviceRecord>>,
) -> Result<Option<String>> {
    // Cheap pre-check: most strings in a permit are not JSON objects.
    if !text.trim_start().starts_with('{') {
        return Ok(None);
    }
    let Ok(signed) = SignedEvent::from_stored(text) else { return Ok(None) };
    let Ok(event) = signed.event() else { return Ok(None) };
    let reason = match device(event.device)? {
        None => format!("event {} is signed by device {}, which is not enrolled", event.id, event.device),
        Some(d) if d.revoked => format!("event {} is signed by device {}, which was revoked", event.id, event.device),
        Some(d) => match signed.verify_with_key(&d.public_key) {
            Ok(_) => return Ok(None),
            Err(_) => format!(
                "event {}: the signature does not verify against the key device {} enrolled with",
                event.id, event.device
            ),
        },
    };
    Ok(Some(reason))
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ReadDoc, ROOT};
    use ed25519_zebra::SigningKey;
    use ptw_core::{Event, EventId, EventKind, Hlc, PermitId, PersonId};
    use uuid::Uuid;

    fn wire(doc: &mut AutoCommit, kind: &str) -> WireChange {
        doc.commit();
        let c = doc.get_last_local_change().expect("a change");
        WireChange { doc_id: "p".into(), kind: kind.into(), hash: c.hash().to_string(), bytes: c.raw_bytes().to_vec() }
    }

    fn tablet() -> (DeviceRecord, SigningKey) {
        let key = SigningKey::from_bytes(&[3; 32]);
        let record = DeviceRecord {
            id: DeviceId(Uuid::from_u128(3)),
            name: "T-03".into(),
            public_key: ptw_core::event::public_key_hex(&key),
            revoked: false,
            enrolled_ms: 0,
        };
        (record, key)
    }

    fn signed(device: &DeviceRecord, key: &SigningKey) -> String {
        let event = Event {
            id: EventId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001)),
            permit: PermitId(Uuid::from_u128(1)),
            at: Hlc::new(1, 0),
            device: device.id,
            actor: PersonId(Uuid::from_u128(2)),
            content_hash: "h".into(),
            kind: EventKind::Start,
        };
        SignedEvent::sign(&event, key).to_stored()
    }

    fn run(change: &WireChange, lists: &HashSet<String>, device: &DeviceRecord) -> Verdict {
        let mut lookup = |id| Ok((id == device.id).then(|| device.clone()));
        judge(change, lists, &mut lookup).expect("judge")
    }

    /// A permit with one signed event; returns the doc, the events list's id and its creating change.
    fn permit_with_event(device: &DeviceRecord, key: &SigningKey) -> (AutoCommit, automerge::ObjId, WireChange) {
        let mut doc = AutoCommit::new();
        let list = doc.put_object(ROOT, EVENTS_KEY, ObjType::List).expect("list");
        doc.insert(&list, 0, signed(device, key)).expect("insert");
        let change = wire(&mut doc, "permit");
        (doc, list, change)
    }

    fn lists_of(verdict: Verdict) -> HashSet<String> {
        match verdict {
            Verdict::Accept { new_event_lists } => new_event_lists.into_iter().collect(),
            Verdict::Refuse { reason } => panic!("refused: {reason}"),
        }
    }

    fn reason_of(verdict: Verdict) -> String {
        match verdict {
            Verdict::Refuse { reason } => reason,
            Verdict::Accept { .. } => panic!("accepted"),
        }
    }

    #[test]
    fn a_permit_created_with_a_signed_event_is_accepted_and_its_events_list_remembered() {
        let (device, key) = tablet();
        let (_, _, change) = permit_with_event(&device, &key);
        assert_eq!(lists_of(run(&change, &HashSet::new(), &device)).len(), 1);
    }

    #[test]
    fn overwriting_a_signed_event_in_place_is_refused() {
        let (device, key) = tablet();
        let (mut doc, list, created) = permit_with_event(&device, &key);
        let lists = lists_of(run(&created, &HashSet::new(), &device));
        doc.put(&list, 0, signed(&device, &key).replace("start", "cancel")).expect("overwrite");
        let reason = reason_of(run(&wire(&mut doc, "permit"), &lists, &device));
        assert!(reason.contains("overwrites"), "{reason}");
    }

    #[test]
    fn replacing_the_whole_events_list_is_refused() {
        let (device, key) = tablet();
        let (mut doc, _, created) = permit_with_event(&device, &key);
        let lists = lists_of(run(&created, &HashSet::new(), &device));
        doc.put_object(ROOT, EVENTS_KEY, ObjType::List).expect("replace");
        let reason = reason_of(run(&wire(&mut doc, "permit"), &lists, &device));
        assert!(reason.contains("replaces or removes"), "{reason}");
        assert_eq!(doc.length(&ROOT), 1);
    }

    #[test]
    fn an_event_from_a_revoked_device_is_refused_and_an_unknown_kind_too() {
        let (mut device, key) = tablet();
        let (_, _, change) = permit_with_event(&device, &key);
        device.revoked = true;
        assert!(reason_of(run(&change, &HashSet::new(), &device)).contains("revoked"));
        let mut odd = change;
        odd.kind = "person".into();
        assert!(reason_of(run(&odd, &HashSet::new(), &device)).contains("unknown document kind"));
    }
}
