//! The permit-type catalog: which operations exist, their grades, approval flows, time limits,
//! validity caps, gas limits and checklists — all *data*.
//!
//! The engine in [`crate::derive`] reads only this structure; it never asks "is this hot work?".
//! A plant changes a number here (or adds a sub-type) without touching code. The default data
//! ships in `catalog/gb30871.json`, each value marked with its source so a safety manager can
//! review it (see DOMAIN.md).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A role code such as `safety_officer` (安全员). Roles are data: the catalog lists them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Role(pub String);

impl Role {
    pub fn new(code: &str) -> Self {
        Role(code.to_string())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A name in the UI's languages, keyed by locale (`zh-CN`, `en`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LocalText(pub BTreeMap<String, String>);

impl LocalText {
    /// The text in `locale`, else Chinese, else any.
    pub fn get(&self, locale: &str) -> &str {
        self.0
            .get(locale)
            .or_else(|| self.0.get("zh-CN"))
            .or_else(|| self.0.values().next())
            .map(String::as_str)
            .unwrap_or("")
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoleDef {
    pub code: Role,
    pub name: LocalText,
}

/// Countersign (会签: every assignee signs) or any-sign (或签: one holder of the role suffices).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignMode {
    Countersign,
    AnySign,
}

/// When a step is open: before the permit is issued, or after the work is completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Approval,
    Acceptance,
}

/// One signature step of a flow (审批步骤).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlowStep {
    pub id: String,
    pub name: LocalText,
    pub phase: Phase,
    pub role: Role,
    pub mode: SignMode,
    /// Minutes the step may stay open before it is overdue (R-SLA).
    pub time_limit_minutes: i64,
    /// Who, besides holding the role, may sign.
    #[serde(default)]
    pub signer: StepSigner,
}

/// Who may sign a step, besides holding its role.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepSigner {
    /// Anyone with the role except the permit's applicant and guardian (separation of duties:
    /// the approver is never the worker or the guardian of the same permit).
    #[default]
    Independent,
    /// Only the guardian named on the permit (e.g. the guardian's confirmation step).
    PermitGuardian,
}

/// Acceptable gas readings (R-GAS). `None` means "not limited for this grade".
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GasLimits {
    pub o2_min_pct: Option<f64>,
    pub o2_max_pct: Option<f64>,
    pub lel_max_pct: Option<f64>,
    pub h2s_max_ppm: Option<f64>,
    pub co_max_ppm: Option<f64>,
}

/// The gas test a grade requires before work starts or resumes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GasTestRule {
    /// A passing test older than this at start/resume is void.
    pub max_age_minutes: i64,
    /// While work is active, a new passing test is due this often (an alert when missed).
    #[serde(default)]
    pub retest_interval_minutes: Option<i64>,
    pub limits: GasLimits,
    pub source: String,
}

impl GasTestRule {
    /// Limits no instrument reading could meet or that contradict each other, and times that
    /// are not above zero.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let l = &self.limits;
        let pct = |name: &str, v: Option<f64>, out: &mut Vec<String>| {
            if v.is_some_and(|v| !(0.0..=100.0).contains(&v)) {
                out.push(format!("{name} must be within 0–100 %"));
            }
        };
        pct("o2_min_pct", l.o2_min_pct, &mut out);
        pct("o2_max_pct", l.o2_max_pct, &mut out);
        pct("lel_max_pct", l.lel_max_pct, &mut out);
        if let (Some(lo), Some(hi)) = (l.o2_min_pct, l.o2_max_pct) {
            if lo >= hi {
                out.push(format!("o2_min_pct {lo} is not below o2_max_pct {hi}"));
            }
        }
        for (name, v) in [("h2s_max_ppm", l.h2s_max_ppm), ("co_max_ppm", l.co_max_ppm)] {
            if v.is_some_and(|v| !(v.is_finite() && v >= 0.0)) {
                out.push(format!("{name} must be 0 or more"));
            }
        }
        if self.max_age_minutes <= 0 {
            out.push("max_age_minutes must be above 0".into());
        }
        if self.retest_interval_minutes.is_some_and(|m| m <= 0) {
            out.push("retest_interval_minutes must be above 0".into());
        }
        out
    }
}

/// A party to one permit (R-ROLES): who a person is *on this permit*, not in the plant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PermitParty {
    /// The work leader who filed it (申请人).
    Applicant,
    /// The guardian named on it (监护人).
    Guardian,
    /// A worker of its crew.
    Crew,
    /// Someone who signed one of its approval steps.
    Approver,
}

impl PermitParty {
    pub const ALL: [PermitParty; 4] =
        [PermitParty::Applicant, PermitParty::Guardian, PermitParty::Crew, PermitParty::Approver];

    pub fn code(self) -> &'static str {
        match self {
            PermitParty::Applicant => "applicant",
            PermitParty::Guardian => "guardian",
            PermitParty::Crew => "crew",
            PermitParty::Approver => "approver",
        }
    }
}

/// Who may take an action on a permit: a party to that permit (`permit:guardian`) or anyone
/// holding a plant role (`role:safety_officer`, e.g. the stop-work authority of safety
/// officers and inspectors). Written as those strings in the catalog.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ActorRule {
    Permit(PermitParty),
    Role(Role),
}

impl std::fmt::Display for ActorRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ActorRule::Permit(p) => write!(f, "permit:{}", p.code()),
            ActorRule::Role(r) => write!(f, "role:{}", r.0),
        }
    }
}

impl std::str::FromStr for ActorRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once(':') {
            Some(("permit", party)) => PermitParty::ALL
                .into_iter()
                .find(|p| p.code() == party)
                .map(ActorRule::Permit)
                .ok_or_else(|| format!("'{s}': the permit parties are applicant, guardian, crew and approver")),
            Some(("role", role)) if !role.is_empty() => Ok(ActorRule::Role(Role::new(role))),
            _ => Err(format!("'{s}' is neither permit:<party> nor role:<role code>")),
        }
    }
}

impl Serialize for ActorRule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ActorRule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Who may perform the actions that are not flow steps, on a permit of this grade: any one of
/// the rules of the action suffices.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionRules {
    pub start: Vec<ActorRule>,
    pub suspend: Vec<ActorRule>,
    pub resume: Vec<ActorRule>,
    pub complete: Vec<ActorRule>,
    pub gas_test: Vec<ActorRule>,
    pub cancel: Vec<ActorRule>,
    /// Who resumes work that a failing gas reading suspended (revalidation, 重新确认): by
    /// default whoever approved the permit — the issuer — not the crew that was in the gas.
    #[serde(default = "ActionRules::default_revalidate")]
    pub revalidate: Vec<ActorRule>,
    /// Who logs people and tools into and out of the space, for types with an entrant roster.
    #[serde(default = "ActionRules::default_roster")]
    pub roster: Vec<ActorRule>,
}

impl ActionRules {
    /// Every (action, rules) pair.
    pub fn all(&self) -> [(&'static str, &[ActorRule]); 8] {
        [
            ("start", &self.start),
            ("suspend", &self.suspend),
            ("resume", &self.resume),
            ("complete", &self.complete),
            ("gas_test", &self.gas_test),
            ("cancel", &self.cancel),
            ("revalidate", &self.revalidate),
            ("roster", &self.roster),
        ]
    }

    fn default_roster() -> Vec<ActorRule> {
        vec![ActorRule::Permit(PermitParty::Guardian)]
    }

    fn default_revalidate() -> Vec<ActorRule> {
        vec![ActorRule::Permit(PermitParty::Approver)]
    }
}

/// A grade of a permit type, e.g. hot work grade 1 (一级动火).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GradeDef {
    pub code: String,
    pub name: LocalText,
    /// The longest planned window a permit of this grade may have (R-LIFE).
    pub max_validity_minutes: i64,
    pub validity_source: String,
    pub gas_test: Option<GasTestRule>,
    pub flow: Vec<FlowStep>,
    pub actions: ActionRules,
    /// Where the action rules come from, shown to the safety manager.
    #[serde(default)]
    pub actions_source: String,
}

impl GradeDef {
    pub fn step(&self, id: &str) -> Option<&FlowStep> {
        self.flow.iter().find(|s| s.id == id)
    }
}

/// An item of the precautions checklist (安全措施). Required items must be confirmed before a
/// permit can be submitted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChecklistItem {
    pub code: String,
    pub text: LocalText,
    pub required: bool,
}

/// A class of work location the rules tell apart, e.g. a fire and explosion hazard place
/// (火灾爆炸危险场所). Locations in the register carry the codes of their classes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LocationClass {
    pub code: String,
    pub name: LocalText,
    pub source: String,
}

/// The least severe grade a permit type may have at a location of a class: hot work at a fire
/// and explosion hazard place is at least grade 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GradeFloor {
    pub location_class: String,
    pub min_grade: String,
    pub source: String,
}

/// Planned on a holiday, a rest day or at night, a permit of the type is one grade more severe
/// than it would be otherwise (GB 30871 for hot work).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GradeRaise {
    pub when: Vec<crate::calendar::CalendarCondition>,
    pub source: String,
}

/// The entrant roster of a type, and where the rule comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RosterRule {
    pub source: String,
}

/// A permit type (作业类型), e.g. hot work (动火作业).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PermitTypeDef {
    pub code: String,
    pub name: LocalText,
    /// Prefix of human-readable permit numbers, e.g. `DH` for 动火.
    pub number_prefix: String,
    /// The grades, from the most severe to the least.
    pub grades: Vec<GradeDef>,
    pub precautions: Vec<ChecklistItem>,
    /// Grades the location's classes impose. Left out of the JSON when there are none, so a
    /// catalog signed before floors existed reads and writes as it did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grade_floors: Vec<GradeFloor>,
    /// Whether people and tools going in and out are logged (confined space): work cannot be
    /// completed or cancelled while anyone or anything is still inside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrant_roster: Option<RosterRule>,
    /// The calendar's grade raise, for the types that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade_raise: Option<GradeRaise>,
}

impl PermitTypeDef {
    pub fn grade(&self, code: &str) -> Option<&GradeDef> {
        self.grades.iter().find(|g| g.code == code)
    }

    /// Where a grade stands in severity: 0 is the most severe. `None` for an unknown grade.
    pub fn severity_rank(&self, code: &str) -> Option<usize> {
        self.grades.iter().position(|g| g.code == code)
    }

    /// The most severe floor that a location of `classes` imposes, if any does.
    pub fn grade_floor(&self, classes: &[String]) -> Option<&GradeFloor> {
        self.grade_floors
            .iter()
            .filter(|f| classes.contains(&f.location_class))
            .filter_map(|f| Some((self.severity_rank(&f.min_grade)?, f)))
            .min_by_key(|(rank, _)| *rank)
            .map(|(_, f)| f)
    }
}

/// The whole catalog of a plant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub version: u32,
    pub roles: Vec<RoleDef>,
    pub permit_types: Vec<PermitTypeDef>,
    /// Classes of work location the grade floors name. Left out of the JSON when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub location_classes: Vec<LocationClass>,
}

/// The default catalog could not be read; only a broken build can cause this.
#[derive(Debug, thiserror::Error)]
#[error("the permit-type catalog is not valid: {0}")]
pub struct CatalogError(#[from] serde_json::Error);

impl Catalog {
    /// The default GB 30871-2022 catalog shipped with openptw.
    pub fn gb30871() -> Result<Catalog, CatalogError> {
        Catalog::from_json(include_str!("../catalog/gb30871.json"))
    }

    pub fn from_json(json: &str) -> Result<Catalog, CatalogError> {
        Ok(serde_json::from_str(json)?)
    }

    pub fn permit_type(&self, code: &str) -> Option<&PermitTypeDef> {
        self.permit_types.iter().find(|t| t.code == code)
    }

    pub fn grade(&self, type_code: &str, grade_code: &str) -> Option<&GradeDef> {
        self.permit_type(type_code)?.grade(grade_code)
    }

    pub fn role(&self, code: &Role) -> Option<&RoleDef> {
        self.roles.iter().find(|r| &r.code == code)
    }

    pub fn location_class(&self, code: &str) -> Option<&LocationClass> {
        self.location_classes.iter().find(|c| c.code == code)
    }

    /// What is inconsistent in the catalog: grades without a flow, steps or actions naming a
    /// role the catalog does not define, codes used twice. Empty = consistent.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut types = std::collections::BTreeSet::new();
        for t in &self.permit_types {
            if !types.insert(&t.code) {
                out.push(format!("permit type {} is defined twice", t.code));
            }
            for f in &t.grade_floors {
                if self.location_class(&f.location_class).is_none() {
                    out.push(format!("{}: grade floor names unknown location class {}", t.code, f.location_class));
                }
                if t.grade(&f.min_grade).is_none() {
                    out.push(format!("{}: grade floor names unknown grade {}", t.code, f.min_grade));
                }
            }
            let mut grades = std::collections::BTreeSet::new();
            for g in &t.grades {
                if !grades.insert(&g.code) {
                    out.push(format!("{}/{} is defined twice", t.code, g.code));
                }
                if g.flow.is_empty() {
                    out.push(format!("{}/{} has no flow", t.code, g.code));
                } else if !g.flow.iter().any(|s| s.phase == Phase::Approval) {
                    out.push(format!("{}/{}: the flow has no approval step", t.code, g.code));
                }
                if g.max_validity_minutes <= 0 {
                    out.push(format!("{}/{}: max_validity_minutes must be above 0", t.code, g.code));
                }
                let mut steps = std::collections::BTreeSet::new();
                for s in &g.flow {
                    if !steps.insert(&s.id) {
                        out.push(format!("{}/{}/{} is defined twice", t.code, g.code, s.id));
                    }
                    if self.role(&s.role).is_none() {
                        out.push(format!("{}/{}/{}: unknown role {}", t.code, g.code, s.id, s.role.0));
                    }
                    if s.time_limit_minutes <= 0 {
                        out.push(format!("{}/{}/{}: time_limit_minutes must be above 0", t.code, g.code, s.id));
                    }
                }
                if let Some(gas) = &g.gas_test {
                    out.extend(gas.problems().into_iter().map(|p| format!("{}/{}: gas test: {p}", t.code, g.code)));
                }
                for (action, rules) in g.actions.all() {
                    if rules.is_empty() {
                        out.push(format!("{}/{}: nobody may {action}", t.code, g.code));
                    }
                    for r in rules {
                        if let ActorRule::Role(role) = r {
                            if self.role(role).is_none() {
                                out.push(format!("{}/{}: {action} names unknown role {}", t.code, g.code, role.0));
                            }
                        }
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalog_reads_and_is_consistent() {
        let c = Catalog::gb30871().expect("shipped catalog parses");
        assert!(c.permit_type("hot_work").is_some());
        assert_eq!(c.problems(), Vec::<String>::new());
        let mut broken = c.clone();
        broken.permit_types[0].grades[0].actions.start = vec![ActorRule::Role(Role::new("wizard"))];
        assert_eq!(broken.problems().len(), 1, "{:?}", broken.problems());
    }

    #[test]
    fn actor_rules_read_and_write_as_party_or_role_strings() {
        for text in ["permit:guardian", "permit:approver", "role:safety_officer"] {
            let rule: ActorRule = text.parse().expect("parses");
            assert_eq!(rule.to_string(), text);
        }
        for bad in ["guardian", "permit:boss", "role:", "team:x"] {
            assert!(bad.parse::<ActorRule>().is_err(), "{bad}");
        }
    }

    /// Each check of `problems` on its own: one broken entry gives exactly one problem, which
    /// names the entry.
    #[test]
    fn every_catalog_check_names_the_broken_entry() {
        let c = Catalog::gb30871().expect("catalog");
        type Break = fn(&mut Catalog);
        let cases: [(&str, Break, &str); 11] = [
            (
                "unknown role",
                |c| c.permit_types[0].grades[0].flow[0].role = Role::new("wizard"),
                "hot_work/special/workshop_review: unknown role wizard",
            ),
            (
                "no approval step",
                |c| c.permit_types[0].grades[2].flow.retain(|s| s.phase != Phase::Approval),
                "hot_work/grade_2: the flow has no approval step",
            ),
            ("no flow", |c| c.permit_types[1].grades[0].flow.clear(), "confined_space/standard has no flow"),
            (
                "O2 above 100 %",
                |c| set_limits(c, |l| l.o2_max_pct = Some(230.0)),
                "hot_work/grade_1: gas test: o2_max_pct must be within 0–100 %",
            ),
            (
                "O2 range upside down",
                |c| set_limits(c, |l| l.o2_min_pct = Some(23.5)),
                "hot_work/grade_1: gas test: o2_min_pct 23.5 is not below o2_max_pct 23.5",
            ),
            (
                "LEL below 0",
                |c| set_limits(c, |l| l.lel_max_pct = Some(-1.0)),
                "hot_work/grade_1: gas test: lel_max_pct must be within 0–100 %",
            ),
            (
                "negative ppm",
                |c| set_limits(c, |l| l.h2s_max_ppm = Some(-5.0)),
                "hot_work/grade_1: gas test: h2s_max_ppm must be 0 or more",
            ),
            (
                "gas test age 0",
                |c| gas_rule(c).max_age_minutes = 0,
                "hot_work/grade_1: gas test: max_age_minutes must be above 0",
            ),
            (
                "validity 0",
                |c| c.permit_types[0].grades[1].max_validity_minutes = 0,
                "hot_work/grade_1: max_validity_minutes must be above 0",
            ),
            (
                "step time limit 0",
                |c| c.permit_types[0].grades[1].flow[0].time_limit_minutes = -5,
                "hot_work/grade_1/workshop_review: time_limit_minutes must be above 0",
            ),
            (
                "step twice",
                |c| {
                    let s = c.permit_types[0].grades[1].flow[0].clone();
                    c.permit_types[0].grades[1].flow.push(s)
                },
                "hot_work/grade_1/workshop_review is defined twice",
            ),
        ];
        fn gas_rule(c: &mut Catalog) -> &mut GasTestRule {
            c.permit_types[0].grades[1].gas_test.as_mut().expect("grade 1 has a gas test")
        }
        fn set_limits(c: &mut Catalog, f: impl FnOnce(&mut GasLimits)) {
            f(&mut gas_rule(c).limits)
        }
        for (what, break_it, expected) in cases {
            let mut broken = c.clone();
            break_it(&mut broken);
            assert_eq!(broken.problems(), vec![expected.to_owned()], "{what}");
        }
    }

    #[test]
    fn a_location_of_several_classes_gets_the_most_severe_floor() {
        let c = Catalog::gb30871().expect("catalog");
        let hot = c.permit_type("hot_work").expect("hot work");
        let classes = |codes: &[&str]| codes.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        let floor = |codes: &[&str]| hot.grade_floor(&classes(codes)).map(|f| f.min_grade.clone());
        assert_eq!(floor(&[]), None);
        assert_eq!(floor(&["fire_explosion_hazard"]).as_deref(), Some("grade_1"));
        assert_eq!(floor(&["pipe_rack"]).as_deref(), Some("grade_1"));
        assert_eq!(floor(&["fire_explosion_hazard", "major_hazard_tank_dike"]).as_deref(), Some("special"));
        assert_eq!(floor(&["no_such_class"]), None);
        assert_eq!(c.permit_type("confined_space").and_then(|t| t.grade_floor(&classes(&["pipe_rack"]))), None);

        let mut broken = c.clone();
        broken.permit_types[0].grade_floors[0].min_grade = "grade_9".into();
        broken.permit_types[0].grade_floors[1].location_class = "swamp".into();
        assert_eq!(broken.problems().len(), 2, "{:?}", broken.problems());
    }

    #[test]
    fn grade_one_hot_work_is_capped_at_eight_hours_with_a_thirty_minute_gas_test() {
        let c = Catalog::gb30871().expect("catalog");
        let g = c.grade("hot_work", "grade_1").expect("grade 1");
        assert_eq!(g.max_validity_minutes, 8 * 60);
        assert_eq!(g.gas_test.as_ref().map(|t| t.max_age_minutes), Some(30));
    }
}
