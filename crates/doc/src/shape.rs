//! The shape of a permit document, checked strictly: what the sync server requires of a
//! document after test-applying a pushed change to it, so that it never keeps a change that
//! would stop a device from reading the permit (DESIGN: the server accepts only what every
//! device can apply).
//!
//! The device's reader ([`crate::read_permit`]) is lenient about keys it does not know; this
//! check is not: the root holds exactly `id`, `number`, `form` and `events`, the form exactly
//! the fields of [`crate::FormDoc`] with their types, `id` is the document's own id (a UUID in
//! canonical form), and every event is a string.

use crate::permit::{read_permit, Fields, LoadedPermit, ROOT_KEYS};
use crate::{DocError, Result};
use automerge::{ReadDoc, ROOT};
use ptw_core::PermitId;

/// The fields of a permit's form map.
pub const FORM_KEYS: [&str; 16] = [
    "permit_type",
    "grade",
    "title",
    "location",
    "work_description",
    "planned_start_ms",
    "planned_end_ms",
    "applicant",
    "guardian",
    "crew",
    "hazards",
    "precautions",
    "assignees",
    "revises",
    "subtype",
    "details",
];

/// Whether `doc_id` is a permit id in canonical form (lower-case hyphenated UUID).
pub fn is_permit_id(doc_id: &str) -> bool {
    doc_id.parse::<PermitId>().is_ok_and(|id| id.to_string() == doc_id)
}

/// Check that `doc` is a well-formed permit document with id `doc_id`, and read it.
pub fn check_permit(doc_id: &str, doc: &impl ReadDoc) -> Result<LoadedPermit> {
    if !is_permit_id(doc_id) {
        return Err(DocError::Shape(format!(
            "a permit document id is a UUID in canonical form; '{}' is not",
            doc_id.escape_debug()
        )));
    }
    let root = Fields::of(doc, &ROOT);
    if let Some((key, _)) = root.0.iter().find(|(k, _)| !ROOT_KEYS.contains(&k.as_ref())) {
        return Err(DocError::Shape(format!("a permit document has no '{}'", key.escape_debug())));
    }
    let loaded = read_permit(doc)?;
    match doc.get(ROOT, "id")? {
        Some((automerge::Value::Scalar(s), _)) if s.as_str() == Some(doc_id) => {}
        _ => return Err(DocError::Shape("the permit's 'id' is not its document id".into())),
    }
    if let Some((automerge::Value::Object(_), form)) = doc.get(ROOT, "form")? {
        let fields = Fields::of(doc, &form);
        if let Some((key, _)) = fields.0.iter().find(|(k, _)| !FORM_KEYS.contains(&k.as_ref())) {
            return Err(DocError::Shape(format!("a permit's form has no field '{}'", key.escape_debug())));
        }
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{append_event, init_permit};
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ObjType};
    use ptw_core::PermitForm;

    const ID: &str = "0190c5a0-0000-7000-8000-000000000500";

    fn permit() -> AutoCommit {
        let mut doc = AutoCommit::new();
        init_permit(&mut doc, ID, "DH-1", &PermitForm::default()).expect("init");
        append_event(&mut doc, "{}".into()).expect("append");
        doc
    }

    #[test]
    fn a_permit_made_by_the_store_has_the_shape() {
        let loaded = check_permit(ID, &permit()).expect("the shape");
        assert_eq!(loaded.events, vec!["{}".to_string()]);
    }

    #[test]
    fn a_form_with_a_subtype_and_details_has_the_shape() {
        let mut form = PermitForm { subtype: Some("scaffold".into()), ..PermitForm::default() };
        form.details.insert("height_m".into(), ptw_core::FieldValue::Number(12.5));
        form.details.insert("strong_wind".into(), ptw_core::FieldValue::YesNo(true));
        let mut doc = AutoCommit::new();
        init_permit(&mut doc, ID, "GC-1", &form).expect("init");
        assert_eq!(check_permit(ID, &doc).expect("the shape").form, form);
    }

    #[test]
    fn ids_that_are_not_canonical_uuids_are_refused() {
        for id in ["not-a-uuid", "0190C5A0-0000-7000-8000-000000000500", "{0190c5a0-0000-7000-8000-000000000500}", ""] {
            assert!(!is_permit_id(id), "{id}");
        }
        assert!(matches!(check_permit("0190c5a0-0000-7000-8000-000000000501", &permit()), Err(DocError::Shape(_))));
    }

    #[test]
    fn a_form_that_is_a_string_extra_keys_and_a_number_event_are_refused() {
        type Damage = fn(&mut AutoCommit);
        let damages: [(&str, Damage); 6] = [
            ("form a string", |d| d.put(ROOT, "form", "x").map(|_| ()).expect("put")),
            ("an extra root key", |d| d.put(ROOT, "people", "x").map(|_| ()).expect("put")),
            ("an extra form field", |d| {
                let (_, form) = d.get(ROOT, "form").expect("get").expect("form");
                d.put(&form, "secret", 1_i64).expect("put");
            }),
            ("a detail that is no value", |d| {
                let (_, form) = d.get(ROOT, "form").expect("get").expect("form");
                let details = d.put_object(&form, "details", ObjType::Map).expect("details");
                d.put(&details, "height_m", "{not json").expect("put");
            }),
            ("details a list", |d| {
                let (_, form) = d.get(ROOT, "form").expect("get").expect("form");
                d.put_object(&form, "details", ObjType::List).expect("details");
            }),
            ("a number in the events", |d| {
                let (_, events) = d.get(ROOT, crate::EVENTS).expect("get").expect("events");
                d.insert(&events, 0, 7_i64).expect("insert");
            }),
        ];
        for (what, damage) in damages {
            let mut doc = permit();
            damage(&mut doc);
            assert!(check_permit(ID, &doc).is_err(), "{what}");
        }
        let mut doc = permit();
        doc.put_object(ROOT, "events", ObjType::Map).expect("replace");
        assert!(check_permit(ID, &doc).is_err(), "events a map");
    }
}
