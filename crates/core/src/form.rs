//! The permit form (作业票表单): what the applicant fills in before submitting.
//!
//! The form is editable only while the permit is a draft; its SHA-256 content hash is carried by
//! the submit event and every later event, so a change after submission shows as a violation.
//! Field validation lives here so the UI (wasm) and the store give the same answer.

use crate::calendar::CalendarCondition;
use crate::catalog::{Catalog, GradeDef, GradeFloor, GradeRaise, PermitTypeDef};
use crate::ids::{LocationId, PermitId, PersonId};
use crate::registry::Registry;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PermitForm {
    pub permit_type: String,
    pub grade: String,
    pub title: String,
    pub location: Option<LocationId>,
    pub work_description: String,
    pub planned_start: Option<DateTime<Utc>>,
    pub planned_end: Option<DateTime<Utc>>,
    /// The work leader who files the permit (申请人).
    pub applicant: Option<PersonId>,
    /// The guardian (监护人) who watches the work on site.
    pub guardian: Option<PersonId>,
    /// The workers doing the job.
    pub crew: Vec<PersonId>,
    /// Hazards identified by the job safety analysis (JSA), free text.
    pub hazards: String,
    /// Codes of the checklist precautions the applicant confirms are in place.
    pub precautions: Vec<String>,
    /// For countersign (会签) steps: who must sign, by step id.
    pub assignees: BTreeMap<String, Vec<PersonId>>,
    /// The rejected permit this one revises (修改后重新提交), if it does. Left out of the
    /// form's JSON when absent, so forms from before it hash as they did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revises: Option<PermitId>,
}

/// Fields of the form, for validation messages the UI can place next to the right input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    PermitType,
    Grade,
    Title,
    Location,
    WorkDescription,
    PlannedStart,
    PlannedEnd,
    Applicant,
    Guardian,
    Crew,
    Hazards,
    Precautions,
    Assignees,
}

/// What is wrong with a field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum FieldProblem {
    Required,
    UnknownPermitType,
    UnknownGrade,
    UnknownLocation,
    UnknownPerson,
    EndNotAfterStart,
    /// The location's class, or the planned window's holidays, rest days or night, require a
    /// more severe grade than the one chosen (hot work at a fire and explosion hazard place is
    /// at least grade 1; at night, one grade higher still).
    GradeBelowRequired {
        min_grade: String,
        /// The class of the location whose floor applies, if one does.
        location_class: Option<String>,
        /// What in the planned window raised the grade, if anything did.
        raised_by: Vec<CalendarCondition>,
    },
    /// The planned window is longer than the grade allows.
    ValidityTooLong {
        max_minutes: i64,
        planned_minutes: i64,
    },
    /// The guardian must not also be the applicant or a worker of the crew.
    GuardianNotIndependent,
    /// A required precaution was not confirmed.
    PrecautionNotConfirmed {
        code: String,
    },
    /// A countersign step needs its signers named, each holding the step's role.
    AssigneesMissing {
        step: String,
    },
    AssigneeLacksRole {
        step: String,
        person: PersonId,
    },
    PersonLacksRole {
        person: PersonId,
        role: String,
    },
}

/// The least severe grade a form may have, and why (see [`PermitForm::grade_requirement`]).
#[derive(Clone, Debug, PartialEq)]
pub struct GradeRequirement<'r> {
    pub min_grade: &'r str,
    /// The location's floor, when its class sets one.
    pub floor: Option<&'r GradeFloor>,
    /// What in the planned window raised the grade, and the rule that did.
    pub raised_by: Vec<CalendarCondition>,
    pub raise: Option<&'r GradeRaise>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: Field,
    #[serde(flatten)]
    pub problem: FieldProblem,
}

impl FieldError {
    fn new(field: Field, problem: FieldProblem) -> Self {
        FieldError { field, problem }
    }
}

impl PermitForm {
    /// SHA-256 over the form's canonical JSON (struct fields in declaration order, maps sorted).
    pub fn content_hash(&self) -> String {
        // Serialising a struct of strings, numbers, options, vectors and BTreeMaps cannot fail.
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(Sha256::digest(&bytes))
    }

    /// The catalog entries this form refers to, when both exist.
    pub fn definition<'c>(&self, catalog: &'c Catalog) -> Option<(&'c PermitTypeDef, &'c GradeDef)> {
        let t = catalog.permit_type(&self.permit_type)?;
        Some((t, t.grade(&self.grade)?))
    }

    /// The least severe grade the chosen location allows for the chosen type, with its rule.
    pub fn grade_floor<'r>(&self, registry: &'r Registry) -> Option<&'r GradeFloor> {
        let t = registry.catalog.permit_type(&self.permit_type)?;
        let location = registry.location(self.location?)?;
        t.grade_floor(&location.classes)
    }

    /// The least severe grade the form may have, and why: the location's floor, raised one
    /// grade when the planned window touches a holiday, rest day or night the type's raise
    /// names (from the type's least severe grade when there is no floor). `None` when nothing
    /// sets one.
    pub fn grade_requirement<'r>(&self, registry: &'r Registry) -> Option<GradeRequirement<'r>> {
        let t = registry.catalog.permit_type(&self.permit_type)?;
        let floor = self.grade_floor(registry);
        let raised_by: Vec<CalendarCondition> = match (&t.grade_raise, self.planned_start, self.planned_end) {
            (Some(raise), Some(start), Some(end)) => {
                let settings = &registry.settings;
                let touched = settings.calendar.conditions(settings.zone(), start, end);
                touched.into_iter().filter(|c| raise.when.contains(c)).collect()
            }
            _ => vec![],
        };
        let base = match floor {
            Some(f) => t.severity_rank(&f.min_grade)?,
            None if raised_by.is_empty() => return None,
            None => t.grades.len().checked_sub(1)?,
        };
        let rank = if raised_by.is_empty() { base } else { base.saturating_sub(1) };
        Some(GradeRequirement {
            min_grade: &t.grades[rank].code,
            floor,
            raise: t.grade_raise.as_ref().filter(|_| !raised_by.is_empty()),
            raised_by,
        })
    }

    /// The grade to propose while filing: the type's only grade, or the required grade when
    /// the grade chosen so far is unset or less severe than it; otherwise the grade chosen.
    pub fn proposed_grade(&self, registry: &Registry) -> String {
        let Some(t) = registry.catalog.permit_type(&self.permit_type) else { return self.grade.clone() };
        if let [only] = t.grades.as_slice() {
            return only.code.clone();
        }
        let Some(required) = self.grade_requirement(registry) else { return self.grade.clone() };
        match t.severity_rank(&self.grade) {
            Some(rank) if t.severity_rank(required.min_grade).is_some_and(|min| rank <= min) => self.grade.clone(),
            _ => required.min_grade.to_owned(),
        }
    }

    /// Every problem with the form, for the form screen and for the submit rule. Empty = valid.
    pub fn validate(&self, registry: &Registry) -> Vec<FieldError> {
        use Field as F;
        use FieldProblem as P;
        let mut errors = Vec::new();
        let mut need = |ok: bool, field: Field| {
            if !ok {
                errors.push(FieldError::new(field, P::Required));
            }
        };
        need(!self.title.trim().is_empty(), F::Title);
        need(!self.work_description.trim().is_empty(), F::WorkDescription);
        need(!self.hazards.trim().is_empty(), F::Hazards);
        need(self.location.is_some(), F::Location);
        need(self.planned_start.is_some(), F::PlannedStart);
        need(self.planned_end.is_some(), F::PlannedEnd);
        need(self.applicant.is_some(), F::Applicant);
        need(self.guardian.is_some(), F::Guardian);

        let ptype = registry.catalog.permit_type(&self.permit_type);
        let grade = ptype.and_then(|t| t.grade(&self.grade));
        match (ptype, grade) {
            (None, _) if self.permit_type.is_empty() => errors.push(FieldError::new(F::PermitType, P::Required)),
            (None, _) => errors.push(FieldError::new(F::PermitType, P::UnknownPermitType)),
            (Some(_), None) if self.grade.is_empty() => errors.push(FieldError::new(F::Grade, P::Required)),
            (Some(_), None) => errors.push(FieldError::new(F::Grade, P::UnknownGrade)),
            _ => {}
        }

        if let Some(loc) = self.location {
            if registry.location(loc).is_none() {
                errors.push(FieldError::new(F::Location, P::UnknownLocation));
            }
        }
        if let (Some(t), Some(_), Some(required)) = (ptype, grade, self.grade_requirement(registry)) {
            if t.severity_rank(&self.grade) > t.severity_rank(required.min_grade) {
                errors.push(FieldError::new(
                    F::Grade,
                    P::GradeBelowRequired {
                        min_grade: required.min_grade.to_owned(),
                        location_class: required.floor.map(|f| f.location_class.clone()),
                        raised_by: required.raised_by,
                    },
                ));
            }
        }
        if let (Some(start), Some(end)) = (self.planned_start, self.planned_end) {
            if end <= start {
                errors.push(FieldError::new(F::PlannedEnd, P::EndNotAfterStart));
            } else if let Some(g) = grade {
                // Compared to the millisecond: a window a second over the cap is over it. The
                // minutes shown are rounded up, so they never read as within the cap.
                let planned_ms = (end - start).num_milliseconds();
                if planned_ms > g.max_validity_minutes.saturating_mul(60_000) {
                    let planned_minutes = planned_ms.div_euclid(60_000) + i64::from(planned_ms.rem_euclid(60_000) != 0);
                    errors.push(FieldError::new(
                        F::PlannedEnd,
                        P::ValidityTooLong { max_minutes: g.max_validity_minutes, planned_minutes },
                    ));
                }
            }
        }
        self.validate_people(registry, &mut errors);
        if let (Some(t), Some(g)) = (ptype, grade) {
            for item in t.precautions.iter().filter(|i| i.required) {
                if !self.precautions.contains(&item.code) {
                    errors.push(FieldError::new(F::Precautions, P::PrecautionNotConfirmed { code: item.code.clone() }));
                }
            }
            for step in g.flow.iter().filter(|s| s.mode == crate::catalog::SignMode::Countersign) {
                let named = self.assignees.get(&step.id).map(Vec::as_slice).unwrap_or_default();
                if named.is_empty() {
                    errors.push(FieldError::new(F::Assignees, P::AssigneesMissing { step: step.id.clone() }));
                }
                for p in named {
                    if !registry.person(*p).is_some_and(|x| x.has_role(&step.role)) {
                        errors.push(FieldError::new(
                            F::Assignees,
                            P::AssigneeLacksRole { step: step.id.clone(), person: *p },
                        ));
                    }
                }
            }
        }
        errors
    }

    fn validate_people(&self, registry: &Registry, errors: &mut Vec<FieldError>) {
        use Field as F;
        use FieldProblem as P;
        let role_check =
            |field: Field, id: PersonId, role: &str, errors: &mut Vec<FieldError>| match registry.person(id) {
                None => errors.push(FieldError::new(field, P::UnknownPerson)),
                Some(p) if !p.roles.iter().any(|r| r.0 == role) => {
                    errors.push(FieldError::new(field, P::PersonLacksRole { person: id, role: role.to_string() }))
                }
                Some(_) => {}
            };
        if let Some(a) = self.applicant {
            role_check(F::Applicant, a, "applicant", errors);
        }
        if let Some(g) = self.guardian {
            role_check(F::Guardian, g, "guardian", errors);
            if Some(g) == self.applicant || self.crew.contains(&g) {
                errors.push(FieldError::new(F::Guardian, P::GuardianNotIndependent));
            }
        }
        for c in &self.crew {
            if registry.person(*c).is_none() {
                errors.push(FieldError::new(F::Crew, P::UnknownPerson));
            }
        }
    }
}
