//! What the store benchmarks (and the server's alert-scan benchmark) share: the demo people, a store enrolled in the demo plant (its
//! registry log written by a stand-in for the server), and the p50/p95/max they print.

#![allow(dead_code)]

use chrono::{DateTime, Utc};
use ptw_core::authority::{Authority, RegistryOp, SignedEntry};
use ptw_core::demo::DemoPlant;
use ptw_core::{PermitForm, PersonId};
use ptw_store::{Enrolment, Store};

pub fn person(name: &str) -> PersonId {
    DemoPlant::load().expect("demo").person(name).expect("person").id
}

/// The key the stand-in server signs the registry log with.
pub const SERVER_KEY: [u8; 32] = [42; 32];

/// The bench store's device.
pub fn device() -> ptw_core::DeviceId {
    ptw_core::DeviceId(uuid::Uuid::from_u128(0x0190_c5a0_0000_7000_8000_0000_0000_0900))
}

/// A store in `dir` enrolled in the demo plant at `now`.
pub fn open_store(dir: &std::path::Path, now: DateTime<Utc>) -> Store {
    open_store_with_log(dir, now).0
}

/// [`open_store`], and the registry log it was given (signed with [`SERVER_KEY`]), for a real
/// server's storage to hold too.
pub fn open_store_with_log(dir: &std::path::Path, now: DateTime<Utc>) -> (Store, Vec<SignedEntry>) {
    let mut store = Store::open(&dir.join("bench.db"), "bench", now).expect("open");
    let mut server = Authority::new(ed25519_zebra::SigningKey::from_bytes(&SERVER_KEY), None);
    let device = device();
    let mut ops = vec![RegistryOp::Genesis { plant: "bench".into() }];
    ops.extend(
        DemoPlant::load().expect("demo").registry_ops(|pin| ptw_store::hash_pin(pin).expect("hash")).expect("ops"),
    );
    ops.push(RegistryOp::EnrolDevice { device, name: "bench".into(), public_key: store.public_key() });
    let entries: Vec<_> = ops.into_iter().map(|op| server.append(op, now.timestamp_millis())).collect();
    store
        .adopt_enrolment(&Enrolment {
            url: "http://127.0.0.1:9".into(),
            token: String::new(),
            device_id: device,
            name: "bench".into(),
            server_key: server.public_key(),
            tls_fingerprint: None,
        })
        .expect("enrol");
    store.apply_registry(&entries, now).expect("registry");
    (store, entries)
}

/// A complete grade-1 hot-work form at the location coded `place`, planned for 8 hours from
/// `start`.
pub fn hot_work_form(store: &Store, title: String, place: &str, start: DateTime<Utc>) -> PermitForm {
    let r = store.registry();
    PermitForm {
        permit_type: "hot_work".into(),
        grade: "grade_1".into(),
        title,
        location: r.locations.iter().find(|l| l.code == place).map(|l| l.id),
        work_description: "bench".into(),
        planned_start: Some(start),
        planned_end: Some(start + chrono::Duration::hours(8)),
        guardian: Some(person("李娜")),
        crew: vec![person("孙浩")],
        hazards: "bench".into(),
        precautions: r
            .catalog
            .permit_type("hot_work")
            .expect("type")
            .precautions
            .iter()
            .map(|p| p.code.clone())
            .collect(),
        ..Default::default()
    }
}

/// Prints `name`'s p50, p95 and max, in ms.
pub fn percentiles(name: &str, mut samples: Vec<f64>) {
    samples.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!(
        "{name}: n={} p50={:.3} ms p95={:.3} ms max={:.3} ms",
        samples.len(),
        at(0.50),
        at(0.95),
        samples[samples.len() - 1]
    );
}
