//! The alert engine (R-ALERT, R-SLA): what needs someone's attention, who must act and by when,
//! as a pure function of what each permit is waiting for, the registry and the time.
//!
//! A permit's derivation reduces it to a [`PermitWatch`]: the open step and its signers, the end
//! of its window, the gas re-test it waits for, the fire watch, who must hold which certificates,
//! and the alerts its events raised by themselves (a failing reading, a guardian gone). The watch
//! does not depend on `now`, so a device keeps it with the permit's row and the server with its
//! copy; [`scan`] then turns watches and the registry into [`Raised`] alerts at any moment in
//! a few microseconds per permit. The device's inbox, a permit's detail page and the server's
//! scheduler all call [`scan`] (or [`permit_alerts`]), so for the same data they raise the
//! same alerts.
//!
//! Thresholds and the escalation chain are catalog data ([`AlertingRules`]); severity is the
//! engine's: what can hurt someone now is critical, what is late is a warning, what is coming
//! a notice.

use crate::catalog::{AlertingRules, EscalateTo, Role};
use crate::derive::{PermitState, Status, Suspension};
use crate::event::Entrant;
use crate::form::PermitForm;
use crate::ids::{LocationId, PermitId, PersonId};
use crate::offers::{self, ActionKind};
use crate::qualification::{self, QualifiedParty, Standing, Unqualified, DAY_MS};
use crate::registry::{Person, Registry};
use crate::rules::Alert;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How loud an alert is. SMS and the tablet's alarm are for critical ones only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Notice,
    Warning,
    Critical,
}

/// What an alert is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "subject", rename_all = "snake_case")]
pub enum Subject {
    Permit { permit: PermitId },
    Certificate { person: PersonId, certificate: uuid::Uuid },
}

/// Someone's acknowledgement of an alert: "I have it" (a signed event on the permit).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    pub key: String,
    pub by: PersonId,
    pub at_ms: i64,
    /// The acknowledging event ([`crate::SignedEvent::hash`]).
    pub event: String,
}

/// An alert raised now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Raised {
    pub alert: Alert,
    pub severity: Severity,
    pub subject: Subject,
    /// The permit's location, for routing by area.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationId>,
    /// Who must act, in the registry's order, without repeats.
    pub act: Vec<PersonId>,
    /// The roles it is routed to (the channels' routing), besides the people.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Role>,
    /// For an overdue step, how many levels of the escalation chain it has reached.
    pub level: u32,
    /// By when it must be handled (the limit, the end, the expiry), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<i64>,
    /// When the alert came due by its rule (the threshold it crossed), when the data says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_ms: Option<i64>,
    /// The alert's identity, stable while it lasts: what an acknowledgement names.
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<Acknowledgement>,
}

impl Raised {
    /// The alert and its level: a notification is sent once per channel per state.
    pub fn state_key(&self) -> String {
        format!("{}#{}", self.key, self.level)
    }

    pub fn permit(&self) -> Option<PermitId> {
        match self.subject {
            Subject::Permit { permit } => Some(permit),
            Subject::Certificate { .. } => None,
        }
    }
}

/// A step waiting for signatures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenStep {
    pub id: String,
    /// The change whose step it is ([`crate::derive::ChangeState::event`]), if it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
    pub role: Role,
    pub opened_ms: i64,
    pub time_limit_minutes: i64,
    /// Who may sign it now.
    pub signers: Vec<PersonId>,
    /// The role of the flow's next step of the same phase: the level above in the chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_role: Option<Role>,
}

impl OpenStep {
    pub fn due_ms(&self) -> i64 {
        self.opened_ms.saturating_add(self.time_limit_minutes.saturating_mul(60_000))
    }
}

/// Someone named on a live permit and the certificate rules their part asks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateNeed {
    pub person: PersonId,
    pub party: QualifiedParty,
    /// Codes of the type's qualification rules that apply to them on this form.
    pub rules: Vec<String>,
}

/// What a permit waits for, reduced by its derivation: everything the engine needs, and
/// nothing that depends on `now`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PermitWatch {
    pub permit: PermitId,
    pub permit_type: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applicant: Option<PersonId>,
    /// The guardian on duty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardian: Option<PersonId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<OpenStep>,
    /// The end of the window of a permit whose work is running (active or suspended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until_ms: Option<i64>,
    /// Active work's last passing gas test and how often one is due: (time, minutes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas_retest: Option<(i64, i64)>,
    /// A fire watch not signed off: its end and who may sign it off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fire_watch: Option<(i64, Vec<PersonId>)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<CertificateNeed>,
    /// The alerts the events raised by themselves, with when.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub standing: Vec<Alert>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acks: Vec<Acknowledgement>,
    /// A live permit's planned window and what the catalog's conflict rules compare, when its
    /// type is named in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simops: Option<Simops>,
}

/// What another permit's watch is compared with for simultaneous operations (SIMOPS).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Simops {
    pub title: String,
    pub from_ms: i64,
    pub to_ms: i64,
    /// The fields the rules compare, as [`crate::form::FieldValue::as_key`] gives them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

impl PermitWatch {
    /// The watch of a derived permit. `draft` is the form the document holds (for a draft's
    /// signers), `registry` the one it was derived against.
    pub fn of(state: &PermitState, draft: &PermitForm, registry: &Registry) -> PermitWatch {
        let form = &state.form;
        let running = matches!(state.status, Status::Active | Status::Suspended);
        let grade = form.definition(&registry.catalog).map(|(_, g)| g);
        let ptype = registry.catalog.permit_type(&form.permit_type);
        let signers = |action: ActionKind| -> Vec<PersonId> {
            registry
                .people
                .iter()
                .filter(|p| offers::may(state, draft, registry, p, action).is_ok())
                .map(|p| p.id)
                .collect()
        };
        let step = open_step(state, signers);
        let gas_retest = (state.status == Status::Active)
            .then(|| grade.and_then(|g| g.gas_test.as_ref()).and_then(|r| r.retest_interval_minutes))
            .flatten()
            .and_then(|every| state.gas_tests.iter().rev().find(|t| t.passed()).map(|t| (t.time_ms, every)));
        let fire_watch = state
            .fire_watch
            .as_ref()
            .filter(|w| w.signed_off.is_none() && state.status == Status::Completed)
            .map(|w| (w.until_ms, signers(ActionKind::FireWatchEnd)));
        let live = matches!(state.status, Status::InApproval | Status::Approved | Status::Active | Status::Suspended);
        let mut needs = Vec::new();
        if let (true, Some(ptype)) = (live, ptype) {
            let named = form
                .crew
                .iter()
                .map(|p| (QualifiedParty::Crew, *p))
                .chain(state.guardian().map(|g| (QualifiedParty::Guardian, g)))
                .chain(form.applicant.map(|a| (QualifiedParty::Applicant, a)));
            for (party, person) in named {
                let rules =
                    ptype.qualifications.iter().filter(|r| r.applies(form, party)).map(|r| r.code.clone()).collect();
                needs.push(CertificateNeed { person, party, rules });
            }
        }
        PermitWatch {
            permit: state.permit,
            permit_type: form.permit_type.clone(),
            status: state.status,
            location: form.location,
            applicant: form.applicant,
            guardian: state.guardian(),
            step,
            valid_until_ms: running.then(|| form.planned_end.map(|e| e.timestamp_millis())).flatten(),
            gas_retest,
            fire_watch,
            needs,
            standing: standing_alerts(state, registry),
            acks: state.acks.clone(),
            simops: live.then(|| simops(state, registry)).flatten(),
        }
    }

    /// Whether there is anything to watch: a permit with none is left out of every scan.
    pub fn is_empty(&self) -> bool {
        self.step.is_none()
            && self.valid_until_ms.is_none()
            && self.gas_retest.is_none()
            && self.fire_watch.is_none()
            && self.needs.is_empty()
            && self.standing.is_empty()
            && self.simops.is_none()
    }

    fn ack(&self, key: &str) -> Option<&Acknowledgement> {
        self.acks.iter().find(|a| a.key == key)
    }
}

/// A live permit's window and compared fields, when some conflict rule names its type.
fn simops(state: &PermitState, registry: &Registry) -> Option<Simops> {
    let form = &state.form;
    let rules: Vec<_> =
        registry.catalog.alerting.conflicts.iter().filter(|r| r.types.contains(&form.permit_type)).collect();
    if rules.is_empty() {
        return None;
    }
    let (from, to) = (form.planned_start?, form.planned_end?);
    let fields = rules
        .iter()
        .filter_map(|r| r.field.as_ref())
        .filter_map(|f| form.details.get(f).and_then(|v| v.as_key()).map(|v| (f.clone(), v)))
        .collect();
    Some(Simops { title: form.title.clone(), from_ms: from.timestamp_millis(), to_ms: to.timestamp_millis(), fields })
}

fn open_step(state: &PermitState, signers: impl Fn(ActionKind) -> Vec<PersonId>) -> Option<OpenStep> {
    let (steps, current, change, action) = match state.pending_change() {
        Some(c) => (&c.steps, c.current_step.as_deref(), Some(c.event.clone()), ActionKind::ApproveChange),
        None => {
            let action = match state.status {
                Status::InApproval => ActionKind::Approve,
                Status::Completed if state.fire_watch.as_ref().is_none_or(|w| w.signed_off.is_some()) => {
                    ActionKind::Accept
                }
                _ => return None,
            };
            (&state.steps, state.current_step.as_deref(), None, action)
        }
    };
    let at = steps.iter().position(|s| Some(s.id.as_str()) == current)?;
    let step = &steps[at];
    let opened_ms = step.opened_at?;
    let next_role = steps[at + 1..].iter().find(|s| s.phase == step.phase).map(|s| s.role.clone());
    Some(OpenStep {
        id: step.id.clone(),
        change,
        role: step.role.clone(),
        opened_ms,
        time_limit_minutes: step.time_limit_minutes,
        signers: signers(action),
        next_role,
    })
}

/// The alerts a permit's events raised by themselves, whatever the time.
fn standing_alerts(state: &PermitState, registry: &Registry) -> Vec<Alert> {
    let mut out = Vec::new();
    if state.status == Status::Suspended && !state.inside.is_empty() {
        let people = state.inside.iter().filter(|e| matches!(e, Entrant::Person(_))).count() as u32;
        out.push(Alert::InsideWhileSuspended { people, tools: state.inside.len() as u32 - people });
    }
    if let (Status::Suspended, Some(Suspension::GasTestFailed { at_ms, .. })) = (state.status, &state.suspension) {
        out.push(Alert::GasFailedDuringWork { at_ms: *at_ms });
    }
    if state.submitted_hash.is_some() && state.draft_hash != state.filed_hash() {
        out.push(Alert::FormChangedAfterSubmit);
    }
    for (event, action) in &state.unverified_times {
        out.push(Alert::UnverifiedTime { event: event.clone(), action: action.clone() });
    }
    let expected = state.form.location.and_then(|l| registry.location(l)).map(|l| l.code.clone());
    for p in &state.presence {
        for scan in std::iter::once(&p.checked_in).chain(p.checked_out.as_ref()).filter(|s| !s.location_matches) {
            let alert =
                Alert::WrongLocation { person: p.person, scanned: scan.location.clone(), expected: expected.clone() };
            // One alert per person and place, however often they scanned it.
            if !out.contains(&alert) {
                out.push(alert);
            }
        }
    }
    if let (Status::Suspended, Some(Suspension::GuardianLeft { at_ms, guardian, .. })) =
        (state.status, &state.suspension)
    {
        out.push(Alert::GuardianLeft { guardian: *guardian, at_ms: *at_ms });
    }
    if matches!(state.status, Status::Closed | Status::Cancelled) {
        let mut people: Vec<PersonId> = Vec::new();
        for p in state.presence.iter().filter(|p| p.checked_out.is_none()) {
            if !people.contains(&p.person) {
                people.push(p.person);
            }
        }
        if !people.is_empty() {
            out.push(Alert::NotCheckedOut { people });
        }
    }
    out
}

/// People in good standing who hold `role`.
fn holders<'a>(registry: &'a Registry, role: &Role, now_ms: i64) -> impl Iterator<Item = PersonId> + 'a {
    let role = role.clone();
    registry.people.iter().filter(move |p| p.has_role(&role) && active(p, now_ms)).map(|p| p.id)
}

fn active(p: &Person, now_ms: i64) -> bool {
    !p.frozen_at(now_ms) && !p.retired_at(now_ms)
}

/// Collects people once each.
#[derive(Default)]
struct People(Vec<PersonId>);

impl People {
    fn add(&mut self, people: impl IntoIterator<Item = PersonId>) -> &mut Self {
        for p in people {
            if !self.0.contains(&p) {
                self.0.push(p);
            }
        }
        self
    }
}

/// The permit's alerts at `now_ms`, most severe first.
pub fn permit_alerts(w: &PermitWatch, registry: &Registry, now_ms: i64) -> Vec<Raised> {
    let rules = &registry.catalog.alerting;
    let mut out = Vec::new();
    let site: Vec<PersonId> = w.guardian.into_iter().chain(w.applicant).collect();
    let raise = |alert: Alert, severity, key: String, act: Vec<PersonId>, deadline_ms, since_ms| Raised {
        alert,
        severity,
        subject: Subject::Permit { permit: w.permit },
        location: w.location,
        act,
        roles: Vec::new(),
        level: 0,
        deadline_ms,
        since_ms,
        acknowledged: w.ack(&key).cloned(),
        key,
    };
    if let Some(step) = &w.step {
        let due_ms = step.due_ms();
        let reminder_ms = (due_ms - rules.step_reminder_minutes * 60_000).max(step.opened_ms);
        if now_ms >= reminder_ms && now_ms <= due_ms {
            let key = format!("step_due/{}/{}/{}", step.change.as_deref().unwrap_or(""), step.id, step.opened_ms);
            out.push(raise(
                Alert::StepDueSoon { step: step.id.clone(), due_ms },
                Severity::Notice,
                key,
                step.signers.clone(),
                Some(due_ms),
                Some(reminder_ms),
            ));
        }
        out.extend(overdue(w, step, rules, registry, now_ms));
    }
    if let Some(end_ms) = w.valid_until_ms {
        let warn_ms = end_ms - rules.validity_warning_minutes * 60_000;
        if now_ms >= end_ms {
            let key = format!("validity_expired/{end_ms}");
            out.push(raise(
                Alert::ValidityExpired { end_ms },
                Severity::Critical,
                key,
                site.clone(),
                Some(end_ms),
                Some(end_ms),
            ));
        } else if now_ms >= warn_ms {
            let key = format!("validity_ending/{end_ms}");
            out.push(raise(
                Alert::ValidityEnding { end_ms },
                Severity::Warning,
                key,
                site.clone(),
                Some(end_ms),
                Some(warn_ms),
            ));
        }
    }
    if let Some((last_ms, every)) = w.gas_retest {
        let due_ms = last_ms + every * 60_000;
        let warn_ms = due_ms - rules.gas_retest_warning_minutes * 60_000;
        if now_ms > due_ms {
            out.push(raise(
                Alert::GasRetestDue { last_ms, max_minutes: every },
                Severity::Critical,
                format!("gas_retest_due/{last_ms}"),
                site.clone(),
                Some(due_ms),
                Some(due_ms),
            ));
        } else if now_ms >= warn_ms {
            out.push(raise(
                Alert::GasRetestDueSoon { last_ms, max_minutes: every, due_ms },
                Severity::Warning,
                format!("gas_retest_soon/{last_ms}"),
                site.clone(),
                Some(due_ms),
                Some(warn_ms),
            ));
        }
    }
    if let Some((until_ms, watchers)) = &w.fire_watch {
        let until_ms = *until_ms;
        let warn_ms = until_ms - rules.fire_watch_warning_minutes * 60_000;
        let mut act = People::default();
        act.add(watchers.iter().copied()).add(w.guardian);
        if now_ms >= until_ms {
            let key = format!("fire_watch_over/{until_ms}");
            out.push(raise(Alert::FireWatchOver { until_ms }, Severity::Warning, key, act.0, None, Some(until_ms)));
        } else if now_ms >= warn_ms {
            let key = format!("fire_watch_ending/{until_ms}");
            out.push(raise(
                Alert::FireWatchEnding { until_ms },
                Severity::Notice,
                key,
                act.0,
                Some(until_ms),
                Some(warn_ms),
            ));
        }
    }
    if let Some(ptype) = registry.catalog.permit_type(&w.permit_type) {
        let managers = Role::new("safety_manager");
        for need in &w.needs {
            let applying = ptype.qualifications.iter().filter(|r| need.rules.contains(&r.code));
            if let Some(why) = qualification::check_rules(registry, applying, need.party, need.person, now_ms) {
                let since_ms = unqualified_since(registry, &why);
                let mut act = People::default();
                act.add(site.iter().copied()).add([need.person]).add(holders(registry, &managers, now_ms));
                let key = format!("unqualified/{}/{}", need.person, need.party.code());
                let mut r =
                    raise(Alert::Unqualified { unqualified: why }, Severity::Critical, key, act.0, None, since_ms);
                r.roles = vec![managers.clone()];
                out.push(r);
            }
        }
    }
    for alert in &w.standing {
        let (severity, key, since_ms, act) = match alert {
            Alert::GasFailedDuringWork { at_ms } => {
                (Severity::Critical, format!("gas_failed/{at_ms}"), Some(*at_ms), site.clone())
            }
            Alert::InsideWhileSuspended { .. } => {
                (Severity::Critical, "inside_while_suspended".into(), None, site.clone())
            }
            Alert::GuardianLeft { guardian, at_ms } => {
                (Severity::Critical, format!("guardian_left/{guardian}/{at_ms}"), Some(*at_ms), site.clone())
            }
            Alert::NotCheckedOut { people } => {
                let mut act = People::default();
                act.add(people.iter().copied()).add(site.iter().copied());
                (Severity::Critical, "not_checked_out".into(), None, act.0)
            }
            Alert::WrongLocation { person, scanned, .. } => {
                (Severity::Warning, format!("wrong_location/{person}/{scanned}"), None, site.clone())
            }
            Alert::FormChangedAfterSubmit => (Severity::Warning, "form_changed".into(), None, site.clone()),
            Alert::UnverifiedTime { event, action } => {
                (Severity::Notice, format!("unverified_time/{event}/{action}"), None, site.clone())
            }
            other => (Severity::Warning, other.code().to_owned(), None, site.clone()),
        };
        out.push(raise(alert.clone(), severity, key, act, None, since_ms));
    }
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.deadline_ms.cmp(&b.deadline_ms)));
    out
}

/// An overdue step, escalated level by level past its limit; an acknowledgement stops it at
/// the level it had reached.
fn overdue(
    w: &PermitWatch,
    step: &OpenStep,
    rules: &AlertingRules,
    registry: &Registry,
    now_ms: i64,
) -> Option<Raised> {
    let due_ms = step.due_ms();
    if now_ms <= due_ms {
        return None;
    }
    let key = format!("step_overdue/{}/{}/{}", step.change.as_deref().unwrap_or(""), step.id, step.opened_ms);
    let acknowledged = w.ack(&key).cloned();
    let until = acknowledged.as_ref().map_or(now_ms, |a| a.at_ms.clamp(due_ms + 1, now_ms));
    let reached: Vec<_> = rules.escalation.iter().take_while(|l| until >= due_ms + l.after_minutes * 60_000).collect();
    let mut act = People::default();
    act.add(step.signers.iter().copied());
    let mut roles = vec![step.role.clone()];
    for level in &reached {
        let role = match &level.to {
            EscalateTo::NextStep => step.next_role.clone().unwrap_or_else(|| step.role.clone()),
            EscalateTo::Role { role } => role.clone(),
        };
        act.add(holders(registry, &role, now_ms));
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    let level = reached.len() as u32;
    let since_ms = due_ms + reached.last().map_or(0, |l| l.after_minutes * 60_000);
    let next_ms = rules.escalation.get(reached.len()).map(|l| due_ms + l.after_minutes * 60_000);
    Some(Raised {
        alert: Alert::StepOverdue { step: step.id.clone(), due_ms, level },
        severity: if level >= 2 { Severity::Critical } else { Severity::Warning },
        subject: Subject::Permit { permit: w.permit },
        location: w.location,
        act: act.0,
        roles,
        level,
        deadline_ms: if acknowledged.is_some() { None } else { next_ms },
        since_ms: Some(since_ms),
        key,
        acknowledged,
    })
}

/// When a person stopped qualifying, when the register says.
fn unqualified_since(registry: &Registry, why: &Unqualified) -> Option<i64> {
    use crate::qualification::{CertificateProblem, Disqualification};
    match &why.why {
        Disqualification::Retired { since_ms } => Some(*since_ms),
        Disqualification::Frozen => registry.person(why.person).and_then(|p| p.frozen_since_ms),
        Disqualification::Certificate { best: Some(seen), .. } => match seen.problem {
            CertificateProblem::Expired { valid_to_ms } => Some(valid_to_ms),
            CertificateProblem::Revoked { revoked_ms } => Some(revoked_ms),
            CertificateProblem::InsideMargin { valid_to_ms, margin_days } => {
                Some(valid_to_ms - i64::from(margin_days) * DAY_MS)
            }
            CertificateProblem::NotYetValid { .. } => None,
        },
        _ => None,
    }
}

/// The register's own alerts at `now_ms`: certificates of people in the register expiring
/// within their type's warning days (a notice to the holder) or expired (a warning, to the
/// holder and the safety managers).
pub fn registry_alerts(registry: &Registry, now_ms: i64) -> Vec<Raised> {
    qualification::expiry_warnings(registry, None, now_ms)
        .into_iter()
        .filter_map(|w| {
            let warn_days = registry.catalog.certificate_type(&w.cert_type).map(|t| t.warn_days).unwrap_or(0);
            let (alert, severity, since_ms, roles) = match w.standing {
                Standing::Expiring => (
                    Alert::CertificateExpiring {
                        person: w.person,
                        cert_type: w.cert_type.clone(),
                        number: w.number.clone(),
                        valid_to_ms: w.valid_to_ms,
                    },
                    Severity::Notice,
                    w.valid_to_ms - i64::from(warn_days) * DAY_MS,
                    Vec::new(),
                ),
                Standing::Expired => (
                    Alert::CertificateExpired {
                        person: w.person,
                        cert_type: w.cert_type.clone(),
                        number: w.number.clone(),
                        valid_to_ms: w.valid_to_ms,
                    },
                    Severity::Warning,
                    w.valid_to_ms,
                    vec![Role::new("safety_manager")],
                ),
                _ => return None,
            };
            let kind = if severity == Severity::Notice { "certificate_expiring" } else { "certificate_expired" };
            let mut act = People::default();
            act.add([w.person]);
            for role in &roles {
                act.add(holders(registry, role, now_ms));
            }
            Some(Raised {
                alert,
                severity,
                subject: Subject::Certificate { person: w.person, certificate: w.certificate },
                location: None,
                act: act.0,
                roles,
                level: 0,
                deadline_ms: (severity == Severity::Notice).then_some(w.valid_to_ms),
                since_ms: Some(since_ms),
                key: format!("{kind}/{}/{}", w.certificate, w.valid_to_ms),
                acknowledged: None,
            })
        })
        .collect()
}

/// The conflicts between live permits (SIMOPS) at `now_ms`, by the catalog's rules: for each
/// pair whose planned windows overlap on one item or at one location, an alert on both — a
/// warning, critical once either's work runs — to each permit's applicant and guardian and
/// the safety managers. It ends when either permit is closed, cancelled or changed apart.
pub fn conflict_alerts(watches: &[&PermitWatch], registry: &Registry, now_ms: i64) -> Vec<Raised> {
    let rules = &registry.catalog.alerting.conflicts;
    let mut out = Vec::new();
    if rules.is_empty() {
        return out;
    }
    let live: Vec<(&PermitWatch, &Simops)> =
        watches.iter().filter_map(|w| w.simops.as_ref().map(|s| (*w, s))).collect();
    let managers = Role::new("safety_manager");
    let raise = |rule: &crate::catalog::ConflictRule,
                 (w, s): (&PermitWatch, &Simops),
                 (o, os): (&PermitWatch, &Simops),
                 shared: &str| {
        let running = |w: &PermitWatch| matches!(w.status, Status::Active | Status::Suspended);
        let mut act = People::default();
        act.add(w.applicant).add(w.guardian).add(holders(registry, &managers, now_ms));
        let key = format!("conflict/{}/{}", rule.code, o.permit);
        Raised {
            alert: Alert::Conflict {
                rule: rule.code.clone(),
                other: o.permit,
                other_title: os.title.clone(),
                shared: shared.to_owned(),
            },
            severity: if running(w) || running(o) { Severity::Critical } else { Severity::Warning },
            subject: Subject::Permit { permit: w.permit },
            location: w.location,
            act: act.0,
            roles: vec![managers.clone()],
            level: 0,
            deadline_ms: Some(s.from_ms.max(os.from_ms)),
            since_ms: None,
            acknowledged: w.ack(&key).cloned(),
            key,
        }
    };
    for rule in rules {
        let of = |t: &str| -> Vec<(&PermitWatch, &Simops)> {
            live.iter().copied().filter(|(w, _)| w.permit_type == t).collect()
        };
        let (firsts, seconds) = (of(&rule.types[0]), of(&rule.types[1]));
        for (i, &a) in firsts.iter().enumerate() {
            for (j, &b) in seconds.iter().enumerate() {
                // Two of one type: each pair once.
                if a.0.permit == b.0.permit || (rule.types[0] == rule.types[1] && j <= i) {
                    continue;
                }
                // A draft that revises a rejected permit is not live, nor is the rejected one:
                // two live permits are two jobs whatever their forms say.
                let (sa, sb) = (a.1, b.1);
                if sa.from_ms >= sb.to_ms || sb.from_ms >= sa.to_ms {
                    continue;
                }
                let shared = match &rule.field {
                    Some(f) => match (sa.fields.get(f), sb.fields.get(f)) {
                        (Some(x), Some(y)) if x == y => x.clone(),
                        _ => continue,
                    },
                    None if a.0.location.is_some() && a.0.location == b.0.location => String::new(),
                    None => continue,
                };
                out.push(raise(rule, a, b, &shared));
                out.push(raise(rule, b, a, &shared));
            }
        }
    }
    out
}

/// Every alert of the plant at `now_ms`: each watched permit's, the conflicts between them and
/// the register's, most severe first, then by deadline.
pub fn scan<'a>(watches: impl IntoIterator<Item = &'a PermitWatch>, registry: &Registry, now_ms: i64) -> Vec<Raised> {
    let watches: Vec<&PermitWatch> = watches.into_iter().collect();
    let mut out: Vec<Raised> = watches.iter().flat_map(|w| permit_alerts(w, registry, now_ms)).collect();
    out.extend(conflict_alerts(&watches, registry, now_ms));
    out.extend(registry_alerts(registry, now_ms));
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.deadline_ms.cmp(&b.deadline_ms)));
    out
}

/// The alerts `person` must act on, unacknowledged first.
pub fn for_person(alerts: &[Raised], person: PersonId) -> Vec<&Raised> {
    let mut mine: Vec<&Raised> = alerts.iter().filter(|a| a.act.contains(&person)).collect();
    mine.sort_by_key(|a| a.acknowledged.is_some());
    mine
}
