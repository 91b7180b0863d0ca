//! The org document: the catalog, the people (with their roles and PIN hashes), the locations
//! and the enrolled devices — everything a tablet needs to decide and to let people sign in
//! with no network. Kept as one Automerge document so it syncs like a permit.

use crate::docs::{DeviceDoc, LocationDoc, OrgDoc, PersonDoc};
use crate::error::{Result, StoreError};
use crate::{load_doc, next_clock, save_change, write_tx, Store};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Utc};
use ptw_core::event::public_key_hex;
use ptw_core::registry::{Location, Person};
use ptw_core::{Catalog, Hlc, PersonId, Registry};
use serde::Deserialize;

pub(crate) const ORG_DOC: &str = "org";

pub(crate) fn empty_registry() -> Registry {
    Registry {
        catalog: Catalog { version: 0, roles: vec![], permit_types: vec![] },
        people: vec![],
        locations: vec![],
        devices: vec![],
    }
}

/// The demo plant seeded on first run (people, PINs, locations) — data in `demo/plant.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct DemoPlant {
    pub people: Vec<DemoPerson>,
    pub locations: Vec<Location>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DemoPerson {
    #[serde(flatten)]
    pub person: DemoPersonFields,
    pub pin: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DemoPersonFields {
    pub id: PersonId,
    pub name: String,
    pub title: String,
    pub roles: Vec<String>,
}

impl DemoPlant {
    pub fn load() -> Result<DemoPlant> {
        serde_json::from_str(include_str!("../demo/plant.json"))
            .map_err(|e| StoreError::Corrupt(format!("demo plant data: {e}")))
    }
}

fn hash_pin(pin: &str) -> Result<String> {
    let salt = SaltString::generate(&mut rand_core::OsRng);
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::PinHash(e.to_string()))
}

impl Store {
    pub(crate) fn reload_registry(&mut self) -> Result<()> {
        let org = self.read_org()?;
        self.registry = org.registry()?;
        // Derived states depend on the registry (roles, freezes, device keys).
        self.cache.clear();
        self.pins = org.people.iter().filter_map(|(id, p)| Some((id.parse().ok()?, p.pin_hash.clone()))).collect();
        Ok(())
    }

    fn read_org(&self) -> Result<OrgDoc> {
        match load_doc(&self.conn, ORG_DOC)? {
            Some(doc) => Ok(autosurgeon::hydrate(&doc)?),
            None => Ok(OrgDoc::default()),
        }
    }

    /// Change the org document in one transaction and reload the registry from it.
    fn change_org(&mut self, now: DateTime<Utc>, edit: impl FnOnce(&mut OrgDoc)) -> Result<()> {
        let actor = self.actor();
        let tx = write_tx(&mut self.conn)?;
        let mut doc = load_doc(&tx, ORG_DOC)?.unwrap_or_default();
        doc.set_actor(actor);
        let mut org: OrgDoc = if doc.get_heads().is_empty() { OrgDoc::default() } else { autosurgeon::hydrate(&doc)? };
        edit(&mut org);
        autosurgeon::reconcile(&mut doc, &org)?;
        let hlc = next_clock(&tx, Hlc::default(), now)?;
        save_change(&tx, ORG_DOC, "org", &mut doc, hlc)?;
        tx.commit()?;
        self.reload_registry()
    }

    /// Put this device's public key into the org document, so the events it signs verify on every
    /// device. Only once the plant's org document is here (seeded or pulled): a device that
    /// created its own org document would conflict with the plant's one when they meet.
    pub(crate) fn ensure_device_enrolled(&mut self, now: DateTime<Utc>) -> Result<()> {
        if self.registry.device(self.identity.id).is_some() || load_doc(&self.conn, ORG_DOC)?.is_none() {
            return Ok(());
        }
        let (id, doc) = self.own_device_doc()?;
        self.change_org(now, |org| {
            org.devices.insert(id, doc);
        })
    }

    fn own_device_doc(&self) -> Result<(String, DeviceDoc)> {
        let name = crate::read_meta(&self.conn, "device_name")?.unwrap_or_default();
        Ok((
            self.identity.id.to_string(),
            DeviceDoc { name, public_key: public_key_hex(&self.identity.key), revoked: false },
        ))
    }

    /// Is the register empty (a brand-new device that never synced or was seeded)?
    pub fn is_empty(&self) -> bool {
        self.registry.people.is_empty()
    }

    /// Seed the demo plant: the GB 30871 catalog, its people with PINs, and its locations.
    pub fn seed_demo(&mut self, now: DateTime<Utc>) -> Result<()> {
        let plant = DemoPlant::load()?;
        let catalog_json = serde_json::to_string(&Catalog::gb30871().map_err(|e| StoreError::Corrupt(e.to_string()))?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut people = Vec::new();
        for p in &plant.people {
            people.push((
                p.person.id.to_string(),
                PersonDoc {
                    name: p.person.name.clone(),
                    title: p.person.title.clone(),
                    roles: p.person.roles.clone(),
                    frozen_since_ms: None,
                    pin_hash: hash_pin(&p.pin)?,
                },
            ));
        }
        let (device_id, device) = self.own_device_doc()?;
        self.change_org(now, |org| {
            org.devices.insert(device_id, device);
            org.catalog_json = catalog_json;
            org.people.extend(people);
            for l in plant.locations {
                org.locations.insert(l.id.to_string(), LocationDoc { code: l.code, name: l.name, area: l.area });
            }
        })
    }

    /// Add (or replace) a person with a PIN.
    pub fn put_person(&mut self, person: &Person, pin: &str, now: DateTime<Utc>) -> Result<()> {
        let doc = PersonDoc {
            name: person.name.clone(),
            title: person.title.clone(),
            roles: person.roles.iter().map(|r| r.0.clone()).collect(),
            frozen_since_ms: person.frozen_since_ms,
            pin_hash: hash_pin(pin)?,
        };
        let id = person.id.to_string();
        self.change_org(now, |org| {
            org.people.insert(id, doc);
        })
    }

    /// Freeze an account (R-FREEZE): from `now` on it can no longer sign.
    pub fn freeze_person(&mut self, person: PersonId, now: DateTime<Utc>) -> Result<()> {
        let id = person.to_string();
        if !self.registry.people.iter().any(|p| p.id == person) {
            return Err(StoreError::BadCredentials);
        }
        self.change_org(now, |org| {
            if let Some(p) = org.people.get_mut(&id) {
                p.frozen_since_ms.get_or_insert(now.timestamp_millis());
            }
        })
    }

    /// Check a person's PIN (offline, against the Argon2 hash). Frozen accounts may still sign
    /// in to read; the rules refuse their signatures.
    pub fn verify_pin(&self, person: PersonId, pin: &str) -> Result<&Person> {
        let hash = self.pins.get(&person).ok_or(StoreError::BadCredentials)?;
        let parsed = PasswordHash::new(hash).map_err(|e| StoreError::Corrupt(format!("PIN hash of {person}: {e}")))?;
        Argon2::default().verify_password(pin.as_bytes(), &parsed).map_err(|_| StoreError::BadCredentials)?;
        self.registry.person(person).ok_or(StoreError::BadCredentials)
    }
}
