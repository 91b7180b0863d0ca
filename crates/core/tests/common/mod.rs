//! A small plant for the stories: people with roles, two locations, two enrolled devices.
#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use ed25519_zebra::SigningKey;
use ptw_core::authority::{Authority, RegistryOp};
use ptw_core::catalog::Role;
use ptw_core::registry::Location;
use ptw_core::signature::public_key_hex;
use ptw_core::*;
use uuid::Uuid;

pub const MIN: i64 = 60_000;
/// 2026-11-30 08:00 UTC, the planned start of every story's permit.
pub const T0: i64 = 1_796_025_600_000;

pub fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().expect("valid ms")
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

pub struct Plant {
    pub registry: Registry,
    pub key: SigningKey,
    pub device: DeviceId,
    pub permit: PermitId,
    pub applicant: PersonId,
    pub guardian: PersonId,
    pub welder: PersonId,
    pub director: PersonId,
    pub safety: PersonId,
    pub safety2: PersonId,
    pub manager: PersonId,
    pub manager2: PersonId,
    pub foreman_officer: PersonId,
    pub location: LocationId,
    /// A pipe rack, whose class makes hot work there at least grade 1.
    pub pipe_rack: LocationId,
    /// A second enrolled tablet, and a guardian who does not watch this permit.
    pub other_device: DeviceId,
    pub other_key: SigningKey,
    pub other_guardian: PersonId,
    next: std::cell::Cell<u128>,
}

fn person(n: u128, name: &str, roles: &[&str]) -> RegistryOp {
    RegistryOp::PutPerson {
        id: PersonId(id(n)),
        name: name.into(),
        title: String::new(),
        roles: roles.iter().map(|r| Role::new(r)).collect(),
        profile: Default::default(),
    }
}

/// When the story plant's certificates are valid: 2020-01-01 to 2035-01-01 UTC.
pub const CERT_FROM: i64 = 1_577_836_800_000;
pub const CERT_TO: i64 = 2_051_222_400_000;

/// Certificate `n` of `person` (by number), of type `cert_type`, valid from `from` until `to`.
pub fn certificate(n: u128, person: u128, cert_type: &str, from: i64, to: i64) -> ptw_core::registry::Certificate {
    ptw_core::registry::Certificate {
        id: id(n),
        person: PersonId(id(person)),
        cert_type: cert_type.into(),
        number: format!("T-{n:06}"),
        issuer: "应急管理局".into(),
        valid_from_ms: from,
        valid_to_ms: to,
        revoked_ms: None,
        training: vec![],
    }
}

/// The plant's registry as the sync server would write it: a signed log, folded.
fn registry_log(devices: &[(DeviceId, &SigningKey)]) -> Registry {
    let mut server = Authority::new(SigningKey::from_bytes(&[1u8; 32]), None);
    let mut ops = vec![
        RegistryOp::Genesis { plant: "story plant".into() },
        RegistryOp::SetCatalog { catalog: Catalog::gb30871().expect("catalog") },
        person(1, "张伟", &["applicant"]),
        person(2, "李娜", &["guardian", "gas_tester"]),
        person(3, "孙焊工", &[]),
        person(4, "刘洋", &["workshop_director"]),
        person(5, "王强", &["safety_manager", "safety_officer"]),
        person(6, "周敏", &["safety_manager"]),
        person(7, "陈静", &["plant_manager"]),
        person(8, "吴刚", &["plant_manager"]),
        person(9, "赵磊", &["applicant", "workshop_director"]),
        person(10, "钱勇", &["guardian"]),
        RegistryOp::PutLocation {
            location: Location {
                id: LocationId(id(100)),
                code: "T-101".into(),
                name: "储罐区 T-101".into(),
                area: "罐区".into(),
                classes: vec![],
            },
        },
        // A pipe rack: hot work there is at least grade 1 (GB 30871).
        RegistryOp::PutLocation {
            location: Location {
                id: LocationId(id(101)),
                code: "PR-3".into(),
                name: "管廊 PR-3".into(),
                area: "公用工程".into(),
                classes: vec!["pipe_rack".into()],
            },
        },
    ];
    // The welder holds every certificate the shipped catalog's work asks, but the special-equipment
    // welding one (the gate's stories give it); 赵磊 and the other guardian, a welding one; both
    // guardians, the plant's confined-space guardian sign-off.
    let certificates = [
        (3, "welding_thermal_cutting"),
        (3, "work_at_height"),
        (3, "confined_space"),
        (3, "electrician"),
        (3, "lifting_operation"),
        (9, "welding_thermal_cutting"),
        (10, "welding_thermal_cutting"),
        // The plant's sign-off of its confined-space guardians' experience.
        (2, "confined_space_guardian"),
        (10, "confined_space_guardian"),
    ];
    for (n, (person, cert_type)) in certificates.into_iter().enumerate() {
        ops.push(RegistryOp::PutCertificate {
            certificate: certificate(300 + n as u128, person, cert_type, CERT_FROM, CERT_TO),
        });
    }
    for (n, (device, key)) in devices.iter().enumerate() {
        ops.push(RegistryOp::EnrolDevice { device: *device, name: format!("T-0{n}"), public_key: public_key_hex(key) });
    }
    let entries: Vec<_> = ops.into_iter().enumerate().map(|(i, op)| server.append(op, i as i64)).collect();
    Registry::from_log(&entries, &server.public_key()).expect("the story plant's log folds")
}

impl Plant {
    pub fn new() -> Plant {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let device = DeviceId(id(900));
        let other_key = SigningKey::from_bytes(&[8u8; 32]);
        let other_device = DeviceId(id(901));
        let registry = registry_log(&[(device, &key), (other_device, &other_key)]);
        Plant {
            registry,
            key,
            device,
            permit: PermitId(id(500)),
            applicant: PersonId(id(1)),
            guardian: PersonId(id(2)),
            welder: PersonId(id(3)),
            director: PersonId(id(4)),
            safety: PersonId(id(5)),
            safety2: PersonId(id(6)),
            manager: PersonId(id(7)),
            manager2: PersonId(id(8)),
            foreman_officer: PersonId(id(9)),
            location: LocationId(id(100)),
            pipe_rack: LocationId(id(101)),
            other_device,
            other_key,
            other_guardian: PersonId(id(10)),
            next: std::cell::Cell::new(10_000),
        }
    }

    /// The plant working every day around the clock: no rest days, no night hours, no
    /// holidays, so no planned window raises a grade.
    pub fn round_the_clock(&mut self) {
        let c = &mut self.registry.settings.calendar;
        c.rest_weekdays.clear();
        c.holidays.clear();
        c.night_end = c.night_start;
    }

    /// A complete, valid grade-1 hot-work form for 4 hours from T0.
    pub fn hot_work_form(&self) -> PermitForm {
        self.form("hot_work", "grade_1", 4 * 60)
    }

    pub fn form(&self, permit_type: &str, grade: &str, minutes: i64) -> PermitForm {
        let t = self.registry.catalog.permit_type(permit_type).expect("type");
        PermitForm {
            permit_type: permit_type.into(),
            grade: grade.into(),
            title: "T-101 出料管线法兰焊接".into(),
            location: Some(self.location),
            work_description: "更换出料管线法兰并焊接".into(),
            planned_start: Some(at(T0)),
            planned_end: Some(at(T0 + minutes * MIN)),
            applicant: Some(self.applicant),
            guardian: Some(self.guardian),
            crew: vec![self.welder],
            hazards: "可燃气体残留，高温飞溅".into(),
            precautions: t.precautions.iter().map(|p| p.code.clone()).collect(),
            assignees: Default::default(),
            revises: None,
            subtype: None,
            details: Default::default(),
        }
    }

    pub fn fresh_id(&self) -> EventId {
        let n = self.next.get();
        self.next.set(n + 1);
        EventId(id(n))
    }

    /// A signed, stored event by `actor` at `ms` over `form`.
    pub fn event(&self, form: &PermitForm, actor: PersonId, ms: i64, kind: EventKind) -> String {
        self.event_struct(form, actor, ms, kind).1
    }

    pub fn event_struct(&self, form: &PermitForm, actor: PersonId, ms: i64, kind: EventKind) -> (Event, String) {
        let ev = Event {
            id: self.fresh_id(),
            permit: self.permit,
            at: Hlc::new(ms, 0),
            time: Some(Stamp { ms, trust: TimeTrust::Server }),
            prev: None,
            device: self.device,
            actor,
            content_hash: form.content_hash(),
            handwriting: None,
            kind,
        };
        let stored = SignedEvent::sign(&ev, &self.key).to_stored();
        (ev, stored)
    }

    /// `ev` signed by the key of the device it names (the other tablet's, or else this one's).
    pub fn sign(&self, ev: &Event) -> String {
        let key = if ev.device == self.other_device { &self.other_key } else { &self.key };
        SignedEvent::sign(ev, key).to_stored()
    }

    /// The applicant submits `form`, which the event carries as the form of record.
    pub fn submit(form: &PermitForm) -> EventKind {
        EventKind::Submit { form: Some(Box::new(form.clone())) }
    }

    pub fn approve(step: &str) -> EventKind {
        EventKind::Approve { step: step.into(), comment: "同意".into() }
    }

    pub fn accept() -> EventKind {
        EventKind::Accept { step: "acceptance".into(), comment: "现场已清理".into() }
    }

    pub fn good_gas() -> EventKind {
        EventKind::GasTest {
            reading: GasReading {
                o2_pct: Some(20.9),
                lel_pct: Some(0.0),
                h2s_ppm: Some(0.0),
                co_ppm: Some(0.0),
                instrument: "MSA Altair 4XR #A123".into(),
                point: "法兰处".into(),
            },
        }
    }

    /// The full grade-1 hot-work story, draft to closed.
    pub fn fire_watch_end() -> EventKind {
        EventKind::FireWatchEnd { note: "无余火，现场已清理".into() }
    }

    /// A confined-space `form` submitted and through its three approvals, before T0.
    pub fn approved_confined_space(&self, form: &PermitForm) -> Vec<String> {
        vec![
            self.event(form, self.applicant, T0 - 60 * MIN, Plant::submit(form)),
            self.event(form, self.guardian, T0 - 55 * MIN, Plant::approve("guardian_confirmation")),
            self.event(form, self.safety, T0 - 50 * MIN, Plant::approve("safety_review")),
            self.event(form, self.director, T0 - 45 * MIN, Plant::approve("workshop_approval")),
        ]
    }

    pub fn hot_work_story(&self, form: &PermitForm) -> Vec<String> {
        vec![
            self.event(form, self.applicant, T0 - 60 * MIN, Plant::submit(form)),
            self.event(form, self.director, T0 - 50 * MIN, Plant::approve("workshop_review")),
            self.event(form, self.safety, T0 - 40 * MIN, Plant::approve("safety_approval")),
            self.event(form, self.guardian, T0 - 10 * MIN, Plant::good_gas()),
            self.event(form, self.guardian, T0 + MIN, EventKind::Start),
            self.event(form, self.applicant, T0 + 180 * MIN, EventKind::Complete),
            self.event(form, self.guardian, T0 + 215 * MIN, Plant::fire_watch_end()),
            self.event(form, self.director, T0 + 220 * MIN, Plant::accept()),
        ]
    }

    pub fn derive(&self, form: &PermitForm, events: &[String], now_ms: i64) -> PermitState {
        derive(self.permit, form, events, &self.registry, at(now_ms))
    }
}

/// The violation an event was rejected with, by position in the timeline.
pub fn rejection(state: &PermitState, index: usize) -> Option<&Violation> {
    match &state.timeline.get(index)?.outcome {
        ptw_core::derive::Outcome::Rejected { violation } => Some(violation),
        ptw_core::derive::Outcome::Applied => None,
    }
}
