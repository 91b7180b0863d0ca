//! The certificate gate over a plant-sized register: 1,200 people and 5,000 certificates. One
//! check is one person in one part against the type's rules (goal: < 1 ms); a whole form is its
//! crew of five, guardian and applicant; and the submit of a pressure-vessel welding permit
//! through derivation, the gate included.

use criterion::{criterion_group, criterion_main, Criterion};
use ptw_core::form::FieldValue;
use ptw_core::qualification::{self, QualifiedParty};
use ptw_core::registry::{Person, Profile};
use ptw_core::{PersonId, Status};
use std::hint::black_box;

#[path = "../tests/common/mod.rs"]
mod common;
use common::*;

const PEOPLE: u128 = 1_200;
const CERTIFICATES: u128 = 5_000;
const TYPES: [&str; 6] = [
    "work_at_height",
    "electrician",
    "welding_thermal_cutting",
    "special_equipment_welding",
    "confined_space",
    "lifting_operation",
];

/// The story plant grown to 1,200 people holding 5,000 certificates, the welder's among them.
fn big_plant() -> Plant {
    let mut p = Plant::new();
    for n in 0..PEOPLE {
        p.registry.people.push(Person {
            id: PersonId(uuid::Uuid::from_u128(10_000 + n)),
            name: format!("工人{n}"),
            title: "焊工".into(),
            roles: vec![],
            frozen_since_ms: None,
            past_freezes: vec![],
            retired_ms: None,
            profile: Profile {
                department: format!("车间{}", n % 12), badge: format!("B{n:05}"), ..Profile::default()
            },
        });
    }
    let have = p.registry.certificates.len() as u128;
    for n in have..CERTIFICATES - 1 {
        let t = TYPES[(n % TYPES.len() as u128) as usize];
        p.registry.certificates.push(certificate(20_000 + n, 10_000 + n % PEOPLE, t, CERT_FROM, CERT_TO));
    }
    // The welder's special-equipment welding certificate comes last: the check scans them all.
    p.registry.certificates.push(certificate(19_999, 3, "special_equipment_welding", CERT_FROM, CERT_TO));
    assert_eq!(p.registry.certificates.len() as u128, CERTIFICATES);
    assert_eq!(p.registry.people.len() as u128, PEOPLE + 10);
    p
}

fn gate(c: &mut Criterion) {
    let p = big_plant();
    let mut form = p.hot_work_form();
    form.details.insert("pressure_vessel".into(), FieldValue::YesNo(true));
    form.crew.extend((0..4).map(|n| PersonId(uuid::Uuid::from_u128(10_000 + n))));
    let ptype = p.registry.catalog.permit_type("hot_work").expect("hot work");
    let at = T0 - 60 * MIN;
    assert!(qualification::check(&p.registry, ptype, &form, QualifiedParty::Crew, p.welder, at).is_none());
    c.bench_function("gate_one_check_1200_people_5000_certificates", |b| {
        b.iter(|| qualification::check(&p.registry, ptype, black_box(&form), QualifiedParty::Crew, p.welder, at))
    });
    c.bench_function("gate_whole_form_7_people", |b| {
        b.iter(|| qualification::check_form(&p.registry, ptype, black_box(&form), at))
    });
    let events = vec![p.event(&form, p.applicant, at, Plant::submit(&form))];
    c.bench_function("derive_pressure_vessel_submit_with_gate", |b| {
        b.iter(|| {
            let s = p.derive(&form, &events, at + MIN);
            assert_eq!(s.status, Status::Draft, "three of the crew hold no special-equipment welding certificate");
            s
        })
    });
}

criterion_group!(benches, gate);
criterion_main!(benches);
