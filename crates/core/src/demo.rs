//! The demo plant: a lithium-battery plant's maintenance crew, its locations and the GB 30871
//! catalog, as the registry changes the sync server seeds it with (`ptw-sync-server demo seed`).
//! Devices never seed a plant themselves: they receive this one, signed, like any other.
//!
//! The data lives in `demo/plant.json`; the PINs there are for the demo only (4 digits, which
//! only a plant whose settings say `demo` accepts).

use crate::authority::RegistryOp;
use crate::catalog::{Catalog, CatalogError, Role};
use crate::ids::PersonId;
use crate::registry::{Location, PlantSettings};
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
            ops.push(RegistryOp::PutPerson {
                id: p.id,
                name: p.name.clone(),
                title: p.title.clone(),
                roles: p.roles.iter().map(|r| Role::new(r)).collect(),
            });
            ops.push(RegistryOp::SetPin { person: p.id, pin_hash: hash_pin(&p.pin) });
        }
        ops.extend(self.locations.iter().cloned().map(|location| RegistryOp::PutLocation { location }));
        Ok(ops)
    }
}
