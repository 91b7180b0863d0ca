//! Events: the append-only log that *is* a permit's history.
//!
//! An [`Event`] says who did what, when, on which device, over which form content. It is
//! serialised once to canonical JSON, signed by the device's Ed25519 key and kept as a
//! [`SignedEvent`] — one immutable string in the permit document. Nothing ever edits an event;
//! a correction is a new event.
//!
//! An event's identity is its content: the SHA-256 of its signed body ([`SignedEvent::hash`]).
//! The `id` inside is only a nonce the device draws; two different bodies are two events even
//! when their ids collide, and the same body delivered twice (whatever the envelope around it)
//! is one — so no event can make another disappear.
//!
//! Each event carries two times: its hybrid logical clock ([`Hlc`]), which only *orders* events,
//! and its [`Stamp`], the device's clock corrected against the sync server's (R-TIME), which the
//! time rules compare. Each event also names the device's previous event, so a device's events
//! form a chain the server holds it to.

use crate::catalog::GasLimits;
use crate::form::{PermitChange, PermitForm};
use crate::hlc::Hlc;
use crate::ids::{DeviceId, EventId, PermitId, PersonId};
use crate::registry::Registry;
use crate::rules::Violation;
use crate::signature::{self, SignatureMemo};
use ed25519_zebra::SigningKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One gas test (气体分析) reading. Values are what the instrument showed; `None` = not measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GasReading {
    pub o2_pct: Option<f64>,
    pub lel_pct: Option<f64>,
    pub h2s_ppm: Option<f64>,
    pub co_ppm: Option<f64>,
    /// Instrument model and serial, as written on the paper form.
    pub instrument: String,
    /// Where on the job the sample was taken (e.g. "upper", "near the flange").
    pub point: String,
}

/// One reading outside its limit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GasExceedance {
    /// `o2_low`, `o2_high`, `lel`, `h2s`, `co`, or `<gas>_missing` when a limited gas was not measured.
    pub gas: String,
    pub value: Option<f64>,
    pub limit: f64,
}

impl GasReading {
    /// Whether the test holds any reading at all.
    pub fn is_empty(&self) -> bool {
        [self.o2_pct, self.lel_pct, self.h2s_ppm, self.co_ppm].iter().all(Option::is_none)
    }

    /// The first reading no instrument can give (negative, not a number, a percentage above
    /// 100), by its gas code: a typing slip, refused at entry rather than stored as a failure.
    pub fn impossible(&self) -> Option<&'static str> {
        let pct = |v: f64| (0.0..=100.0).contains(&v);
        let ppm = |v: f64| v.is_finite() && v >= 0.0;
        [
            ("o2", self.o2_pct, pct as fn(f64) -> bool),
            ("lel", self.lel_pct, pct),
            ("h2s", self.h2s_ppm, ppm),
            ("co", self.co_ppm, ppm),
        ]
        .into_iter()
        .find(|(_, value, ok)| value.is_some_and(|v| !ok(v)))
        .map(|(gas, _, _)| gas)
    }

    /// The readings outside `limits`; empty means the test passes. A gas the grade limits but
    /// the tester did not measure fails too: a blank is not a pass.
    pub fn exceedances(&self, limits: &GasLimits) -> Vec<GasExceedance> {
        self.exceedances_for(limits, None)
    }

    /// [`GasReading::exceedances`], and when the medium's lower explosive limit is known
    /// (`medium_lel_pct`, % vol), the flammable's concentration by volume against the limit for
    /// such a medium (`flammable_vol`: %LEL × LEL / 100).
    pub fn exceedances_for(&self, limits: &GasLimits, medium_lel_pct: Option<f64>) -> Vec<GasExceedance> {
        let mut out = Vec::new();
        // `Bound::Below`: the reading must stay strictly below the limit.
        enum Bound {
            AtLeast,
            AtMost,
            Below,
        }
        let mut check = |gas: &str, value: Option<f64>, limit: Option<f64>, bound: Bound| {
            let Some(limit) = limit else { return };
            match value {
                None => out.push(GasExceedance { gas: format!("{gas}_missing"), value: None, limit }),
                Some(v)
                    if !v.is_finite()
                        || match bound {
                            Bound::AtLeast => v < limit,
                            Bound::AtMost => v > limit,
                            Bound::Below => v >= limit,
                        } =>
                {
                    out.push(GasExceedance { gas: gas.to_string(), value: Some(v), limit })
                }
                Some(_) => {}
            }
        };
        check("o2_low", self.o2_pct, limits.o2_min_pct, Bound::AtLeast);
        check("o2_high", self.o2_pct, limits.o2_max_pct, Bound::AtMost);
        let lel = if limits.lel_below { Bound::Below } else { Bound::AtMost };
        check("lel", self.lel_pct, limits.lel_max_pct, lel);
        check("h2s", self.h2s_ppm, limits.h2s_max_ppm, Bound::AtMost);
        check("co", self.co_ppm, limits.co_max_ppm, Bound::AtMost);
        if let (Some(lel), Some(reading)) = (medium_lel_pct, self.lel_pct) {
            if let Some(limit) = limits.flammable_vol_limit(lel) {
                let vol = reading * lel / 100.0;
                if vol > limit {
                    out.push(GasExceedance { gas: "flammable_vol".into(), value: Some(vol), limit });
                }
            }
        }
        out
    }
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// The applicant submits the form for approval. The submitted form travels in the event: it
    /// is the form of record from then on, validated as submitted, whatever later happens to
    /// the draft in the document. (Events written before it did carry only its hash.)
    Submit {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        form: Option<Box<PermitForm>>,
    },
    /// A signature on an approval step.
    Approve {
        step: String,
        comment: String,
    },
    /// A refusal on an approval step; the permit is rejected.
    Reject {
        step: String,
        comment: String,
    },
    GasTest {
        reading: GasReading,
    },
    /// Work starts on site (the permit becomes active).
    Start,
    Suspend {
        reason: String,
    },
    Resume,
    /// The work is finished; acceptance opens.
    Complete,
    /// A signature on an acceptance step; the last one closes the permit.
    Accept {
        step: String,
        comment: String,
    },
    Cancel {
        reason: String,
    },
    Comment {
        text: String,
    },
    /// Shift handover (交接班), the outgoing guardian's half: who takes over, the state of the
    /// plant and the open items, signed.
    Handover {
        to: PersonId,
        plant_state: String,
        open_items: String,
    },
    /// The incoming guardian's half: they have read the handover and are the guardian from now.
    TakeOver,
    /// Someone or something went into (`inside`) or came out of the space (进出登记), as the
    /// guardian logged it.
    Entry {
        entrant: Entrant,
        inside: bool,
    },
    /// The fire watcher signs the fire watch off (动火后监火结束): nothing smoulders.
    FireWatchEnd {
        note: String,
    },
    /// The applicant asks for a change of the issued permit (作业变更); it goes through the
    /// grade's change steps and takes effect when the last one signs.
    ChangeRequest {
        change: Box<PermitChange>,
    },
    /// A signature on the open step of change `change` (the change request event's hash).
    ApproveChange {
        change: String,
        step: String,
        comment: String,
    },
    /// A refusal of change `change` at its open step: the permit stays as it was.
    RejectChange {
        change: String,
        step: String,
        comment: String,
    },
    /// The signer arrived on site (到岗签到): their badge and the work location's QR poster
    /// scanned on this device. `badge` is the badge id scanned (it must be the signer's own),
    /// `location` the code the poster carried.
    CheckIn {
        badge: String,
        location: String,
    },
    /// The signer left the site (离岗签退), scanning the same way.
    CheckOut {
        badge: String,
        location: String,
    },
    /// A photo of the work (R-PHOTO), taken on this device at the event's time; the picture
    /// itself is a blob named by its SHA-256.
    Photo {
        photo: PhotoRef,
    },
    /// Someone the alert `alert` ([`crate::alerts::Raised::key`]) asks to act says they have it
    /// in hand; an overdue step escalates no further.
    Acknowledge {
        alert: String,
    },
}

/// What part of the work a photo shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoPhase {
    /// 作业前: the site made safe, before work starts.
    Before,
    /// 作业中.
    During,
    /// 作业后: the site as left.
    After,
    /// With a gas test: the instrument's display.
    GasTest,
}

impl PhotoPhase {
    pub const ALL: [PhotoPhase; 4] = [PhotoPhase::Before, PhotoPhase::During, PhotoPhase::After, PhotoPhase::GasTest];

    pub fn code(self) -> &'static str {
        match self {
            PhotoPhase::Before => "before",
            PhotoPhase::During => "during",
            PhotoPhase::After => "after",
            PhotoPhase::GasTest => "gas_test",
        }
    }

    pub fn from_code(code: &str) -> Option<PhotoPhase> {
        PhotoPhase::ALL.into_iter().find(|p| p.code() == code)
    }
}

/// A photo as its event names it: the kept picture and its thumbnail by the SHA-256 of their
/// bytes, its size, the camera's own clock (a claim, shown beside the event's trusted time),
/// and its difference hash, which finds the same picture again after it was re-encoded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoRef {
    pub blob: String,
    pub thumbnail: String,
    pub phase: PhotoPhase,
    pub width: u32,
    pub height: u32,
    /// EXIF DateTimeOriginal as the camera said it, `YYYY-MM-DD HH:MM:SS` (camera's local time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera_time: Option<String>,
    /// 64-bit difference hash, 16 lower-case hex digits.
    pub dhash: String,
}

impl PhotoRef {
    /// The difference hash as a number, when it is 16 hex digits.
    pub fn dhash_bits(&self) -> Option<u64> {
        let hex = self.dhash.len() == 16 && self.dhash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        hex.then(|| u64::from_str_radix(&self.dhash, 16).ok()).flatten()
    }

    /// What is wrong with the reference itself, if anything.
    pub fn problem(&self) -> Option<String> {
        use crate::sync::is_blob_hash;
        if !is_blob_hash(&self.blob) {
            return Some("the photo is not named by a SHA-256 hash".into());
        }
        if !is_blob_hash(&self.thumbnail) {
            return Some("the thumbnail is not named by a SHA-256 hash".into());
        }
        if self.dhash_bits().is_none() {
            return Some("the photo's difference hash is not 16 hex digits".into());
        }
        if self.width == 0 || self.height == 0 {
            return Some("the photo has no size".into());
        }
        if self
            .camera_time
            .as_ref()
            .is_some_and(|t| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").is_err())
        {
            return Some("the camera's time is not a date and time (YYYY-MM-DD HH:MM:SS)".into());
        }
        None
    }
}

/// Who or what goes into a confined space: a worker of the crew, or a tool by its name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Entrant {
    Person(PersonId),
    Tool(String),
}

impl Entrant {
    /// The same entrant, with a tool's name trimmed (how the roster compares names).
    pub fn normalized(&self) -> Entrant {
        match self {
            Entrant::Person(p) => Entrant::Person(*p),
            Entrant::Tool(name) => Entrant::Tool(name.trim().to_owned()),
        }
    }
}

impl EventKind {
    /// Whether a signer may add a handwritten signature to this kind of event: the steps,
    /// sign-offs and decisions of the permit, not its notes, scans and photos.
    pub fn takes_handwriting(&self) -> bool {
        !matches!(
            self,
            EventKind::Comment { .. }
                | EventKind::Entry { .. }
                | EventKind::CheckIn { .. }
                | EventKind::CheckOut { .. }
                | EventKind::Photo { .. }
                | EventKind::Acknowledge { .. }
        )
    }

    /// A short code for the kind, used in UI keys and logs.
    pub fn code(&self) -> &'static str {
        match self {
            EventKind::Submit { .. } => "submit",
            EventKind::Approve { .. } => "approve",
            EventKind::Reject { .. } => "reject",
            EventKind::GasTest { .. } => "gas_test",
            EventKind::Start => "start",
            EventKind::Suspend { .. } => "suspend",
            EventKind::Resume => "resume",
            EventKind::Complete => "complete",
            EventKind::Accept { .. } => "accept",
            EventKind::Cancel { .. } => "cancel",
            EventKind::Comment { .. } => "comment",
            EventKind::Entry { .. } => "entry",
            EventKind::Handover { .. } => "handover",
            EventKind::TakeOver => "take_over",
            EventKind::FireWatchEnd { .. } => "fire_watch_end",
            EventKind::CheckIn { .. } => "check_in",
            EventKind::CheckOut { .. } => "check_out",
            EventKind::Photo { .. } => "photo",
            EventKind::Acknowledge { .. } => "acknowledge",
            EventKind::ChangeRequest { .. } => "change_request",
            EventKind::ApproveChange { .. } => "approve_change",
            EventKind::RejectChange { .. } => "reject_change",
        }
    }
}

/// How an event's time was obtained (R-TIME).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeTrust {
    /// The device's clock corrected against the sync server's at the last sync, carried forward
    /// by the device's monotonic clock since: a changed tablet clock does not move it.
    Server,
    /// The device's own clock: never corrected, or the device restarted since it last was.
    Unverified,
}

/// When an event happened, as the device could best tell, and how it knew.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Stamp {
    /// Unix milliseconds.
    pub ms: i64,
    pub trust: TimeTrust,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// A nonce drawn by the device; not the event's identity (see [`SignedEvent::hash`]).
    pub id: EventId,
    pub permit: PermitId,
    /// Orders events (with the body hash breaking ties); never compared as a time.
    pub at: Hlc,
    /// The corrected time the time rules compare; absent on events written before it existed,
    /// which then count as unverified at their HLC time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Stamp>,
    /// The hash of the event this device signed before this one (its chain); absent on the
    /// device's first event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<String>,
    pub device: DeviceId,
    /// The person who acted (logged in with badge + PIN on the device).
    pub actor: PersonId,
    /// SHA-256 of the form this event acts on (see [`crate::form::PermitForm::content_hash`]).
    pub content_hash: String,
    /// The signer's handwritten signature (R-SIGN): the PNG drawn on the pad, by the SHA-256
    /// of its bytes. Signed together with `content_hash`, so the image is bound to the content
    /// it was drawn for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handwriting: Option<String>,
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    /// The canonical JSON body that is signed.
    pub fn body(&self) -> String {
        // An Event holds only strings, numbers, uuids and finite-or-not floats; serde_json writes
        // non-finite floats as null rather than failing, so this cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The identity the event will have once signed (see [`SignedEvent::hash`]).
    pub fn hash(&self) -> String {
        event_hash(&self.body())
    }

    /// The time the time rules use: the corrected stamp, or the HLC time of an older event.
    pub fn time_ms(&self) -> i64 {
        self.time.map_or(self.at.ms, |t| t.ms)
    }

    /// Whether [`Event::time_ms`] rests on the server's clock.
    pub fn time_verified(&self) -> bool {
        matches!(self.time, Some(Stamp { trust: TimeTrust::Server, .. }))
    }
}

/// An event as stored: its canonical JSON body and the device's signature over exactly those bytes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SignedEvent {
    pub body: String,
    /// Hex of the 64-byte Ed25519 signature.
    pub sig: String,
}

/// The identity of an event with this signed body: SHA-256 hex of the body's bytes.
pub fn event_hash(body: &str) -> String {
    hex::encode(Sha256::digest(body.as_bytes()))
}

impl SignedEvent {
    /// Serialise and sign `event` with the device key.
    pub fn sign(event: &Event, key: &SigningKey) -> SignedEvent {
        let body = event.body();
        let sig = signature::sign_hex(key, body.as_bytes());
        SignedEvent { body, sig }
    }

    /// The stored form: one JSON string, the immutable value kept in the permit's event list.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_stored(s: &str) -> Result<SignedEvent, Violation> {
        serde_json::from_str(s).map_err(|e| Violation::Malformed { reason: e.to_string() })
    }

    /// The event's identity (see [`event_hash`]).
    pub fn hash(&self) -> String {
        event_hash(&self.body)
    }

    /// Parse the body without checking the signature (for ordering and display).
    pub fn event(&self) -> Result<Event, Violation> {
        serde_json::from_str(&self.body).map_err(|e| Violation::Malformed { reason: e.to_string() })
    }

    /// Parse the body and check the signature against the enrolled key of the device it names.
    pub fn verify(&self, registry: &Registry, memo: Option<&SignatureMemo>) -> Result<Event, Violation> {
        let event = self.event()?;
        verify_signer(&event, &self.sig, &self.body, registry, memo)?;
        Ok(event)
    }
}

/// Check that `sig` over `body` (which parses as `event`) was made by the device the event
/// names, enrolled in `registry` and not revoked at the event's time.
pub fn verify_signer(
    event: &Event,
    sig: &str,
    body: &str,
    registry: &Registry,
    memo: Option<&SignatureMemo>,
) -> Result<(), Violation> {
    let device = registry.device(event.device).ok_or(Violation::UnknownDevice { device: event.device })?;
    if device.revoked_at(event.time_ms()) {
        return Err(Violation::RevokedDevice { device: event.device });
    }
    if signature::verify(&device.public_key, sig, body.as_bytes(), memo) {
        Ok(())
    } else {
        Err(Violation::BadSignature)
    }
}
