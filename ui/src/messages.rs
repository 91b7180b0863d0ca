//! Domain data in words: every [`Violation`], [`Alert`], [`FieldProblem`], [`Status`], event
//! kind and [`CommandError`] turned into a sentence in the current language.
//!
//! ptw-core names rules as data and never builds text, so this module is the one place where a
//! refusal becomes words; a new variant in ptw-core fails to compile here until it has a
//! sentence. Templates live in `locales/*.json` with `{name}` placeholders, filled by [`fill`]
//! (leptos_i18n's own `{{ var }}` interpolation only renders into views, and these messages are
//! also needed as plain strings). Names that are data — people, roles, steps, locations,
//! precautions — come from the [`Directory`] through [`Names`].

use crate::i18n::*;
use ptw_core::api::{CommandError, Directory};
use ptw_core::catalog::{GradeDef, PermitTypeDef, Role};
use ptw_core::event::{EventKind, GasExceedance};
use ptw_core::form::{Field, FieldError, FieldProblem};
use ptw_core::rules::{Alert, Violation};
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
fn short_id(id: impl Display) -> String {
    id.to_string().chars().take(8).collect()
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
        other => return other.to_owned(),
    };
    text.to_owned()
}

pub fn event_kind_text(locale: Locale, kind: &EventKind) -> String {
    action_text(locale, kind.code())
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
    }
}

fn hours(minutes: i64) -> String {
    if minutes % 60 == 0 {
        (minutes / 60).to_string()
    } else {
        format!("{:.1}", minutes as f64 / 60.0)
    }
}

pub fn field_problem_text(n: &Names, problem: &FieldProblem) -> String {
    let l = n.locale;
    match problem {
        FieldProblem::Required => td_string!(l, problem.required).to_owned(),
        FieldProblem::UnknownPermitType => td_string!(l, problem.unknown_permit_type).to_owned(),
        FieldProblem::UnknownGrade => td_string!(l, problem.unknown_grade).to_owned(),
        FieldProblem::UnknownLocation => td_string!(l, problem.unknown_location).to_owned(),
        FieldProblem::UnknownPerson => td_string!(l, problem.unknown_person).to_owned(),
        FieldProblem::EndNotAfterStart => td_string!(l, problem.end_not_after_start).to_owned(),
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

fn gas_name(locale: Locale, gas: &str) -> &'static str {
    match gas {
        "lel" => td_string!(locale, gas.lel),
        "h2s" => td_string!(locale, gas.h2s),
        "co" => td_string!(locale, gas.co),
        _ => td_string!(locale, gas.o2),
    }
}

/// The unit a gas is read in.
pub fn gas_unit(gas: &str) -> &'static str {
    match gas {
        "lel" => "%LEL",
        "h2s" | "co" => "ppm",
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
        Violation::DuplicateEventId => td_string!(l, violation.duplicate_event_id).to_owned(),
        Violation::UnknownPerson { person } => {
            fill(td_string!(l, violation.unknown_person), &[("person", &n.person(*person))])
        }
        Violation::FrozenAccount { person } => {
            fill(td_string!(l, violation.frozen_account), &[("person", &n.person(*person))])
        }
        Violation::MissingRole { roles } => fill(td_string!(l, violation.missing_role), &[("roles", &n.roles(roles))]),
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
    }
}

pub fn alert_text(n: &Names, alert: &Alert) -> String {
    let l = n.locale;
    match alert {
        Alert::StepOverdue { step, due_ms } => {
            fill(td_string!(l, alert.step_overdue), &[("step", &n.step(step)), ("due", &crate::time::show_ms(*due_ms))])
        }
        Alert::ValidityExpired { end_ms } => {
            fill(td_string!(l, alert.validity_expired), &[("end", &crate::time::show_ms(*end_ms))])
        }
        Alert::GasRetestDue { last_ms, max_minutes } => fill(
            td_string!(l, alert.gas_retest_due),
            &[("last", &crate::time::show_ms(*last_ms)), ("max", max_minutes)],
        ),
        Alert::FormChangedAfterSubmit => td_string!(l, alert.form_changed_after_submit).to_owned(),
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
        CommandError::NotSignedIn => td_string!(l, error.not_signed_in).to_owned(),
        CommandError::NotFound { what } => fill(td_string!(l, error.not_found), &[("what", what)]),
        CommandError::BadInput { message } => {
            if let Some(failure) = sync_failure(message) {
                sync_failure_text(l, &failure)
            } else if let Some(failure) = qr_failure(message) {
                qr_failure_text(l, failure).to_owned()
            } else {
                fill(td_string!(l, error.bad_input), &[("message", message)])
            }
        }
        CommandError::Internal { message } => fill(td_string!(l, error.internal), &[("message", message)]),
    }
}

/// Why talking to the sync server failed, as far as the UI can tell.
///
/// The back end reports sync failures as `CommandError::BadInput` with ptw-store's (and the
/// server's) English sentence, not as data; until ptw-core carries a structured sync error, the
/// sentences the user can act on are recognised here, and anything else is shown as it came.
#[derive(Debug, PartialEq)]
enum SyncFailure<'a> {
    /// Nothing answered at that address (wrong address, server down, no network).
    Unreachable,
    /// The enrolment code is not one the server printed.
    CodeUnknown,
    CodeUsed,
    CodeExpired,
    /// The server address or the code was left out (the back end checks too).
    EnrolIncomplete,
    NotEnrolled,
    /// Something answered, but not like a sync server.
    BadAnswer,
    /// The server refused, with its reason.
    Refused {
        status: &'a str,
        reason: &'a str,
    },
}

fn sync_failure(message: &str) -> Option<SyncFailure<'_>> {
    let failure = if message.contains("cannot be reached") {
        SyncFailure::Unreachable
    } else if message.contains("enrolment code is not known") {
        SyncFailure::CodeUnknown
    } else if message.contains("enrolment code was already used") {
        SyncFailure::CodeUsed
    } else if message.contains("enrolment code has expired") {
        SyncFailure::CodeExpired
    } else if message.starts_with("enter the server address") {
        SyncFailure::EnrolIncomplete
    } else if message.contains("not enrolled with a sync server") {
        SyncFailure::NotEnrolled
    } else if message.contains("unexpected answer from the server") {
        SyncFailure::BadAnswer
    } else if let Some((_, rest)) = message.split_once("the server answered ") {
        // "<what>: the server answered 403 Forbidden: <reason>"
        let (status, reason) = rest.split_once(": ").unwrap_or((rest, ""));
        SyncFailure::Refused { status, reason }
    } else {
        return None;
    };
    Some(failure)
}

fn sync_failure_text(l: Locale, failure: &SyncFailure) -> String {
    match failure {
        SyncFailure::Unreachable => td_string!(l, error.server_unreachable).to_owned(),
        SyncFailure::CodeUnknown => td_string!(l, error.enrol_code_unknown).to_owned(),
        SyncFailure::CodeUsed => td_string!(l, error.enrol_code_used).to_owned(),
        SyncFailure::CodeExpired => td_string!(l, error.enrol_code_expired).to_owned(),
        SyncFailure::EnrolIncomplete => td_string!(l, error.enrol_incomplete).to_owned(),
        SyncFailure::NotEnrolled => td_string!(l, error.not_enrolled).to_owned(),
        SyncFailure::BadAnswer => td_string!(l, error.server_bad_answer).to_owned(),
        SyncFailure::Refused { status, reason } => {
            fill(td_string!(l, error.server_refused), &[("status", status), ("reason", reason)])
        }
    }
}

/// Why no text came out of a picture of a QR code (the `decode_qr` command).
///
/// Like the sync failures, the back end says it as `CommandError::BadInput` with an English
/// sentence (`QrError` in `src-tauri/qr.rs`); their beginnings are recognised here.
#[derive(Clone, Copy, Debug, PartialEq)]
enum QrFailure {
    /// Not a PNG or JPEG file.
    NotAnImage,
    TooLarge,
    /// No QR code in the picture: hold the camera closer.
    NotFound,
    /// A code, but it could not be read: take the photo again.
    Unreadable,
}

fn qr_failure(message: &str) -> Option<QrFailure> {
    let failure = if message.starts_with("the file is not a picture") {
        QrFailure::NotAnImage
    } else if message.starts_with("the picture is too large") {
        QrFailure::TooLarge
    } else if message.starts_with("no QR code was found") {
        QrFailure::NotFound
    } else if message.starts_with("a QR code was found in the picture but could not be read") {
        QrFailure::Unreadable
    } else {
        return None;
    };
    Some(failure)
}

fn qr_failure_text(l: Locale, failure: QrFailure) -> &'static str {
    match failure {
        QrFailure::NotAnImage => td_string!(l, error.qr_not_an_image),
        QrFailure::TooLarge => td_string!(l, error.qr_too_large),
        QrFailure::NotFound => td_string!(l, error.qr_not_found),
        QrFailure::Unreadable => td_string!(l, error.qr_unreadable),
    }
}
