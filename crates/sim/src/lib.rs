//! A headless openptw device: the pieces the `ptw-sim` and `ptw-load` binaries share — the demo
//! people, a complete permit form, "advance this permit one step" and a small deterministic
//! random generator.

use chrono::{DateTime, Duration, Utc};
use ptw_core::api::Action;
use ptw_core::demo::DemoPlant;
use ptw_core::{GasReading, PermitForm, PermitId, PersonId};
use ptw_store::{Store, StoreError, SyncReport};

/// The demo people, by name.
pub struct People {
    people: Vec<(String, PersonId)>,
}

impl People {
    pub fn demo() -> anyhow::Result<People> {
        let plant = DemoPlant::load()?;
        Ok(People { people: plant.people.into_iter().map(|p| (p.name, p.id)).collect() })
    }

    pub fn get(&self, name: &str) -> PersonId {
        self.people
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
            .unwrap_or_else(|| panic!("no demo person {name}"))
    }
}

/// The applicant of the demo plant.
pub const APPLICANT: &str = "张伟";
/// Everyone in the demo plant who may sign something, tried in this order.
pub const SIGNERS: [&str; 6] = ["李娜", "刘洋", "赵磊", "王强", "陈静", "张伟"];

/// A complete grade-1 hot-work form starting at `start`, 4 hours long, valid whenever it is
/// filed: at a location whose class sets no floor, grade 1 is what even a night, rest day or
/// holiday raise asks (grade 2 raised one grade).
pub fn hot_work_form(store: &Store, people: &People, title: &str, start: DateTime<Utc>) -> PermitForm {
    let r = store.registry();
    PermitForm {
        permit_type: "hot_work".into(),
        grade: "grade_1".into(),
        title: title.into(),
        location: r.locations.iter().find(|l| l.classes.is_empty()).map(|l| l.id),
        work_description: "更换法兰并焊接".into(),
        planned_start: Some(start),
        planned_end: Some(start + Duration::hours(4)),
        guardian: Some(people.get("李娜")),
        crew: vec![people.get("孙浩")],
        hazards: "可燃气体残留".into(),
        precautions: r
            .catalog
            .permit_type("hot_work")
            .map(|t| t.precautions.iter().map(|p| p.code.clone()).collect())
            .unwrap_or_default(),
        ..Default::default()
    }
}

/// A gas test reading well inside every limit.
pub fn good_reading() -> GasReading {
    GasReading {
        o2_pct: Some(20.9),
        lel_pct: Some(0.0),
        h2s_ppm: Some(0.0),
        co_ppm: Some(0.0),
        instrument: "MSA Altair 4XR #1".into(),
        point: "法兰附近".into(),
    }
}

/// Move a permit one step along its workflow: the first of submit, approve, gas test, start,
/// complete, accept that someone in the demo plant may do now; a comment when nothing else is
/// allowed. Refusals are expected and skipped; any other error is returned.
pub fn advance(store: &mut Store, people: &People, id: PermitId, now: DateTime<Utc>) -> anyhow::Result<String> {
    let steps: [(&str, Action); 6] = [
        ("submit", Action::Submit),
        ("approve", Action::Approve { comment: "同意".into() }),
        ("gas_test", Action::GasTest { reading: good_reading() }),
        ("start", Action::Start),
        ("complete", Action::Complete),
        ("accept", Action::Accept { comment: "验收合格".into() }),
    ];
    for (name, action) in steps {
        for who in SIGNERS {
            match store.act(people.get(who), id, action.clone(), now) {
                Ok(_) => return Ok(name.to_string()),
                Err(StoreError::Refused(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
    store.act(people.get(APPLICANT), id, Action::Comment { text: "进展正常".into() }, now)?;
    Ok("comment".into())
}

/// Create `permits` permits as the demo applicant and advance each `events_per_permit` times.
/// Returns the permit ids.
pub fn edit(
    store: &mut Store,
    people: &People,
    permits: usize,
    events_per_permit: usize,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<PermitId>> {
    let mut ids = Vec::with_capacity(permits);
    for i in 0..permits {
        let form = hot_work_form(store, people, &format!("模拟作业 {i}"), now);
        let id = store.create_permit(people.get(APPLICANT), form, now)?.id;
        for _ in 0..events_per_permit {
            advance(store, people, id, now)?;
        }
        ids.push(id);
    }
    Ok(ids)
}

/// A sync report as one JSON object.
pub fn report_json(r: &SyncReport) -> serde_json::Value {
    serde_json::json!({
        "pushed": r.pushed,
        "acked": r.acked,
        "refused": r.refused,
        "pulled": r.pulled,
        "applied": r.applied,
        "snapshots": r.snapshots,
        "registry_entries": r.registry_entries,
        "quarantined": r.quarantined,
        "apply_ms": r.apply_ms,
        "round_trips": r.round_trips,
        "bytes_sent": r.bytes_sent,
        "bytes_received": r.bytes_received,
    })
}

/// SplitMix64: small, seedable, the same sequence everywhere.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// What this device shows of the permit numbered `number` (see `ptw-sim show`): status, the
/// presence trail, the photos and the handwritten signatures, each picture fetched and checked
/// against its hash (`intact`), and whether a signature still covers the form of record. With
/// `save`, the pictures are written there, each named by its hash.
pub fn show(
    store: &mut Store,
    number: &str,
    save: Option<&std::path::Path>,
    now: DateTime<Utc>,
) -> anyhow::Result<serde_json::Value> {
    use anyhow::Context;
    let query = ptw_core::api::ListQuery { text: Some(number.to_owned()), limit: 50, ..Default::default() };
    let found = store.list(&query)?.into_iter().find(|s| s.number == number);
    let id = found.with_context(|| format!("no permit {number} on this device"))?.id;
    let view = store.with_links(store.permit(id, now)?)?;
    let mut picture = |hash: &str| -> anyhow::Result<serde_json::Value> {
        let Some((mime, bytes)) = store.fetch_blob(hash, now)? else {
            return Ok(serde_json::json!({ "hash": hash, "present": false }));
        };
        let intact = ptw_core::sync::blob_hash(&bytes) == hash;
        if let Some(dir) = save {
            std::fs::write(dir.join(hash), &bytes).with_context(|| format!("saving {hash}"))?;
        }
        Ok(serde_json::json!({ "hash": hash, "present": true, "intact": intact, "mime": mime, "bytes": bytes.len() }))
    };
    let mut photos = Vec::new();
    for p in &view.state.photos {
        photos.push(serde_json::json!({
            "phase": p.photo.phase.code(),
            "by": p.by.to_string(),
            "at_ms": p.at_ms,
            "device": p.device.to_string(),
            "photo": picture(&p.photo.blob)?,
            "thumbnail": picture(&p.photo.thumbnail)?,
        }));
    }
    let mut signatures = Vec::new();
    for h in &view.state.handwritten {
        signatures.push(serde_json::json!({
            "by": h.by.to_string(),
            "action": h.action,
            "step": h.step,
            "broken": view.state.signature_broken(h),
            "image": picture(&h.image)?,
        }));
    }
    let presence: Vec<_> = view
        .state
        .presence
        .iter()
        .map(|p| {
            serde_json::json!({
                "person": p.person.to_string(),
                "in_ms": p.checked_in.at_ms,
                "location": p.checked_in.location,
                "location_matches": p.checked_in.location_matches,
                "device": p.checked_in.device.to_string(),
                "out_ms": p.checked_out.as_ref().map(|s| s.at_ms),
            })
        })
        .collect();
    Ok(serde_json::json!({
        "number": view.number,
        "status": view.state.status.code(),
        "presence": presence,
        "photos": photos,
        "handwritten": signatures,
        "rejected": view.state.rejected().count(),
    }))
}
