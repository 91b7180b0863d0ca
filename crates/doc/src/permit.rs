//! How a permit is laid out in its Automerge document: `id` and `number` strings, the `form`
//! map, and the `events` list of signed events.
//!
//! Mapped with autosurgeon onto a small mirror struct of plain strings and numbers, so the
//! document format does not change when a ptw-core type gains a method, and so ptw-core stays
//! free of Automerge. The form is a map of scalar fields (last writer wins per field); a
//! permit's events are a list of immutable strings that is only ever appended to.

use crate::{DocError, Result};
use automerge::{transaction::Transactable, AutoCommit, ObjType, ReadDoc, ScalarValue, ScalarValueRef, ValueRef, ROOT};
use autosurgeon::{Hydrate, Reconcile};
use chrono::{DateTime, TimeZone, Utc};
use ptw_core::{LocationId, PermitForm, PermitId, PersonId};
use std::collections::BTreeMap;
use std::str::FromStr;

/// The root key of a permit's events list.
pub const EVENTS: &str = "events";
/// The root keys of a permit document, and nothing else.
pub const ROOT_KEYS: [&str; 4] = ["id", "number", "form", EVENTS];

#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct FormDoc {
    pub permit_type: String,
    pub grade: String,
    pub title: String,
    pub location: Option<String>,
    pub work_description: String,
    pub planned_start_ms: Option<i64>,
    pub planned_end_ms: Option<i64>,
    pub applicant: Option<String>,
    pub guardian: Option<String>,
    pub crew: Vec<String>,
    pub hazards: String,
    pub precautions: Vec<String>,
    pub assignees: BTreeMap<String, Vec<String>>,
    /// Absent in forms from before it.
    pub revises: Option<String>,
    /// Absent in forms from before it.
    pub subtype: Option<String>,
    /// The type's own fields, each value as its JSON, so each field merges on its own (last
    /// writer wins per field). Absent in forms from before it, and while there are none.
    pub details: Option<BTreeMap<String, String>>,
}

fn parse_id<T: FromStr>(what: &str, s: &str) -> Result<T> {
    s.parse().map_err(|_| DocError::Shape(format!("{what} '{s}' is not an id")))
}

fn ms_to_time(ms: i64) -> Result<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single().ok_or_else(|| DocError::Shape(format!("time {ms} out of range")))
}

impl From<&PermitForm> for FormDoc {
    fn from(f: &PermitForm) -> Self {
        let ids = |v: &[PersonId]| v.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        FormDoc {
            permit_type: f.permit_type.clone(),
            grade: f.grade.clone(),
            title: f.title.clone(),
            location: f.location.map(|l| l.to_string()),
            work_description: f.work_description.clone(),
            planned_start_ms: f.planned_start.map(|t| t.timestamp_millis()),
            planned_end_ms: f.planned_end.map(|t| t.timestamp_millis()),
            applicant: f.applicant.map(|p| p.to_string()),
            guardian: f.guardian.map(|p| p.to_string()),
            crew: ids(&f.crew),
            hazards: f.hazards.clone(),
            precautions: f.precautions.clone(),
            assignees: f.assignees.iter().map(|(k, v)| (k.clone(), ids(v))).collect(),
            revises: f.revises.map(|p| p.to_string()),
            subtype: f.subtype.clone(),
            details: (!f.details.is_empty()).then(|| {
                // A FieldValue is a bool, a finite number or a string: it serialises.
                f.details.iter().map(|(k, v)| (k.clone(), serde_json::to_string(v).unwrap_or_default())).collect()
            }),
        }
    }
}

impl TryFrom<&FormDoc> for PermitForm {
    type Error = DocError;
    fn try_from(d: &FormDoc) -> Result<Self> {
        let person = |s: &String| parse_id::<PersonId>("person", s);
        let people = |v: &[String]| v.iter().map(person).collect::<Result<Vec<_>>>();
        Ok(PermitForm {
            permit_type: d.permit_type.clone(),
            grade: d.grade.clone(),
            title: d.title.clone(),
            location: d.location.as_deref().map(|s| parse_id::<LocationId>("location", s)).transpose()?,
            work_description: d.work_description.clone(),
            planned_start: d.planned_start_ms.map(ms_to_time).transpose()?,
            planned_end: d.planned_end_ms.map(ms_to_time).transpose()?,
            applicant: d.applicant.as_ref().map(person).transpose()?,
            guardian: d.guardian.as_ref().map(person).transpose()?,
            crew: people(&d.crew)?,
            hazards: d.hazards.clone(),
            precautions: d.precautions.clone(),
            assignees: d
                .assignees
                .iter()
                .map(|(k, v)| Ok((k.clone(), people(v)?)))
                .collect::<Result<BTreeMap<_, _>>>()?,
            revises: d.revises.as_deref().map(|s| parse_id::<PermitId>("permit", s)).transpose()?,
            subtype: d.subtype.clone(),
            details: d
                .details
                .iter()
                .flatten()
                .map(|(k, v)| {
                    let value = serde_json::from_str(v)
                        .map_err(|_| DocError::Shape(format!("form detail '{k}' holds '{v}', which is not a value")))?;
                    Ok((k.clone(), value))
                })
                .collect::<Result<BTreeMap<_, _>>>()?,
        })
    }
}

/// Write a new permit document: id, number, form and an empty events list.
pub fn init_permit(doc: &mut AutoCommit, id: &str, number: &str, form: &PermitForm) -> Result<()> {
    doc.put(ROOT, "id", id)?;
    doc.put(ROOT, "number", number)?;
    doc.put_object(ROOT, EVENTS, ObjType::List)?;
    set_form(doc, form)
}

/// Reconcile the form field by field: only fields that differ become operations.
pub fn set_form(doc: &mut AutoCommit, form: &PermitForm) -> Result<()> {
    autosurgeon::reconcile_prop(doc, ROOT, "form", FormDoc::from(form))?;
    Ok(())
}

/// Append one stored event to the end of the events list. Never overwrites an element.
pub fn append_event(doc: &mut AutoCommit, stored: String) -> Result<()> {
    let list = match doc.get(ROOT, EVENTS)? {
        Some((automerge::Value::Object(ObjType::List), id)) => id,
        _ => return Err(DocError::Shape("permit document has no events list".into())),
    };
    let len = doc.length(&list);
    doc.insert(&list, len, ScalarValue::Str(stored.into()))?;
    Ok(())
}

pub struct LoadedPermit {
    pub number: String,
    pub form: PermitForm,
    pub events: Vec<String>,
}

/// Read a permit document. This is what every derivation starts from — thousands of times in a
/// cold start — so it walks each object once with `map_range`/`list_range` rather than looking
/// up field by field as `autosurgeon::hydrate` does (about three times faster). It accepts and
/// refuses exactly what hydrating the whole document with autosurgeon does (tested against it).
pub fn read_permit(doc: &impl ReadDoc) -> Result<LoadedPermit> {
    let root = Fields::of(doc, &ROOT);
    let number = root.string("number")?;
    root.string("id")?;
    let form = root.object("form", ObjType::Map)?;
    let events = root.object("events", ObjType::List)?;
    let f = Fields::of(doc, &form);
    let form = FormDoc {
        permit_type: f.string("permit_type")?,
        grade: f.string("grade")?,
        title: f.string("title")?,
        location: f.opt_string("location")?,
        work_description: f.string("work_description")?,
        planned_start_ms: f.opt_int("planned_start_ms")?,
        planned_end_ms: f.opt_int("planned_end_ms")?,
        applicant: f.opt_string("applicant")?,
        guardian: f.opt_string("guardian")?,
        crew: strings(doc, &f.object("crew", ObjType::List)?, "crew")?,
        hazards: f.string("hazards")?,
        precautions: strings(doc, &f.object("precautions", ObjType::List)?, "precautions")?,
        assignees: {
            let map = Fields::of(doc, &f.object("assignees", ObjType::Map)?);
            let mut out = BTreeMap::new();
            for (step, _) in &map.0 {
                out.insert(step.to_string(), strings(doc, &map.object(step, ObjType::List)?, "assignees")?);
            }
            out
        },
        revises: f.absent_or_string("revises")?,
        subtype: f.absent_or_string("subtype")?,
        details: match f.0.iter().find(|(k, _)| k == "details").map(|(_, item)| &item.value) {
            None | Some(ValueRef::Scalar(ScalarValueRef::Null)) => None,
            Some(_) => {
                let map = Fields::of(doc, &f.object("details", ObjType::Map)?);
                let mut out = BTreeMap::new();
                for (code, _) in &map.0 {
                    out.insert(code.to_string(), map.string(code)?);
                }
                Some(out)
            }
        },
    };
    Ok(LoadedPermit { number, form: PermitForm::try_from(&form)?, events: strings(doc, &events, "events")? })
}

/// The entries of one map object, read in a single pass.
pub(crate) struct Fields<'a>(pub(crate) Vec<(std::borrow::Cow<'a, str>, automerge::iter::MapRangeItem<'a>)>);

impl<'a> Fields<'a> {
    pub(crate) fn of(doc: &'a impl ReadDoc, obj: &automerge::ObjId) -> Fields<'a> {
        Fields(doc.map_range(obj, ..).map(|item| (item.key.clone(), item)).collect())
    }

    fn get(&self, key: &str) -> Result<&automerge::iter::MapRangeItem<'a>> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, item)| item)
            .ok_or_else(|| DocError::Shape(format!("permit document has no '{key}'")))
    }

    fn string(&self, key: &str) -> Result<String> {
        match &self.get(key)?.value {
            ValueRef::Scalar(ScalarValueRef::Str(s)) => Ok(s.to_string()),
            other => Err(unexpected(key, "a string", other)),
        }
    }

    fn opt_string(&self, key: &str) -> Result<Option<String>> {
        match &self.get(key)?.value {
            ValueRef::Scalar(ScalarValueRef::Null) => Ok(None),
            ValueRef::Scalar(ScalarValueRef::Str(s)) => Ok(Some(s.to_string())),
            other => Err(unexpected(key, "a string or null", other)),
        }
    }

    /// A string, null, or no such key (a field added to the form later).
    fn absent_or_string(&self, key: &str) -> Result<Option<String>> {
        if self.0.iter().any(|(k, _)| k == key) {
            self.opt_string(key)
        } else {
            Ok(None)
        }
    }

    fn opt_int(&self, key: &str) -> Result<Option<i64>> {
        match &self.get(key)?.value {
            ValueRef::Scalar(ScalarValueRef::Null) => Ok(None),
            ValueRef::Scalar(ScalarValueRef::Int(i)) => Ok(Some(*i)),
            other => Err(unexpected(key, "an integer or null", other)),
        }
    }

    fn object(&self, key: &str, kind: ObjType) -> Result<automerge::ObjId> {
        let item = self.get(key)?;
        match (&item.value, kind) {
            (ValueRef::Object(ObjType::Map | ObjType::Table), ObjType::Map) => Ok(item.id()),
            (ValueRef::Object(ObjType::List), ObjType::List) => Ok(item.id()),
            (other, _) => Err(unexpected(key, "an object of the right kind", other)),
        }
    }
}

/// The strings of a list object.
pub(crate) fn strings(doc: &impl ReadDoc, list: &automerge::ObjId, what: &str) -> Result<Vec<String>> {
    doc.list_range(list, ..)
        .map(|item| match &item.value {
            ValueRef::Scalar(ScalarValueRef::Str(s)) => Ok(s.to_string()),
            other => Err(unexpected(what, "a list of strings", other)),
        })
        .collect()
}

fn unexpected(key: &str, expected: &str, found: &ValueRef<'_>) -> DocError {
    DocError::Shape(format!("permit document: '{key}' should be {expected}, found {found:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use uuid::Uuid;

    /// The permit document as a whole, as autosurgeon hydrates it: the reference that
    /// [`read_permit`] is held to.
    #[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
    pub struct PermitDoc {
        pub id: String,
        pub number: String,
        pub form: FormDoc,
        pub events: Vec<String>,
    }

    /// What hydrating with autosurgeon gives: the reference the fast reader must match.
    fn hydrated(doc: &AutoCommit) -> Result<(String, PermitForm, Vec<String>)> {
        let d: PermitDoc = autosurgeon::hydrate(doc).map_err(|e| DocError::Shape(e.to_string()))?;
        Ok((d.number, PermitForm::try_from(&d.form)?, d.events))
    }

    fn fast(doc: &AutoCommit) -> Result<(String, PermitForm, Vec<String>)> {
        read_permit(doc).map(|p| (p.number, p.form, p.events))
    }

    fn person(n: u8) -> PersonId {
        PersonId(Uuid::from_u128(0x0190_c5a0_0000_7000_8000_0000_0000_0000 + u128::from(n)))
    }

    fn form_strategy() -> impl Strategy<Value = PermitForm> {
        let text = "[a-z动火作业 ]{0,12}";
        let people = proptest::collection::vec(any::<u8>().prop_map(person), 0..4);
        (
            (text, text, text, text, text),
            (proptest::option::of(0i64..4_000_000_000_000), proptest::option::of(0i64..4_000_000_000_000)),
            (
                proptest::option::of(any::<u8>()),
                proptest::option::of(any::<u8>()),
                people.clone(),
                proptest::option::of(any::<u128>()),
            ),
            proptest::collection::vec("[a-z_]{1,10}", 0..5),
            proptest::collection::btree_map("[a-z_]{1,8}", people, 0..3),
        )
            .prop_map(
                |(
                    (permit_type, grade, title, work_description, hazards),
                    (start, end),
                    (applicant, guardian, crew, location),
                    precautions,
                    assignees,
                )| PermitForm {
                    permit_type,
                    grade,
                    title,
                    location: location.map(|n| LocationId(Uuid::from_u128(n))),
                    work_description,
                    planned_start: start.and_then(|ms| Utc.timestamp_millis_opt(ms).single()),
                    planned_end: end.and_then(|ms| Utc.timestamp_millis_opt(ms).single()),
                    applicant: applicant.map(person),
                    guardian: guardian.map(person),
                    crew,
                    hazards,
                    precautions,
                    assignees,
                    revises: location.filter(|n| n % 2 == 0).map(|n| PermitId(Uuid::from_u128(n))),
                    subtype: location.filter(|n| n % 3 == 0).map(|n| format!("sub_{}", n % 7)),
                    details: details_of(location),
                },
            )
    }

    /// Some details of every kind, or none, picked by `n`.
    fn details_of(n: Option<u128>) -> BTreeMap<String, ptw_core::FieldValue> {
        use ptw_core::FieldValue as V;
        let Some(n) = n.filter(|n| n % 5 != 0) else { return BTreeMap::new() };
        let all = [
            ("height_m", V::Number((n % 4000) as f64 / 100.0)),
            ("night", V::YesNo(n % 2 == 0)),
            ("blind_no", V::Text(format!("MB-{}", n % 100))),
        ];
        all.into_iter().take((n % 3 + 1) as usize).map(|(k, v)| (k.to_owned(), v)).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Forms written, rewritten (so fields carry several operations) and events appended:
        /// the fast reader reads exactly what autosurgeon hydrates.
        #[test]
        fn the_fast_reader_reads_what_autosurgeon_hydrates(
            first in form_strategy(),
            second in form_strategy(),
            events in proptest::collection::vec("[ -~]{0,40}", 0..6),
        ) {
            let mut doc = AutoCommit::new();
            init_permit(&mut doc, "p-1", "HW-0001", &first).expect("a new permit document");
            prop_assert_eq!(fast(&doc).ok(), hydrated(&doc).ok());
            set_form(&mut doc, &second).expect("the form is rewritten");
            for e in events {
                append_event(&mut doc, e).expect("an event is appended");
            }
            let expected = hydrated(&doc).expect("autosurgeon reads it");
            prop_assert_eq!(fast(&doc).expect("the fast reader reads it"), expected);
        }
    }

    #[test]
    fn the_fast_reader_refuses_what_autosurgeon_refuses() {
        let form = PermitForm { permit_type: "hot_work".into(), grade: "grade_1".into(), ..Default::default() };
        type Damage = fn(&mut AutoCommit, &automerge::ObjId);
        let broken: [(&str, Damage); 5] = [
            ("title missing", |d, f| d.delete(f, "title").expect("delete")),
            ("title a number", |d, f| d.put(f, "title", 7_i64).expect("put")),
            ("start a string", |d, f| d.put(f, "planned_start_ms", "soon").expect("put")),
            ("crew a map", |d, f| {
                d.put_object(f, "crew", ObjType::Map).expect("put");
            }),
            ("events missing", |d, _| d.delete(ROOT, EVENTS).expect("delete")),
        ];
        for (what, damage) in broken {
            let mut doc = AutoCommit::new();
            init_permit(&mut doc, "p-1", "HW-0001", &form).expect("a new permit document");
            let form_obj = match doc.get(ROOT, "form").expect("read") {
                Some((automerge::Value::Object(ObjType::Map), id)) => id,
                other => panic!("form is {other:?}"),
            };
            damage(&mut doc, &form_obj);
            assert!(hydrated(&doc).is_err(), "{what}: autosurgeon refuses it");
            assert!(fast(&doc).is_err(), "{what}: the fast reader refuses it too");
        }
    }
}
