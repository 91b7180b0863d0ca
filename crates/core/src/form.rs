//! The permit form (作业票表单): what the applicant fills in before submitting.
//!
//! The form is editable only while the permit is a draft; its SHA-256 content hash is carried by
//! the submit event and every later event, so a change after submission shows as a violation.
//! Field validation lives here so the UI (wasm) and the store give the same answer.

use crate::calendar::CalendarCondition;
use crate::catalog::{
    Catalog, FieldFloor, FieldKind, GradeBy, GradeDef, GradeFloor, GradeRaise, PermitTypeDef, SubtypeDef,
};
use crate::ids::{LocationId, PermitId, PersonId};
use crate::qualification::{self, QualifiedParty, Unqualified};
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
    /// The type's sub-type (子场景), for types that have them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtype: Option<String>,
    /// The values of the type's own fields, by field code (working height, load, blind number…).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, FieldValue>,
}

/// Why an issued permit is changed (作业变更的原因).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeReason {
    Weather,
    EquipmentFault,
    ScopeChange,
    Other,
}

/// A change of an issued permit's form of record, as the applicant asks for it: a new planned
/// window, precautions added, workers added or taken off. It takes effect only once approved;
/// until then, and for everything signed before, the old form stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PermitChange {
    pub reason: ChangeReason,
    /// What happened and what changes, in words.
    pub explanation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_start: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_end: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_precautions: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crew_add: Vec<PersonId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crew_remove: Vec<PersonId>,
}

impl PermitChange {
    /// `form` with the change applied.
    pub fn apply(&self, form: &PermitForm) -> PermitForm {
        let mut out = form.clone();
        if let Some(start) = self.planned_start {
            out.planned_start = Some(start);
        }
        if let Some(end) = self.planned_end {
            out.planned_end = Some(end);
        }
        for code in &self.add_precautions {
            if !out.precautions.contains(code) {
                out.precautions.push(code.clone());
            }
        }
        out.crew.retain(|p| !self.crew_remove.contains(p));
        for p in &self.crew_add {
            if !out.crew.contains(p) {
                out.crew.push(*p);
            }
        }
        out
    }
}

/// The value of one of a type's own fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FieldValue {
    YesNo(bool),
    Number(f64),
    /// Text, or the code of a choice.
    Text(String),
}

impl FieldValue {
    pub fn as_number(&self) -> Option<f64> {
        match self {
            FieldValue::Number(v) => Some(*v),
            _ => None,
        }
    }

    /// The value as words to compare (a pipe's number, a yes/no): trimmed, case folded, with
    /// runs of white space as one; `None` when blank.
    pub fn as_key(&self) -> Option<String> {
        let text = match self {
            FieldValue::YesNo(b) => (if *b { "yes" } else { "no" }).to_owned(),
            FieldValue::Number(v) => v.to_string(),
            FieldValue::Text(t) => t.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase(),
        };
        (!text.is_empty()).then_some(text)
    }

    /// Whether a value was given: blank text counts as none.
    fn is_blank(&self) -> bool {
        matches!(self, FieldValue::Text(t) if t.trim().is_empty())
    }
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
    Subtype,
    /// One of the type's own fields; the problem names which.
    Details,
}

/// What is wrong with a field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
        /// The sub-type whose least grade applies, if one does.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subtype: Option<String>,
        /// The field the grade is computed from (working height, load), if the type has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        computed_from: Option<String>,
        /// The aggravating factors answered yes, by field code.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        aggravated_by: Vec<String>,
        /// The questions answered yes that set a least grade, by field code.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        set_by: Vec<String>,
        /// The waiver answered yes that lowered the location's floor (a shut-down unit).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        waived_by: Option<String>,
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
    UnknownSubtype,
    /// A required field of the type is empty.
    DetailRequired {
        code: String,
    },
    /// A number outside the field's range (a working height under 2 m is not work at height).
    DetailOutOfRange {
        code: String,
        min: Option<f64>,
        max: Option<f64>,
    },
    /// A value of the wrong kind, an unknown choice, or text too long.
    DetailInvalid {
        code: String,
    },
    /// A value for a field the type does not have (left over from another type).
    DetailUnknown {
        code: String,
    },
    /// A person named on the form lacks a certificate the work asks for, or has retired or
    /// been frozen (R-GATE): who, for which part, and the certificate and rule.
    Unqualified {
        unqualified: Unqualified,
    },
}

/// The least severe grade a form may have, and why (see [`PermitForm::grade_requirement`]).
#[derive(Clone, Debug, PartialEq)]
pub struct GradeRequirement<'r> {
    pub min_grade: &'r str,
    /// The location's floor, when its class sets one.
    pub floor: Option<&'r GradeFloor>,
    /// The sub-type's least grade, when it sets one.
    pub subtype: Option<&'r SubtypeDef>,
    /// The grade computed from the type's field, and the rule that computes it.
    pub computed: Option<(&'r str, &'r GradeBy)>,
    /// The aggravating factors answered yes, by field code.
    pub aggravated_by: Vec<String>,
    /// The questions answered yes that set a least grade (work on running equipment).
    pub set_by: Vec<&'r FieldFloor>,
    /// The waiver answered yes that lifted the location's floor (a shut-down unit), whose
    /// approval step the flow then asks.
    pub waived: Option<&'r crate::catalog::FloorWaiver>,
    /// What in the planned window raised the grade, and the rule that did.
    pub raised_by: Vec<CalendarCondition>,
    pub raise: Option<&'r GradeRaise>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

    /// The least severe grade the form may have, and why: the most severe of the location's
    /// floor, the sub-type's least grade and the grade computed from the type's field (working
    /// height, load), raised one grade when the planned window touches a holiday, rest day or
    /// night the type's raise names, or an aggravating factor (or a field of the type's raise,
    /// special weather) is answered yes (from the type's
    /// least severe grade when nothing else sets one). `None` when nothing sets one.
    pub fn grade_requirement<'r>(&self, registry: &'r Registry) -> Option<GradeRequirement<'r>> {
        let t = registry.catalog.permit_type(&self.permit_type)?;
        let classes =
            self.location.and_then(|l| registry.location(l)).map(|l| l.classes.as_slice()).unwrap_or_default();
        // A waiver answered yes lifts its classes' floors, where the location has one of them.
        let waived = t.floor_waivers.iter().find(|w| {
            self.details.get(&w.field) == Some(&FieldValue::YesNo(true))
                && t.grade_floors
                    .iter()
                    .any(|f| classes.contains(&f.location_class) && w.location_classes.contains(&f.location_class))
        });
        let floor = t.grade_floor_except(classes, waived.map(|w| w.location_classes.as_slice()).unwrap_or_default());
        let subtype = self.subtype.as_deref().and_then(|s| t.subtype(s)).filter(|s| s.min_grade.is_some());
        // A number outside its field's range gives no grade: it is an error of its own.
        let computed = t.grade_by.as_ref().and_then(|by| {
            let value = self.details.get(&by.field)?.as_number()?;
            let in_range = match t.field(&by.field).map(|f| &f.kind) {
                Some(FieldKind::Number { min, max, .. }) => {
                    value.is_finite() && min.is_none_or(|m| value >= m) && max.is_none_or(|m| value <= m)
                }
                _ => false,
            };
            Some((by.band(value).filter(|_| in_range)?.grade.as_str(), by))
        });
        let raised_by: Vec<CalendarCondition> = match (&t.grade_raise, self.planned_start, self.planned_end) {
            (Some(raise), Some(start), Some(end)) => {
                let settings = &registry.settings;
                let touched = settings.calendar.conditions(settings.zone(), start, end);
                touched.into_iter().filter(|c| raise.when.contains(c)).collect()
            }
            _ => vec![],
        };
        let aggravated_by: Vec<String> = t
            .grade_by
            .iter()
            .flat_map(|by| &by.raise_if)
            .chain(t.grade_raise.iter().flat_map(|r| &r.fields))
            .filter(|code| self.details.get(*code) == Some(&FieldValue::YesNo(true)))
            .cloned()
            .collect();
        let set_by: Vec<&FieldFloor> =
            t.field_floors.iter().filter(|f| self.details.get(&f.field) == Some(&FieldValue::YesNo(true))).collect();
        let raised = !raised_by.is_empty() || !aggravated_by.is_empty();
        let set = [
            floor.map(|f| f.min_grade.as_str()),
            subtype.and_then(|s| s.min_grade.as_deref()),
            computed.map(|c| c.0),
            waived.map(|w| w.grade.as_str()),
        ];
        let base = match set
            .into_iter()
            .flatten()
            .chain(set_by.iter().map(|f| f.min_grade.as_str()))
            .filter_map(|g| t.severity_rank(g))
            .min()
        {
            Some(rank) => rank,
            None if !raised => return None,
            None => t.grades.len().checked_sub(1)?,
        };
        let rank = if raised { base.saturating_sub(1) } else { base };
        Some(GradeRequirement {
            min_grade: &t.grades[rank].code,
            floor,
            subtype,
            computed,
            aggravated_by,
            set_by,
            waived,
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
    /// [`PermitForm::validate`], and the certificate gate for everyone the form names at
    /// `at_ms` (Unix ms): what the submit rule checks at the submit event's time, and what the
    /// form shows while it is filled in.
    pub fn validate_at(&self, registry: &Registry, at_ms: i64) -> Vec<FieldError> {
        let mut errors = self.validate(registry);
        errors.extend(self.qualification_errors(registry, at_ms));
        errors
    }

    /// The certificate gate alone, for everyone the form names, at `at_ms`.
    pub fn qualification_errors(&self, registry: &Registry, at_ms: i64) -> Vec<FieldError> {
        let Some(ptype) = registry.catalog.permit_type(&self.permit_type) else { return vec![] };
        qualification::check_form(registry, ptype, self, at_ms)
            .into_iter()
            .map(|unqualified| {
                let field = match unqualified.party {
                    QualifiedParty::Guardian => Field::Guardian,
                    QualifiedParty::Applicant => Field::Applicant,
                    _ => Field::Crew,
                };
                FieldError::new(field, FieldProblem::Unqualified { unqualified })
            })
            .collect()
    }

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
                        subtype: required.subtype.map(|s| s.code.clone()),
                        computed_from: required.computed.map(|(_, by)| by.field.clone()),
                        aggravated_by: required.aggravated_by,
                        set_by: required.set_by.iter().map(|f| f.field.clone()).collect(),
                        waived_by: required.waived.map(|w| w.field.clone()),
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
        if let Some(t) = ptype {
            self.validate_details(t, &mut errors);
        }
        if let (Some(t), Some(g)) = (ptype, grade) {
            for item in t.precautions.iter().filter(|i| i.required && i.applies_to(&self.grade)) {
                if !self.precautions.contains(&item.code) {
                    errors.push(FieldError::new(F::Precautions, P::PrecautionNotConfirmed { code: item.code.clone() }));
                }
            }
            for step in g.flow_for(self).filter(|s| s.mode == crate::catalog::SignMode::Countersign) {
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

    /// The sub-type and the type's own fields: required ones given, numbers in range, choices
    /// known, and no value for a field the type (or its sub-type) does not have.
    fn validate_details(&self, t: &PermitTypeDef, errors: &mut Vec<FieldError>) {
        use FieldProblem as P;
        let detail = |problem: FieldProblem| FieldError::new(Field::Details, problem);
        match self.subtype.as_deref() {
            None if !t.subtypes.is_empty() => errors.push(FieldError::new(Field::Subtype, P::Required)),
            Some(s) if t.subtype(s).is_none() => errors.push(FieldError::new(Field::Subtype, P::UnknownSubtype)),
            _ => {}
        }
        let subtype = self.subtype.as_deref();
        for code in self.details.keys() {
            if !t.field(code).is_some_and(|f| f.applies_to(subtype)) {
                errors.push(detail(P::DetailUnknown { code: code.clone() }));
            }
        }
        for f in t.fields.iter().filter(|f| f.applies_to(subtype)) {
            let code = || f.code.clone();
            let Some(value) = self.details.get(&f.code).filter(|v| !v.is_blank()) else {
                if f.required {
                    errors.push(detail(P::DetailRequired { code: code() }));
                }
                continue;
            };
            match (&f.kind, value) {
                (FieldKind::Number { min, max, .. }, FieldValue::Number(v)) => {
                    let below = min.is_some_and(|m| *v < m);
                    let above = max.is_some_and(|m| *v > m);
                    if !v.is_finite() || below || above {
                        errors.push(detail(P::DetailOutOfRange { code: code(), min: *min, max: *max }));
                    }
                }
                (FieldKind::Text { max_chars }, FieldValue::Text(text)) => {
                    if text.chars().count() > *max_chars {
                        errors.push(detail(P::DetailInvalid { code: code() }));
                    }
                }
                (FieldKind::Choice { options }, FieldValue::Text(choice)) => {
                    if !options.iter().any(|o| &o.code == choice) {
                        errors.push(detail(P::DetailInvalid { code: code() }));
                    }
                }
                (FieldKind::YesNo, FieldValue::YesNo(_)) => {}
                _ => errors.push(detail(P::DetailInvalid { code: code() })),
            }
        }
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
