//! Shared set-up: a demo-plant store in a temp dir, and the demo people by name.
#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use ptw_core::{PermitForm, PersonId};
use ptw_store::{DemoPlant, Store};
use std::path::Path;

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).single().expect("valid time")
}

pub fn open_demo(path: &Path) -> Store {
    let mut store = Store::open(path, "test tablet", t0()).expect("open store");
    if store.is_empty() {
        store.seed_demo(t0()).expect("seed demo plant");
    }
    store
}

pub fn person(name: &str) -> PersonId {
    DemoPlant::load()
        .expect("demo plant")
        .people
        .into_iter()
        .find(|p| p.person.name == name)
        .map(|p| p.person.id)
        .unwrap_or_else(|| panic!("no demo person {name}"))
}

/// A complete grade-1 hot-work form starting at `start`, 4 hours long.
pub fn hot_work_form(store: &Store, start: DateTime<Utc>) -> PermitForm {
    let r = store.registry();
    let t = r.catalog.permit_type("hot_work").expect("hot work");
    PermitForm {
        permit_type: "hot_work".into(),
        grade: "grade_1".into(),
        title: "T-101 出料管线法兰焊接".into(),
        location: r.locations.iter().find(|l| l.code == "T-101").map(|l| l.id),
        work_description: "更换法兰并焊接".into(),
        planned_start: Some(start),
        planned_end: Some(start + Duration::hours(4)),
        applicant: None,
        guardian: Some(person("李娜")),
        crew: vec![person("孙浩")],
        hazards: "可燃气体残留".into(),
        precautions: t.precautions.iter().map(|p| p.code.clone()).collect(),
        assignees: Default::default(),
    }
}
