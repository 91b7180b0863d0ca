//! The demo plant: a lithium-battery plant's maintenance crew, its locations and the GB 30871
//! catalog, as the registry changes the sync server seeds it with (`ptw-sync-server demo seed`).
//! Devices never seed a plant themselves: they receive this one, signed, like any other.
//!
//! The data lives in `demo/plant.json`; the PINs there are for the demo only (4 digits, which
//! only a plant whose settings say `demo` accepts).

use crate::authority::RegistryOp;
use crate::catalog::{Catalog, CatalogError, Role};
use crate::ids::PersonId;
use crate::registry::{Certificate, Location, PlantSettings, Profile, Registry, Training};
use chrono::NaiveDate;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct DemoPlant {
    pub people: Vec<DemoPerson>,
    pub locations: Vec<Location>,
    #[serde(default)]
    pub certificates: Vec<DemoCertificate>,
}

/// A demo certificate, its validity as the dates printed on it (plant dates).
#[derive(Debug, Clone, Deserialize)]
pub struct DemoCertificate {
    pub id: uuid::Uuid,
    pub person: PersonId,
    pub cert_type: String,
    pub number: String,
    pub issuer: String,
    pub valid_from: NaiveDate,
    pub valid_to: NaiveDate,
    #[serde(default)]
    pub training: Vec<Training>,
}

impl DemoCertificate {
    fn certificate(&self, zone: chrono_tz::Tz) -> Certificate {
        let (valid_from_ms, valid_to_ms) = crate::qualification::validity_ms(zone, self.valid_from, self.valid_to);
        Certificate {
            id: self.id,
            person: self.person,
            cert_type: self.cert_type.clone(),
            number: self.number.clone(),
            issuer: self.issuer.clone(),
            valid_from_ms,
            valid_to_ms,
            revoked_ms: None,
            training: self.training.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct DemoPerson {
    pub id: PersonId,
    pub name: String,
    pub title: String,
    pub roles: Vec<String>,
    pub pin: String,
    #[serde(default)]
    pub profile: Profile,
}

impl DemoPerson {
    /// The person and their PIN (hashed by `hash_pin`), as registry changes.
    fn registry_ops(&self, hash_pin: &mut impl FnMut(&str) -> String) -> [RegistryOp; 2] {
        [
            RegistryOp::PutPerson {
                id: self.id,
                name: self.name.clone(),
                title: self.title.clone(),
                roles: self.roles.iter().map(|r| Role::new(r)).collect(),
                profile: self.profile.clone(),
            },
            RegistryOp::SetPin { person: self.id, pin_hash: hash_pin(&self.pin) },
        ]
    }
}

impl DemoPlant {
    pub fn load() -> Result<DemoPlant, CatalogError> {
        Ok(serde_json::from_str(include_str!("../demo/plant.json"))?)
    }

    /// A demo person by name.
    pub fn person(&self, name: &str) -> Option<&DemoPerson> {
        self.people.iter().find(|p| p.name == name)
    }

    /// The registry changes that make the demo plant, after the log's genesis: settings, the
    /// catalog, every person with their PIN (hashed by `hash_pin`) and every location.
    pub fn registry_ops(&self, mut hash_pin: impl FnMut(&str) -> String) -> Result<Vec<RegistryOp>, CatalogError> {
        let settings = PlantSettings { min_pin_digits: 4, demo: true, ..PlantSettings::default() };
        let mut ops =
            vec![RegistryOp::SetSettings { settings }, RegistryOp::SetCatalog { catalog: Catalog::gb30871()? }];
        for p in &self.people {
            ops.extend(p.registry_ops(&mut hash_pin));
        }
        ops.extend(self.locations.iter().cloned().map(|location| RegistryOp::PutLocation { location }));
        let zone = settings_zone(&ops);
        ops.extend(self.certificates.iter().map(|c| RegistryOp::PutCertificate { certificate: c.certificate(zone) }));
        Ok(ops)
    }

    /// The registry changes that bring a demo plant seeded by an earlier version up to this
    /// one's: the shipped catalog, the demo people it lacks (with their PINs) and the locations
    /// as the demo data has them now. The plant's settings and any person it has are left as
    /// they are (an admin may have changed them). Empty when it is up to date.
    pub fn update_ops(
        &self,
        registry: &Registry,
        mut hash_pin: impl FnMut(&str) -> String,
    ) -> Result<Vec<RegistryOp>, CatalogError> {
        let mut ops = Vec::new();
        let catalog = Catalog::gb30871()?;
        if registry.catalog != catalog {
            ops.push(RegistryOp::SetCatalog { catalog });
        }
        for p in self.people.iter().filter(|p| registry.person(p.id).is_none()) {
            ops.extend(p.registry_ops(&mut hash_pin));
        }
        // A demo person from before profiles gets theirs; a profile an admin set stays.
        for p in self.people.iter().filter(|p| registry.person(p.id).is_some_and(|r| r.profile.is_empty())) {
            if let (Some(r), false) = (registry.person(p.id), p.profile.is_empty()) {
                ops.push(RegistryOp::PutPerson {
                    id: r.id,
                    name: r.name.clone(),
                    title: r.title.clone(),
                    roles: r.roles.clone(),
                    profile: p.profile.clone(),
                });
            }
        }
        for l in self.locations.iter().filter(|l| registry.location(l.id) != Some(*l)) {
            ops.push(RegistryOp::PutLocation { location: l.clone() });
        }
        let zone = registry.settings.zone();
        for c in self.certificates.iter().filter(|c| !registry.certificates.iter().any(|r| r.id == c.id)) {
            ops.push(RegistryOp::PutCertificate { certificate: c.certificate(zone) });
        }
        Ok(ops)
    }
}

/// The zone the settings among `ops` name (the demo's own).
fn settings_zone(ops: &[RegistryOp]) -> chrono_tz::Tz {
    ops.iter()
        .find_map(|op| match op {
            RegistryOp::SetSettings { settings } => Some(settings.zone()),
            _ => None,
        })
        .unwrap_or(chrono_tz::Asia::Shanghai)
}

/// The particulars of the demo plant's blind MB-017 on T-101's outlet line, as line
/// blinding's fields ask them: for the stories and samples that file a line-blinding permit.
pub fn blind_mb017() -> std::collections::BTreeMap<String, crate::form::FieldValue> {
    use crate::form::FieldValue::{Number, Text};
    [
        ("blind_number", Text("MB-017".into())),
        ("pipe", Text("T-101 出料线 DN150".into())),
        ("medium", Text("甲苯".into())),
        ("temperature_c", Number(35.0)),
        ("pressure_mpa", Number(0.0)),
        ("blind_spec", Text("DN150 PN16 304".into())),
        ("diagram_ref", Text("MB-图-2026-031".into())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authority::Authority;
    use ed25519_zebra::SigningKey;

    #[test]
    fn a_demo_plant_from_an_earlier_version_is_brought_up_to_date_and_then_left_alone() {
        let demo = DemoPlant::load().expect("demo plant");
        let mut server = Authority::new(SigningKey::from_bytes(&[3u8; 32]), None);
        let mut ops = vec![RegistryOp::Genesis { plant: "demo".into() }];
        ops.extend(demo.registry_ops(|pin| format!("hash of {pin}")).expect("ops"));
        // As an earlier version seeded it: without the night-shift guardian, T-101 unclassified,
        // an older catalog.
        let late = demo.people.last().map(|p| p.id).expect("people");
        ops.retain(
            |op| !matches!(op, RegistryOp::PutPerson { id, .. } | RegistryOp::SetPin { person: id, .. } if *id == late),
        );
        for op in &mut ops {
            match op {
                RegistryOp::PutLocation { location } => location.classes.clear(),
                RegistryOp::SetCatalog { catalog } => catalog.permit_types[0].grade_floors.clear(),
                _ => {}
            }
        }
        let entries: Vec<_> = ops.into_iter().enumerate().map(|(i, op)| server.append(op, i as i64)).collect();
        let old = Registry::from_log(&entries, &server.public_key()).expect("log folds");

        let update = demo.update_ops(&old, |pin| format!("hash of {pin}")).expect("update");
        let kinds: Vec<&str> = update.iter().map(RegistryOp::code).collect();
        let classified = demo.locations.iter().filter(|l| !l.classes.is_empty()).count();
        let mut expected = vec!["set_catalog", "put_person", "set_pin"];
        expected.extend(std::iter::repeat_n("put_location", classified));
        let late_certificates = demo.certificates.iter().filter(|c| c.person == late).count();
        expected.extend(std::iter::repeat_n("put_certificate", late_certificates));
        assert_eq!(kinds, expected);

        let mut entries = entries;
        let n = entries.len();
        entries.extend(update.into_iter().enumerate().map(|(i, op)| server.append(op, (n + i) as i64)));
        let now = Registry::from_log(&entries, &server.public_key()).expect("log folds");
        assert!(now.person(late).is_some());
        assert_eq!(demo.update_ops(&now, |pin| pin.to_owned()).expect("update"), vec![], "up to date: nothing");
    }
}
