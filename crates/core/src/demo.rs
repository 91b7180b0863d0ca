//! The demo plant: a lithium-battery plant's maintenance crew, its locations and the GB 30871
//! catalog, as the registry changes the sync server seeds it with (`ptw-sync-server demo seed`).
//! Devices never seed a plant themselves: they receive this one, signed, like any other.
//!
//! The data lives in `demo/plant.json`; the PINs there are for the demo only (4 digits, which
//! only a plant whose settings say `demo` accepts).

use crate::authority::RegistryOp;
use crate::catalog::{Catalog, CatalogError, Role};
use crate::ids::PersonId;
use crate::registry::{Location, PlantSettings, Registry};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct DemoPlant {
    pub people: Vec<DemoPerson>,
    pub locations: Vec<Location>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DemoPerson {
    pub id: PersonId,
    pub name: String,
    pub title: String,
    pub roles: Vec<String>,
    pub pin: String,
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
        for l in self.locations.iter().filter(|l| registry.location(l.id) != Some(*l)) {
            ops.push(RegistryOp::PutLocation { location: l.clone() });
        }
        Ok(ops)
    }
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
        assert_eq!(kinds, expected);

        let mut entries = entries;
        let n = entries.len();
        entries.extend(update.into_iter().enumerate().map(|(i, op)| server.append(op, (n + i) as i64)));
        let now = Registry::from_log(&entries, &server.public_key()).expect("log folds");
        assert!(now.person(late).is_some());
        assert_eq!(demo.update_ops(&now, |pin| pin.to_owned()).expect("update"), vec![], "up to date: nothing");
    }
}
