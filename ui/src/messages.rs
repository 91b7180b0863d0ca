//! Domain data in words: every [`Violation`], [`Alert`], [`FieldProblem`], [`Status`], event
//! kind, [`CommandError`], [`SyncFailure`], [`QrFailure`] and [`RefusalCode`] turned into a
//! sentence in the current language.
//!
//! ptw-core names rules as data and never builds text, so this module is the one place where a
//! refusal becomes words; a new variant in ptw-core fails to compile here until it has a
//! sentence. Templates live in `locales/*.json` with `{name}` placeholders, filled by [`fill`]
//! (leptos_i18n's own `{{ var }}` interpolation only renders into views, and these messages are
//! also needed as plain strings). Names that are data — people, roles, steps, locations,
//! precautions — come from the [`Directory`] through [`Names`].
//!
//! Errors arrive here as typed kinds, never as sentences to recognise: a failure the person can
//! act on has a variant, and its sentence says what to do.

use crate::i18n::*;
use ptw_core::api::{CommandError, Directory, PhotoFailure, QrFailure, SyncFailure};
use ptw_core::authority::OpProblem;
use ptw_core::calendar::CalendarCondition;
use ptw_core::catalog::{ActorRule, FieldKind, GradeDef, PermitParty, PermitTypeDef, Role};
use ptw_core::event::{Entrant, EventKind, GasExceedance, PhotoPhase};
use ptw_core::form::{Field, FieldError, FieldProblem};
use ptw_core::offers::{ActionKind, Turn};
use ptw_core::qualification::{CertificateProblem, Disqualification, QualifiedParty, Unqualified, DAY_MS};
use ptw_core::rules::{Alert, Violation};
use ptw_core::sync::RefusalCode;
use ptw_core::{DeviceId, LocationId, PersonId, Status};
use std::fmt::Display;

/// Replaces each `{key}` of `template` with its value.
pub fn fill(template: &str, args: &[(&str, &dyn Display)]) -> String {
    let mut out = template.to_owned();
    for (key, value) in args {
        out = out.replace(&format!("{{{key}}}"), &value.to_string());
    }
    out
}

/// The first characters of an id, for a thing the directory does not know.
pub fn short_id(id: impl Display) -> String {
    id.to_string().chars().take(8).collect()
}

/// What made a grade required, for [`Names::grade_reasons`]: the parts of
/// [`FieldProblem::GradeBelowRequired`] and of [`ptw_core::form::GradeRequirement`].
pub struct GradeWhy<'a> {
    pub location_class: Option<&'a str>,
    pub raised_by: &'a [CalendarCondition],
    pub subtype: Option<&'a str>,
    pub computed_from: Option<&'a str>,
    pub aggravated_by: &'a [String],
    /// The questions answered yes that set a least grade, by field code.
    pub set_by: &'a [String],
    /// The waiver answered yes that lowered the location's floor, by field code.
    pub waived_by: Option<&'a str>,
}

/// Looks up the names of data (people, roles, steps…) in the current language.
pub struct Names<'a> {
    pub dir: &'a Directory,
    pub locale: Locale,
    /// The permit type and grade in question, for step and precaution names.
    pub permit_type: Option<&'a PermitTypeDef>,
    pub grade: Option<&'a GradeDef>,
}

impl<'a> Names<'a> {
    pub fn new(dir: &'a Directory, locale: Locale) -> Self {
        Names { dir, locale, permit_type: None, grade: None }
    }

    /// Names for one permit: its type and grade give the step and precaution names.
    pub fn for_permit(dir: &'a Directory, locale: Locale, permit_type: &str, grade: &str) -> Self {
        let t = dir.catalog.permit_type(permit_type);
        Names { dir, locale, permit_type: t, grade: t.and_then(|t| t.grade(grade)) }
    }

    /// `zh-CN` or `en`: the key of [`ptw_core::catalog::LocalText`].
    pub fn lang(&self) -> &'static str {
        self.locale.as_str()
    }

    /// A certificate type's name from the catalog, else its code.
    pub fn certificate_type(&self, code: &str) -> String {
        self.dir.catalog.certificate_type(code).map_or_else(|| code.to_owned(), |t| t.name.get(self.lang()).to_owned())
    }

    /// A conflict rule's name (SIMOPS), by its code.
    pub fn conflict(&self, code: &str) -> String {
        self.dir
            .catalog
            .alerting
            .conflicts
            .iter()
            .find(|c| c.code == code)
            .map_or_else(|| code.to_owned(), |c| c.name.get(self.lang()).to_owned())
    }

    pub fn person(&self, id: PersonId) -> String {
        self.dir.people.iter().find(|p| p.id == id).map(|p| p.name.clone()).unwrap_or_else(|| short_id(id))
    }

    pub fn people(&self, ids: &[PersonId]) -> String {
        self.join(ids.iter().map(|id| self.person(*id)))
    }

    pub fn role(&self, role: &Role) -> String {
        match self.dir.catalog.role(role) {
            Some(def) => def.name.get(self.lang()).to_owned(),
            None => role.as_str().to_owned(),
        }
    }

    pub fn roles(&self, roles: &[Role]) -> String {
        self.join(roles.iter().map(|r| self.role(r)))
    }

    pub fn step(&self, id: &str) -> String {
        self.grade.and_then(|g| g.step(id)).map(|s| s.name.get(self.lang()).to_owned()).unwrap_or_else(|| id.to_owned())
    }

    pub fn location(&self, id: Option<LocationId>) -> String {
        let Some(id) = id else { return String::new() };
        self.dir.locations.iter().find(|l| l.id == id).map(|l| l.name.clone()).unwrap_or_else(|| short_id(id))
    }

    /// A person by name, a tool by its name.
    pub fn entrant(&self, entrant: &Entrant) -> String {
        match entrant {
            Entrant::Person(p) => self.person(*p),
            Entrant::Tool(name) => name.clone(),
        }
    }

    /// A grade of the permit's type by its catalog name.
    pub fn grade_name(&self, code: &str) -> String {
        self.permit_type
            .and_then(|t| t.grade(code))
            .map(|g| g.name.get(self.lang()).to_owned())
            .unwrap_or_else(|| code.to_owned())
    }

    /// Why a grade is required: "作业地点属于「管廊」，计划时间在夜间、公休日（升一级管理）".
    pub fn grade_reasons(&self, why: &GradeWhy) -> String {
        let l = self.locale;
        let mut parts = Vec::new();
        if let Some(class) = why.location_class {
            parts.push(fill(td_string!(l, problem.reason_location), &[("class", &self.location_class(class))]));
        }
        if let Some(subtype) = why.subtype {
            parts.push(fill(td_string!(l, problem.reason_subtype), &[("subtype", &self.subtype(subtype))]));
        }
        if let Some(field) = why.computed_from {
            parts.push(fill(td_string!(l, problem.reason_computed), &[("field", &self.detail(field))]));
        }
        if !why.aggravated_by.is_empty() {
            let factors = self.join(why.aggravated_by.iter().map(|f| self.detail(f)));
            parts.push(fill(td_string!(l, problem.reason_aggravated), &[("factors", &factors)]));
        }
        if !why.set_by.is_empty() {
            let fields = self.join(why.set_by.iter().map(|f| self.detail(f)));
            parts.push(fill(td_string!(l, problem.reason_set_by), &[("fields", &fields)]));
        }
        if let Some(field) = why.waived_by {
            parts.push(fill(td_string!(l, problem.reason_waived), &[("field", &self.detail(field))]));
        }
        let raised_by = why.raised_by;
        if !raised_by.is_empty() {
            let when = self.join(raised_by.iter().map(|c| calendar_condition(l, *c).to_owned()));
            parts.push(fill(td_string!(l, problem.reason_raised), &[("when", &when)]));
        }
        parts.join(td_string!(l, clause_separator))
    }

    /// A sub-type of the permit's type by its catalog name.
    pub fn subtype(&self, code: &str) -> String {
        self.permit_type
            .and_then(|t| t.subtype(code))
            .map(|s| s.name.get(self.lang()).to_owned())
            .unwrap_or_else(|| code.to_owned())
    }

    /// A sample point of the grade's gas test (上部…) by its catalog name.
    pub fn sample_point(&self, code: &str) -> String {
        self.grade
            .and_then(|g| g.gas_test.as_ref())
            .and_then(|r| r.sample_points.iter().find(|p| p.code == code))
            .map(|p| p.name.get(self.lang()).to_owned())
            .unwrap_or_else(|| code.to_owned())
    }

    /// One of the type's own fields by its catalog name.
    pub fn detail(&self, code: &str) -> String {
        self.permit_type
            .and_then(|t| t.field(code))
            .map(|f| f.name.get(self.lang()).to_owned())
            .unwrap_or_else(|| code.to_owned())
    }

    /// A value of one of the type's own fields as the permit shows it: "12.5 m", "是", a
    /// choice by its name, text as written.
    pub fn detail_value(&self, code: &str, value: &ptw_core::FieldValue) -> String {
        use ptw_core::FieldValue as V;
        match value {
            V::YesNo(true) => td_string!(self.locale, form.yes).to_owned(),
            V::YesNo(false) => td_string!(self.locale, form.no).to_owned(),
            V::Number(v) => format!("{v} {}", self.unit(code)).trim_end().to_owned(),
            V::Text(t) => match self.permit_type.and_then(|t| t.field(code)).map(|f| &f.kind) {
                Some(FieldKind::Choice { options }) => options
                    .iter()
                    .find(|o| &o.code == t)
                    .map(|o| o.name.get(self.lang()).to_owned())
                    .unwrap_or_else(|| t.clone()),
                _ => t.clone(),
            },
        }
    }

    /// The unit of a number field of the type, if it has one.
    fn unit(&self, code: &str) -> String {
        match self.permit_type.and_then(|t| t.field(code)).map(|f| &f.kind) {
            Some(FieldKind::Number { unit, .. }) => unit.clone(),
            _ => String::new(),
        }
    }

    /// A location class (火灾爆炸危险场所…) by its catalog name.
    pub fn location_class(&self, code: &str) -> String {
        self.dir
            .catalog
            .location_class(code)
            .map(|c| c.name.get(self.lang()).to_owned())
            .unwrap_or_else(|| code.to_owned())
    }

    pub fn precaution(&self, code: &str) -> String {
        self.permit_type
            .and_then(|t| t.precautions.iter().find(|p| p.code == code))
            .map(|p| p.text.get(self.lang()).to_owned())
            .unwrap_or_else(|| code.to_owned())
    }

    /// "动火作业 · 一级动火": the type and grade as the catalog names them.
    pub fn type_and_grade(&self, permit_type: &str, grade: &str) -> String {
        let Some(t) = self.dir.catalog.permit_type(permit_type) else {
            return format!("{permit_type} · {grade}");
        };
        let g = t.grade(grade).map(|g| g.name.get(self.lang()).to_owned()).unwrap_or_else(|| grade.to_owned());
        format!("{} · {}", t.name.get(self.lang()), g)
    }

    pub fn join(&self, items: impl Iterator<Item = String>) -> String {
        items.collect::<Vec<_>>().join(td_string!(self.locale, list_separator))
    }

    /// "甲、乙或丙": alternatives, any one of which will do.
    pub fn join_or(&self, items: impl Iterator<Item = String>) -> String {
        let mut items: Vec<String> = items.collect();
        let Some(last) = items.pop() else { return String::new() };
        if items.is_empty() {
            return last;
        }
        format!("{}{}{last}", self.join(items.into_iter()), td_string!(self.locale, list_or))
    }

    /// Who an [`ActorRule`] lets act: a party to this permit, or the holders of a plant role.
    pub fn actor_rule(&self, rule: &ActorRule) -> String {
        match rule {
            ActorRule::Permit(party) => party_text(self.locale, *party).to_owned(),
            ActorRule::Role(role) => self.role(role),
        }
    }

    fn device(&self, id: DeviceId) -> String {
        short_id(id)
    }
}

pub fn status_text(locale: Locale, status: Status) -> &'static str {
    match status {
        Status::Draft => td_string!(locale, status.draft),
        Status::InApproval => td_string!(locale, status.in_approval),
        Status::Approved => td_string!(locale, status.approved),
        Status::Active => td_string!(locale, status.active),
        Status::Suspended => td_string!(locale, status.suspended),
        Status::Completed => td_string!(locale, status.completed),
        Status::Closed => td_string!(locale, status.closed),
        Status::Rejected => td_string!(locale, status.rejected),
        Status::Cancelled => td_string!(locale, status.cancelled),
    }
}

/// The name of an action as ptw-core's rules spell it (`EventKind::code`, and the `action` of
/// [`Violation::NotAllowedInStatus`]).
pub fn action_text(locale: Locale, code: &str) -> String {
    let text = match code {
        "submit" => td_string!(locale, event.submit),
        "approve" => td_string!(locale, event.approve),
        "reject" => td_string!(locale, event.reject),
        "gas_test" => td_string!(locale, event.gas_test),
        "start" => td_string!(locale, event.start),
        "suspend" => td_string!(locale, event.suspend),
        "resume" => td_string!(locale, event.resume),
        "complete" => td_string!(locale, event.complete),
        "accept" => td_string!(locale, event.accept),
        "cancel" => td_string!(locale, event.cancel),
        "comment" => td_string!(locale, event.comment),
        "entry" => td_string!(locale, event.entry),
        "handover" => td_string!(locale, event.handover),
        "take_over" => td_string!(locale, event.take_over),
        "fire_watch_end" => td_string!(locale, event.fire_watch_end),
        "change_request" => td_string!(locale, event.change_request),
        "approve_change" => td_string!(locale, event.approve_change),
        "reject_change" => td_string!(locale, event.reject_change),
        "check_in" => td_string!(locale, event.check_in),
        "check_out" => td_string!(locale, event.check_out),
        "photo" => td_string!(locale, event.photo),
        "acknowledge" => td_string!(locale, event.acknowledge),
        other => return other.to_owned(),
    };
    text.to_owned()
}

/// The step that moves a permit on, as in "等待 车间主任 刘洋 审批".
fn turn_action_text(locale: Locale, action: ActionKind) -> String {
    let text = match action {
        ActionKind::Submit | ActionKind::Edit => td_string!(locale, turn.submit),
        ActionKind::Approve => td_string!(locale, turn.approve),
        ActionKind::Start => td_string!(locale, turn.start),
        ActionKind::Resume => td_string!(locale, turn.resume),
        ActionKind::Complete => td_string!(locale, turn.complete),
        ActionKind::Accept => td_string!(locale, turn.accept),
        ActionKind::TakeOver => td_string!(locale, turn.take_over),
        ActionKind::FireWatchEnd => td_string!(locale, turn.fire_watch_end),
        ActionKind::ApproveChange => td_string!(locale, turn.approve_change),
        other => return action_text(locale, other.code()),
    };
    text.to_owned()
}

/// Whose turn it is, in words: "等待 车间主任 刘洋 审批", "等待 李娜 开始作业", "轮到您：审批";
/// `None` when nothing is waited for.
pub fn turn_text(names: &Names, turn: &Turn, me: Option<PersonId>) -> Option<String> {
    let locale = names.locale;
    let action = turn_action_text(locale, turn.action?);
    if me.is_some_and(|me| turn.who.contains(&me)) {
        return Some(fill(td_string!(locale, turn.yours), &[("action", &action)]));
    }
    if turn.who_count == 0 {
        return Some(fill(td_string!(locale, turn.nobody), &[("action", &action)]));
    }
    let named = names.people(&turn.who);
    let who = if turn.who_count as usize > turn.who.len() {
        fill(td_string!(locale, turn.and_more), &[("names", &named), ("count", &turn.who_count)])
    } else {
        named
    };
    Some(match &turn.role {
        Some(role) => fill(
            td_string!(locale, turn.waiting_role),
            &[("role", &names.role(role)), ("who", &who), ("action", &action)],
        ),
        None => fill(td_string!(locale, turn.waiting), &[("who", &who), ("action", &action)]),
    })
}

pub fn event_kind_text(locale: Locale, kind: &EventKind) -> String {
    match kind {
        EventKind::Entry { inside: true, .. } => td_string!(locale, event.entry_in).to_owned(),
        EventKind::Entry { inside: false, .. } => td_string!(locale, event.entry_out).to_owned(),
        other => action_text(locale, other.code()),
    }
}

/// A group of gases, as "可燃气体" / "flammables".
fn gas_group_text(locale: Locale, group: ptw_core::catalog::GasGroup) -> &'static str {
    use ptw_core::catalog::GasGroup;
    match group {
        GasGroup::Oxygen => td_string!(locale, gas_group.oxygen),
        GasGroup::Flammables => td_string!(locale, gas_group.flammables),
        GasGroup::Toxics => td_string!(locale, gas_group.toxics),
    }
}

/// A party to one permit, as "本票监护人" / "this permit's guardian".
fn party_text(locale: Locale, party: PermitParty) -> &'static str {
    match party {
        PermitParty::Applicant => td_string!(locale, party.applicant),
        PermitParty::Guardian => td_string!(locale, party.guardian),
        PermitParty::Crew => td_string!(locale, party.crew),
        PermitParty::Approver => td_string!(locale, party.approver),
    }
}

pub fn field_text(locale: Locale, field: Field) -> &'static str {
    match field {
        Field::PermitType => td_string!(locale, form.permit_type),
        Field::Grade => td_string!(locale, form.grade),
        Field::Title => td_string!(locale, form.title),
        Field::Location => td_string!(locale, form.location),
        Field::WorkDescription => td_string!(locale, form.work_description),
        Field::PlannedStart => td_string!(locale, form.planned_start),
        Field::PlannedEnd => td_string!(locale, form.planned_end),
        Field::Applicant => td_string!(locale, form.applicant),
        Field::Guardian => td_string!(locale, form.guardian),
        Field::Crew => td_string!(locale, form.crew),
        Field::Hazards => td_string!(locale, form.hazards),
        Field::Precautions => td_string!(locale, form.precautions),
        Field::Assignees => td_string!(locale, form.assignees),
        Field::Subtype => td_string!(locale, form.subtype),
        Field::Details => td_string!(locale, form.section_details),
    }
}

fn hours(minutes: i64) -> String {
    if minutes % 60 == 0 {
        (minutes / 60).to_string()
    } else {
        format!("{:.1}", minutes as f64 / 60.0)
    }
}

/// Why a person may not take part, naming the person, their part, the certificate and the rule.
pub fn unqualified_text(n: &Names, u: &Unqualified) -> String {
    use crate::time::format_day;
    let l = n.locale;
    let party = match u.party {
        QualifiedParty::Crew => td_string!(l, qualification.party_crew),
        QualifiedParty::Guardian => td_string!(l, qualification.party_guardian),
        QualifiedParty::GasTester => td_string!(l, qualification.party_gas_tester),
        QualifiedParty::Applicant => td_string!(l, qualification.party_applicant),
        QualifiedParty::Signer => td_string!(l, qualification.party_signer),
    };
    let person = n.person(u.person);
    let filled = |template: &str, extra: &[(&str, String)]| {
        let mut args: Vec<(&str, &dyn Display)> = vec![("person", &person), ("party", &party)];
        args.extend(extra.iter().map(|(k, v)| (*k, v as &dyn Display)));
        fill(template, &args)
    };
    match &u.why {
        Disqualification::UnknownPerson => filled(td_string!(l, qualification.unknown_person), &[]),
        Disqualification::Retired { since_ms } => {
            filled(td_string!(l, qualification.retired), &[("since", format_day(*since_ms))])
        }
        Disqualification::Frozen => filled(td_string!(l, qualification.frozen), &[]),
        Disqualification::Certificate { any_of, margin_days, source, best, .. } => {
            let needed = n.join_or(any_of.iter().map(|c| n.certificate_type(c)));
            let rule = if *margin_days > 0 {
                let args = [("needed", needed.clone()), ("days", margin_days.to_string())];
                filled(td_string!(l, qualification.rule_margin), &args)
            } else {
                filled(td_string!(l, qualification.rule_valid), &[("needed", needed.clone())])
            };
            let found = match best {
                None => filled(td_string!(l, qualification.none_held), &[("needed", needed)]),
                Some(seen) => {
                    let cert = ("certificate", n.certificate_type(&seen.cert_type));
                    let number = ("number", seen.number.clone());
                    match &seen.problem {
                        CertificateProblem::InsideMargin { valid_to_ms, .. } => {
                            let left = (*valid_to_ms - crate::time::now_ms()).div_euclid(DAY_MS);
                            let args =
                                [cert, number, ("until", format_day(*valid_to_ms - 1)), ("days", left.to_string())];
                            filled(td_string!(l, qualification.inside_margin), &args)
                        }
                        CertificateProblem::Expired { valid_to_ms } => {
                            let args = [cert, number, ("until", format_day(*valid_to_ms - 1))];
                            filled(td_string!(l, qualification.expired), &args)
                        }
                        CertificateProblem::NotYetValid { valid_from_ms } => {
                            let args = [cert, number, ("from", format_day(*valid_from_ms))];
                            filled(td_string!(l, qualification.not_yet_valid), &args)
                        }
                        CertificateProblem::Revoked { revoked_ms } => {
                            let args = [cert, number, ("at", format_day(*revoked_ms))];
                            filled(td_string!(l, qualification.revoked), &args)
                        }
                    }
                }
            };
            fill(td_string!(l, qualification.sentence), &[("found", &found), ("rule", &rule), ("source", source)])
        }
    }
}

pub fn field_problem_text(n: &Names, problem: &FieldProblem) -> String {
    let l = n.locale;
    match problem {
        FieldProblem::Unqualified { unqualified } => unqualified_text(n, unqualified),
        FieldProblem::Required => td_string!(l, problem.required).to_owned(),
        FieldProblem::UnknownPermitType => td_string!(l, problem.unknown_permit_type).to_owned(),
        FieldProblem::UnknownGrade => td_string!(l, problem.unknown_grade).to_owned(),
        FieldProblem::UnknownLocation => td_string!(l, problem.unknown_location).to_owned(),
        FieldProblem::UnknownPerson => td_string!(l, problem.unknown_person).to_owned(),
        FieldProblem::EndNotAfterStart => td_string!(l, problem.end_not_after_start).to_owned(),
        FieldProblem::GradeBelowRequired {
            min_grade,
            location_class,
            raised_by,
            subtype,
            computed_from,
            aggravated_by,
            set_by,
            waived_by,
        } => {
            let why = GradeWhy {
                location_class: location_class.as_deref(),
                raised_by,
                subtype: subtype.as_deref(),
                computed_from: computed_from.as_deref(),
                aggravated_by,
                set_by,
                waived_by: waived_by.as_deref(),
            };
            fill(
                td_string!(l, problem.grade_below_required),
                &[("reasons", &n.grade_reasons(&why)), ("grade", &n.grade_name(min_grade))],
            )
        }
        FieldProblem::UnknownSubtype => td_string!(l, problem.unknown_subtype).to_owned(),
        FieldProblem::DetailRequired { code } => {
            fill(td_string!(l, problem.detail_required), &[("field", &n.detail(code))])
        }
        FieldProblem::DetailOutOfRange { code, min, max } => {
            let unit = n.unit(code);
            let show = |v: &f64| format!("{v} {unit}").trim_end().to_owned();
            let (template, a, b) = match (min, max) {
                (Some(lo), Some(hi)) => (td_string!(l, problem.detail_between), show(lo), show(hi)),
                (Some(lo), None) => (td_string!(l, problem.detail_at_least), show(lo), String::new()),
                (None, Some(hi)) => (td_string!(l, problem.detail_at_most), show(hi), String::new()),
                (None, None) => (td_string!(l, problem.detail_invalid), String::new(), String::new()),
            };
            fill(template, &[("field", &n.detail(code)), ("min", &a), ("max", &b)])
        }
        FieldProblem::DetailInvalid { code } => {
            fill(td_string!(l, problem.detail_invalid), &[("field", &n.detail(code))])
        }
        FieldProblem::DetailUnknown { code } => {
            fill(td_string!(l, problem.detail_unknown), &[("field", &n.detail(code))])
        }
        FieldProblem::ValidityTooLong { max_minutes, planned_minutes } => fill(
            td_string!(l, problem.validity_too_long),
            &[("planned", &hours(*planned_minutes)), ("max", &hours(*max_minutes))],
        ),
        FieldProblem::GuardianNotIndependent => td_string!(l, problem.guardian_not_independent).to_owned(),
        FieldProblem::PrecautionNotConfirmed { code } => {
            fill(td_string!(l, problem.precaution_not_confirmed), &[("item", &n.precaution(code))])
        }
        FieldProblem::AssigneesMissing { step } => {
            fill(td_string!(l, problem.assignees_missing), &[("step", &n.step(step))])
        }
        FieldProblem::AssigneeLacksRole { step, person } => {
            let role = n.grade.and_then(|g| g.step(step)).map(|s| n.role(&s.role)).unwrap_or_default();
            fill(
                td_string!(l, problem.assignee_lacks_role),
                &[("person", &n.person(*person)), ("step", &n.step(step)), ("role", &role)],
            )
        }
        FieldProblem::PersonLacksRole { person, role } => fill(
            td_string!(l, problem.person_lacks_role),
            &[("person", &n.person(*person)), ("role", &n.role(&Role::new(role)))],
        ),
    }
}

/// "作业名称：必填": a field problem with the field it belongs to.
pub fn field_error_text(n: &Names, error: &FieldError) -> String {
    format!(
        "{}{}{}",
        field_text(n.locale, error.field),
        td_string!(n.locale, label_separator),
        field_problem_text(n, &error.problem)
    )
}

pub fn change_reason_text(locale: Locale, reason: ptw_core::ChangeReason) -> &'static str {
    use ptw_core::ChangeReason as R;
    match reason {
        R::Weather => td_string!(locale, change.reason_weather),
        R::EquipmentFault => td_string!(locale, change.reason_equipment_fault),
        R::ScopeChange => td_string!(locale, change.reason_scope_change),
        R::Other => td_string!(locale, change.reason_other),
    }
}

pub fn calendar_condition(locale: Locale, c: CalendarCondition) -> &'static str {
    match c {
        CalendarCondition::Holiday => td_string!(locale, calendar.holiday),
        CalendarCondition::RestDay => td_string!(locale, calendar.rest_day),
        CalendarCondition::Night => td_string!(locale, calendar.night),
    }
}

fn gas_name(locale: Locale, gas: &str) -> &'static str {
    match gas {
        "lel" => td_string!(locale, gas.lel),
        "h2s" => td_string!(locale, gas.h2s),
        "co" => td_string!(locale, gas.co),
        "flammable_vol" => td_string!(locale, gas.flammable_vol),
        _ => td_string!(locale, gas.o2),
    }
}

/// The unit a gas is read in.
pub fn gas_unit(gas: &str) -> &'static str {
    match gas {
        "lel" => "%LEL",
        "h2s" | "co" => "ppm",
        "flammable_vol" => "% vol",
        _ => "%",
    }
}

/// "可燃气体 12 %LEL，高于上限 10 %LEL": one reading outside its limit.
pub fn exceedance_text(locale: Locale, e: &GasExceedance) -> String {
    let (code, missing) = match e.gas.strip_suffix("_missing") {
        Some(code) => (code, true),
        None => (e.gas.as_str(), false),
    };
    let base = code.strip_suffix("_low").or_else(|| code.strip_suffix("_high")).unwrap_or(code);
    let name = gas_name(locale, base);
    let unit = gas_unit(base);
    let limit = format!("{} {unit}", e.limit);
    if missing {
        return fill(td_string!(locale, gas.missing), &[("gas", &name), ("limit", &limit)]);
    }
    let value = e.value.map(|v| format!("{v} {unit}")).unwrap_or_default();
    let template = if code.ends_with("_low") { td_string!(locale, gas.below) } else { td_string!(locale, gas.above) };
    fill(template, &[("gas", &name), ("value", &value), ("limit", &limit)])
}

/// The rule a refused or rejected event broke, in words, with its parameters.
pub fn violation_text(n: &Names, v: &Violation) -> String {
    let l = n.locale;
    match v {
        Violation::Malformed { reason } => fill(td_string!(l, violation.malformed), &[("reason", reason)]),
        Violation::BadSignature => td_string!(l, violation.bad_signature).to_owned(),
        Violation::UnknownDevice { device } => {
            fill(td_string!(l, violation.unknown_device), &[("device", &n.device(*device))])
        }
        Violation::RevokedDevice { device } => {
            fill(td_string!(l, violation.revoked_device), &[("device", &n.device(*device))])
        }
        Violation::WrongPermit => td_string!(l, violation.wrong_permit).to_owned(),
        Violation::UnknownPerson { person } => {
            fill(td_string!(l, violation.unknown_person), &[("person", &n.person(*person))])
        }
        Violation::FrozenAccount { person } => {
            fill(td_string!(l, violation.frozen_account), &[("person", &n.person(*person))])
        }
        Violation::RetiredPerson { person } => {
            fill(td_string!(l, violation.retired_person), &[("person", &n.person(*person))])
        }
        Violation::Unqualified { unqualified } => unqualified_text(n, unqualified),
        Violation::MissingRole { roles } => fill(td_string!(l, violation.missing_role), &[("roles", &n.roles(roles))]),
        Violation::NotPermitActor { action, allowed } => fill(
            td_string!(l, violation.not_permit_actor),
            &[("allowed", &n.join_or(allowed.iter().map(|r| n.actor_rule(r)))), ("action", &action_text(l, action))],
        ),
        Violation::NotApplicant => td_string!(l, violation.not_applicant).to_owned(),
        Violation::NotPermitGuardian => td_string!(l, violation.not_permit_guardian).to_owned(),
        Violation::NotAllowedInStatus { action, status } => fill(
            td_string!(l, violation.not_allowed_in_status),
            &[("action", &action_text(l, action)), ("status", &status_text(l, *status))],
        ),
        Violation::StepNotOpen { step } => fill(td_string!(l, violation.step_not_open), &[("step", &n.step(step))]),
        Violation::AlreadySigned { step } => fill(td_string!(l, violation.already_signed), &[("step", &n.step(step))]),
        Violation::NotAssignee { step } => fill(td_string!(l, violation.not_assignee), &[("step", &n.step(step))]),
        Violation::ApproverIsApplicant => td_string!(l, violation.approver_is_applicant).to_owned(),
        Violation::ApproverIsGuardian => td_string!(l, violation.approver_is_guardian).to_owned(),
        Violation::ApproverIsCrew => td_string!(l, violation.approver_is_crew).to_owned(),
        Violation::GasTestMissing => td_string!(l, violation.gas_test_missing).to_owned(),
        Violation::GasTestTooOld { age_minutes, max_minutes } => {
            fill(td_string!(l, violation.gas_test_too_old), &[("age", age_minutes), ("max", max_minutes)])
        }
        Violation::GasReadingEmpty => td_string!(l, violation.gas_reading_empty).to_owned(),
        Violation::GasInstrumentMissing => td_string!(l, violation.gas_instrument_missing).to_owned(),
        Violation::GasTestOrder { missing, measured } => fill(
            td_string!(l, violation.gas_test_order),
            &[("missing", &gas_group_text(l, *missing)), ("measured", &gas_group_text(l, *measured))],
        ),
        Violation::GasTestMissingAt { point } => {
            fill(td_string!(l, violation.gas_test_missing_at), &[("point", &n.sample_point(point))])
        }
        Violation::GasReadingOutOfRange { gas } => {
            fill(td_string!(l, violation.gas_reading_out_of_range), &[("gas", &gas_name(l, gas))])
        }
        Violation::GasTestFailed { exceedances } => {
            let readings = n.join(exceedances.iter().map(|e| exceedance_text(l, e)));
            fill(td_string!(l, violation.gas_test_failed), &[("readings", &readings)])
        }
        Violation::BeforePlannedStart => td_string!(l, violation.before_planned_start).to_owned(),
        Violation::AfterPlannedEnd => td_string!(l, violation.after_planned_end).to_owned(),
        Violation::FormInvalid { errors } => {
            let problems = n.join(errors.iter().map(|e| field_error_text(n, e)));
            fill(td_string!(l, violation.form_invalid), &[("count", &errors.len()), ("problems", &problems)])
        }
        Violation::UnknownPermitType => td_string!(l, violation.unknown_permit_type).to_owned(),
        Violation::ContentHashMismatch => td_string!(l, violation.content_hash_mismatch).to_owned(),
        Violation::EmptyText => td_string!(l, violation.empty_text).to_owned(),
        Violation::NoEntrantRoster => td_string!(l, violation.no_entrant_roster).to_owned(),
        Violation::BadgeNotTheirs { badge } => fill(td_string!(l, violation.badge_not_theirs), &[("badge", badge)]),
        Violation::NotOnPermit => td_string!(l, violation.not_on_permit).to_owned(),
        Violation::NotAPartyToPermit => td_string!(l, violation.not_a_party).to_owned(),
        Violation::PhotoAttachedAlready => td_string!(l, violation.photo_attached_already).to_owned(),
        Violation::AlreadyCheckedIn { person } => {
            fill(td_string!(l, violation.already_checked_in), &[("person", &n.person(*person))])
        }
        Violation::NotCheckedIn { person } => {
            fill(td_string!(l, violation.not_checked_in), &[("person", &n.person(*person))])
        }
        Violation::GuardianNotOnSite { guardian } => {
            fill(td_string!(l, violation.guardian_not_on_site), &[("guardian", &n.person(*guardian))])
        }
        Violation::NotAGuardianToHandTo { person } => {
            fill(td_string!(l, violation.not_a_guardian_to_hand_to), &[("person", &n.person(*person))])
        }
        Violation::NoHandoverPending => td_string!(l, violation.no_handover_pending).to_owned(),
        Violation::NotHandoverTarget { to } => {
            fill(td_string!(l, violation.not_handover_target), &[("to", &n.person(*to))])
        }
        Violation::EntrantNotCrew { person } => {
            fill(td_string!(l, violation.entrant_not_crew), &[("person", &n.person(*person))])
        }
        Violation::AlreadyInside { person } => {
            fill(td_string!(l, violation.already_inside), &[("person", &n.person(*person))])
        }
        Violation::NotInside { entrant } => {
            fill(td_string!(l, violation.not_inside), &[("entrant", &n.entrant(entrant))])
        }
        Violation::EntrantsInside { people, tools } => {
            let inside = n.join(people.iter().map(|p| n.person(*p)).chain(tools.iter().cloned()));
            fill(td_string!(l, violation.entrants_inside), &[("inside", &inside)])
        }
        Violation::GasRetestAfterPause { paused_minutes, max_minutes } => {
            fill(td_string!(l, violation.gas_retest_after_pause), &[("paused", paused_minutes), ("max", max_minutes)])
        }
        Violation::StartPhotoMissing { phase } => {
            let what = n
                .grade
                .and_then(|g| g.start_photo.as_ref())
                .map_or_else(|| photo_phase_text(l, *phase).to_owned(), |r| r.name.get(n.lang()).to_owned());
            fill(
                td_string!(l, violation.start_photo_missing),
                &[("what", &what), ("phase", &photo_phase_text(l, *phase))],
            )
        }
        Violation::FireWatchRunning { until_ms } => {
            fill(td_string!(l, violation.fire_watch_running), &[("until", &crate::time::show_ms(*until_ms))])
        }
        Violation::FireWatchNotSignedOff { until_ms } => {
            fill(td_string!(l, violation.fire_watch_not_signed_off), &[("until", &crate::time::show_ms(*until_ms))])
        }
        Violation::NoFireWatch => td_string!(l, violation.no_fire_watch).to_owned(),
        Violation::ChangesNotAllowed => td_string!(l, violation.changes_not_allowed).to_owned(),
        Violation::ChangePending => td_string!(l, violation.change_pending).to_owned(),
        Violation::ChangeChangesNothing => td_string!(l, violation.change_changes_nothing).to_owned(),
        Violation::NoSuchChange { .. } => td_string!(l, violation.no_such_change).to_owned(),
        Violation::NoSuchAlert => td_string!(l, violation.no_such_alert).to_owned(),
        Violation::NotAskedToAct => td_string!(l, violation.not_asked_to_act).to_owned(),
        Violation::AlertAcknowledgedAlready => td_string!(l, violation.alert_acknowledged_already).to_owned(),
    }
}

pub fn alert_text(n: &Names, alert: &Alert) -> String {
    let l = n.locale;
    match alert {
        Alert::StepOverdue { step, due_ms, level } => {
            let template =
                if *level > 1 { td_string!(l, alert.step_overdue_level) } else { td_string!(l, alert.step_overdue) };
            let due = crate::time::show_ms(*due_ms);
            fill(template, &[("step", &n.step(step)), ("due", &due), ("level", level)])
        }
        Alert::StepDueSoon { step, due_ms } => fill(
            td_string!(l, alert.step_due_soon),
            &[("step", &n.step(step)), ("due", &crate::time::show_ms(*due_ms))],
        ),
        Alert::ValidityEnding { end_ms } => {
            fill(td_string!(l, alert.validity_ending), &[("end", &crate::time::show_ms(*end_ms))])
        }
        Alert::GasRetestDueSoon { last_ms, due_ms, .. } => fill(
            td_string!(l, alert.gas_retest_due_soon),
            &[("last", &crate::time::show_ms(*last_ms)), ("due", &crate::time::show_ms(*due_ms))],
        ),
        Alert::FireWatchEnding { until_ms } => {
            fill(td_string!(l, alert.fire_watch_ending), &[("until", &crate::time::show_ms(*until_ms))])
        }
        Alert::Unqualified { unqualified } => {
            fill(td_string!(l, alert.unqualified), &[("why", &unqualified_text(n, unqualified))])
        }
        Alert::CertificateExpiring { person, cert_type, number, valid_to_ms } => fill(
            td_string!(l, alert.certificate_expiring),
            &[
                ("person", &n.person(*person)),
                ("cert_type", &n.certificate_type(cert_type)),
                ("number", number),
                ("to", &crate::time::format_day(*valid_to_ms - 1)),
            ],
        ),
        Alert::CertificateExpired { person, cert_type, number, valid_to_ms } => fill(
            td_string!(l, alert.certificate_expired),
            &[
                ("person", &n.person(*person)),
                ("cert_type", &n.certificate_type(cert_type)),
                ("number", number),
                ("to", &crate::time::format_day(*valid_to_ms - 1)),
            ],
        ),
        Alert::ValidityExpired { end_ms } => {
            fill(td_string!(l, alert.validity_expired), &[("end", &crate::time::show_ms(*end_ms))])
        }
        Alert::GasRetestDue { last_ms, max_minutes } => fill(
            td_string!(l, alert.gas_retest_due),
            &[("last", &crate::time::show_ms(*last_ms)), ("max", max_minutes)],
        ),
        Alert::GasFailedDuringWork { at_ms } => {
            fill(td_string!(l, alert.gas_failed_during_work), &[("at", &crate::time::show_ms(*at_ms))])
        }
        Alert::InsideWhileSuspended { people, tools } => {
            fill(td_string!(l, alert.inside_while_suspended), &[("people", people), ("tools", tools)])
        }
        Alert::FireWatchOver { until_ms } => {
            fill(td_string!(l, alert.fire_watch_over), &[("until", &crate::time::show_ms(*until_ms))])
        }
        Alert::FormChangedAfterSubmit => td_string!(l, alert.form_changed_after_submit).to_owned(),
        Alert::WrongLocation { person, scanned, expected } => fill(
            td_string!(l, alert.wrong_location),
            &[
                ("person", &n.person(*person)),
                ("scanned", scanned),
                ("expected", &expected.clone().unwrap_or_default()),
            ],
        ),
        Alert::NotCheckedOut { people } => {
            fill(td_string!(l, alert.not_checked_out), &[("people", &n.join(people.iter().map(|p| n.person(*p))))])
        }
        Alert::GuardianLeft { guardian, at_ms } => fill(
            td_string!(l, alert.guardian_left),
            &[("guardian", &n.person(*guardian)), ("at", &crate::time::show_ms(*at_ms))],
        ),
        Alert::UnverifiedTime { action, .. } => {
            fill(td_string!(l, alert.unverified_time), &[("action", &action_text(l, action))])
        }
        Alert::Conflict { rule, other_title, shared, .. } => {
            let rule = n.conflict(rule);
            if shared.is_empty() {
                fill(td_string!(l, alert.conflict_place), &[("rule", &rule), ("other", other_title)])
            } else {
                fill(td_string!(l, alert.conflict_item), &[("rule", &rule), ("other", other_title), ("shared", shared)])
            }
        }
    }
}

/// Why a command failed, in words.
pub fn error_text(n: &Names, error: &CommandError) -> String {
    let l = n.locale;
    match error {
        CommandError::InvalidForm { errors } => {
            let problems = n.join(errors.iter().map(|e| field_error_text(n, e)));
            fill(td_string!(l, error.invalid_form), &[("problems", &problems)])
        }
        CommandError::Refused { violation } => violation_text(n, violation),
        CommandError::BadCredentials => td_string!(l, error.bad_credentials).to_owned(),
        CommandError::PinLocked { retry_after_s } => {
            fill(td_string!(l, error.pin_locked), &[("seconds", retry_after_s)])
        }
        CommandError::NotSignedIn => td_string!(l, error.not_signed_in).to_owned(),
        CommandError::NotEnrolled => td_string!(l, error.not_enrolled).to_owned(),
        CommandError::DeviceRevoked => td_string!(l, error.device_revoked).to_owned(),
        CommandError::Sync { failure } => sync_failure_text(l, failure),
        CommandError::Qr { failure } => qr_failure_text(l, *failure).to_owned(),
        CommandError::Photo { failure } => photo_failure_text(l, *failure).to_owned(),
        CommandError::AdminLocked => td_string!(l, error.admin_locked).to_owned(),
        CommandError::NotAllowed => td_string!(l, error.not_allowed).to_owned(),
        CommandError::RegistryRefused { problem } => {
            fill(td_string!(l, error.registry_refused), &[("problem", &op_problem_text(n, problem))])
        }
        CommandError::NotFound { what } => fill(td_string!(l, error.not_found), &[("what", what)]),
        CommandError::BadInput { message } => fill(td_string!(l, error.bad_input), &[("message", message)]),
        CommandError::Internal { message } => fill(td_string!(l, error.internal), &[("message", message)]),
    }
}

/// Why the register could not take a change, in words.
pub fn op_problem_text(n: &Names, problem: &OpProblem) -> String {
    let l = n.locale;
    match problem {
        OpProblem::Empty { field } => {
            let field = match field.as_str() {
                "name" => td_string!(l, register_problem.field_name),
                "reason" => td_string!(l, register_problem.field_reason),
                "location" => td_string!(l, register_problem.field_location),
                "number" => td_string!(l, register_problem.field_number),
                "valid_to" => td_string!(l, register_problem.field_valid_to),
                other => other,
            };
            fill(td_string!(l, register_problem.empty), &[("field", &field)])
        }
        OpProblem::UnknownRole { role } => {
            fill(td_string!(l, register_problem.unknown_role), &[("role", &role.as_str())])
        }
        OpProblem::UnknownPerson { .. } => td_string!(l, register_problem.unknown_person).to_owned(),
        OpProblem::BadgeTaken { badge, person } => {
            fill(td_string!(l, register_problem.badge_taken), &[("badge", badge), ("person", &n.person(*person))])
        }
        OpProblem::Retired { person } => {
            fill(td_string!(l, register_problem.retired), &[("person", &n.person(*person))])
        }
        OpProblem::UnknownCertificateType { cert_type } => {
            fill(td_string!(l, register_problem.unknown_certificate_type), &[("cert_type", cert_type)])
        }
        OpProblem::DuplicateCertificate { number, holder } => fill(
            td_string!(l, register_problem.duplicate_certificate),
            &[("number", number), ("holder", &n.person(*holder))],
        ),
        OpProblem::CertificateHolderChanged { .. } => {
            td_string!(l, register_problem.certificate_holder_changed).to_owned()
        }
        OpProblem::UnknownCertificate { .. } => td_string!(l, register_problem.unknown_certificate).to_owned(),
        OpProblem::PinLength { min } => fill(td_string!(l, register_problem.pin_length), &[("min", min)]),
        // Changes the admin screen does not make (the log's first entry, devices, the catalog,
        // the settings): the server's own words.
        other => fill(td_string!(l, register_problem.other), &[("message", &other.to_string())]),
    }
}

/// Why talking to the sync server failed (enrolling, or the last sync round), and what to do.
pub fn sync_failure_text(l: Locale, failure: &SyncFailure) -> String {
    let text = match failure {
        SyncFailure::Unreachable => td_string!(l, error.server_unreachable),
        SyncFailure::CertificateMismatch => td_string!(l, error.certificate_mismatch),
        SyncFailure::InsecureAddress => td_string!(l, error.insecure_address),
        SyncFailure::ServerKeyMismatch => td_string!(l, error.server_key_mismatch),
        SyncFailure::EnrolIncomplete => td_string!(l, error.enrol_incomplete),
        SyncFailure::NotEnrolled => td_string!(l, error.not_enrolled),
        SyncFailure::DeviceRevoked => td_string!(l, error.device_revoked),
        SyncFailure::EnrolCodeUnknown => td_string!(l, error.enrol_code_unknown),
        SyncFailure::EnrolCodeUsed => td_string!(l, error.enrol_code_used),
        SyncFailure::EnrolCodeExpired => td_string!(l, error.enrol_code_expired),
        SyncFailure::RateLimited => td_string!(l, error.rate_limited),
        SyncFailure::BadAnswer => td_string!(l, error.server_bad_answer),
        SyncFailure::Refused { status } => return fill(td_string!(l, error.server_refused), &[("status", status)]),
        SyncFailure::ServerError { status } => return fill(td_string!(l, error.server_error), &[("status", status)]),
        SyncFailure::BadRegistry => td_string!(l, error.bad_registry),
    };
    text.to_owned()
}

/// Why no text came out of a picture of a QR code (the `decode_qr` command), and what to do.
fn qr_failure_text(l: Locale, failure: QrFailure) -> &'static str {
    match failure {
        QrFailure::NotAnImage => td_string!(l, error.qr_not_an_image),
        QrFailure::TooLarge => td_string!(l, error.qr_too_large),
        QrFailure::NotFound => td_string!(l, error.qr_not_found),
        QrFailure::Unreadable => td_string!(l, error.qr_unreadable),
    }
}

/// What part of the work a photo shows.
pub fn photo_phase_text(l: Locale, phase: PhotoPhase) -> &'static str {
    match phase {
        PhotoPhase::Before => td_string!(l, photo.before),
        PhotoPhase::During => td_string!(l, photo.during),
        PhotoPhase::After => td_string!(l, photo.after),
        PhotoPhase::GasTest => td_string!(l, photo.gas_test),
    }
}

/// Why a photo could not be taken up, and what to do.
fn photo_failure_text(l: Locale, failure: PhotoFailure) -> &'static str {
    match failure {
        PhotoFailure::NotAPicture => td_string!(l, error.photo_not_a_picture),
        PhotoFailure::TooLarge => td_string!(l, error.photo_too_large),
        PhotoFailure::Broken => td_string!(l, error.photo_broken),
        PhotoFailure::BlankSignature => td_string!(l, error.signature_blank),
    }
}

/// Why the sync server refused a change this device made (which the device then took back),
/// and what the person should do about it.
pub fn refusal_text(l: Locale, code: RefusalCode) -> &'static str {
    match code {
        RefusalCode::Malformed => td_string!(l, refusal.malformed),
        RefusalCode::Shape => td_string!(l, refusal.shape),
        RefusalCode::NotAppendOnly => td_string!(l, refusal.not_append_only),
        RefusalCode::MissingDependencies => td_string!(l, refusal.missing_dependencies),
        RefusalCode::BadEvent => td_string!(l, refusal.bad_event),
        RefusalCode::ForeignActor => td_string!(l, refusal.foreign_actor),
        RefusalCode::DuplicateSequence => td_string!(l, refusal.duplicate_sequence),
        RefusalCode::ClockBehind => td_string!(l, refusal.clock_behind),
        RefusalCode::ClockAhead => td_string!(l, refusal.clock_ahead),
        RefusalCode::FrozenAccount => td_string!(l, refusal.frozen_account),
        RefusalCode::BrokenChain => td_string!(l, refusal.broken_chain),
        RefusalCode::DependsOnRefused => td_string!(l, refusal.depends_on_refused),
    }
}
