//! The registry: everything outside a permit that deciding about it needs — the catalog, the
//! people and their roles, the locations, the enrolled devices whose keys sign events.
//!
//! ptw-core never loads it; the caller (store, server, UI) hands one in.

use crate::catalog::{Catalog, Role};
use crate::ids::{DeviceId, LocationId, PersonId};
use serde::{Deserialize, Serialize};

/// A person in the plant's register. Credentials (PIN hashes) stay in the store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub id: PersonId,
    pub name: String,
    /// Trade or position, shown next to the name.
    pub title: String,
    pub roles: Vec<Role>,
    /// A frozen account (R-FREEZE) can no longer sign or approve from this instant on (Unix
    /// ms); what it signed before stays valid.
    pub frozen_since_ms: Option<i64>,
}

impl Person {
    pub fn has_role(&self, role: &Role) -> bool {
        self.roles.contains(role)
    }
    pub fn has_any_role(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.has_role(r))
    }
}

/// A work location (作业地点) from the plant's location register.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub id: LocationId,
    pub code: String,
    pub name: String,
    /// Area or unit the location belongs to, for lists and SIMOPS.
    pub area: String,
}

/// An enrolled device and the Ed25519 public key that verifies its events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Device {
    pub id: DeviceId,
    pub name: String,
    /// Hex of the 32-byte Ed25519 verifying key.
    pub public_key: String,
    pub revoked: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Registry {
    pub catalog: Catalog,
    pub people: Vec<Person>,
    pub locations: Vec<Location>,
    pub devices: Vec<Device>,
}

impl Registry {
    pub fn person(&self, id: PersonId) -> Option<&Person> {
        self.people.iter().find(|p| p.id == id)
    }
    pub fn location(&self, id: LocationId) -> Option<&Location> {
        self.locations.iter().find(|l| l.id == id)
    }
    pub fn device(&self, id: DeviceId) -> Option<&Device> {
        self.devices.iter().find(|d| d.id == id)
    }
}
