//! The registry log (R-TRUST): the only way the plant's registry changes.
//!
//! People, roles, PINs, certificates, freezes, locations, plant settings, the catalog and
//! device enrolments and revocations are entries of one append-only, hash-chained log, each
//! signed by the sync server's Ed25519 key. Only the server holds that key, so only the server
//! writes the log; every device pins the server's public key when it is enrolled and checks
//! every entry — its number, its link to the entry before and its signature — before folding it
//! into its [`Registry`]. A tablet can therefore neither give itself a role, lift a freeze,
//! relax a gas limit nor swap another device's key, and the server's own list of devices is
//! the same fold of the same log.
//!
//! This module is pure: the server's [`Authority`] appends with a time it is given, and
//! [`Registry::apply_entry`] folds.

use crate::catalog::{Catalog, Role};
use crate::ids::{DeviceId, PersonId};
use crate::registry::{Certificate, Device, Location, LogHead, Person, PlantSettings, Profile, Registry};
use crate::signature::{self, SignatureMemo};
use ed25519_zebra::SigningKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One change to the registry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum RegistryOp {
    /// The first entry of a plant's log.
    Genesis {
        plant: String,
    },
    /// Add a person, or change their name, title or roles (a freeze is kept).
    PutPerson {
        id: PersonId,
        name: String,
        title: String,
        roles: Vec<Role>,
        /// Company, department, badge, phone; left out of the entry when empty, so entries
        /// signed before profiles existed read as they did.
        #[serde(default, skip_serializing_if = "Profile::is_empty")]
        profile: Profile,
    },
    /// Retire a person from the register (left the plant): from this entry's time on they are
    /// named on no permit and sign nothing; what they did before stands.
    RetirePerson {
        person: PersonId,
        reason: String,
    },
    /// Set a person's PIN (an Argon2 PHC string: the PIN itself never enters the log).
    SetPin {
        person: PersonId,
        pin_hash: String,
    },
    /// Freeze an account (R-FREEZE): from this entry's time on it signs nothing.
    Freeze {
        person: PersonId,
        reason: String,
    },
    /// Lift a freeze; what was signed while frozen stays refused.
    Unfreeze {
        person: PersonId,
        reason: String,
    },
    PutLocation {
        location: Location,
    },
    /// Replace the catalog as a whole (reviewed by the safety manager).
    SetCatalog {
        catalog: Catalog,
    },
    SetSettings {
        settings: PlantSettings,
    },
    /// A device registered its key with a one-time code. Insert-only: an id is enrolled once.
    EnrolDevice {
        device: DeviceId,
        name: String,
        public_key: String,
    },
    /// From this entry's time on, the device's events do not count and it cannot sync.
    RevokeDevice {
        device: DeviceId,
        reason: String,
    },
    PutCertificate {
        certificate: Certificate,
    },
    /// Revoke a certificate centrally: from this entry's time on it allows nothing.
    RevokeCertificate {
        certificate: uuid::Uuid,
        reason: String,
    },
}

impl RegistryOp {
    /// A short code for the kind of change, for logs and lists.
    pub fn code(&self) -> &'static str {
        match self {
            RegistryOp::Genesis { .. } => "genesis",
            RegistryOp::PutPerson { .. } => "put_person",
            RegistryOp::RetirePerson { .. } => "retire_person",
            RegistryOp::SetPin { .. } => "set_pin",
            RegistryOp::Freeze { .. } => "freeze",
            RegistryOp::Unfreeze { .. } => "unfreeze",
            RegistryOp::PutLocation { .. } => "put_location",
            RegistryOp::SetCatalog { .. } => "set_catalog",
            RegistryOp::SetSettings { .. } => "set_settings",
            RegistryOp::EnrolDevice { .. } => "enrol_device",
            RegistryOp::RevokeDevice { .. } => "revoke_device",
            RegistryOp::PutCertificate { .. } => "put_certificate",
            RegistryOp::RevokeCertificate { .. } => "revoke_certificate",
        }
    }

    /// Whether applying this change to `registry` would leave it as it is: an import run twice
    /// writes nothing the second time.
    pub fn changes_nothing(&self, registry: &Registry) -> bool {
        match self {
            RegistryOp::PutPerson { id, name, title, roles, profile } => registry
                .person(*id)
                .is_some_and(|p| p.name == *name && p.title == *title && p.roles == *roles && p.profile == *profile),
            RegistryOp::PutCertificate { certificate } => registry.certificates.iter().any(|c| {
                c.id == certificate.id && *c == Certificate { revoked_ms: c.revoked_ms, ..certificate.clone() }
            }),
            RegistryOp::PutLocation { location } => registry.location(location.id) == Some(location),
            _ => false,
        }
    }

    /// Why this change cannot be made to `registry`, if it cannot: the server asks before it
    /// signs anything, so the log holds only changes that mean something.
    pub fn problem(&self, registry: &Registry) -> Option<OpProblem> {
        let known = |p: &PersonId| registry.person(*p).is_some();
        match self {
            RegistryOp::Genesis { .. } if registry.head.is_some() => Some(OpProblem::GenesisTwice),
            RegistryOp::Genesis { .. } => None,
            RegistryOp::PutPerson { id, name, roles, profile, .. } => {
                let badge_holder = registry.person_by_badge(&profile.badge).filter(|p| p.id != *id);
                if name.trim().is_empty() {
                    Some(OpProblem::Empty { field: "name".into() })
                } else if let Some(holder) = badge_holder {
                    Some(OpProblem::BadgeTaken { badge: profile.badge.trim().to_owned(), person: holder.id })
                } else if registry.person(*id).is_some_and(|p| p.retired_ms.is_some()) {
                    Some(OpProblem::Retired { person: *id })
                } else {
                    roles
                        .iter()
                        .find(|r| registry.catalog.role(r).is_none())
                        .map(|r| OpProblem::UnknownRole { role: r.clone() })
                }
            }
            RegistryOp::RetirePerson { person, reason } => {
                if !known(person) {
                    Some(OpProblem::UnknownPerson { person: *person })
                } else if registry.person(*person).is_some_and(|p| p.retired_ms.is_some()) {
                    Some(OpProblem::Retired { person: *person })
                } else if reason.trim().is_empty() {
                    Some(OpProblem::Empty { field: "reason".into() })
                } else {
                    None
                }
            }
            RegistryOp::SetPin { person, pin_hash } => {
                if !known(person) {
                    Some(OpProblem::UnknownPerson { person: *person })
                } else if !pin_hash.starts_with("$argon2") {
                    Some(OpProblem::NotAPinHash)
                } else {
                    None
                }
            }
            RegistryOp::Freeze { person, reason } | RegistryOp::Unfreeze { person, reason } => {
                if !known(person) {
                    Some(OpProblem::UnknownPerson { person: *person })
                } else if reason.trim().is_empty() {
                    Some(OpProblem::Empty { field: "reason".into() })
                } else {
                    None
                }
            }
            RegistryOp::PutLocation { location } => (location.code.trim().is_empty()
                || location.name.trim().is_empty())
            .then_some(OpProblem::Empty { field: "location".into() }),
            RegistryOp::SetCatalog { catalog } => catalog.problems().into_iter().next().map(OpProblem::Catalog),
            RegistryOp::SetSettings { settings } => (!(4..=12).contains(&settings.min_pin_digits)
                || settings.idle_sign_out_minutes == 0
                || crate::calendar::zone(&settings.time_zone).is_none()
                || !settings.calendar.problems().is_empty())
            .then_some(OpProblem::BadSettings),
            RegistryOp::EnrolDevice { device, public_key, .. } => {
                if registry.device(*device).is_some() {
                    Some(OpProblem::DeviceExists { device: *device })
                } else if !signature::is_public_key(public_key) {
                    Some(OpProblem::NotAPublicKey)
                } else {
                    None
                }
            }
            RegistryOp::RevokeDevice { device, .. } => {
                registry.device(*device).is_none().then_some(OpProblem::UnknownDevice { device: *device })
            }
            RegistryOp::PutCertificate { certificate: c } => {
                let number = c.number.trim();
                let same_number = registry
                    .certificates
                    .iter()
                    .find(|o| o.id != c.id && o.cert_type == c.cert_type && o.number.trim() == number);
                if !known(&c.person) {
                    Some(OpProblem::UnknownPerson { person: c.person })
                } else if registry.catalog.certificate_type(&c.cert_type).is_none() {
                    Some(OpProblem::UnknownCertificateType { cert_type: c.cert_type.clone() })
                } else if number.is_empty() {
                    Some(OpProblem::Empty { field: "number".into() })
                } else if c.valid_to_ms <= c.valid_from_ms {
                    Some(OpProblem::Empty { field: "valid_to".into() })
                } else if let Some(o) = same_number {
                    Some(OpProblem::DuplicateCertificate { number: number.to_owned(), holder: o.person })
                } else if registry.certificates.iter().any(|o| o.id == c.id && o.person != c.person) {
                    Some(OpProblem::CertificateHolderChanged { certificate: c.id })
                } else {
                    None
                }
            }
            RegistryOp::RevokeCertificate { certificate, reason } => {
                match registry.certificates.iter().find(|c| c.id == *certificate) {
                    None => Some(OpProblem::UnknownCertificate { certificate: *certificate }),
                    Some(c) if c.revoked_ms.is_some() => Some(OpProblem::UnknownCertificate { certificate: c.id }),
                    Some(_) if reason.trim().is_empty() => Some(OpProblem::Empty { field: "reason".into() }),
                    Some(_) => None,
                }
            }
        }
    }
}

/// Why a registry change was not made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum OpProblem {
    #[error("the log already has its first entry")]
    GenesisTwice,
    #[error("{field} cannot be empty")]
    Empty { field: String },
    #[error("role '{}' is not in the catalog", role.0)]
    UnknownRole { role: Role },
    #[error("person {person} is not in the register")]
    UnknownPerson { person: PersonId },
    #[error("device {device} is not enrolled")]
    UnknownDevice { device: DeviceId },
    #[error("device {device} is enrolled already; a device id is enrolled once")]
    DeviceExists { device: DeviceId },
    #[error("not an Argon2 PIN hash")]
    NotAPinHash,
    #[error("not an Ed25519 public key")]
    NotAPublicKey,
    #[error(
        "the settings are out of range (PIN 4–12 digits, idle sign-out > 0, an IANA time zone, rest weekdays 1–7)"
    )]
    BadSettings,
    #[error("the catalog is not consistent: {0}")]
    Catalog(String),
    #[error("badge {badge} is already {person}'s")]
    BadgeTaken { badge: String, person: PersonId },
    #[error("person {person} has retired from the register")]
    Retired { person: PersonId },
    #[error("certificate type '{cert_type}' is not in the catalog")]
    UnknownCertificateType { cert_type: String },
    #[error("a certificate of this type numbered {number} is already registered to {holder}")]
    DuplicateCertificate { number: String, holder: PersonId },
    #[error("certificate {certificate} is registered to someone else; a certificate keeps its holder")]
    CertificateHolderChanged { certificate: uuid::Uuid },
    #[error("certificate {certificate} is not in the register, or is revoked already")]
    UnknownCertificate { certificate: uuid::Uuid },
    /// A PIN asked for over the admin API is not `min` to 12 digits (the server hashes it, so
    /// this is judged before anything reaches the log).
    #[error("a PIN is {min} to 12 digits")]
    PinLength { min: u8 },
}

/// One entry of the log, as signed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// 0 for the first entry, then each one more than the entry before.
    pub seq: u64,
    /// The hash of the entry before ([`entry_hash`]); empty for the first.
    pub prev: String,
    /// The server's clock when it signed the entry (Unix ms): a freeze or revocation takes
    /// effect from here.
    pub at_ms: i64,
    #[serde(flatten)]
    pub op: RegistryOp,
}

/// An entry as stored and sent: its canonical JSON body and the server's signature over it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedEntry {
    pub body: String,
    /// Hex of the server's Ed25519 signature over `body`.
    pub sig: String,
}

/// The hash that names an entry (and that the next entry's `prev` repeats): SHA-256 hex of
/// its signed body.
pub fn entry_hash(body: &str) -> String {
    hex::encode(Sha256::digest(body.as_bytes()))
}

impl SignedEntry {
    pub fn hash(&self) -> String {
        entry_hash(&self.body)
    }

    /// The entry, parsed (the signature unchecked).
    pub fn entry(&self) -> Result<Entry, LogError> {
        serde_json::from_str(&self.body).map_err(|e| LogError::Malformed { reason: e.to_string() })
    }
}

/// Why a device refuses (part of) the log it was sent. Nothing after the first bad entry is
/// folded; the registry stays as it was before it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum LogError {
    #[error("registry entry {seq} is not signed by the plant's sync server")]
    BadSignature { seq: u64 },
    #[error("registry entry {found} arrived where entry {expected} was due")]
    OutOfOrder { expected: u64, found: u64 },
    #[error("registry entry {seq} does not follow the entry before it")]
    BrokenChain { seq: u64 },
    #[error("a registry entry cannot be read: {reason}")]
    Malformed { reason: String },
}

impl Registry {
    /// Fold a whole log, from its first entry, checked against `server_key` (hex).
    pub fn from_log<'a>(
        entries: impl IntoIterator<Item = &'a SignedEntry>,
        server_key: &str,
    ) -> Result<Registry, LogError> {
        let mut registry = Registry::empty();
        let memo = SignatureMemo::new();
        for e in entries {
            registry.apply_entry(e, server_key, &memo)?;
        }
        Ok(registry)
    }

    /// Fold the next entry of the log into this registry, once it is checked: signed by
    /// `server_key`, numbered right after the head and naming the head's hash as `prev`. On
    /// error nothing changes.
    pub fn apply_entry(
        &mut self,
        signed: &SignedEntry,
        server_key: &str,
        memo: &SignatureMemo,
    ) -> Result<(), LogError> {
        let entry = signed.entry()?;
        let expected = self.head.as_ref().map_or(0, |h| h.seq + 1);
        if entry.seq != expected {
            return Err(LogError::OutOfOrder { expected, found: entry.seq });
        }
        let prev = self.head.as_ref().map_or("", |h| h.hash.as_str());
        if entry.prev != prev || (entry.seq == 0) != matches!(entry.op, RegistryOp::Genesis { .. }) {
            return Err(LogError::BrokenChain { seq: entry.seq });
        }
        if !signature::verify(server_key, &signed.sig, signed.body.as_bytes(), Some(memo)) {
            return Err(LogError::BadSignature { seq: entry.seq });
        }
        // The server checked the catalog before signing it, but with its own version of the
        // checks: a device whose checks find it inconsistent keeps the catalog it has.
        let refused = match &entry.op {
            RegistryOp::SetCatalog { catalog } => Some(catalog.problems()).filter(|p| !p.is_empty()),
            _ => None,
        };
        match refused {
            Some(problems) => self.catalog_refused = Some(crate::registry::CatalogRefusal { seq: entry.seq, problems }),
            None => {
                if matches!(entry.op, RegistryOp::SetCatalog { .. }) {
                    self.catalog_refused = None;
                }
                self.fold(entry.op, entry.at_ms);
            }
        }
        self.head = Some(LogHead { seq: entry.seq, hash: signed.hash() });
        Ok(())
    }

    /// What an entry does. Entries that name nothing known change nothing: the server checks
    /// [`RegistryOp::problem`] before signing, so this is only ever a stale or crafted entry.
    fn fold(&mut self, op: RegistryOp, at_ms: i64) {
        match op {
            RegistryOp::Genesis { .. } => {}
            RegistryOp::PutPerson { id, name, title, roles, profile } => {
                match self.people.iter_mut().find(|p| p.id == id) {
                    Some(p) => {
                        p.name = name;
                        p.title = title;
                        p.roles = roles;
                        p.profile = profile;
                    }
                    None => self.people.push(Person {
                        id,
                        name,
                        title,
                        roles,
                        frozen_since_ms: None,
                        past_freezes: vec![],
                        retired_ms: None,
                        profile,
                    }),
                }
            }
            RegistryOp::RetirePerson { person, .. } => {
                if let Some(p) = self.people.iter_mut().find(|p| p.id == person) {
                    p.retired_ms.get_or_insert(at_ms);
                }
            }
            RegistryOp::SetPin { person, pin_hash } => {
                if self.person(person).is_some() {
                    self.credentials.insert(person, pin_hash);
                }
            }
            RegistryOp::Freeze { person, .. } => {
                if let Some(p) = self.people.iter_mut().find(|p| p.id == person) {
                    p.frozen_since_ms.get_or_insert(at_ms);
                }
            }
            RegistryOp::Unfreeze { person, .. } => {
                if let Some(p) = self.people.iter_mut().find(|p| p.id == person) {
                    if let Some(since) = p.frozen_since_ms.take() {
                        p.past_freezes.push((since, at_ms));
                    }
                }
            }
            RegistryOp::PutLocation { location } => match self.locations.iter_mut().find(|l| l.id == location.id) {
                Some(l) => *l = location,
                None => self.locations.push(location),
            },
            RegistryOp::SetCatalog { catalog } => self.catalog = catalog,
            RegistryOp::SetSettings { settings } => self.settings = settings,
            RegistryOp::EnrolDevice { device, name, public_key } => {
                if self.device(device).is_none() {
                    self.devices.push(Device { id: device, name, public_key, enrolled_ms: at_ms, revoked_ms: None });
                }
            }
            RegistryOp::RevokeDevice { device, .. } => {
                if let Some(d) = self.devices.iter_mut().find(|d| d.id == device) {
                    d.revoked_ms.get_or_insert(at_ms);
                }
            }
            RegistryOp::PutCertificate { certificate } => {
                if self.person(certificate.person).is_some() {
                    match self.certificates.iter_mut().find(|c| c.id == certificate.id) {
                        // A revocation stays: only RevokeCertificate sets it, at the server's time.
                        Some(c) => *c = Certificate { revoked_ms: c.revoked_ms, ..certificate },
                        None => self.certificates.push(Certificate { revoked_ms: None, ..certificate }),
                    }
                }
            }
            RegistryOp::RevokeCertificate { certificate, .. } => {
                if let Some(c) = self.certificates.iter_mut().find(|c| c.id == certificate) {
                    c.revoked_ms.get_or_insert(at_ms);
                }
            }
        }
    }
}

/// The writer of the log: the sync server's key and where the log stands. Pure — the caller
/// gives the time and stores what comes out.
pub struct Authority {
    key: SigningKey,
    head: Option<LogHead>,
}

impl Authority {
    /// The writer for a log whose last entry is `head` (`None` for a new log).
    pub fn new(key: SigningKey, head: Option<LogHead>) -> Authority {
        Authority { key, head }
    }

    /// Hex of the public key devices pin.
    pub fn public_key(&self) -> String {
        signature::public_key_hex(&self.key)
    }

    pub fn head(&self) -> Option<&LogHead> {
        self.head.as_ref()
    }

    /// The next entry, signed, at `at_ms`. The caller has checked [`RegistryOp::problem`] and
    /// stores the entry; if storing fails it must not use this `Authority` again without
    /// re-reading the head.
    pub fn append(&mut self, op: RegistryOp, at_ms: i64) -> SignedEntry {
        let seq = self.head.as_ref().map_or(0, |h| h.seq + 1);
        let prev = self.head.as_ref().map(|h| h.hash.clone()).unwrap_or_default();
        let entry = Entry { seq, prev, at_ms, op };
        // An Entry holds strings, numbers and the catalog's finite numbers: it serialises.
        let body = serde_json::to_string(&entry).unwrap_or_default();
        let sig = signature::sign_hex(&self.key, body.as_bytes());
        let signed = SignedEntry { body, sig };
        self.head = Some(LogHead { seq, hash: signed.hash() });
        signed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn plant() -> (Authority, Vec<SignedEntry>) {
        let mut a = Authority::new(SigningKey::from_bytes(&[9; 32]), None);
        let person = PersonId(Uuid::from_u128(1));
        let catalog = Catalog::gb30871().expect("catalog");
        let entries = vec![
            a.append(RegistryOp::Genesis { plant: "demo".into() }, 1_000),
            a.append(RegistryOp::SetCatalog { catalog }, 1_001),
            a.append(
                RegistryOp::PutPerson {
                    id: person,
                    name: "李娜".into(),
                    title: "监护人".into(),
                    roles: vec![Role::new("guardian")],
                    profile: Default::default(),
                },
                1_002,
            ),
            a.append(RegistryOp::Freeze { person, reason: "伪造记录".into() }, 5_000),
            a.append(RegistryOp::Unfreeze { person, reason: "调查结束".into() }, 9_000),
        ];
        (a, entries)
    }

    #[test]
    fn a_log_signed_by_the_server_folds_into_the_registry_with_its_freezes() {
        let (a, entries) = plant();
        let r = Registry::from_log(&entries, &a.public_key()).expect("fold");
        let p = &r.people[0];
        assert_eq!(p.name, "李娜");
        assert!(!p.frozen_at(4_999) && p.frozen_at(5_000) && p.frozen_at(8_999) && !p.frozen_at(9_000));
        assert_eq!(r.head.as_ref().map(|h| h.seq), Some(4));
        assert!(r.catalog.permit_type("hot_work").is_some());
    }

    #[test]
    fn a_tablet_cannot_write_an_entry_the_devices_accept() {
        let (a, mut entries) = plant();
        let server = a.public_key();
        // A tablet signs its own "I am a plant manager" with its own key, chained correctly.
        let mut forger = Authority::new(
            SigningKey::from_bytes(&[66; 32]),
            Registry::from_log(&entries, &server).expect("fold").head,
        );
        let forged = forger.append(
            RegistryOp::PutPerson {
                id: PersonId(Uuid::from_u128(1)),
                name: "李娜".into(),
                title: String::new(),
                roles: vec![Role::new("plant_manager")],
                profile: Default::default(),
            },
            9_500,
        );
        entries.push(forged);
        assert_eq!(Registry::from_log(&entries, &server), Err(LogError::BadSignature { seq: 5 }));
    }

    #[test]
    fn an_entry_altered_dropped_or_reordered_breaks_the_log() {
        let (a, entries) = plant();
        let server = a.public_key();
        let mut altered = entries.clone();
        altered[3].body = altered[3].body.replace("伪造记录", "误会");
        assert_eq!(Registry::from_log(&altered, &server), Err(LogError::BadSignature { seq: 3 }));
        let mut dropped = entries.clone();
        dropped.remove(3);
        assert_eq!(Registry::from_log(&dropped, &server), Err(LogError::OutOfOrder { expected: 3, found: 4 }));
        let mut swapped = entries.clone();
        swapped.swap(1, 2);
        assert!(Registry::from_log(&swapped, &server).is_err());
        assert!(Registry::from_log(&entries[1..], &server).is_err(), "a log must start at its genesis");
    }

    #[test]
    fn a_failed_entry_leaves_the_registry_as_it_was() {
        let (a, entries) = plant();
        let memo = SignatureMemo::new();
        let mut r = Registry::from_log(&entries[..3], &a.public_key()).expect("fold");
        let before = r.clone();
        let mut bad = entries[3].clone();
        bad.sig = "00".repeat(64);
        assert!(r.apply_entry(&bad, &a.public_key(), &memo).is_err());
        assert_eq!(r, before);
        r.apply_entry(&entries[3], &a.public_key(), &memo).expect("the genuine one");
        assert!(r.people[0].frozen_since_ms.is_some());
    }

    #[test]
    fn a_signed_catalog_the_device_finds_inconsistent_is_not_taken_up_and_the_last_good_one_stays() {
        let (mut a, mut entries) = plant();
        let good = Catalog::gb30871().expect("catalog");
        // A server with older checks signs a catalog whose hot-work step names no known role.
        let mut broken = good.clone();
        broken.permit_types[0].grades[0].flow[0].role = Role::new("wizard");
        entries.push(a.append(RegistryOp::SetCatalog { catalog: broken }, 10_000));
        let person = PersonId(Uuid::from_u128(2));
        entries.push(a.append(
            RegistryOp::PutPerson {
                id: person,
                name: "孙浩".into(),
                title: String::new(),
                roles: vec![],
                profile: Default::default(),
            },
            10_001,
        ));
        let r = Registry::from_log(&entries, &a.public_key()).expect("the log still folds");
        assert_eq!(r.catalog, good, "the last good catalog stays");
        let refused = r.catalog_refused.clone().expect("the refusal is kept");
        assert_eq!(refused.seq, 5);
        assert_eq!(refused.problems, vec!["hot_work/special/workshop_review: unknown role wizard".to_owned()]);
        assert!(r.person(person).is_some(), "the entries after it are taken up");
        assert_eq!(r.head.as_ref().map(|h| h.seq), Some(6));
        // The next consistent catalog is taken up, and the refusal is over.
        let mut next = good.clone();
        next.version += 1;
        entries.push(a.append(RegistryOp::SetCatalog { catalog: next.clone() }, 10_002));
        let r = Registry::from_log(&entries, &a.public_key()).expect("fold");
        assert_eq!(r.catalog, next);
        assert_eq!(r.catalog_refused, None);
    }

    #[test]
    fn a_device_id_is_enrolled_once_and_revoked_from_the_entry_on() {
        let mut a = Authority::new(SigningKey::from_bytes(&[9; 32]), None);
        let device = DeviceId(Uuid::from_u128(7));
        let key = signature::public_key_hex(&SigningKey::from_bytes(&[1; 32]));
        let other = signature::public_key_hex(&SigningKey::from_bytes(&[2; 32]));
        let entries = vec![
            a.append(RegistryOp::Genesis { plant: "p".into() }, 0),
            a.append(RegistryOp::EnrolDevice { device, name: "T-07".into(), public_key: key.clone() }, 10),
            // A second enrolment of the same id (only a broken or hostile writer makes one).
            a.append(RegistryOp::EnrolDevice { device, name: "T-07".into(), public_key: other }, 20),
            a.append(RegistryOp::RevokeDevice { device, reason: "丢失".into() }, 30),
        ];
        let r = Registry::from_log(&entries, &a.public_key()).expect("fold");
        assert_eq!(r.devices.len(), 1);
        assert_eq!(r.devices[0].public_key, key, "the first key stays: history keeps verifying");
        assert!(!r.devices[0].revoked_at(29) && r.devices[0].revoked_at(30));
        let check = RegistryOp::EnrolDevice { device, name: "x".into(), public_key: key };
        assert_eq!(check.problem(&r), Some(OpProblem::DeviceExists { device }));
    }
}
