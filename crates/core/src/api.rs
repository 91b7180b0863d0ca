//! The types that cross the boundary between the UI (wasm) and the app back end (Tauri
//! commands), as JSON. Both sides compile this module, so a field renamed here is renamed on
//! both sides at once.

use crate::catalog::Catalog;
use crate::derive::{PermitState, Status};
use crate::event::GasReading;
use crate::form::{FieldError, PermitForm};
use crate::ids::{LocationId, PermitId, PersonId};
use crate::registry::{Location, Person, PlantSettings};
use crate::rules::Violation;
use crate::sync::RefusalCode;
use serde::{Deserialize, Serialize};

/// One row of a permit list, read from the projection table (never from the documents).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PermitSummary {
    pub id: PermitId,
    pub number: String,
    pub permit_type: String,
    pub grade: String,
    pub title: String,
    pub location: Option<LocationId>,
    pub status: Status,
    pub current_step: Option<String>,
    pub applicant: Option<PersonId>,
    pub guardian: Option<PersonId>,
    /// Unix ms.
    pub planned_start_ms: Option<i64>,
    pub planned_end_ms: Option<i64>,
    pub updated_ms: i64,
    pub alert_count: u32,
    pub rejected_count: u32,
    /// Whose turn it is: the step that moves the permit on and who may take it.
    #[serde(default)]
    pub turn: crate::offers::Turn,
    /// It is the turn of the person the list was asked for ([`ListQuery::me`]).
    #[serde(default)]
    pub mine: bool,
    /// Changes to it made here are not on the sync server yet.
    #[serde(default)]
    pub pending: bool,
}

/// A whole permit, for the detail screen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PermitView {
    pub id: PermitId,
    pub number: String,
    pub form: PermitForm,
    pub state: PermitState,
    /// What the signed-in person may do to it now, and who may do the rest (empty when nobody
    /// is signed in).
    #[serde(default)]
    pub offers: Vec<crate::offers::Offer>,
    /// Whose turn it is ([`crate::offers::turn`]): what the panel says is waited for.
    #[serde(default)]
    pub turn: crate::offers::Turn,
    /// The permits this one revises and is revised by.
    #[serde(default)]
    pub links: PermitLinks,
    /// Changes to it made here are not on the sync server yet.
    #[serde(default)]
    pub pending: bool,
}

impl PermitView {
    /// A permit as derived, with nothing yet about who looks at it or how it is linked.
    pub fn new(id: PermitId, number: String, state: PermitState) -> PermitView {
        PermitView {
            id,
            number,
            form: state.form.clone(),
            state,
            offers: Vec::new(),
            turn: crate::offers::Turn::default(),
            links: PermitLinks::default(),
            pending: false,
        }
    }
}

/// Another permit, as a link: its id and number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermitLink {
    pub id: PermitId,
    pub number: String,
}

/// How a permit is linked to others.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermitLinks {
    /// The rejected permit it revises.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revises: Option<PermitLink>,
    /// The drafts that revise it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revised_by: Vec<PermitLink>,
    /// Its photos that are attached to other permits too: the same bytes, or the same picture
    /// by the difference hash (R-PHOTO). Shown on both permits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photo_reuse: Vec<PhotoReuse>,
}

/// A photo of this permit found on another one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoReuse {
    /// This permit's photo (its blob hash).
    pub photo: String,
    pub other: PermitLink,
    /// The other permit's photo.
    pub other_photo: String,
    /// The very same bytes; otherwise the same picture by the difference hash, `bits` apart.
    pub same_bytes: bool,
    pub bits: u32,
}

/// A list query. Every filter given must hold.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ListQuery {
    pub status: Option<Status>,
    pub limit: u32,
    pub offset: u32,
    /// Words to find in the number, the title, the location's name or the applicant's or
    /// guardian's name (case-insensitive, anywhere in them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Only permits whose turn it is for this person ("waiting for me").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<PersonId>,
    /// Only permits of this operation type (catalog code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permit_type: Option<String>,
    /// Only permits at a location of this area (the location register's `area`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area: Option<String>,
    /// Only permits whose planned window overlaps `[from, to)` (Unix ms); a permit with no
    /// planned window yet is left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_within: Option<(i64, i64)>,
    /// Mark the rows whose turn it is for this person ([`PermitSummary::mine`]); the app sets
    /// it to whoever is signed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub me: Option<PersonId>,
}

/// The longest search text a list query takes, in characters.
pub const MAX_SEARCH_CHARS: usize = 100;

/// What a signed-in person asks to do to a permit. The store turns it into an event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Submit,
    /// Sign the open approval step.
    Approve {
        comment: String,
    },
    /// Refuse at the open approval step.
    Reject {
        comment: String,
    },
    GasTest {
        reading: GasReading,
    },
    Start,
    Suspend {
        reason: String,
    },
    Resume,
    Complete,
    /// Sign the open acceptance step.
    Accept {
        comment: String,
    },
    Cancel {
        reason: String,
    },
    Comment {
        text: String,
    },
    /// Hand the guardian's watch over to `to` (the outgoing guardian).
    Handover {
        to: crate::PersonId,
        plant_state: String,
        open_items: String,
    },
    /// Take over the watch handed to the person signed in.
    TakeOver,
    /// Log `entrant` into (`inside`) or out of the space.
    Entry {
        entrant: crate::event::Entrant,
        inside: bool,
    },
    /// Sign the fire watch off once it has run its time.
    FireWatchEnd {
        note: String,
    },
    /// Ask for a change of the issued permit.
    RequestChange {
        change: crate::PermitChange,
    },
    /// Sign, or refuse, the open step of the change waiting for approval.
    ApproveChange {
        comment: String,
    },
    RejectChange {
        comment: String,
    },
    /// Check the person signed in on to the site: the badge id and the location code scanned.
    CheckIn {
        badge: String,
        location: String,
    },
    /// Check them out of the site.
    CheckOut {
        badge: String,
        location: String,
    },
    /// Attach a photo whose picture and thumbnail are kept on this device already.
    Photo {
        photo: crate::event::PhotoRef,
    },
    /// Acknowledge alert `alert` ([`crate::alerts::Raised::key`]) of the permit.
    Acknowledge {
        alert: String,
    },
}

/// An alert as the inbox lists it: the alert and the permit it is on, when it is on one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InboxItem {
    pub alert: crate::alerts::Raised,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The permit's type and grade (for its steps' names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permit_type: Option<(String, String)>,
}

/// The alerts of one person (or everyone's), counted for the top bar.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Inbox {
    /// Most severe first; the unacknowledged before the acknowledged.
    pub items: Vec<InboxItem>,
    /// Not acknowledged yet.
    pub open: u32,
    /// Critical and not acknowledged yet: the tablet's alarm sounds while this is above 0.
    pub critical: u32,
    /// The trusted time they were computed at.
    pub at_ms: i64,
}

/// Everything the UI needs to draw forms and names: read once after sign-in. (Never the PIN
/// hashes.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Directory {
    pub catalog: Catalog,
    pub people: Vec<Person>,
    pub locations: Vec<Location>,
    #[serde(default)]
    pub settings: PlantSettings,
    /// The register's certificates: the form checks its crew against them while it is filled
    /// in, and the expiry list shows them.
    #[serde(default)]
    pub certificates: Vec<crate::registry::Certificate>,
    /// Whether this device is enrolled with a sync server (before that there is no plant).
    #[serde(default)]
    pub enrolled: bool,
}

/// The signed-in person on this device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub person: Person,
}

/// Always-visible sync status: are we online, how many changes wait in the outbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncStatus {
    pub online: bool,
    pub pending_changes: u64,
    pub server_configured: bool,
    pub last_sync_ms: Option<i64>,
    /// A sync round running now, and how far it has got.
    #[serde(default)]
    pub progress: Option<SyncProgress>,
    /// Why the last round failed, if it did.
    #[serde(default)]
    pub last_failure: Option<SyncFailure>,
    /// Changes the server refused, taken back: the person sees why and redoes them.
    #[serde(default)]
    pub refused: Vec<RefusedAction>,
    /// Permits whose pulled changes would not apply on this device.
    #[serde(default)]
    pub quarantined: u64,
    /// Whether this device's clock is corrected against the server's (R-TIME).
    #[serde(default)]
    pub time_verified: bool,
    /// IT revoked this device.
    #[serde(default)]
    pub revoked: bool,
    /// The log entry of a catalog this device's checks refused, keeping the one before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_refused: Option<u64>,
    /// The device's trusted time when it answered (Unix ms): what the UI's clock shows and
    /// counts down against, whatever the webview's own clock says.
    #[serde(default)]
    pub now_ms: i64,
}

/// A change the sync server refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedAction {
    pub permit: String,
    pub code: RefusalCode,
    pub refused_ms: i64,
}

/// Why talking to the sync server failed, as data the UI words (never a sentence to parse).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "failure", rename_all = "snake_case")]
pub enum SyncFailure {
    /// Nothing answered at that address (wrong address, server down, no network).
    Unreachable,
    /// The server's TLS certificate is not the one pinned at enrolment (or in the QR code).
    CertificateMismatch,
    /// A plain `http://` address of a server that is not on this machine.
    InsecureAddress,
    /// The server's registry key is not the one the QR code named.
    ServerKeyMismatch,
    /// The address or code was left out.
    EnrolIncomplete,
    /// This device is not enrolled (or the server no longer knows its token).
    NotEnrolled,
    /// IT revoked this device.
    DeviceRevoked,
    EnrolCodeUnknown,
    EnrolCodeUsed,
    EnrolCodeExpired,
    /// Too many attempts: wait a minute.
    RateLimited,
    /// Something answered, but not like a sync server.
    BadAnswer,
    /// The server refused the request (HTTP status).
    Refused {
        status: u16,
    },
    /// The server failed (HTTP status).
    ServerError {
        status: u16,
    },
    /// The registry the server sent does not check against the pinned key.
    BadRegistry,
}

/// Why reading a QR code from a picture failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QrFailure {
    /// Not a PNG or JPEG file.
    NotAnImage,
    TooLarge,
    /// No QR code in the picture: hold the camera closer.
    NotFound,
    /// A code, but it could not be read: take the photo again.
    Unreadable,
}

/// Why a photo could not be taken up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoFailure {
    /// Not a JPEG or PNG picture.
    NotAPicture,
    /// More pixels than a photo may have.
    TooLarge,
    /// A picture, but damaged.
    Broken,
    /// A handwritten signature with nothing drawn on it.
    BlankSignature,
}

/// How far the running sync round has got: changes sent up and received so far.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncProgress {
    pub pushed: u64,
    pub received: u64,
    pub round_trips: u64,
}

/// Why a command failed, in a form the UI can translate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CommandError {
    #[error("the form has problems")]
    InvalidForm { errors: Vec<FieldError> },
    #[error("refused: {violation}")]
    Refused { violation: Violation },
    #[error("wrong name or PIN")]
    BadCredentials,
    #[error("too many wrong PINs; try again in {retry_after_s} s")]
    PinLocked { retry_after_s: u64 },
    #[error("nobody is signed in")]
    NotSignedIn,
    #[error("this device is not enrolled")]
    NotEnrolled,
    #[error("this device was revoked")]
    DeviceRevoked,
    #[error("sync failed: {failure:?}")]
    Sync { failure: SyncFailure },
    #[error("the QR code could not be read: {failure:?}")]
    Qr { failure: QrFailure },
    #[error("the photo could not be taken up: {failure:?}")]
    Photo { failure: PhotoFailure },
    /// The admin screen asks the admin's PIN again before it changes anything.
    #[error("the admin screen is locked; enter the admin PIN")]
    AdminLocked,
    /// The person may not change the registry (no admin role, frozen, or the server refused
    /// their PIN).
    #[error("this person may not change the registry")]
    NotAllowed,
    /// The registry change cannot be made as asked.
    #[error("the registry change was not made: {problem}")]
    RegistryRefused { problem: crate::authority::OpProblem },
    #[error("not found: {what}")]
    NotFound { what: String },
    #[error("bad input: {message}")]
    BadInput { message: String },
    #[error("internal error: {message}")]
    Internal { message: String },
}
