//! Derivation: a permit's state as a pure function of its form, its events, the registry and
//! `now`.
//!
//! Events are deduplicated, sorted by (HLC, event id) and folded through one state machine, so
//! any two devices holding the same set of events derive the same state whatever order the
//! events arrived in. Every event is checked against the rules before it is applied; one that
//! breaks a rule is kept in the timeline as rejected, with the rule, and changes nothing.
//! `now` is used only for alerts (overdue steps, expired validity), never for the fold itself.

use crate::catalog::{GradeDef, LocalText, Phase, Role, SignMode, StepSigner};
use crate::event::{Event, EventKind, GasExceedance, GasReading, SignedEvent};
use crate::form::PermitForm;
use crate::hlc::Hlc;
use crate::ids::{EventId, PermitId, PersonId};
use crate::registry::{Person, Registry};
use crate::rules::{Alert, Violation};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

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
    pub at: Hlc,
    pub event: EventId,
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
    pub opened_at: Option<Hlc>,
    pub done_at: Option<Hlc>,
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
    pub event: EventId,
    pub at: Hlc,
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
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Everything known about a permit, derived.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PermitState {
    pub permit: PermitId,
    pub status: Status,
    /// The step waiting for signatures, if any.
    pub current_step: Option<String>,
    pub steps: Vec<StepState>,
    /// Hash of the form as it is now, and as it was submitted.
    pub form_hash: String,
    pub submitted_hash: Option<String>,
    pub gas_tests: Vec<GasTestRecord>,
    pub started_at: Option<Hlc>,
    pub completed_at: Option<Hlc>,
    pub closed_at: Option<Hlc>,
    /// The latest HLC of any event, applied or not; the next local event must come after it.
    pub last_hlc: Hlc,
    pub timeline: Vec<TimelineEntry>,
    pub alerts: Vec<Alert>,
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
}

/// The inputs every rule needs besides the state itself.
struct Ctx<'a> {
    registry: &'a Registry,
    form: &'a PermitForm,
    grade: Option<&'a GradeDef>,
}

impl<'a> Ctx<'a> {
    fn new(form: &'a PermitForm, registry: &'a Registry) -> Self {
        let grade = form.definition(&registry.catalog).map(|(_, g)| g);
        Ctx { registry, form, grade }
    }
}

/// Derive the state of permit `permit` from its form and stored events (the strings kept in the
/// permit document, see [`SignedEvent::to_stored`]).
pub fn derive(
    permit: PermitId,
    form: &PermitForm,
    stored_events: &[String],
    registry: &Registry,
    now: DateTime<Utc>,
) -> PermitState {
    derive_read(permit, form, read_events(stored_events), registry, now)
}

/// A stored event read once: the string as stored, and the signed event and its body when
/// they parse. Reading is shared by batch signature checks ([`crate::event::verify_batch`]) and
/// derivation ([`derive_read`]), so a cold start parses each event once.
pub struct ReadEvent<'a> {
    pub raw: &'a str,
    pub parsed: Result<(SignedEvent, Event), Violation>,
}

/// Read a permit's stored events, each distinct string once: the same stored event delivered
/// twice is one event.
pub fn read_events(stored_events: &[String]) -> Vec<ReadEvent<'_>> {
    let unique: BTreeSet<&str> = stored_events.iter().map(String::as_str).collect();
    unique
        .into_iter()
        .map(|raw| ReadEvent {
            raw,
            parsed: SignedEvent::from_stored(raw).and_then(|signed| {
                let event = signed.event()?;
                Ok((signed, event))
            }),
        })
        .collect()
}

/// [`derive`] over events already read with [`read_events`].
pub fn derive_read(
    permit: PermitId,
    form: &PermitForm,
    events: Vec<ReadEvent<'_>>,
    registry: &Registry,
    now: DateTime<Utc>,
) -> PermitState {
    let ctx = Ctx::new(form, registry);
    let mut state = initial_state(permit, &ctx);

    let mut readable: Vec<(Event, &str, Result<(), Violation>)> = Vec::with_capacity(events.len());
    let mut unreadable: Vec<Violation> = Vec::new();
    for ReadEvent { raw, parsed } in events {
        match parsed {
            Ok((signed, event)) => {
                let verified = signed.verify_event(&event, registry);
                readable.push((event, raw, verified));
            }
            Err(v) => unreadable.push(v),
        }
    }
    readable.sort_by(|a, b| (a.0.at, a.0.id, a.1).cmp(&(b.0.at, b.0.id, b.1)));

    let mut seen_ids = BTreeSet::new();
    for (event, _raw, verified) in readable {
        state.last_hlc = state.last_hlc.max(event.at);
        // Only a verified event claims its id: a forged copy carrying a genuine event's id must
        // not be able to knock the genuine one out as a "duplicate".
        let result = verified.and_then(|()| {
            if seen_ids.insert(event.id) {
                state.apply(&event, &ctx)
            } else {
                Err(Violation::DuplicateEventId)
            }
        });
        let outcome = match result {
            Ok(()) => Outcome::Applied,
            Err(violation) => Outcome::Rejected { violation },
        };
        state.timeline.push(TimelineEntry { event: Some(event), outcome });
    }
    for violation in unreadable {
        state.timeline.push(TimelineEntry { event: None, outcome: Outcome::Rejected { violation } });
    }
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
    let ctx = Ctx::new(form, registry);
    let mut next = state.clone();
    if candidate.at <= state.last_hlc {
        // Store bug guard: a local event must be ordered after everything it has seen.
        return Err(Violation::Malformed { reason: "event timestamp is not after the permit's last event".into() });
    }
    if state.timeline.iter().any(|t| t.event.as_ref().is_some_and(|e| e.id == candidate.id)) {
        return Err(Violation::DuplicateEventId);
    }
    next.apply(candidate, &ctx)?;
    next.last_hlc = candidate.at;
    next.timeline.push(TimelineEntry { event: Some(candidate.clone()), outcome: Outcome::Applied });
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
    state.alerts = alerts(&state, &Ctx::new(form, registry), now);
    state
}

fn initial_state(permit: PermitId, ctx: &Ctx) -> PermitState {
    let steps = ctx
        .grade
        .map(|g| {
            g.flow
                .iter()
                .map(|s| StepState {
                    id: s.id.clone(),
                    name: s.name.clone(),
                    phase: s.phase,
                    role: s.role.clone(),
                    mode: s.mode,
                    signer: s.signer,
                    time_limit_minutes: s.time_limit_minutes,
                    required: ctx.form.assignees.get(&s.id).cloned().unwrap_or_default(),
                    signatures: Vec::new(),
                    opened_at: None,
                    done_at: None,
                })
                .collect()
        })
        .unwrap_or_default();
    PermitState {
        permit,
        status: Status::Draft,
        current_step: None,
        steps,
        form_hash: ctx.form.content_hash(),
        submitted_hash: None,
        gas_tests: Vec::new(),
        started_at: None,
        completed_at: None,
        closed_at: None,
        last_hlc: Hlc::default(),
        timeline: Vec::new(),
        alerts: Vec::new(),
    }
}

impl PermitState {
    fn apply(&mut self, ev: &Event, ctx: &Ctx) -> Result<(), Violation> {
        if ev.permit != self.permit {
            return Err(Violation::WrongPermit);
        }
        let actor = ctx.registry.person(ev.actor).ok_or(Violation::UnknownPerson { person: ev.actor })?;
        if actor.frozen_since_ms.is_some_and(|since| ev.at.ms >= since) {
            return Err(Violation::FrozenAccount { person: ev.actor });
        }
        if let (Some(submitted), false) = (&self.submitted_hash, matches!(ev.kind, EventKind::Submit)) {
            if &ev.content_hash != submitted {
                return Err(Violation::ContentHashMismatch);
            }
        }
        match &ev.kind {
            EventKind::Submit => self.submit(ev, actor, ctx),
            EventKind::Approve { step, comment } => {
                self.expect_status("approve", &[Status::InApproval])?;
                self.sign_step(step, Phase::Approval, ev, actor, comment, ctx)?;
                if self.current_step.is_none() {
                    self.status = Status::Approved;
                }
                Ok(())
            }
            EventKind::Reject { step, comment } => {
                self.expect_status("reject", &[Status::InApproval])?;
                require_text(comment)?;
                self.check_signer(step, Phase::Approval, actor, ctx)?;
                self.status = Status::Rejected;
                self.current_step = None;
                Ok(())
            }
            EventKind::GasTest { reading } => {
                self.expect_status(
                    "gas_test",
                    &[Status::InApproval, Status::Approved, Status::Active, Status::Suspended],
                )?;
                let grade = ctx.grade.ok_or(Violation::UnknownPermitType)?;
                require_role(actor, &grade.actions.gas_test)?;
                let exceedances = grade.gas_test.as_ref().map(|g| reading.exceedances(&g.limits)).unwrap_or_default();
                self.gas_tests.push(GasTestRecord {
                    event: ev.id,
                    at: ev.at,
                    tester: ev.actor,
                    reading: reading.clone(),
                    exceedances,
                });
                Ok(())
            }
            EventKind::Start => {
                self.expect_status("start", &[Status::Approved])?;
                let grade = ctx.grade.ok_or(Violation::UnknownPermitType)?;
                require_role(actor, &grade.actions.start)?;
                self.check_window(ev, ctx)?;
                self.check_gas(ev, grade)?;
                self.status = Status::Active;
                self.started_at.get_or_insert(ev.at);
                Ok(())
            }
            EventKind::Suspend { reason } => {
                self.expect_status("suspend", &[Status::Active])?;
                require_text(reason)?;
                require_role(actor, &ctx.grade.ok_or(Violation::UnknownPermitType)?.actions.suspend)?;
                self.status = Status::Suspended;
                Ok(())
            }
            EventKind::Resume => {
                self.expect_status("resume", &[Status::Suspended])?;
                let grade = ctx.grade.ok_or(Violation::UnknownPermitType)?;
                require_role(actor, &grade.actions.resume)?;
                self.check_window(ev, ctx)?;
                self.check_gas(ev, grade)?;
                self.status = Status::Active;
                Ok(())
            }
            EventKind::Complete => {
                self.expect_status("complete", &[Status::Active])?;
                require_role(actor, &ctx.grade.ok_or(Violation::UnknownPermitType)?.actions.complete)?;
                self.status = Status::Completed;
                self.completed_at = Some(ev.at);
                self.open_next_step(Phase::Acceptance, ev.at);
                if self.current_step.is_none() {
                    self.close(ev.at);
                }
                Ok(())
            }
            EventKind::Accept { step, comment } => {
                self.expect_status("accept", &[Status::Completed])?;
                self.sign_step(step, Phase::Acceptance, ev, actor, comment, ctx)?;
                if self.current_step.is_none() {
                    self.close(ev.at);
                }
                Ok(())
            }
            EventKind::Cancel { reason } => {
                self.expect_status(
                    "cancel",
                    &[Status::Draft, Status::InApproval, Status::Approved, Status::Active, Status::Suspended],
                )?;
                require_text(reason)?;
                let grade = ctx.grade.ok_or(Violation::UnknownPermitType)?;
                require_role(actor, &grade.actions.cancel)?;
                self.status = Status::Cancelled;
                self.current_step = None;
                Ok(())
            }
            EventKind::Comment { text } => require_text(text),
        }
    }

    fn submit(&mut self, ev: &Event, actor: &Person, ctx: &Ctx) -> Result<(), Violation> {
        self.expect_status("submit", &[Status::Draft])?;
        if ctx.form.applicant != Some(actor.id) {
            return Err(Violation::NotApplicant);
        }
        if ctx.grade.is_none() {
            return Err(Violation::UnknownPermitType);
        }
        // When the signed hash is the form we hold, the form must be valid. When it is not, the
        // form changed after submission: the submit stands over the content it signed, and the
        // difference is raised as an alert instead of silently re-validating other content.
        if ev.content_hash == self.form_hash {
            let errors = ctx.form.validate(ctx.registry);
            if !errors.is_empty() {
                return Err(Violation::FormInvalid { errors });
            }
        }
        self.submitted_hash = Some(ev.content_hash.clone());
        self.status = Status::InApproval;
        self.open_next_step(Phase::Approval, ev.at);
        if self.current_step.is_none() {
            self.status = Status::Approved;
        }
        Ok(())
    }

    fn expect_status(&self, action: &str, allowed: &[Status]) -> Result<(), Violation> {
        if allowed.contains(&self.status) {
            Ok(())
        } else {
            Err(Violation::NotAllowedInStatus { action: action.to_string(), status: self.status })
        }
    }

    /// Is `actor` allowed to sign open step `step_id` of `phase`?
    fn check_signer(&self, step_id: &str, phase: Phase, actor: &Person, ctx: &Ctx) -> Result<usize, Violation> {
        let idx = self
            .steps
            .iter()
            .position(|s| s.id == step_id && s.phase == phase)
            .filter(|_| self.current_step.as_deref() == Some(step_id))
            .ok_or_else(|| Violation::StepNotOpen { step: step_id.to_string() })?;
        let step = &self.steps[idx];
        if !actor.has_role(&step.role) {
            return Err(Violation::MissingRole { roles: vec![step.role.clone()] });
        }
        match step.signer {
            StepSigner::Independent => {
                if ctx.form.applicant == Some(actor.id) {
                    return Err(Violation::ApproverIsApplicant);
                }
                if ctx.form.guardian == Some(actor.id) {
                    return Err(Violation::ApproverIsGuardian);
                }
                if ctx.form.crew.contains(&actor.id) {
                    return Err(Violation::ApproverIsCrew);
                }
            }
            StepSigner::PermitGuardian => {
                if ctx.form.guardian != Some(actor.id) {
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
        Ok(idx)
    }

    fn sign_step(
        &mut self,
        step_id: &str,
        phase: Phase,
        ev: &Event,
        actor: &Person,
        comment: &str,
        ctx: &Ctx,
    ) -> Result<(), Violation> {
        let idx = self.check_signer(step_id, phase, actor, ctx)?;
        let step = &mut self.steps[idx];
        step.signatures.push(StepSignature { person: actor.id, at: ev.at, event: ev.id, comment: comment.to_string() });
        if step.is_complete() {
            step.done_at = Some(ev.at);
            self.open_next_step(phase, ev.at);
        }
        Ok(())
    }

    /// Open the first unfinished step of `phase`, or none when the phase is done.
    fn open_next_step(&mut self, phase: Phase, at: Hlc) {
        self.current_step = None;
        if let Some(next) = self.steps.iter_mut().find(|s| s.phase == phase && s.done_at.is_none()) {
            next.opened_at.get_or_insert(at);
            self.current_step = Some(next.id.clone());
        }
    }

    fn close(&mut self, at: Hlc) {
        self.status = Status::Closed;
        self.closed_at = Some(at);
    }

    fn check_window(&self, ev: &Event, ctx: &Ctx) -> Result<(), Violation> {
        if let Some(start) = ctx.form.planned_start {
            if ev.at.ms < start.timestamp_millis() {
                return Err(Violation::BeforePlannedStart);
            }
        }
        if let Some(end) = ctx.form.planned_end {
            if ev.at.ms >= end.timestamp_millis() {
                return Err(Violation::AfterPlannedEnd);
            }
        }
        Ok(())
    }

    /// The latest gas test must exist, pass, and be young enough when work (re)starts.
    fn check_gas(&self, ev: &Event, grade: &GradeDef) -> Result<(), Violation> {
        let Some(rule) = &grade.gas_test else { return Ok(()) };
        let last = self.gas_tests.last().ok_or(Violation::GasTestMissing)?;
        if !last.passed() {
            return Err(Violation::GasTestFailed { exceedances: last.exceedances.clone() });
        }
        let age_ms = ev.at.ms - last.at.ms;
        if age_ms > rule.max_age_minutes * 60_000 {
            return Err(Violation::GasTestTooOld { age_minutes: age_ms / 60_000, max_minutes: rule.max_age_minutes });
        }
        Ok(())
    }
}

fn require_role(actor: &Person, roles: &[Role]) -> Result<(), Violation> {
    if actor.has_any_role(roles) {
        Ok(())
    } else {
        Err(Violation::MissingRole { roles: roles.to_vec() })
    }
}

fn require_text(text: &str) -> Result<(), Violation> {
    if text.trim().is_empty() {
        Err(Violation::EmptyText)
    } else {
        Ok(())
    }
}

fn alerts(state: &PermitState, ctx: &Ctx, now: DateTime<Utc>) -> Vec<Alert> {
    let now_ms = now.timestamp_millis();
    let mut out = Vec::new();
    if let Some(step) = state.current_step.as_deref().and_then(|id| state.step(id)) {
        if let Some(opened) = step.opened_at {
            let due_ms = opened.ms + step.time_limit_minutes * 60_000;
            if now_ms > due_ms {
                out.push(Alert::StepOverdue { step: step.id.clone(), due_ms });
            }
        }
    }
    if matches!(state.status, Status::Active | Status::Suspended) {
        if let Some(end) = ctx.form.planned_end {
            if now_ms >= end.timestamp_millis() {
                out.push(Alert::ValidityExpired { end_ms: end.timestamp_millis() });
            }
        }
    }
    if state.status == Status::Active {
        let retest = ctx.grade.and_then(|g| g.gas_test.as_ref()).and_then(|r| r.retest_interval_minutes);
        if let (Some(max_minutes), Some(last)) = (retest, state.gas_tests.iter().rev().find(|t| t.passed())) {
            if now_ms - last.at.ms > max_minutes * 60_000 {
                out.push(Alert::GasRetestDue { last_ms: last.at.ms, max_minutes });
            }
        }
    }
    if state.submitted_hash.as_ref().is_some_and(|h| h != &state.form_hash) {
        out.push(Alert::FormChangedAfterSubmit);
    }
    out
}
