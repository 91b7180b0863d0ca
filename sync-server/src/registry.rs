//! The plant's registry on the server: the log this server alone signs (see
//! `ptw_core::authority`), kept in storage, folded into the [`Registry`] every push is judged
//! against, and appended to only here — by the admin CLI, the admin HTTP API and enrolment.
//!
//! The server's own view of devices (who may push, whose events verify) is this fold, the same
//! one every device makes of the same log: there is no second list. Several instances sharing a
//! PostgreSQL database take up each other's entries ([`ServerRegistry::refresh`]); an append
//! that finds its number taken re-reads and tries again.

use crate::error::{Error, Result};
use crate::storage::{EnrolCode, Enrolled, Storage};
use ed25519_zebra::SigningKey;
use ptw_core::authority::{Authority, OpProblem, RegistryOp, SignedEntry};
use ptw_core::signature::SignatureMemo;
use ptw_core::{DeviceId, Registry};
use std::sync::{Arc, Mutex, RwLock};

/// Entries read from storage at a time when catching up.
const PAGE: usize = 5_000;

pub struct ServerRegistry {
    key: SigningKey,
    /// Appends are one at a time.
    writing: Mutex<()>,
    current: RwLock<Arc<Registry>>,
    /// The newest entry's number, for devices waiting on a change ([`crate::notify`]).
    head: tokio::sync::watch::Sender<Option<u64>>,
    memo: SignatureMemo,
}

impl ServerRegistry {
    /// The registry in `storage`, checked against `key`'s public key; a new log gets its first
    /// entry, and a device table from before the log is moved into it.
    pub fn open(storage: &dyn Storage, key: SigningKey, now_ms: i64) -> Result<ServerRegistry> {
        let this = ServerRegistry {
            key,
            writing: Mutex::new(()),
            current: RwLock::new(Arc::new(Registry::empty())),
            head: tokio::sync::watch::Sender::new(None),
            memo: SignatureMemo::new(),
        };
        this.refresh(storage)?;
        if this.current().head.is_none() {
            // A new plant starts from the shipped GB 30871 catalog (its roles, operations and
            // certificate types), which the safety manager then reviews (`plant catalog`).
            let catalog = ptw_core::Catalog::gb30871().map_err(|e| crate::error::Error::Internal(e.to_string()))?;
            let ops = vec![RegistryOp::Genesis { plant: "openptw".into() }, RegistryOp::SetCatalog { catalog }];
            this.append(storage, ops, now_ms)?;
        }
        this.move_legacy_devices(storage, now_ms)?;
        Ok(this)
    }

    /// Hex of the key devices pin.
    pub fn public_key(&self) -> String {
        ptw_core::signature::public_key_hex(&self.key)
    }

    /// The registry as of the last entry folded.
    pub fn current(&self) -> Arc<Registry> {
        self.current.read().map(|r| r.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Take up entries other writers (instances sharing the database) appended.
    pub fn refresh(&self, storage: &dyn Storage) -> Result<()> {
        loop {
            let mut registry = (*self.current()).clone();
            let after = registry.head.as_ref().map(|h| h.seq);
            let entries = storage.registry_entries(after, PAGE)?;
            if entries.is_empty() {
                return Ok(());
            }
            for e in &entries {
                registry.apply_entry(e, &self.public_key(), &self.memo).map_err(|e| {
                    Error::Database(format!("the stored registry log does not check against this server's key: {e}"))
                })?;
            }
            self.set(registry);
            if entries.len() < PAGE {
                return Ok(());
            }
        }
    }

    /// The newest entry's number from now on, as it changes.
    pub fn heads(&self) -> tokio::sync::watch::Receiver<Option<u64>> {
        self.head.subscribe()
    }

    fn set(&self, registry: Registry) {
        let head = registry.head.as_ref().map(|h| h.seq);
        self.head.send_if_modified(|h| {
            let newer = head > *h;
            if newer {
                *h = head;
            }
            newer
        });
        // Never back: a refresh that read the log before an append finished must not undo it.
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        if head >= current.head.as_ref().map(|h| h.seq) {
            *current = Arc::new(registry);
        }
    }

    /// Sign and store `ops` as the next entries, at `now_ms`, once each is checked against the
    /// registry as the ones before it leave it. All or none are stored.
    pub fn append(&self, storage: &dyn Storage, ops: Vec<RegistryOp>, now_ms: i64) -> Result<Vec<SignedEntry>> {
        self.write_with(storage, |_| Ok(ops.clone()), now_ms, |numbered| storage.append_registry(numbered))
    }

    /// Enrol a device with a checked, unspent code: its entry (and the revocation of the device
    /// the code replaces) and its token, kept with spending the code. Returns the new id.
    pub fn enrol(
        &self,
        storage: &dyn Storage,
        code_hash: &str,
        code: &EnrolCode,
        public_key: &str,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<DeviceId> {
        let device_id = DeviceId(crate::secret::new_device_id(now_ms));
        let mut ops =
            vec![RegistryOp::EnrolDevice { device: device_id, name: code.name.clone(), public_key: public_key.into() }];
        if let Some(old) = code.replaces {
            ops.push(RegistryOp::RevokeDevice { device: old, reason: format!("enrolled again as {device_id}") });
        }
        self.write_with(
            storage,
            |_| Ok(ops.clone()),
            now_ms,
            |numbered| {
                storage.enrol(
                    code_hash,
                    now_ms,
                    &Enrolled { device_id, token_hash: token_hash.into(), entries: numbered.to_vec() },
                )
            },
        )?;
        Ok(device_id)
    }

    /// Sign the ops `make` gives for the current registry and keep them with `keep`; on a
    /// number conflict re-read the log and try again.
    fn write_with(
        &self,
        storage: &dyn Storage,
        make: impl Fn(&Registry) -> Result<Vec<RegistryOp>>,
        now_ms: i64,
        keep: impl Fn(&[(u64, SignedEntry)]) -> Result<()>,
    ) -> Result<Vec<SignedEntry>> {
        let _one_writer = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        for _ in 0..5 {
            self.refresh(storage)?;
            let mut registry = (*self.current()).clone();
            let mut authority = Authority::new(self.key, registry.head.clone());
            let mut numbered = Vec::new();
            for op in make(&registry)? {
                if let Some(problem) = op.problem(&registry) {
                    return Err(refused(problem));
                }
                let entry = authority.append(op, now_ms);
                registry
                    .apply_entry(&entry, &self.public_key(), &self.memo)
                    .map_err(|e| Error::Internal(format!("an entry this server signed does not fold: {e}")))?;
                let seq = registry.head.as_ref().map_or(0, |h| h.seq);
                numbered.push((seq, entry));
            }
            match keep(&numbered) {
                Ok(()) => {
                    self.set(registry);
                    return Ok(numbered.into_iter().map(|(_, e)| e).collect());
                }
                Err(Error::RegistryConflict) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::RegistryConflict)
    }

    /// Devices enrolled before the registry log existed, moved into it once, with their keys
    /// (so what they signed keeps verifying) and tokens.
    fn move_legacy_devices(&self, storage: &dyn Storage, now_ms: i64) -> Result<()> {
        let legacy = storage.legacy_devices()?;
        if legacy.is_empty() {
            return Ok(());
        }
        let ops = |registry: &Registry| {
            let mut ops = Vec::new();
            for d in legacy.iter().filter(|d| registry.device(d.id).is_none()) {
                ops.push(RegistryOp::EnrolDevice {
                    device: d.id,
                    name: d.name.clone(),
                    public_key: d.public_key.clone(),
                });
                if d.revoked {
                    ops.push(RegistryOp::RevokeDevice {
                        device: d.id,
                        reason: "revoked before the registry log".into(),
                    });
                }
            }
            Ok(ops)
        };
        self.write_with(storage, ops, now_ms, |numbered| storage.move_legacy_devices(numbered, &legacy))?;
        tracing::info!(devices = legacy.len(), "moved the enrolled devices into the registry log");
        Ok(())
    }
}

fn refused(problem: OpProblem) -> Error {
    Error::Refused(problem)
}
