//! The rules an event can break, and the alerts a permit can raise.
//!
//! A [`Violation`] names the rule in data the UI turns into words (zh-CN / en) — never a
//! free-text message built here, so every refusal reads the same on every device and language.

use crate::catalog::{ActorRule, Role};
use crate::derive::Status;
use crate::event::{Entrant, GasExceedance};
use crate::form::FieldError;
use crate::ids::{DeviceId, PermitId, PersonId};
use crate::qualification::Unqualified;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Violation {
    #[error("the event cannot be read: {reason}")]
    Malformed { reason: String },
    #[error("the event's signature does not verify")]
    BadSignature,
    #[error("the event was signed by device {device}, which is not enrolled")]
    UnknownDevice { device: DeviceId },
    #[error("the event was signed by device {device}, which has been revoked")]
    RevokedDevice { device: DeviceId },
    #[error("the event belongs to another permit")]
    WrongPermit,
    #[error("person {person} is not in the register")]
    UnknownPerson { person: PersonId },
    #[error("the account of {person} is frozen and cannot sign")]
    FrozenAccount { person: PersonId },
    #[error("{person} has retired from the register and cannot sign")]
    RetiredPerson { person: PersonId },
    #[error("{} may not take part as {}: {:?}", unqualified.person, unqualified.party.code(), unqualified.why)]
    Unqualified { unqualified: Box<Unqualified> },
    #[error("this needs one of the roles {roles:?}")]
    MissingRole { roles: Vec<Role> },
    #[error("'{action}' on this permit is for {allowed:?}")]
    NotPermitActor { action: String, allowed: Vec<ActorRule> },
    #[error("only the permit's applicant can submit it")]
    NotApplicant,
    #[error("only the permit's guardian can sign this step")]
    NotPermitGuardian,
    #[error("'{action}' is not possible while the permit is {status:?}")]
    NotAllowedInStatus { action: String, status: Status },
    #[error("step '{step}' is not the open step")]
    StepNotOpen { step: String },
    #[error("this person has already signed step '{step}'")]
    AlreadySigned { step: String },
    #[error("this person is not among the named signers of countersign step '{step}'")]
    NotAssignee { step: String },
    #[error("the approver cannot be the permit's applicant")]
    ApproverIsApplicant,
    #[error("the approver cannot be the permit's guardian")]
    ApproverIsGuardian,
    #[error("the approver cannot be a worker on the permit")]
    ApproverIsCrew,
    #[error("work cannot start without a passing gas test")]
    GasTestMissing,
    #[error("the last passing gas test is {age_minutes} min old; at most {max_minutes} min is allowed")]
    GasTestTooOld { age_minutes: i64, max_minutes: i64 },
    #[error("a gas test with no reading at all records nothing")]
    GasReadingEmpty,
    #[error("gas reading '{gas}' is not a reading an instrument gives")]
    GasReadingOutOfRange { gas: String },
    #[error("no gas test at sample point '{point}'")]
    GasTestMissingAt { point: String },
    #[error("a gas test names the instrument that took it")]
    GasInstrumentMissing,
    #[error("gases are tested in order: {missing:?} before {measured:?}")]
    GasTestOrder { missing: crate::catalog::GasGroup, measured: crate::catalog::GasGroup },
    #[error("the last gas test failed")]
    GasTestFailed { exceedances: Vec<GasExceedance> },
    #[error("the permit's planned window has not begun")]
    BeforePlannedStart,
    #[error("the permit's planned window is over")]
    AfterPlannedEnd,
    #[error("the form has {} problem(s)", errors.len())]
    FormInvalid { errors: Vec<FieldError> },
    #[error("the permit type or grade is not in the catalog")]
    UnknownPermitType,
    #[error("the event was signed over different permit content than was submitted")]
    ContentHashMismatch,
    #[error("a comment cannot be empty")]
    EmptyText,
    #[error("person {person} cannot take over as guardian: not a guardian, or the applicant, a worker or the guardian already")]
    NotAGuardianToHandTo { person: PersonId },
    #[error("no handover is waiting to be taken over")]
    NoHandoverPending,
    #[error("the handover is to {to}, not to this person")]
    NotHandoverTarget { to: PersonId },
    #[error("this type of permit keeps no entrant roster")]
    NoEntrantRoster,
    #[error("badge {badge} is not the signer's own badge")]
    BadgeNotTheirs { badge: String },
    #[error("only the permit's guardian, crew and applicant check in on its site")]
    NotOnPermit,
    #[error("only the permit's own people (applicant, guardian, crew, gas testers, signers) attach its photos")]
    NotAPartyToPermit,
    #[error("this photo is attached to the permit already")]
    PhotoAttachedAlready,
    #[error("{person} is checked in already")]
    AlreadyCheckedIn { person: PersonId },
    #[error("{person} is not checked in")]
    NotCheckedIn { person: PersonId },
    #[error("the guardian {guardian} is not checked in on site: work resumes only with the guardian there")]
    GuardianNotOnSite { guardian: PersonId },
    #[error("person {person} is not a worker on this permit and may not go in")]
    EntrantNotCrew { person: PersonId },
    #[error("person {person} is inside already")]
    AlreadyInside { person: PersonId },
    #[error("{entrant:?} is not inside")]
    NotInside { entrant: Entrant },
    #[error("{} people and {} tools are still inside", people.len(), tools.len())]
    EntrantsInside { people: Vec<PersonId>, tools: Vec<String> },
    #[error("work stopped {paused_minutes} min ago, more than {max_minutes} min: a gas test taken since it stopped is needed")]
    GasRetestAfterPause { paused_minutes: i64, max_minutes: i64 },
    #[error("the fire watch runs until {until_ms}; it cannot be signed off before")]
    FireWatchRunning { until_ms: i64 },
    /// The grade asks a photo before the work starts (the blind-location diagram) and the
    /// permit has none of that phase yet.
    #[error("the work may not start before a {phase:?} photo is on the permit")]
    StartPhotoMissing { phase: crate::event::PhotoPhase },
    #[error("the fire watch has not been signed off")]
    FireWatchNotSignedOff { until_ms: i64 },
    #[error("this permit has no fire watch waiting")]
    NoFireWatch,
    #[error("a permit of this grade cannot be changed: a change needs a new permit")]
    ChangesNotAllowed,
    #[error("a change of this permit is waiting for approval already")]
    ChangePending,
    #[error("no such alert is raised on this permit now")]
    NoSuchAlert,
    #[error("the alert does not ask this person to act")]
    NotAskedToAct,
    #[error("the alert is acknowledged already")]
    AlertAcknowledgedAlready,
    #[error("the change changes nothing")]
    ChangeChangesNothing,
    #[error("no change '{change}' is waiting for approval")]
    NoSuchChange { change: String },
}

/// Something that needs a person's attention now (R-ALERT), derived from the state and `now`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "alert", rename_all = "snake_case")]
pub enum Alert {
    /// An open step comes to its time limit soon (the catalog's reminder minutes).
    StepDueSoon { step: String, due_ms: i64 },
    /// An open step has passed its time limit, and has reached `level` levels of the
    /// escalation chain.
    StepOverdue { step: String, due_ms: i64, level: u32 },
    /// The permit's work runs and its window ends soon.
    ValidityEnding { end_ms: i64 },
    /// The permit is active or suspended past its planned end.
    ValidityExpired { end_ms: i64 },
    /// Work is active and a gas re-test is due soon.
    GasRetestDueSoon { last_ms: i64, max_minutes: i64, due_ms: i64 },
    /// Work is active and the last passing gas test is older than the grade allows.
    GasRetestDue { last_ms: i64, max_minutes: i64 },
    /// The fire watch runs out soon: the fire watcher will be asked to sign it off.
    FireWatchEnding { until_ms: i64 },
    /// Someone named on a live permit no longer qualifies: a certificate expired or was
    /// revoked, or the person was frozen or retired.
    Unqualified { unqualified: Unqualified },
    /// A certificate expires within its type's warning days.
    CertificateExpiring { person: PersonId, cert_type: String, number: String, valid_to_ms: i64 },
    /// A certificate of someone in the register has expired.
    CertificateExpired { person: PersonId, cert_type: String, number: String, valid_to_ms: i64 },
    /// A gas test failed while people worked: the work was suspended at once, and waits for a
    /// passing re-test and the issuer's revalidation.
    GasFailedDuringWork { at_ms: i64 },
    /// The fire watch has run its time and waits for the fire watcher's sign-off.
    FireWatchOver { until_ms: i64 },
    /// Work is suspended with people or tools still inside the space.
    InsideWhileSuspended { people: u32, tools: u32 },
    /// The draft in the document was edited after the permit was submitted. The form of record
    /// is still the one submitted; the edit changes nothing but is shown.
    FormChangedAfterSubmit,
    /// A time rule (gas-test age, the planned window, a freeze) was decided on a time the
    /// device could not verify against the server's clock.
    UnverifiedTime { event: String, action: String },
    /// Someone checked in or out scanning a location that is not the permit's (`expected`, the
    /// permit's location code, when it has one).
    WrongLocation { person: PersonId, scanned: String, expected: Option<String> },
    /// The permit is closed or cancelled and these people checked in and never checked out.
    NotCheckedOut { people: Vec<PersonId> },
    /// Work is suspended because its guardian checked out of the site.
    GuardianLeft { guardian: PersonId, at_ms: i64 },
    /// Another live permit's planned window overlaps this one's where the catalog's conflict
    /// `rule` forbids it (SIMOPS): on the same item (`shared`, the field's value, e.g. the
    /// pipe) or at the same location (`shared` empty).
    Conflict { rule: String, other: PermitId, other_title: String, shared: String },
}

impl Alert {
    /// A short code naming the kind of alert (reports, routing, keys).
    pub fn code(&self) -> &'static str {
        match self {
            Alert::StepDueSoon { .. } => "step_due_soon",
            Alert::StepOverdue { .. } => "step_overdue",
            Alert::ValidityEnding { .. } => "validity_ending",
            Alert::ValidityExpired { .. } => "validity_expired",
            Alert::GasRetestDueSoon { .. } => "gas_retest_due_soon",
            Alert::GasRetestDue { .. } => "gas_retest_due",
            Alert::GasFailedDuringWork { .. } => "gas_failed_during_work",
            Alert::FireWatchEnding { .. } => "fire_watch_ending",
            Alert::FireWatchOver { .. } => "fire_watch_over",
            Alert::InsideWhileSuspended { .. } => "inside_while_suspended",
            Alert::FormChangedAfterSubmit => "form_changed_after_submit",
            Alert::UnverifiedTime { .. } => "unverified_time",
            Alert::WrongLocation { .. } => "wrong_location",
            Alert::NotCheckedOut { .. } => "not_checked_out",
            Alert::GuardianLeft { .. } => "guardian_left",
            Alert::Unqualified { .. } => "unqualified",
            Alert::CertificateExpiring { .. } => "certificate_expiring",
            Alert::CertificateExpired { .. } => "certificate_expired",
            Alert::Conflict { .. } => "conflict",
        }
    }
}
