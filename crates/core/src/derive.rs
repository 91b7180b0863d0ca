//! Derivation: a permit's state as a pure function of its form, its events, the registry and
//! `now`.
//!
//! Events are deduplicated by content (the hash of the signed body), sorted by (HLC, hash) and
//! folded through one state machine, so any two devices holding the same set of events derive
//! the same state whatever order the events arrived in. Every event is checked against the
//! rules before it is applied; one that breaks a rule is kept in the timeline as rejected, with
//! the rule, and changes nothing — an event is applied whole or not at all, and whether one
//! event counts never depends on another event merely being present.
//! `now` is used only for alerts (overdue steps, expired validity), never for the fold itself.
//!
//! Time rules compare events' corrected times ([`Event::time_ms`]), never their HLCs; when a rule
//! rests on a time the device could not verify, the permit carries an
//! [`Alert::UnverifiedTime`].

use crate::catalog::{ActorRule, GradeDef, LocalText, PermitParty, Phase, Role, SignMode, StepSigner};
use crate::event::{event_hash, verify_signer, Entrant, Event, EventKind, GasExceedance, GasReading, SignedEvent};
use crate::form::{PermitChange, PermitForm};
use crate::hlc::Hlc;
use crate::ids::{PermitId, PersonId};
use crate::qualification::{self, QualifiedParty};
use crate::registry::{Person, Registry};
use crate::rules::{Alert, Violation};
use crate::signature::{BatchItem, SignatureMemo};
use chrono::{DateTime, Utc};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Where a permit is in its life (R-LIFE). Rejected, cancelled and closed are terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    InApproval,
    Approved,
    Active,
    Suspended,
    Completed,
    Closed,
    Rejected,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 9] = [
        Status::Draft,
        Status::InApproval,
        Status::Approved,
        Status::Active,
        Status::Suspended,
        Status::Completed,
        Status::Closed,
        Status::Rejected,
        Status::Cancelled,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::InApproval => "in_approval",
            Status::Approved => "approved",
            Status::Active => "active",
            Status::Suspended => "suspended",
            Status::Completed => "completed",
            Status::Closed => "closed",
            Status::Rejected => "rejected",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn from_code(code: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Closed | Status::Rejected | Status::Cancelled)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepSignature {
    pub person: PersonId,
    /// When it was signed (Unix ms, the event's corrected time).
    pub time_ms: i64,
    /// The signing event ([`SignedEvent::hash`]).
    pub event: String,
    pub comment: String,
}

/// One flow step of this permit and who has signed it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepState {
    pub id: String,
    pub name: LocalText,
    pub phase: Phase,
    pub role: Role,
    pub mode: SignMode,
    pub signer: StepSigner,
    pub time_limit_minutes: i64,
    /// For countersign steps: everyone who must sign.
    pub required: Vec<PersonId>,
    pub signatures: Vec<StepSignature>,
    /// When the step opened and was done (Unix ms).
    pub opened_at: Option<i64>,
    pub done_at: Option<i64>,
}

impl StepState {
    fn is_complete(&self) -> bool {
        match self.mode {
            SignMode::AnySign => !self.signatures.is_empty(),
            SignMode::Countersign => {
                !self.required.is_empty()
                    && self.required.iter().all(|p| self.signatures.iter().any(|s| s.person == *p))
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GasTestRecord {
    /// The gas-test event ([`SignedEvent::hash`]).
    pub event: String,
    /// When the sample was taken (Unix ms, the event's corrected time).
    pub time_ms: i64,
    /// Whether that time rests on the server's clock.
    pub time_verified: bool,
    pub tester: PersonId,
    pub reading: GasReading,
    /// Empty when the test passed the grade's limits.
    pub exceedances: Vec<GasExceedance>,
}

impl GasTestRecord {
    pub fn passed(&self) -> bool {
        self.exceedances.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Applied,
    Rejected { violation: Violation },
}

/// One event of the log, in derivation order, with what became of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// `None` only when the stored event could not even be read.
    pub event: Option<Event>,
    /// The event's identity: SHA-256 of its signed body (of the stored text when unreadable).
    pub hash: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// A guardian's shift that began with a handover.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GuardianShift {
    pub guardian: PersonId,
    pub from_ms: i64,
    /// The handover event this shift took over.
    pub handover: String,
}

/// A handover signed by the outgoing guardian, waiting for the incoming one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingHandover {
    pub from: PersonId,
    pub to: PersonId,
    pub plant_state: String,
    pub open_items: String,
    pub at_ms: i64,
    pub event: String,
}

/// Why work stopped (R-LIFE).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cause", rename_all = "snake_case")]
pub enum Suspension {
    /// Someone stopped the work, for a reason.
    Stopped { at_ms: i64, by: PersonId, reason: String },
    /// A gas test during work failed: work stopped at once, by the rule. Only a passing
    /// re-test and the issuer's revalidation resume it.
    GasTestFailed { at_ms: i64, event: String },
    /// The guardian checked out of the site while work ran (the type's presence rule): work
    /// resumes only with the guardian on duty checked in again.
    GuardianLeft { at_ms: i64, guardian: PersonId, event: String },
}

/// One stay on site by one person (到岗 → 离岗), from their check-in and check-out events: the
/// presence trail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Presence {
    pub person: PersonId,
    pub checked_in: PresenceScan,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_out: Option<PresenceScan>,
}

/// A photo attached to the permit: who took it, when (the event's trusted time), on which
/// device, and what it is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhotoRecord {
    pub by: PersonId,
    pub at_ms: i64,
    pub time_verified: bool,
    pub device: crate::ids::DeviceId,
    pub photo: crate::event::PhotoRef,
    /// The photo's event ([`SignedEvent::hash`]).
    pub event: String,
}

/// A handwritten signature on an applied event: who drew it, when, on what (the event's kind
/// and step), the PNG by its hash, and the hash of the form it was drawn over.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Handwritten {
    pub by: PersonId,
    pub at_ms: i64,
    /// The event's kind ([`EventKind::code`]).
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    pub image: String,
    pub content_hash: String,
    pub event: String,
}

/// One scan of the trail: when, on which device, the badge and the location code scanned, and
/// whether that location is the permit's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PresenceScan {
    pub at_ms: i64,
    pub device: crate::ids::DeviceId,
    pub badge: String,
    pub location: String,
    /// The location scanned is the permit's own (false when it is another, or the permit names
    /// none).
    pub location_matches: bool,
    pub event: String,
}

/// The fire watch after hot work: running until `until_ms`, then signed off.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FireWatch {
    pub from_ms: i64,
    pub until_ms: i64,
    /// Who signed it off, when, with what note, by the sign-off event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_off: Option<FireWatchSignOff>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FireWatchSignOff {
    pub by: PersonId,
    pub at_ms: i64,
    pub note: String,
    pub event: String,
}

/// A change of the permit (作业变更) and what became of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangeState {
    /// The change request event ([`SignedEvent::hash`]): the change's identity.
    pub event: String,
    pub requested_by: PersonId,
    pub at_ms: i64,
    pub change: PermitChange,
    /// The form of record before the change, and as the change would make it.
    pub before: PermitForm,
    pub after: PermitForm,
    /// The change's own signatures, step by step.
    pub steps: Vec<StepState>,
    pub current_step: Option<String>,
    pub outcome: ChangeOutcome,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ChangeOutcome {
    Pending,
    /// The last step signed: the form of record is `after` from `at_ms`.
    Approved {
        at_ms: i64,
    },
    Rejected {
        at_ms: i64,
        by: PersonId,
        comment: String,
    },
}

/// Everything known about a permit, derived.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PermitState {
    pub permit: PermitId,
    pub status: Status,
    /// The step waiting for signatures, if any.
    pub current_step: Option<String>,
    pub steps: Vec<StepState>,
    /// The form of record: the draft in the document until the permit is submitted, the form the
    /// submit event carried from then on.
    pub form: PermitForm,
    /// Hash of the form of record: what every new event signs over.
    pub form_hash: String,
    /// Hash of the draft in the document; differs from `form_hash` once someone edited the
    /// document after submission (which changes nothing but raises an alert).
    pub draft_hash: String,
    pub submitted_hash: Option<String>,
    pub gas_tests: Vec<GasTestRecord>,
    /// Guardians who took over by a handover, in order, after the form's: the last is the
    /// permit's guardian now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shifts: Vec<GuardianShift>,
    /// A handover the outgoing guardian signed and the incoming one has not taken over yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handover: Option<PendingHandover>,
    /// Who and what is inside the space now, by the entrant roster (confined space).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inside: Vec<Entrant>,
    /// Check-ins and check-outs on site, in order (R-QR).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub presence: Vec<Presence>,
    /// Photos of the work, in order (R-PHOTO).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<PhotoRecord>,
    /// Handwritten signatures, in order (R-SIGN).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub handwritten: Vec<Handwritten>,
    /// Why work is suspended, while it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspension: Option<Suspension>,
    /// The fire watch, from the completion of work of a grade that has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fire_watch: Option<FireWatch>,
    /// Changes asked for, in order: the last may still wait for approval.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<ChangeState>,
    /// Unix ms.
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub closed_at: Option<i64>,
    /// The latest HLC of any signature-verified event, applied or not; the next local event must
    /// come after it.
    pub last_hlc: Hlc,
    pub timeline: Vec<TimelineEntry>,
    pub alerts: Vec<Alert>,
    /// Acknowledged alerts, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acks: Vec<crate::alerts::Acknowledgement>,
    /// Applied events whose time rules rested on a time that was not verified: (event hash,
    /// action code).
    pub unverified_times: Vec<(String, String)>,
}

impl PermitState {
    /// The rejected events and why.
    pub fn rejected(&self) -> impl Iterator<Item = (&Option<Event>, &Violation)> {
        self.timeline.iter().filter_map(|t| match &t.outcome {
            Outcome::Rejected { violation } => Some((&t.event, violation)),
            Outcome::Applied => None,
        })
    }

    pub fn step(&self, id: &str) -> Option<&StepState> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// Whether `person` is `party` of this permit.
    pub fn is_party(&self, party: PermitParty, person: PersonId) -> bool {
        match party {
            PermitParty::Applicant => self.form.applicant == Some(person),
            PermitParty::Guardian => self.guardian() == Some(person),
            PermitParty::Crew => self.form.crew.contains(&person),
            PermitParty::Approver => self
                .steps
                .iter()
                .any(|s| s.phase == Phase::Approval && s.signatures.iter().any(|sig| sig.person == person)),
        }
    }

    /// The permit's guardian now: the last to take over by a handover, else the form's.
    pub fn guardian(&self) -> Option<PersonId> {
        self.shifts.last().map(|s| s.guardian).or(self.form.guardian)
    }

    /// Whether `person` may take the guardian's watch over by a handover: a guardian, and as
    /// independent as at filing — not the applicant, a worker or an approver of the permit —
    /// and not the guardian already.
    pub fn may_take_over_as_guardian(&self, person: &Person) -> bool {
        person.has_role(&Role::new("guardian"))
            && self.form.applicant != Some(person.id)
            && !self.form.crew.contains(&person.id)
            && !self.is_party(PermitParty::Approver, person.id)
            && self.guardian() != Some(person.id)
    }

    /// Whether `person` has been this permit's guardian at any time.
    pub fn was_guardian(&self, person: PersonId) -> bool {
        self.form.guardian == Some(person) || self.shifts.iter().any(|s| s.guardian == person)
    }

    /// Who may resume the work now: after a failing gas reading, or a stop ordered from outside
    /// the work (a safety officer's or inspector's 停工), the issuer who revalidates it (HSG250:
    /// restart only after the issuer revalidates); after a pause the work's own guardian or
    /// applicant called, the type's resume rule.
    pub fn resume_rules<'a>(&self, rules: &'a crate::catalog::ActionRules) -> &'a [ActorRule] {
        if self.needs_revalidation() {
            &rules.revalidate
        } else {
            &rules.resume
        }
    }

    /// Whether the suspension is lifted only by the issuer's revalidation (see
    /// [`PermitState::resume_rules`]).
    pub fn needs_revalidation(&self) -> bool {
        match &self.suspension {
            Some(Suspension::GasTestFailed { .. }) => true,
            Some(Suspension::Stopped { by, .. }) => self.guardian() != Some(*by) && self.form.applicant != Some(*by),
            Some(Suspension::GuardianLeft { .. }) | None => false,
        }
    }

    /// The hash of the form as it was submitted: the form of record, or — once a change was
    /// approved — the form before the first approved change. (The draft in the document stays
    /// as submitted; a change lives in the events.)
    pub fn filed_hash(&self) -> String {
        self.changes
            .iter()
            .find(|c| matches!(c.outcome, ChangeOutcome::Approved { .. }))
            .map_or_else(|| self.form_hash.clone(), |c| c.before.content_hash())
    }

    /// The change waiting for approval, if one does.
    pub fn pending_change(&self) -> Option<&ChangeState> {
        self.changes.last().filter(|c| c.outcome == ChangeOutcome::Pending)
    }

    /// Whether `person` meets one of `rules` on this permit.
    pub fn allows(&self, rules: &[ActorRule], person: &Person) -> bool {
        rules.iter().any(|r| match r {
            ActorRule::Role(role) => person.has_role(role),
            ActorRule::Permit(party) => self.is_party(*party, person.id),
        })
    }
}

/// Derive the state of permit `permit` from its draft form and stored events (the strings kept
/// in the permit document, see [`SignedEvent::to_stored`]).
pub fn derive(
    permit: PermitId,
    form: &PermitForm,
    stored_events: &[String],
    registry: &Registry,
    now: DateTime<Utc>,
) -> PermitState {
    derive_read(permit, form, read_events(stored_events), registry, now, None)
}

/// A stored event read once: its identity, body and every signature it was stored with, and
/// the event when the body parses. The same body stored twice — in whatever envelope, with
/// whatever signature — is one event; it counts when any of its signatures verifies, so a copy
/// with a forged signature can never knock the genuine one out. Reading is shared by batch
/// signature checks ([`verify_batch`]) and derivation ([`derive_read`]), so a cold start parses
/// each event once.
pub struct ReadEvent {
    pub hash: String,
    pub body: String,
    pub sigs: Vec<String>,
    pub parsed: Result<Event, Violation>,
}

/// Read a permit's stored events, each distinct body once.
pub fn read_events(stored_events: &[String]) -> Vec<ReadEvent> {
    let unique: BTreeSet<&str> = stored_events.iter().map(String::as_str).collect();
    let mut bodies: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut out = Vec::new();
    for raw in unique {
        match SignedEvent::from_stored(raw) {
            Ok(signed) => bodies.entry(signed.body).or_default().push(signed.sig),
            Err(violation) => out.push(ReadEvent {
                hash: event_hash(raw),
                body: raw.to_owned(),
                sigs: Vec::new(),
                parsed: Err(violation),
            }),
        }
    }
    for (body, sigs) in bodies {
        let parsed = serde_json::from_str::<Event>(&body).map_err(|e| Violation::Malformed { reason: e.to_string() });
        out.push(ReadEvent { hash: event_hash(&body), body, sigs, parsed });
    }
    out
}

/// Check the signatures of many read events in one batch against the device keys in
/// `registry`, remembering those that verify in `memo` (see [`crate::signature::verify_batch`]).
pub fn verify_batch<'a>(
    events: impl IntoIterator<Item = &'a ReadEvent>,
    registry: &Registry,
    memo: &SignatureMemo,
    rng: impl RngCore + CryptoRng,
) {
    let items = events.into_iter().flat_map(|read| {
        let device =
            read.parsed.as_ref().ok().and_then(|ev| registry.device(ev.device).filter(|d| !d.revoked_at(ev.time_ms())));
        device.into_iter().flat_map(move |d| {
            read.sigs.iter().map(move |sig| BatchItem { public_key: &d.public_key, sig, message: read.body.as_bytes() })
        })
    });
    crate::signature::verify_batch(items, memo, rng)
}

/// [`derive`] over events already read with [`read_events`], with signature checks remembered
/// in `memo` when one is given.
pub fn derive_read(
    permit: PermitId,
    form: &PermitForm,
    events: Vec<ReadEvent>,
    registry: &Registry,
    now: DateTime<Utc>,
    memo: Option<&SignatureMemo>,
) -> PermitState {
    let ctx = Ctx { registry, draft: form };
    let mut state = initial_state(permit, &ctx);

    let mut readable: Vec<(Event, String, Result<(), Violation>)> = Vec::with_capacity(events.len());
    let mut unreadable: Vec<(String, Violation)> = Vec::new();
    for ReadEvent { hash, body, sigs, parsed } in events {
        match parsed {
            Ok(event) => {
                let mut verdict = Err(Violation::BadSignature);
                for (i, sig) in sigs.iter().enumerate() {
                    let v = verify_signer(&event, sig, &body, registry, memo);
                    if v.is_ok() || i == 0 {
                        verdict = v;
                    }
                    if verdict.is_ok() {
                        break;
                    }
                }
                readable.push((event, hash, verdict));
            }
            Err(v) => unreadable.push((hash, v)),
        }
    }
    readable.sort_by(|a, b| (a.0.at, &a.1).cmp(&(b.0.at, &b.1)));

    let mut timeline = Vec::with_capacity(readable.len() + unreadable.len());
    for (event, hash, verified) in readable {
        if verified.is_ok() {
            state.last_hlc = state.last_hlc.max(event.at);
        }
        let result = verified.and_then(|()| state.apply_whole(&event, &hash, &ctx));
        let outcome = match result {
            Ok(()) => Outcome::Applied,
            Err(violation) => Outcome::Rejected { violation },
        };
        timeline.push(TimelineEntry { event: Some(event), hash, outcome });
    }
    for (hash, violation) in unreadable {
        timeline.push(TimelineEntry { event: None, hash, outcome: Outcome::Rejected { violation } });
    }
    state.timeline = timeline;
    state.alerts = alerts(&state, &ctx, now);
    state
}

/// Would `candidate` be accepted on top of `state`? Returns the state after it, or the rule it
/// breaks. The store calls this before it appends anything, so a refused action writes nothing.
pub fn check(
    state: &PermitState,
    form: &PermitForm,
    registry: &Registry,
    candidate: &Event,
    now: DateTime<Utc>,
) -> Result<PermitState, Violation> {
    let ctx = Ctx { registry, draft: form };
    if candidate.at <= state.last_hlc {
        // Store bug guard: a local event must be ordered after everything it has seen.
        return Err(Violation::Malformed { reason: "event timestamp is not after the permit's last event".into() });
    }
    let hash = candidate.hash();
    let mut next = state.clone();
    next.apply_whole(candidate, &hash, &ctx)?;
    next.last_hlc = candidate.at;
    next.timeline.push(TimelineEntry { event: Some(candidate.clone()), hash, outcome: Outcome::Applied });
    next.alerts = alerts(&next, &ctx, now);
    Ok(next)
}

/// Recompute the `now`-dependent alerts of an already derived state.
pub fn refresh_alerts(
    mut state: PermitState,
    form: &PermitForm,
    registry: &Registry,
    now: DateTime<Utc>,
) -> PermitState {
    state.alerts = alerts(&state, &Ctx { registry, draft: form }, now);
    state
}

/// The inputs every rule needs besides the state itself.
struct Ctx<'a> {
    registry: &'a Registry,
    /// The form as the document holds it now.
    draft: &'a PermitForm,
}

impl<'a> Ctx<'a> {
    fn grade(&self, form: &PermitForm) -> Option<&'a GradeDef> {
        form.definition(&self.registry.catalog).map(|(_, g)| g)
    }
}

/// The steps of `grade`'s flow for a permit with `form`, none signed yet.
fn steps_of(grade: Option<&GradeDef>, form: &PermitForm) -> Vec<StepState> {
    grade
        .map(|g| {
            g.flow_for(form)
                .map(|s| StepState {
                    id: s.id.clone(),
                    name: s.name.clone(),
                    phase: s.phase,
                    role: s.role.clone(),
                    mode: s.mode,
                    signer: s.signer,
                    time_limit_minutes: s.time_limit_minutes,
                    required: form.assignees.get(&s.id).cloned().unwrap_or_default(),
                    signatures: Vec::new(),
                    opened_at: None,
                    done_at: None,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn initial_state(permit: PermitId, ctx: &Ctx) -> PermitState {
    let hash = ctx.draft.content_hash();
    PermitState {
        permit,
        status: Status::Draft,
        current_step: None,
        steps: steps_of(ctx.grade(ctx.draft), ctx.draft),
        form: ctx.draft.clone(),
        form_hash: hash.clone(),
        draft_hash: hash,
        submitted_hash: None,
        gas_tests: Vec::new(),
        shifts: Vec::new(),
        handover: None,
        inside: Vec::new(),
        presence: Vec::new(),
        photos: Vec::new(),
        handwritten: Vec::new(),
        suspension: None,
        fire_watch: None,
        changes: Vec::new(),
        started_at: None,
        completed_at: None,
        closed_at: None,
        last_hlc: Hlc::default(),
        timeline: Vec::new(),
        alerts: Vec::new(),
        acks: Vec::new(),
        unverified_times: Vec::new(),
    }
}

impl PermitState {
    /// Apply `ev` whole or not at all: the rules run on a copy, which replaces the state only
    /// when every one of them passed. (The timeline is not part of the copy.)
    fn apply_whole(&mut self, ev: &Event, hash: &str, ctx: &Ctx) -> Result<(), Violation> {
        let timeline = std::mem::take(&mut self.timeline);
        let mut next = self.clone();
        self.timeline = timeline;
        next.apply(ev, hash, ctx)?;
        next.timeline = std::mem::take(&mut self.timeline);
        *self = next;
        Ok(())
    }

    /// Apply `ev`, and keep its handwritten signature when it carries one.
    fn apply(&mut self, ev: &Event, hash: &str, ctx: &Ctx) -> Result<(), Violation> {
        if let Some(image) = &ev.handwriting {
            if !crate::sync::is_blob_hash(image) {
                return Err(Violation::Malformed {
                    reason: "the handwritten signature is not named by a SHA-256 hash".into(),
                });
            }
            if !ev.kind.takes_handwriting() {
                return Err(Violation::Malformed {
                    reason: format!("a {} takes no handwritten signature", ev.kind.code()),
                });
            }
            if self.handwritten.iter().any(|h| &h.image == image && h.by != ev.actor) {
                return Err(Violation::Malformed { reason: "the handwritten signature is someone else's".into() });
            }
        }
        self.apply_kind(ev, hash, ctx)?;
        if let Some(image) = &ev.handwriting {
            let step = match &ev.kind {
                EventKind::Approve { step, .. }
                | EventKind::Reject { step, .. }
                | EventKind::Accept { step, .. }
                | EventKind::ApproveChange { step, .. }
                | EventKind::RejectChange { step, .. } => Some(step.clone()),
                _ => None,
            };
            self.handwritten.push(Handwritten {
                by: ev.actor,
                at_ms: ev.time_ms(),
                action: ev.kind.code().to_owned(),
                step,
                image: image.clone(),
                content_hash: ev.content_hash.clone(),
                event: hash.to_owned(),
            });
        }
        Ok(())
    }

    fn apply_kind(&mut self, ev: &Event, hash: &str, ctx: &Ctx) -> Result<(), Violation> {
        if ev.permit != self.permit {
            return Err(Violation::WrongPermit);
        }
        let actor = ctx.registry.person(ev.actor).ok_or(Violation::UnknownPerson { person: ev.actor })?;
        if actor.frozen_at(ev.time_ms()) {
            return Err(Violation::FrozenAccount { person: ev.actor });
        }
        if actor.retired_at(ev.time_ms()) {
            return Err(Violation::RetiredPerson { person: ev.actor });
        }
        let device_revocable = ctx.registry.device(ev.device).is_some_and(|d| d.is_revoked());
        let has_freezes =
            actor.frozen_since_ms.is_some() || !actor.past_freezes.is_empty() || actor.retired_ms.is_some();
        if (has_freezes || device_revocable) && !ev.time_verified() {
            self.note_unverified(hash, ev.kind.code());
        }
        if let (Some(record), false) = (&self.submitted_hash, matches!(ev.kind, EventKind::Submit { .. })) {
            // What records a fact on site — a photo, a scan, the entry log — stands when it was
            // made offline over a form of record that a change has since replaced: it agrees to
            // nothing, and the evidence must not be lost. Everything else signs the form now.
            let a_fact = matches!(
                ev.kind,
                EventKind::Photo { .. }
                    | EventKind::CheckIn { .. }
                    | EventKind::CheckOut { .. }
                    | EventKind::Entry { .. }
                    | EventKind::Acknowledge { .. }
            );
            if &ev.content_hash != record && !(a_fact && self.was_form_of_record(&ev.content_hash)) {
                return Err(Violation::ContentHashMismatch);
            }
        }
        match &ev.kind {
            EventKind::Submit { form } => self.submit(ev, hash, actor, form.as_deref(), ctx),
            EventKind::Approve { step, comment } => {
                self.expect_status("approve", &[Status::InApproval])?;
                self.check_window_end(ev, hash)?;
                self.gate(ev, hash, ctx, &[(QualifiedParty::Signer, actor.id)])?;
                self.sign_step(step, Phase::Approval, ev, hash, actor, comment)?;
                if self.current_step.is_none() {
                    self.status = Status::Approved;
                }
                Ok(())
            }
            EventKind::Reject { step, comment } => {
                self.expect_status("reject", &[Status::InApproval])?;
                require_text(comment)?;
                self.check_signer(step, Phase::Approval, actor)?;
                self.gate(ev, hash, ctx, &[(QualifiedParty::Signer, actor.id)])?;
                self.status = Status::Rejected;
                self.current_step = None;
                Ok(())
            }
            EventKind::GasTest { reading } => {
                self.expect_status(
                    "gas_test",
                    &[Status::InApproval, Status::Approved, Status::Active, Status::Suspended],
                )?;
                let grade = ctx.grade(&self.form).ok_or(Violation::UnknownPermitType)?;
                self.require_actor("gas_test", actor, &grade.actions.gas_test)?;
                self.gate(ev, hash, ctx, &[(QualifiedParty::GasTester, actor.id)])?;
                if reading.is_empty() {
                    return Err(Violation::GasReadingEmpty);
                }
                if let Some(gas) = reading.impossible() {
                    return Err(Violation::GasReadingOutOfRange { gas: gas.to_owned() });
                }
                // A reading is only as good as the instrument that gave it (its model and
                // number go on the record, as on the paper form).
                if reading.instrument.trim().is_empty() {
                    return Err(Violation::GasInstrumentMissing);
                }
                if let Some((missing, measured)) =
                    grade.gas_test.as_ref().and_then(|g| g.test_order.as_ref()?.skipped(reading))
                {
                    return Err(Violation::GasTestOrder { missing, measured });
                }
                let exceedances = grade
                    .gas_test
                    .as_ref()
                    .map(|g| {
                        let medium = g.medium_lel_field.as_ref().and_then(|f| self.form.details.get(f)?.as_number());
                        reading.exceedances_for(&g.limits, medium)
                    })
                    .unwrap_or_default();
                // A failing reading while people work stops the work at once.
                if self.status == Status::Active && !exceedances.is_empty() {
                    self.status = Status::Suspended;
                    self.suspension = Some(Suspension::GasTestFailed { at_ms: ev.time_ms(), event: hash.to_owned() });
                }
                self.gas_tests.push(GasTestRecord {
                    event: hash.to_owned(),
                    time_ms: ev.time_ms(),
                    time_verified: ev.time_verified(),
                    tester: ev.actor,
                    reading: reading.clone(),
                    exceedances,
                });
                Ok(())
            }
            EventKind::Start => {
                self.expect_status("start", &[Status::Approved])?;
                let grade = ctx.grade(&self.form).ok_or(Violation::UnknownPermitType)?;
                self.require_actor("start", actor, &grade.actions.start)?;
                self.check_window(ev, hash)?;
                self.gate(ev, hash, ctx, &self.working_parties())?;
                self.check_gas(ev, hash, grade)?;
                if let Some(rule) = &grade.start_photo {
                    if !self.photos.iter().any(|p| p.photo.phase == rule.phase) {
                        return Err(Violation::StartPhotoMissing { phase: rule.phase });
                    }
                }
                self.status = Status::Active;
                self.started_at.get_or_insert(ev.time_ms());
                Ok(())
            }
            EventKind::Suspend { reason } => {
                self.expect_status("suspend", &[Status::Active])?;
                require_text(reason)?;
                let grade = ctx.grade(&self.form).ok_or(Violation::UnknownPermitType)?;
                self.require_actor("suspend", actor, &grade.actions.suspend)?;
                self.status = Status::Suspended;
                self.suspension =
                    Some(Suspension::Stopped { at_ms: ev.time_ms(), by: actor.id, reason: reason.clone() });
                Ok(())
            }
            EventKind::Resume => {
                self.expect_status("resume", &[Status::Suspended])?;
                let grade = ctx.grade(&self.form).ok_or(Violation::UnknownPermitType)?;
                self.require_actor("resume", actor, self.resume_rules(&grade.actions))?;
                if let Some(Suspension::GuardianLeft { .. }) = self.suspension {
                    match self.guardian() {
                        Some(g) if self.on_site(g) => {}
                        Some(guardian) => return Err(Violation::GuardianNotOnSite { guardian }),
                        None => return Err(Violation::NotPermitGuardian),
                    }
                }
                self.check_window(ev, hash)?;
                self.gate(ev, hash, ctx, &self.working_parties())?;
                self.check_gas(ev, hash, grade)?;
                self.check_retest_after_pause(ev, grade)?;
                self.status = Status::Active;
                self.suspension = None;
                Ok(())
            }
            EventKind::Complete => {
                self.expect_status("complete", &[Status::Active])?;
                let grade = ctx.grade(&self.form).ok_or(Violation::UnknownPermitType)?;
                self.require_actor("complete", actor, &grade.actions.complete)?;
                self.require_nobody_inside()?;
                self.status = Status::Completed;
                self.completed_at = Some(ev.time_ms());
                self.fire_watch = grade.fire_watch.as_ref().map(|w| FireWatch {
                    from_ms: ev.time_ms(),
                    until_ms: ev.time_ms().saturating_add(w.minutes.saturating_mul(60_000)),
                    signed_off: None,
                });
                self.open_next_step(Phase::Acceptance, ev.time_ms());
                self.close_when_done(ev.time_ms());
                Ok(())
            }
            EventKind::Accept { step, comment } => {
                self.expect_status("accept", &[Status::Completed])?;
                if let Some(watch) = self.fire_watch.as_ref().filter(|w| w.signed_off.is_none()) {
                    return Err(Violation::FireWatchNotSignedOff { until_ms: watch.until_ms });
                }
                self.gate(ev, hash, ctx, &[(QualifiedParty::Signer, actor.id)])?;
                self.sign_step(step, Phase::Acceptance, ev, hash, actor, comment)?;
                self.close_when_done(ev.time_ms());
                Ok(())
            }
            EventKind::ChangeRequest { change } => self.request_change(ev, hash, actor, change, ctx),
            EventKind::ApproveChange { change, step, comment } => {
                self.expect_status("approve_change", CHANGE_STATUSES)?;
                let idx = self.check_change_signer(change, step, actor)?;
                let mut gated = vec![(QualifiedParty::Signer, actor.id)];
                if let Some(c) = self.pending_change() {
                    // The workers the change adds must still qualify when it is signed.
                    gated.extend(c.change.crew_add.iter().map(|p| (QualifiedParty::Crew, *p)));
                }
                self.gate(ev, hash, ctx, &gated)?;
                let at_ms = ev.time_ms();
                let Some(c) = self.changes.last_mut() else {
                    return Err(Violation::NoSuchChange { change: change.clone() });
                };
                let s = &mut c.steps[idx];
                s.signatures.push(StepSignature {
                    person: actor.id,
                    time_ms: at_ms,
                    event: hash.to_owned(),
                    comment: comment.clone(),
                });
                if s.is_complete() {
                    s.done_at = Some(at_ms);
                    c.current_step = None;
                    if let Some(next) = c.steps.iter_mut().find(|s| s.done_at.is_none()) {
                        next.opened_at = Some(at_ms);
                        c.current_step = Some(next.id.clone());
                    }
                }
                if c.current_step.is_none() {
                    // The last signature: the changed form is the form of record from now on.
                    c.outcome = ChangeOutcome::Approved { at_ms };
                    let after = c.after.clone();
                    let after_hash = after.content_hash();
                    self.form = after;
                    self.form_hash = after_hash.clone();
                    self.submitted_hash = Some(after_hash);
                }
                Ok(())
            }
            EventKind::RejectChange { change, step, comment } => {
                self.expect_status("reject_change", CHANGE_STATUSES)?;
                require_text(comment)?;
                self.check_change_signer(change, step, actor)?;
                self.gate(ev, hash, ctx, &[(QualifiedParty::Signer, actor.id)])?;
                if let Some(c) = self.changes.last_mut() {
                    c.outcome = ChangeOutcome::Rejected { at_ms: ev.time_ms(), by: actor.id, comment: comment.clone() };
                    c.current_step = None;
                }
                Ok(())
            }
            EventKind::FireWatchEnd { note } => {
                self.expect_status("fire_watch_end", &[Status::Completed])?;
                let until_ms = match &self.fire_watch {
                    Some(w) if w.signed_off.is_none() => w.until_ms,
                    _ => return Err(Violation::NoFireWatch),
                };
                let grade = ctx.grade(&self.form).ok_or(Violation::UnknownPermitType)?;
                self.require_actor("fire_watch_end", actor, &grade.actions.fire_watch)?;
                if !ev.time_verified() {
                    self.note_unverified(hash, ev.kind.code());
                }
                if ev.time_ms() < until_ms {
                    return Err(Violation::FireWatchRunning { until_ms });
                }
                if let Some(w) = self.fire_watch.as_mut() {
                    w.signed_off = Some(FireWatchSignOff {
                        by: actor.id,
                        at_ms: ev.time_ms(),
                        note: note.clone(),
                        event: hash.to_owned(),
                    });
                }
                self.close_when_done(ev.time_ms());
                Ok(())
            }
            EventKind::Cancel { reason } => {
                self.expect_status(
                    "cancel",
                    &[Status::Draft, Status::InApproval, Status::Approved, Status::Active, Status::Suspended],
                )?;
                require_text(reason)?;
                let grade = ctx.grade(&self.form).ok_or(Violation::UnknownPermitType)?;
                self.require_actor("cancel", actor, &grade.actions.cancel)?;
                self.require_nobody_inside()?;
                self.status = Status::Cancelled;
                self.current_step = None;
                Ok(())
            }
            EventKind::Comment { text } => require_text(text),
            EventKind::Entry { entrant, inside } => self.entry(ev, hash, entrant, *inside, actor, ctx),
            EventKind::CheckIn { badge, location } => self.check_in(ev, hash, badge, location, actor, ctx),
            EventKind::CheckOut { badge, location } => self.check_out(ev, hash, badge, location, actor, ctx),
            EventKind::Acknowledge { alert } => self.acknowledge(alert, ev, hash, actor, ctx),
            EventKind::Photo { photo } => {
                if let Some(refused) = self.photo_refusal(actor.id) {
                    return Err(refused);
                }
                if let Some(reason) = photo.problem() {
                    return Err(Violation::Malformed { reason });
                }
                if self.photos.iter().any(|p| p.photo.blob == photo.blob) {
                    return Err(Violation::PhotoAttachedAlready);
                }
                self.photos.push(PhotoRecord {
                    by: actor.id,
                    at_ms: ev.time_ms(),
                    time_verified: ev.time_verified(),
                    device: ev.device,
                    photo: photo.clone(),
                    event: hash.to_owned(),
                });
                Ok(())
            }
            EventKind::Handover { to, plant_state, open_items } => {
                self.expect_status("handover", &[Status::Approved, Status::Active, Status::Suspended])?;
                if self.guardian() != Some(actor.id) {
                    return Err(Violation::NotPermitGuardian);
                }
                require_text(plant_state)?;
                let incoming = ctx.registry.person(*to).ok_or(Violation::UnknownPerson { person: *to })?;
                if !self.may_take_over_as_guardian(incoming) {
                    return Err(Violation::NotAGuardianToHandTo { person: *to });
                }
                self.gate(ev, hash, ctx, &[(QualifiedParty::Guardian, *to)])?;
                // A second handover before the first is taken over replaces it.
                self.handover = Some(PendingHandover {
                    from: actor.id,
                    to: *to,
                    plant_state: plant_state.clone(),
                    open_items: open_items.clone(),
                    at_ms: ev.time_ms(),
                    event: hash.to_owned(),
                });
                Ok(())
            }
            EventKind::TakeOver => {
                self.expect_status("take_over", &[Status::Approved, Status::Active, Status::Suspended])?;
                let pending = self.handover.as_ref().ok_or(Violation::NoHandoverPending)?;
                if pending.to != actor.id {
                    return Err(Violation::NotHandoverTarget { to: pending.to });
                }
                self.gate(ev, hash, ctx, &[(QualifiedParty::Guardian, actor.id)])?;
                let Some(pending) = self.handover.as_ref() else { return Err(Violation::NoHandoverPending) };
                let shift =
                    GuardianShift { guardian: actor.id, from_ms: ev.time_ms(), handover: pending.event.clone() };
                self.shifts.push(shift);
                self.handover = None;
                Ok(())
            }
        }
    }

    /// The entrant roster: people of the crew and named tools go in while work is active, and
    /// come out while it is active or suspended (everyone must be able to get out).
    fn entry(
        &mut self,
        ev: &Event,
        hash: &str,
        entrant: &Entrant,
        going_in: bool,
        actor: &Person,
        ctx: &Ctx,
    ) -> Result<(), Violation> {
        let statuses: &[Status] = if going_in { &[Status::Active] } else { &[Status::Active, Status::Suspended] };
        self.expect_status("entry", statuses)?;
        let (ptype, grade) = self.form.definition(&ctx.registry.catalog).ok_or(Violation::UnknownPermitType)?;
        if ptype.entrant_roster.is_none() {
            return Err(Violation::NoEntrantRoster);
        }
        self.require_actor("entry", actor, &grade.actions.roster)?;
        let entrant = entrant.normalized();
        match (&entrant, going_in) {
            (Entrant::Tool(name), _) => require_text(name)?,
            (Entrant::Person(p), true) if !self.form.crew.contains(p) => {
                return Err(Violation::EntrantNotCrew { person: *p });
            }
            (Entrant::Person(p), true) if self.inside.contains(&entrant) => {
                return Err(Violation::AlreadyInside { person: *p });
            }
            // Who goes in must hold the entrant's certificate at that moment.
            (Entrant::Person(p), true) => self.gate(ev, hash, ctx, &[(QualifiedParty::Crew, *p)])?,
            _ => {}
        }
        if going_in {
            self.inside.push(entrant);
        } else {
            let at = self.inside.iter().position(|e| *e == entrant).ok_or(Violation::NotInside { entrant })?;
            self.inside.remove(at);
        }
        Ok(())
    }

    /// Whether `person` is checked in on site now.
    pub fn on_site(&self, person: PersonId) -> bool {
        self.presence.iter().any(|p| p.person == person && p.checked_out.is_none())
    }

    /// Why `person` may not check in on this permit's site now, if they may not: the rule
    /// derivation applies, for the action panel to offer check-in only to whom it would accept
    /// it from.
    pub fn check_in_refusal(&self, person: PersonId) -> Option<Violation> {
        if !matches!(self.status, Status::Approved | Status::Active | Status::Suspended) {
            return Some(Violation::NotAllowedInStatus { action: "check_in".into(), status: self.status });
        }
        let taking_over = self.handover.as_ref().is_some_and(|h| h.to == person);
        let on_permit = self.guardian() == Some(person)
            || taking_over
            || self.form.crew.contains(&person)
            || self.form.applicant == Some(person);
        if !on_permit {
            return Some(Violation::NotOnPermit);
        }
        self.on_site(person).then_some(Violation::AlreadyCheckedIn { person })
    }

    /// Whether handwritten signature `h` was drawn over a form that is no longer the form of
    /// record (an approved change moved it on): it then does not cover what the permit now
    /// says, and shows as broken. A signature on a change itself (asking for it, approving or
    /// refusing it) covers that change to the form it was asked of, and stays whole.
    pub fn signature_broken(&self, h: &Handwritten) -> bool {
        if h.content_hash == self.form_hash {
            return false;
        }
        let on_a_change = matches!(h.action.as_str(), "change_request" | "approve_change" | "reject_change");
        !(on_a_change && self.changes.iter().any(|c| c.before.content_hash() == h.content_hash))
    }

    /// Whether `hash` is the hash of a form this permit has had as its form of record.
    /// An acknowledgement: of an alert raised at the event's time, by someone it asks to act,
    /// once.
    fn acknowledge(&mut self, key: &str, ev: &Event, hash: &str, actor: &Person, ctx: &Ctx) -> Result<(), Violation> {
        if self.status == Status::Draft {
            return Err(Violation::NotAllowedInStatus { action: "acknowledge".into(), status: self.status });
        }
        if self.acks.iter().any(|a| a.key == key) {
            return Err(Violation::AlertAcknowledgedAlready);
        }
        let watch = crate::alerts::PermitWatch::of(self, ctx.draft, ctx.registry);
        let raised = crate::alerts::permit_alerts(&watch, ctx.registry, ev.time_ms());
        let alert = raised.iter().find(|r| r.key == key).ok_or(Violation::NoSuchAlert)?;
        if !alert.act.contains(&actor.id) {
            return Err(Violation::NotAskedToAct);
        }
        self.acks.push(crate::alerts::Acknowledgement {
            key: key.to_owned(),
            by: actor.id,
            at_ms: ev.time_ms(),
            event: hash.to_owned(),
        });
        Ok(())
    }

    fn was_form_of_record(&self, hash: &str) -> bool {
        self.submitted_hash.as_deref() == Some(hash) || self.changes.iter().any(|c| c.before.content_hash() == hash)
    }

    /// Why `person` may not attach a photo now, if they may not: the permit's own people — its
    /// applicant, guardians, crew, gas testers and signers — from filing until it is over.
    pub fn photo_refusal(&self, person: PersonId) -> Option<Violation> {
        if matches!(self.status, Status::Closed | Status::Cancelled | Status::Rejected) {
            return Some(Violation::NotAllowedInStatus { action: "photo".into(), status: self.status });
        }
        let party = self.form.applicant == Some(person)
            || self.form.guardian == Some(person)
            || self.shifts.iter().any(|s| s.guardian == person)
            || self.handover.as_ref().is_some_and(|h| h.to == person)
            || self.form.crew.contains(&person)
            || self.gas_tests.iter().any(|t| t.tester == person)
            || self.steps.iter().any(|s| s.signatures.iter().any(|g| g.person == person));
        (!party).then_some(Violation::NotAPartyToPermit)
    }

    /// A scan of the signer's badge and a location poster, as the trail keeps it. The badge
    /// must be the signer's own: the PIN says who holds the tablet, the badge that they are on
    /// site with it.
    fn scan(
        &self,
        ev: &Event,
        hash: &str,
        badge: &str,
        location: &str,
        actor: &Person,
        ctx: &Ctx,
    ) -> Result<PresenceScan, Violation> {
        let badge = badge.trim();
        if !actor.has_badge(badge) {
            return Err(Violation::BadgeNotTheirs { badge: badge.to_owned() });
        }
        require_text(location)?;
        let location = location.trim();
        let own = self.form.location.and_then(|l| ctx.registry.location(l));
        Ok(PresenceScan {
            at_ms: ev.time_ms(),
            device: ev.device,
            badge: badge.to_owned(),
            location: location.to_owned(),
            location_matches: own.is_some_and(|l| l.code.trim().eq_ignore_ascii_case(location)),
            event: hash.to_owned(),
        })
    }

    /// 到岗签到: the permit's guardian (on duty, or taking over), a worker of its crew or its
    /// applicant, while the permit is issued and not over.
    fn check_in(
        &mut self,
        ev: &Event,
        hash: &str,
        badge: &str,
        location: &str,
        actor: &Person,
        ctx: &Ctx,
    ) -> Result<(), Violation> {
        if let Some(refused) = self.check_in_refusal(actor.id) {
            return Err(refused);
        }
        let scan = self.scan(ev, hash, badge, location, actor, ctx)?;
        self.presence.push(Presence { person: actor.id, checked_in: scan, checked_out: None });
        Ok(())
    }

    /// 离岗签退, whatever the permit's status (someone left on site after it closed checks out
    /// late rather than never). The guardian on duty leaving while work runs suspends it where
    /// the type's presence rule says so.
    fn check_out(
        &mut self,
        ev: &Event,
        hash: &str,
        badge: &str,
        location: &str,
        actor: &Person,
        ctx: &Ctx,
    ) -> Result<(), Violation> {
        let at = self
            .presence
            .iter()
            .rposition(|p| p.person == actor.id && p.checked_out.is_none())
            .ok_or(Violation::NotCheckedIn { person: actor.id })?;
        let scan = self.scan(ev, hash, badge, location, actor, ctx)?;
        self.presence[at].checked_out = Some(scan);
        let rule = self.form.definition(&ctx.registry.catalog).and_then(|(t, _)| t.presence.as_ref());
        let suspends = rule.is_some_and(|r| r.suspend_when_guardian_leaves);
        if suspends && self.status == Status::Active && self.guardian() == Some(actor.id) {
            self.status = Status::Suspended;
            self.suspension =
                Some(Suspension::GuardianLeft { at_ms: ev.time_ms(), guardian: actor.id, event: hash.to_owned() });
        }
        Ok(())
    }

    /// Nobody and nothing may be left inside when work ends.
    fn require_nobody_inside(&self) -> Result<(), Violation> {
        if self.inside.is_empty() {
            return Ok(());
        }
        let mut people = Vec::new();
        let mut tools = Vec::new();
        for e in &self.inside {
            match e {
                Entrant::Person(p) => people.push(*p),
                Entrant::Tool(t) => tools.push(t.clone()),
            }
        }
        Err(Violation::EntrantsInside { people, tools })
    }

    /// The submit rule: the form it carries is the form of record, validated as submitted.
    fn submit(
        &mut self,
        ev: &Event,
        hash: &str,
        actor: &Person,
        carried: Option<&PermitForm>,
        ctx: &Ctx,
    ) -> Result<(), Violation> {
        self.expect_status("submit", &[Status::Draft])?;
        // Events written before the form travelled in the submit name the draft by hash only:
        // they stand when that is the draft the document holds.
        let form = match carried {
            Some(form) => form.clone(),
            None if ev.content_hash == ctx.draft.content_hash() => ctx.draft.clone(),
            None => return Err(Violation::ContentHashMismatch),
        };
        let form_hash = form.content_hash();
        if form_hash != ev.content_hash {
            return Err(Violation::ContentHashMismatch);
        }
        if form.applicant != Some(actor.id) {
            return Err(Violation::NotApplicant);
        }
        let grade = ctx.grade(&form).ok_or(Violation::UnknownPermitType)?;
        let errors = form.validate_at(ctx.registry, ev.time_ms());
        if !errors.is_empty() {
            return Err(Violation::FormInvalid { errors });
        }
        self.note_if_gated(ev, hash, ctx, &form, &Self::named_parties(&form));
        self.steps = steps_of(Some(grade), &form);
        self.form = form;
        self.form_hash = form_hash.clone();
        self.submitted_hash = Some(form_hash);
        self.check_window_end(ev, hash)?;
        self.status = Status::InApproval;
        self.open_next_step(Phase::Approval, ev.time_ms());
        if self.current_step.is_none() {
            self.status = Status::Approved;
        }
        Ok(())
    }

    /// The certificate gate (R-GATE) for `people` in their parts, at the event's time, on
    /// the form of record. A gate that rests on an unverified time is noted as such.
    fn gate(
        &mut self,
        ev: &Event,
        hash: &str,
        ctx: &Ctx,
        people: &[(QualifiedParty, PersonId)],
    ) -> Result<(), Violation> {
        if let Some((ptype, _)) = self.form.definition(&ctx.registry.catalog) {
            for (party, person) in people {
                if let Some(u) = qualification::check(ctx.registry, ptype, &self.form, *party, *person, ev.time_ms()) {
                    return Err(Violation::Unqualified { unqualified: Box::new(u) });
                }
            }
        }
        let form = std::mem::take(&mut self.form);
        self.note_if_gated(ev, hash, ctx, &form, people);
        self.form = form;
        Ok(())
    }

    /// Notes the event's time as unverified when a certificate rule of `form` concerned one of
    /// `people`: a backdated tablet clock must not pass an expired certificate unseen.
    fn note_if_gated(
        &mut self,
        ev: &Event,
        hash: &str,
        ctx: &Ctx,
        form: &PermitForm,
        people: &[(QualifiedParty, PersonId)],
    ) {
        if ev.time_verified() {
            return;
        }
        let Some((ptype, _)) = form.definition(&ctx.registry.catalog) else { return };
        if ptype.qualifications.iter().any(|r| people.iter().any(|(party, _)| r.applies(form, *party))) {
            self.note_unverified(hash, ev.kind.code());
        }
    }

    /// Everyone the form names, in their parts.
    fn named_parties(form: &PermitForm) -> Vec<(QualifiedParty, PersonId)> {
        form.crew
            .iter()
            .map(|p| (QualifiedParty::Crew, *p))
            .chain(form.guardian.map(|g| (QualifiedParty::Guardian, g)))
            .chain(form.applicant.map(|a| (QualifiedParty::Applicant, a)))
            .collect()
    }

    /// Who works now: the crew and the guardian on duty, re-checked when work starts or resumes.
    fn working_parties(&self) -> Vec<(QualifiedParty, PersonId)> {
        self.form
            .crew
            .iter()
            .map(|p| (QualifiedParty::Crew, *p))
            .chain(self.guardian().map(|g| (QualifiedParty::Guardian, g)))
            .collect()
    }

    fn note_unverified(&mut self, hash: &str, action: &str) {
        if !self.unverified_times.iter().any(|(h, _)| h == hash) {
            self.unverified_times.push((hash.to_owned(), action.to_owned()));
        }
    }

    fn expect_status(&self, action: &str, allowed: &[Status]) -> Result<(), Violation> {
        if allowed.contains(&self.status) {
            Ok(())
        } else {
            Err(Violation::NotAllowedInStatus { action: action.to_string(), status: self.status })
        }
    }

    /// `actor` must meet one of `rules` on this permit (catalog data: a party to the permit, or
    /// a plant role).
    fn require_actor(&self, action: &str, actor: &Person, rules: &[ActorRule]) -> Result<(), Violation> {
        if self.allows(rules, actor) {
            Ok(())
        } else {
            Err(Violation::NotPermitActor { action: action.to_string(), allowed: rules.to_vec() })
        }
    }

    /// Is `actor` allowed to sign the open step, of `phase`? (The rule an approval, rejection
    /// or acceptance meets; for offering the action before anyone acts.)
    pub fn may_sign(&self, phase: Phase, actor: &Person) -> Result<usize, Violation> {
        let step = self.current_step.as_deref().ok_or_else(|| Violation::StepNotOpen { step: String::new() })?;
        self.check_signer(step, phase, actor)
    }

    /// Is `actor` allowed to sign open step `step_id` of `phase`?
    fn check_signer(&self, step_id: &str, phase: Phase, actor: &Person) -> Result<usize, Violation> {
        let idx = self
            .steps
            .iter()
            .position(|s| s.id == step_id && s.phase == phase)
            .filter(|_| self.current_step.as_deref() == Some(step_id))
            .ok_or_else(|| Violation::StepNotOpen { step: step_id.to_string() })?;
        self.check_step_signer(&self.steps[idx], &[], actor)?;
        Ok(idx)
    }

    /// Is `actor` allowed to sign the open step of the change waiting for approval? (For
    /// offering it: the step and change are the pending ones.)
    pub fn may_sign_change(&self, actor: &Person) -> Result<(), Violation> {
        let c = self.pending_change().ok_or_else(|| Violation::NoSuchChange { change: String::new() })?;
        let step = c.current_step.clone().unwrap_or_default();
        self.check_change_signer(&c.event.clone(), &step, actor).map(|_| ())
    }

    /// Is `actor` allowed to sign step `step_id` of pending change `change`? The step's index.
    fn check_change_signer(&self, change: &str, step_id: &str, actor: &Person) -> Result<usize, Violation> {
        let c = self
            .pending_change()
            .filter(|c| c.event == change)
            .ok_or_else(|| Violation::NoSuchChange { change: change.to_owned() })?;
        let idx = c
            .steps
            .iter()
            .position(|s| s.id == step_id)
            .filter(|_| c.current_step.as_deref() == Some(step_id))
            .ok_or_else(|| Violation::StepNotOpen { step: step_id.to_string() })?;
        // Whoever the change puts on the crew is no more independent than the crew already is.
        self.check_step_signer(&c.steps[idx], &c.after.crew, actor)?;
        Ok(idx)
    }

    /// The signer rules of one step: its role, independence (never the applicant, a guardian
    /// of the permit, or a worker — of the crew, or of `more_crew`), countersign assignees, and
    /// one signature per person.
    fn check_step_signer(&self, step: &StepState, more_crew: &[PersonId], actor: &Person) -> Result<(), Violation> {
        let step_id = step.id.as_str();
        if !actor.has_role(&step.role) {
            return Err(Violation::MissingRole { roles: vec![step.role.clone()] });
        }
        match step.signer {
            StepSigner::Independent => {
                if self.form.applicant == Some(actor.id) {
                    return Err(Violation::ApproverIsApplicant);
                }
                if self.was_guardian(actor.id) {
                    return Err(Violation::ApproverIsGuardian);
                }
                if self.form.crew.contains(&actor.id) || more_crew.contains(&actor.id) {
                    return Err(Violation::ApproverIsCrew);
                }
            }
            StepSigner::PermitGuardian => {
                if self.guardian() != Some(actor.id) {
                    return Err(Violation::NotPermitGuardian);
                }
            }
        }
        if step.mode == SignMode::Countersign && !step.required.contains(&actor.id) {
            return Err(Violation::NotAssignee { step: step_id.to_string() });
        }
        if step.signatures.iter().any(|s| s.person == actor.id) {
            return Err(Violation::AlreadySigned { step: step_id.to_string() });
        }
        Ok(())
    }

    /// A change request (作业变更): of a grade that allows changes, by someone the grade lets
    /// ask, one at a time; the changed form must be valid as a whole (within the validity cap)
    /// and its window not over. It opens the grade's change steps.
    fn request_change(
        &mut self,
        ev: &Event,
        hash: &str,
        actor: &Person,
        change: &PermitChange,
        ctx: &Ctx,
    ) -> Result<(), Violation> {
        self.expect_status("change_request", CHANGE_STATUSES)?;
        let grade = ctx.grade(&self.form).ok_or(Violation::UnknownPermitType)?;
        if grade.changes.is_none() {
            return Err(Violation::ChangesNotAllowed);
        }
        if self.pending_change().is_some() {
            return Err(Violation::ChangePending);
        }
        self.require_actor("change_request", actor, &grade.actions.change)?;
        require_text(&change.explanation)?;
        let after = change.apply(&self.form);
        if after == self.form {
            return Err(Violation::ChangeChangesNothing);
        }
        // Nobody comes off the crew while still inside the space: out first.
        let still_inside: Vec<PersonId> =
            change.crew_remove.iter().filter(|p| self.inside.contains(&Entrant::Person(**p))).copied().collect();
        if !still_inside.is_empty() {
            return Err(Violation::EntrantsInside { people: still_inside, tools: Vec::new() });
        }
        let errors = after.validate_at(ctx.registry, ev.time_ms());
        if !errors.is_empty() {
            return Err(Violation::FormInvalid { errors });
        }
        self.note_if_gated(ev, hash, ctx, &after, &Self::named_parties(&after));
        if let Some(end) = after.planned_end {
            if !ev.time_verified() {
                self.note_unverified(hash, ev.kind.code());
            }
            if ev.time_ms() >= end.timestamp_millis() {
                return Err(Violation::AfterPlannedEnd);
            }
        }
        let flow = grade.change_steps().into_iter().cloned().collect();
        let mut steps = steps_of(Some(&GradeDef { flow, ..grade.clone() }), &after);
        let current_step = steps.first().map(|s| s.id.clone());
        if let Some(first) = steps.first_mut() {
            first.opened_at = Some(ev.time_ms());
        }
        let approved_at = current_step.is_none().then(|| ev.time_ms());
        self.changes.push(ChangeState {
            event: hash.to_owned(),
            requested_by: actor.id,
            at_ms: ev.time_ms(),
            change: change.clone(),
            before: self.form.clone(),
            after: after.clone(),
            steps,
            current_step,
            outcome: ChangeOutcome::Pending,
        });
        // A change rule with no steps at all takes effect at once.
        if let (Some(at_ms), Some(c)) = (approved_at, self.changes.last_mut()) {
            c.outcome = ChangeOutcome::Approved { at_ms };
            let after_hash = after.content_hash();
            self.form = after;
            self.form_hash = after_hash.clone();
            self.submitted_hash = Some(after_hash);
        }
        Ok(())
    }

    fn sign_step(
        &mut self,
        step_id: &str,
        phase: Phase,
        ev: &Event,
        hash: &str,
        actor: &Person,
        comment: &str,
    ) -> Result<(), Violation> {
        let idx = self.check_signer(step_id, phase, actor)?;
        let step = &mut self.steps[idx];
        step.signatures.push(StepSignature {
            person: actor.id,
            time_ms: ev.time_ms(),
            event: hash.to_owned(),
            comment: comment.to_string(),
        });
        if step.is_complete() {
            step.done_at = Some(ev.time_ms());
            self.open_next_step(phase, ev.time_ms());
        }
        Ok(())
    }

    /// Open the first unfinished step of `phase`, or none when the phase is done.
    fn open_next_step(&mut self, phase: Phase, at_ms: i64) {
        self.current_step = None;
        if let Some(next) = self.steps.iter_mut().find(|s| s.phase == phase && s.done_at.is_none()) {
            next.opened_at.get_or_insert(at_ms);
            self.current_step = Some(next.id.clone());
        }
    }

    /// Close the permit once no acceptance step is open and no fire watch is still waiting.
    fn close_when_done(&mut self, at_ms: i64) {
        let watching = self.fire_watch.as_ref().is_some_and(|w| w.signed_off.is_none());
        if self.current_step.is_none() && !watching {
            self.close(at_ms);
        }
    }

    fn close(&mut self, at_ms: i64) {
        self.status = Status::Closed;
        self.closed_at = Some(at_ms);
    }

    /// Work happens inside the planned window.
    fn check_window(&mut self, ev: &Event, hash: &str) -> Result<(), Violation> {
        if let Some(start) = self.form.planned_start {
            if !ev.time_verified() {
                self.note_unverified(hash, ev.kind.code());
            }
            if ev.time_ms() < start.timestamp_millis() {
                return Err(Violation::BeforePlannedStart);
            }
        }
        self.check_window_end(ev, hash)
    }

    /// Nothing is submitted, approved or started once the planned window is over.
    fn check_window_end(&mut self, ev: &Event, hash: &str) -> Result<(), Violation> {
        if let Some(end) = self.form.planned_end {
            if !ev.time_verified() {
                self.note_unverified(hash, ev.kind.code());
            }
            if ev.time_ms() >= end.timestamp_millis() {
                return Err(Violation::AfterPlannedEnd);
            }
        }
        Ok(())
    }

    /// The latest gas test must exist, pass, and be young enough when work (re)starts. Ages are
    /// compared in milliseconds, never rounded in anyone's favour.
    fn check_gas(&mut self, ev: &Event, hash: &str, grade: &GradeDef) -> Result<(), Violation> {
        let Some(rule) = &grade.gas_test else { return Ok(()) };
        let points = rule.required_points(&self.form);
        if points.is_empty() {
            let last = self.gas_tests.last().ok_or(Violation::GasTestMissing)?.clone();
            return self.check_gas_test(ev, hash, rule, &last);
        }
        // A large space: the latest test at each sample point counts, each on its own.
        for point in points {
            let last = self
                .gas_tests
                .iter()
                .rev()
                .find(|t| t.reading.point.trim() == point.code)
                .ok_or_else(|| Violation::GasTestMissingAt { point: point.code.clone() })?
                .clone();
            self.check_gas_test(ev, hash, rule, &last)?;
        }
        Ok(())
    }

    /// One test, `last`, must pass and be young enough at `ev`.
    fn check_gas_test(
        &mut self,
        ev: &Event,
        hash: &str,
        rule: &crate::catalog::GasTestRule,
        last: &GasTestRecord,
    ) -> Result<(), Violation> {
        if !last.passed() {
            return Err(Violation::GasTestFailed { exceedances: last.exceedances.clone() });
        }
        let unverified = !last.time_verified || !ev.time_verified();
        let age_ms = ev.time_ms() - last.time_ms;
        if age_ms > rule.max_age_minutes * 60_000 {
            // Shown rounded up: a test 30 min and 1 ms old never reads "30 min, at most 30".
            let age_minutes = age_ms.div_euclid(60_000) + i64::from(age_ms.rem_euclid(60_000) != 0);
            return Err(Violation::GasTestTooOld { age_minutes, max_minutes: rule.max_age_minutes });
        }
        if unverified {
            self.note_unverified(hash, ev.kind.code());
        }
        Ok(())
    }
}

impl PermitState {
    /// When work has stopped for longer than the grade's limit, only a gas test taken since it
    /// stopped lets it resume; compared to the millisecond.
    fn check_retest_after_pause(&self, ev: &Event, grade: &GradeDef) -> Result<(), Violation> {
        let Some(max_minutes) = grade.gas_test.as_ref().and_then(|r| r.retest_after_pause_minutes) else {
            return Ok(());
        };
        let stopped_ms = match &self.suspension {
            Some(
                Suspension::Stopped { at_ms, .. }
                | Suspension::GasTestFailed { at_ms, .. }
                | Suspension::GuardianLeft { at_ms, .. },
            ) => *at_ms,
            None => return Ok(()),
        };
        let paused_ms = ev.time_ms() - stopped_ms;
        let tested_since = self.gas_tests.last().is_some_and(|t| t.time_ms >= stopped_ms);
        if paused_ms > max_minutes * 60_000 && !tested_since {
            let paused_minutes = paused_ms.div_euclid(60_000) + i64::from(paused_ms.rem_euclid(60_000) != 0);
            return Err(Violation::GasRetestAfterPause { paused_minutes, max_minutes });
        }
        Ok(())
    }
}

/// Where a permit may be changed: issued and not yet finished.
const CHANGE_STATUSES: &[Status] = &[Status::Approved, Status::Active, Status::Suspended];

fn require_text(text: &str) -> Result<(), Violation> {
    if text.trim().is_empty() {
        Err(Violation::EmptyText)
    } else {
        Ok(())
    }
}

fn alerts(state: &PermitState, ctx: &Ctx, now: DateTime<Utc>) -> Vec<Alert> {
    let watch = crate::alerts::PermitWatch::of(state, ctx.draft, ctx.registry);
    crate::alerts::permit_alerts(&watch, ctx.registry, now.timestamp_millis()).into_iter().map(|r| r.alert).collect()
}
