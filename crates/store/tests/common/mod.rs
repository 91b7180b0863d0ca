//! Shared set-up: the demo plant's registry log, written by a test authority standing in for
//! the sync server (its key fixed, so a reopened store still verifies it); stores enrolled in
//! it, in temp dirs; the demo people by name.
#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use ed25519_zebra::SigningKey;
use ptw_core::authority::{Authority, RegistryOp, SignedEntry};
use ptw_core::demo::DemoPlant;
use ptw_core::{DeviceId, PermitForm, PersonId};
use ptw_store::time::Monotonic;
use ptw_store::{Enrolment, Store, StoreOptions};
use std::path::Path;
use std::sync::OnceLock;

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).single().expect("valid time")
}

/// The demo plant's PINs, hashed once per test binary (Argon2 is deliberately slow), with a
/// fixed salt so that every process writes the same log (a reopened store checks it).
fn pin_hashes() -> &'static Vec<(String, String)> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    static HASHES: OnceLock<Vec<(String, String)>> = OnceLock::new();
    HASHES.get_or_init(|| {
        let salt = SaltString::from_b64("b3BlbnB0dy10ZXN0cw").expect("salt");
        let plant = DemoPlant::load().expect("demo plant");
        plant
            .people
            .iter()
            .map(|p| {
                let hash = argon2::Argon2::default().hash_password(p.pin.as_bytes(), &salt).expect("hash").to_string();
                (p.pin.clone(), hash)
            })
            .collect()
    })
}

/// The plant's registry log, as the sync server would write it, and the stores enrolled in it.
pub struct TestPlant {
    pub authority: Authority,
    pub entries: Vec<SignedEntry>,
    next_device: u128,
}

impl TestPlant {
    /// The demo plant: its settings, catalog, people with PINs and locations.
    pub fn demo() -> TestPlant {
        let mut plant = TestPlant {
            authority: Authority::new(SigningKey::from_bytes(&[42; 32]), None),
            entries: Vec::new(),
            next_device: 0x0190_c5a0_0000_7000_8000_0000_0000_0900,
        };
        plant.append(RegistryOp::Genesis { plant: "demo".into() });
        let hashes = pin_hashes();
        let ops = DemoPlant::load()
            .expect("demo plant")
            .registry_ops(|pin| hashes.iter().find(|(p, _)| p == pin).map(|(_, h)| h.clone()).expect("hashed"))
            .expect("demo ops");
        for op in ops {
            plant.append(op);
        }
        plant
    }

    /// Sign the next entry, an hour before the stories begin.
    pub fn append(&mut self, op: RegistryOp) -> SignedEntry {
        self.append_at(op, t0() - Duration::hours(1))
    }

    pub fn append_at(&mut self, op: RegistryOp, at: DateTime<Utc>) -> SignedEntry {
        let e = self.authority.append(op, at.timestamp_millis());
        self.entries.push(e.clone());
        e
    }

    /// A store at `path`, enrolled in this plant (a new one gets a device entry), its registry
    /// current and its clock anchored to `t0()` as if it had just synced.
    pub fn open(&mut self, path: &Path, name: &str) -> Store {
        let mut store =
            Store::open_with(path, StoreOptions { device_name: name.into(), monotonic: Monotonic::FollowWall }, t0())
                .expect("open store");
        if !store.is_enrolled() {
            self.next_device += 1;
            let device = DeviceId(uuid::Uuid::from_u128(self.next_device));
            self.append(RegistryOp::EnrolDevice { device, name: name.into(), public_key: store.public_key() });
            store
                .adopt_enrolment(&Enrolment {
                    url: "http://127.0.0.1:9".into(),
                    token: "test-token".into(),
                    device_id: device,
                    name: name.into(),
                    server_key: self.authority.public_key(),
                    tls_fingerprint: None,
                })
                .expect("enrol");
            store.anchor_time_at(t0().timestamp_millis(), t0()).expect("anchor");
        }
        self.update(&mut store);
        store
    }

    /// Hand `store` every entry it lacks, as a sync would.
    pub fn update(&self, store: &mut Store) {
        store.apply_registry(&self.entries, t0()).expect("apply the registry");
    }
}

/// A store at `path` in a demo plant of its own (the same plant, key and device id each time
/// the same file is opened).
pub fn open_demo(path: &Path) -> Store {
    TestPlant::demo().open(path, "test tablet")
}

pub fn person(name: &str) -> PersonId {
    DemoPlant::load().expect("demo plant").person(name).map(|p| p.id).unwrap_or_else(|| panic!("no demo person {name}"))
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
        revises: None,
        subtype: None,
        details: Default::default(),
    }
}

/// A passing gas test: every reading inside hot work's limits.
pub fn gas() -> ptw_core::api::Action {
    ptw_core::api::Action::GasTest {
        reading: ptw_core::GasReading {
            o2_pct: Some(20.9),
            lel_pct: Some(0.0),
            h2s_ppm: Some(0.0),
            co_ppm: Some(0.0),
            instrument: "MSA Altair 4XR".into(),
            point: "法兰".into(),
        },
    }
}
