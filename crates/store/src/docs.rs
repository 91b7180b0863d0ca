//! How permits and the org register are laid out in Automerge documents.
//!
//! Mapped with autosurgeon onto small mirror structs of plain strings and numbers, so the
//! document format does not change when a ptw-core type gains a method, and so ptw-core stays
//! free of Automerge. The form is a map of scalar fields (last writer wins per field); a
//! permit's events are a list of immutable strings that is only ever appended to.

use crate::error::{Result, StoreError};
use automerge::{transaction::Transactable, AutoCommit, ObjType, ReadDoc, ScalarValue, ROOT};
use autosurgeon::{Hydrate, Reconcile};
use chrono::{DateTime, TimeZone, Utc};
use ptw_core::registry::{Device, Location, Person};
use ptw_core::{Catalog, DeviceId, LocationId, PermitForm, PersonId, Registry, Role};
use std::collections::BTreeMap;
use std::str::FromStr;

pub const EVENTS: &str = "events";

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
}

/// The permit document as a whole, for hydration.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct PermitDoc {
    pub id: String,
    pub number: String,
    pub form: FormDoc,
    pub events: Vec<String>,
}

fn parse_id<T: FromStr>(what: &str, s: &str) -> Result<T> {
    s.parse().map_err(|_| StoreError::Corrupt(format!("{what} '{s}' is not an id")))
}

fn ms_to_time(ms: i64) -> Result<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single().ok_or_else(|| StoreError::Corrupt(format!("time {ms} out of range")))
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
        }
    }
}

impl TryFrom<&FormDoc> for PermitForm {
    type Error = StoreError;
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
        _ => return Err(StoreError::Corrupt("permit document has no events list".into())),
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

pub fn read_permit(doc: &AutoCommit) -> Result<LoadedPermit> {
    let d: PermitDoc = autosurgeon::hydrate(doc)?;
    Ok(LoadedPermit { number: d.number, form: PermitForm::try_from(&d.form)?, events: d.events })
}

// ---- the org document: catalog, people (with PIN hashes), locations, devices ----

#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct PersonDoc {
    pub name: String,
    pub title: String,
    pub roles: Vec<String>,
    pub frozen_since_ms: Option<i64>,
    /// Argon2id PHC string; verified on the device, offline.
    pub pin_hash: String,
}

#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct LocationDoc {
    pub code: String,
    pub name: String,
    pub area: String,
}

#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct DeviceDoc {
    pub name: String,
    pub public_key: String,
    pub revoked: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct OrgDoc {
    /// The permit-type catalog as JSON: reviewed and replaced as a whole by the safety manager.
    pub catalog_json: String,
    pub people: BTreeMap<String, PersonDoc>,
    pub locations: BTreeMap<String, LocationDoc>,
    pub devices: BTreeMap<String, DeviceDoc>,
}

impl OrgDoc {
    pub fn registry(&self) -> Result<Registry> {
        let catalog = if self.catalog_json.is_empty() {
            Catalog { version: 0, roles: vec![], permit_types: vec![] }
        } else {
            Catalog::from_json(&self.catalog_json).map_err(|e| StoreError::Corrupt(e.to_string()))?
        };
        let people = self
            .people
            .iter()
            .map(|(id, p)| {
                Ok(Person {
                    id: parse_id("person", id)?,
                    name: p.name.clone(),
                    title: p.title.clone(),
                    roles: p.roles.iter().map(|r| Role::new(r)).collect(),
                    frozen_since_ms: p.frozen_since_ms,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let locations = self
            .locations
            .iter()
            .map(|(id, l)| {
                Ok(Location {
                    id: parse_id("location", id)?,
                    code: l.code.clone(),
                    name: l.name.clone(),
                    area: l.area.clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let devices = self
            .devices
            .iter()
            .map(|(id, d)| {
                Ok(Device {
                    id: parse_id::<DeviceId>("device", id)?,
                    name: d.name.clone(),
                    public_key: d.public_key.clone(),
                    revoked: d.revoked,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Registry { catalog, people, locations, devices })
    }
}
