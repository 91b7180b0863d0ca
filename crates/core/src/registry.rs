//! The registry: everything outside a permit that deciding about it needs — the catalog, the
//! plant's settings, the people with their roles, PINs, certificates and freezes, the locations,
//! and the enrolled devices whose keys sign events.
//!
//! A `Registry` is never edited in place by a device: it is the fold of the plant's registry
//! log ([`crate::authority`]), whose entries only the sync server signs. ptw-core never loads
//! it; the caller (store, server, UI) hands one in.

use crate::calendar::PlantCalendar;
use crate::catalog::{Catalog, Role};
use crate::ids::{DeviceId, LocationId, PersonId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A person in the plant's register. Credentials (PIN hashes) are kept apart, in
/// [`Registry::credentials`], so what is shown never carries them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub id: PersonId,
    pub name: String,
    /// Trade or position, shown next to the name.
    pub title: String,
    pub roles: Vec<Role>,
    /// A frozen account (R-FREEZE) can no longer sign or approve from this instant on (Unix
    /// ms, the server's clock when the freeze was recorded); what it signed before stays valid.
    #[serde(default)]
    pub frozen_since_ms: Option<i64>,
    /// Freezes lifted since, as (from, to) Unix ms: what the person signed inside one stays
    /// refused after the freeze is lifted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub past_freezes: Vec<(i64, i64)>,
    /// Retired from the register (left the plant, contract ended) from this instant on (Unix
    /// ms, server clock): kept for the records, named on no permit after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Profile::is_empty")]
    pub profile: Profile,
}

/// Who a person is in the plant, besides name, trade and roles: for lists, statistics,
/// sign-in by badge and (later) SMS.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The contractor's company (承包商单位); empty for the plant's own employees.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub company: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub department: String,
    /// The badge id (工号 / 胸卡号) the badge QR carries; unique in the register when given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub badge: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phone: String,
}

impl Profile {
    pub fn is_empty(&self) -> bool {
        *self == Profile::default()
    }
    pub fn is_contractor(&self) -> bool {
        !self.company.trim().is_empty()
    }
}

impl Person {
    pub fn has_role(&self, role: &Role) -> bool {
        self.roles.contains(role)
    }
    pub fn has_any_role(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.has_role(r))
    }
    /// Whether the person had retired at `ms`.
    pub fn retired_at(&self, ms: i64) -> bool {
        self.retired_ms.is_some_and(|r| ms >= r)
    }
    /// Whether the account was frozen at `ms`.
    pub fn frozen_at(&self, ms: i64) -> bool {
        self.frozen_since_ms.is_some_and(|since| ms >= since)
            || self.past_freezes.iter().any(|&(from, to)| ms >= from && ms < to)
    }
    /// Whether the person is found by what was typed in a search of the register: part of the
    /// name, trade, department or company, or the start of the badge id (any case). An empty
    /// search finds everyone.
    pub fn matches_search(&self, query: &str) -> bool {
        let q = query.trim();
        q.is_empty()
            || self.name.contains(q)
            || self.title.contains(q)
            || self.profile.department.contains(q)
            || self.profile.company.contains(q)
            || self.profile.badge.to_lowercase().starts_with(&q.to_lowercase())
    }
    /// Whether `badge` (as scanned or typed) is this person's badge id, in any case.
    pub fn has_badge(&self, badge: &str) -> bool {
        let own = self.profile.badge.trim();
        !own.is_empty() && own.eq_ignore_ascii_case(badge.trim())
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
    /// Codes of the catalog's location classes it belongs to (e.g. `fire_explosion_hazard`),
    /// which set the least severe grade of some work there. Left out of the JSON when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
}

/// An enrolled device and the Ed25519 public key that verifies its events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Device {
    pub id: DeviceId,
    /// The name IT gave it when printing its enrolment code (e.g. "T-07").
    pub name: String,
    /// Hex of the 32-byte Ed25519 verifying key.
    pub public_key: String,
    /// When the server enrolled it (Unix ms, server clock).
    pub enrolled_ms: i64,
    /// When IT revoked it: its events from then on do not count.
    pub revoked_ms: Option<i64>,
}

impl Device {
    /// Whether the device was revoked at `ms`.
    pub fn revoked_at(&self, ms: i64) -> bool {
        self.revoked_ms.is_some_and(|r| ms >= r)
    }
    pub fn is_revoked(&self) -> bool {
        self.revoked_ms.is_some()
    }
}

/// A certificate a person holds (操作证), as the register keeps it. Which certificate allows
/// which work is catalog data (the certificate gate builds on this record).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Certificate {
    pub id: uuid::Uuid,
    pub person: PersonId,
    /// A certificate type code from the catalog, e.g. `welding_thermal_cutting`.
    pub cert_type: String,
    pub number: String,
    pub issuer: String,
    /// Unix ms.
    pub valid_from_ms: i64,
    pub valid_to_ms: i64,
    /// Revoked centrally (by the issuer or the plant): invalid from this instant on.
    #[serde(default)]
    pub revoked_ms: Option<i64>,
    /// Training behind the certificate (培训记录), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub training: Vec<Training>,
}

/// One training course a certificate rests on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Training {
    /// The day it ended, YYYY-MM-DD.
    pub date: String,
    pub course: String,
    #[serde(default)]
    pub hours: u32,
}

/// Plant-wide settings (R-TIME, the stolen-tablet rules).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlantSettings {
    /// The plant's time zone (IANA name): times are shown in it.
    pub time_zone: String,
    /// A tablet signs its user out after this many minutes without a touch.
    pub idle_sign_out_minutes: u32,
    /// The fewest digits a PIN may have.
    pub min_pin_digits: u8,
    /// A demonstration plant: short PINs allowed, the UI says so.
    pub demo: bool,
    /// Rest days, holidays and night hours, in `time_zone` (settings from before the calendar
    /// read as the default one).
    #[serde(default)]
    pub calendar: PlantCalendar,
}

impl Default for PlantSettings {
    fn default() -> Self {
        PlantSettings {
            time_zone: "Asia/Shanghai".into(),
            idle_sign_out_minutes: 5,
            min_pin_digits: 6,
            demo: false,
            calendar: PlantCalendar::default(),
        }
    }
}

impl PlantSettings {
    /// The plant's zone. The server refuses settings naming a zone it does not know, so UTC
    /// stands in only for a registry no server wrote.
    pub fn zone(&self) -> chrono_tz::Tz {
        crate::calendar::zone(&self.time_zone).unwrap_or(chrono_tz::UTC)
    }
}

/// Where a folded registry stands in the log: the last entry applied.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogHead {
    pub seq: u64,
    /// Hex SHA-256 of that entry's signed body.
    pub hash: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Registry {
    pub catalog: Catalog,
    #[serde(default)]
    pub settings: PlantSettings,
    pub people: Vec<Person>,
    pub locations: Vec<Location>,
    pub devices: Vec<Device>,
    #[serde(default)]
    pub certificates: Vec<Certificate>,
    /// Argon2 PHC strings of the people's PINs, verified on the device, offline.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub credentials: BTreeMap<PersonId, String>,
    /// The last log entry folded in; `None` for a registry no log has made.
    #[serde(default)]
    pub head: Option<LogHead>,
    /// The last catalog the log set that this device's checks found inconsistent: the device
    /// kept the catalog before it (a server running older checks signed it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_refused: Option<CatalogRefusal>,
}

/// A catalog entry of the log that was signed but not taken up, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogRefusal {
    pub seq: u64,
    pub problems: Vec<String>,
}

impl Registry {
    /// A registry with nothing in it: a device that has not been enrolled yet.
    pub fn empty() -> Registry {
        Registry {
            catalog: Catalog {
                version: 0,
                roles: vec![],
                permit_types: vec![],
                location_classes: vec![],
                certificate_types: vec![],
                alerting: Default::default(),
            },
            settings: PlantSettings::default(),
            people: vec![],
            locations: vec![],
            devices: vec![],
            certificates: vec![],
            credentials: BTreeMap::new(),
            catalog_refused: None,
            head: None,
        }
    }

    pub fn person(&self, id: PersonId) -> Option<&Person> {
        self.people.iter().find(|p| p.id == id)
    }
    pub fn location(&self, id: LocationId) -> Option<&Location> {
        self.locations.iter().find(|l| l.id == id)
    }
    pub fn device(&self, id: DeviceId) -> Option<&Device> {
        self.devices.iter().find(|d| d.id == id)
    }
    /// The certificates `person` holds (revoked and expired ones included).
    pub fn certificates_of(&self, person: PersonId) -> impl Iterator<Item = &Certificate> {
        self.certificates.iter().filter(move |c| c.person == person)
    }
    /// The person whose badge id is `badge`, in any case and without surrounding spaces (so no
    /// two people can hold badges that differ only in case: the register refuses the second).
    pub fn person_by_badge(&self, badge: &str) -> Option<&Person> {
        self.people.iter().find(|p| p.has_badge(badge))
    }
    /// The PIN hash of `person`, if the register has one.
    pub fn credential(&self, person: PersonId) -> Option<&str> {
        self.credentials.get(&person).map(String::as_str)
    }
}
