//! The permit-type catalog: which operations exist, their grades, approval flows, time limits,
//! validity caps, gas limits and checklists — all *data*.
//!
//! The engine in [`crate::derive`] reads only this structure; it never asks "is this hot work?".
//! A plant changes a number here (or adds a sub-type) without touching code. The default data
//! ships in `catalog/gb30871.json`, each value marked with its source so a safety manager can
//! review it (see DOMAIN.md).

pub use crate::qualification::{CertificateType, QualificationRule};
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
    /// A yes/no field of the type: the step is part of a permit's flow only when it is answered
    /// yes (the approval a shut-down unit's lower grade needs); `None`: always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
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
    /// The flammables must stay strictly below `lel_max_pct` (confined space: "< 10 % LEL");
    /// otherwise a reading at the limit passes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lel_below: bool,
    pub h2s_max_ppm: Option<f64>,
    pub co_max_ppm: Option<f64>,
    /// Limits on the flammable's concentration by volume, chosen by the lower explosive limit
    /// of the medium the permit names (hot work: LEL ≥ 4 % → at most 0.5 % vol, below → 0.2 %);
    /// they apply besides `lel_max_pct` when the medium's LEL is known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flammable_by_lel: Vec<FlammableLimit>,
}

/// For media whose LEL is at least `lel_at_least_pct` % vol: at most `max_vol_pct` % vol.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FlammableLimit {
    pub lel_at_least_pct: f64,
    pub max_vol_pct: f64,
}

impl GasLimits {
    /// The volume limit for a medium whose LEL is `lel_pct` % vol: the rule with the highest
    /// LEL threshold the medium reaches.
    pub fn flammable_vol_limit(&self, lel_pct: f64) -> Option<f64> {
        self.flammable_by_lel
            .iter()
            .filter(|l| lel_pct >= l.lel_at_least_pct)
            .max_by(|a, b| a.lel_at_least_pct.total_cmp(&b.lel_at_least_pct))
            .map(|l| l.max_vol_pct)
    }
}

/// The gas test a grade requires before work starts or resumes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GasTestRule {
    /// A passing test older than this at start/resume is void.
    pub max_age_minutes: i64,
    /// While work is active, a new passing test is due this often (an alert when missed).
    #[serde(default)]
    pub retest_interval_minutes: Option<i64>,
    /// Work that stopped for longer than this resumes only on a test taken after it stopped
    /// (GB 30871: re-test when work in a confined space stops for more than 60 min).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retest_after_pause_minutes: Option<i64>,
    pub limits: GasLimits,
    pub source: String,
    /// The type's field that gives the medium's lower explosive limit (% vol), for
    /// `limits.flammable_by_lel`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium_lel_field: Option<String>,
    /// Where samples are taken in a large space (upper, middle, lower): when the yes/no field
    /// `sample_points_when` is answered yes, work starts or resumes only when the latest test
    /// at every one of them passes and is young enough.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sample_points: Vec<SamplePoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_points_when: Option<String>,
    /// The order gases are tested in (confined space: oxygen, then flammables, then toxics —
    /// a flammables sensor reads wrong without enough oxygen): a test that measures a group
    /// measures every group before it too. `None`: any reading stands alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_order: Option<GasOrder>,
}

/// The gas groups in the order they are tested, and where the rule comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GasOrder {
    pub groups: Vec<GasGroup>,
    pub source: String,
}

/// What a gas reading measures: oxygen, flammables (%LEL) or toxics (H2S, CO).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GasGroup {
    Oxygen,
    Flammables,
    Toxics,
}

impl GasOrder {
    /// The first group `reading` skips before one it measures, with that one: `(missing,
    /// measured)`.
    pub fn skipped(&self, reading: &crate::event::GasReading) -> Option<(GasGroup, GasGroup)> {
        let measured = |g: GasGroup| match g {
            GasGroup::Oxygen => reading.o2_pct.is_some(),
            GasGroup::Flammables => reading.lel_pct.is_some(),
            GasGroup::Toxics => reading.h2s_ppm.is_some() || reading.co_ppm.is_some(),
        };
        let last = self.groups.iter().rposition(|g| measured(*g))?;
        let missing = self.groups[..last].iter().find(|g| !measured(**g))?;
        Some((*missing, self.groups[last]))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SamplePoint {
    pub code: String,
    pub name: LocalText,
}

impl GasTestRule {
    /// The sample points every test must cover on a permit with `form`: none unless the
    /// field that asks for them is answered yes.
    pub fn required_points(&self, form: &crate::form::PermitForm) -> Vec<&SamplePoint> {
        let asked = self
            .sample_points_when
            .as_ref()
            .is_some_and(|f| form.details.get(f) == Some(&crate::form::FieldValue::YesNo(true)));
        if asked {
            self.sample_points.iter().collect()
        } else {
            Vec::new()
        }
    }
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
        if let Some(order) = &self.test_order {
            let mut seen = std::collections::BTreeSet::new();
            if let Some(g) = order.groups.iter().find(|g| !seen.insert(**g)) {
                out.push(format!("test_order lists {g:?} twice"));
            }
        }
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
        for f in &l.flammable_by_lel {
            if !(0.0..=100.0).contains(&f.lel_at_least_pct) || !(0.0..=100.0).contains(&f.max_vol_pct) {
                out.push("flammable_by_lel percentages must be within 0–100 %".into());
            }
        }
        if self.max_age_minutes <= 0 {
            out.push("max_age_minutes must be above 0".into());
        }
        if self.retest_interval_minutes.is_some_and(|m| m <= 0) {
            out.push("retest_interval_minutes must be above 0".into());
        }
        if self.retest_after_pause_minutes.is_some_and(|m| m <= 0) {
            out.push("retest_after_pause_minutes must be above 0".into());
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
    /// Who signs the fire watch off, for grades with one: by default the permit's guardian.
    #[serde(default = "ActionRules::default_roster")]
    pub fire_watch: Vec<ActorRule>,
    /// Who asks for a change of the permit (作业变更): by default its applicant.
    #[serde(default = "ActionRules::default_change")]
    pub change: Vec<ActorRule>,
}

impl ActionRules {
    /// Every (action, rules) pair.
    pub fn all(&self) -> [(&'static str, &[ActorRule]); 10] {
        [
            ("start", &self.start),
            ("suspend", &self.suspend),
            ("resume", &self.resume),
            ("complete", &self.complete),
            ("gas_test", &self.gas_test),
            ("cancel", &self.cancel),
            ("revalidate", &self.revalidate),
            ("roster", &self.roster),
            ("fire_watch", &self.fire_watch),
            ("change", &self.change),
        ]
    }

    fn default_roster() -> Vec<ActorRule> {
        vec![ActorRule::Permit(PermitParty::Guardian)]
    }

    fn default_change() -> Vec<ActorRule> {
        vec![ActorRule::Permit(PermitParty::Applicant)]
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
    /// The fire watch after the work (hot work): the permit closes only after it ran its time
    /// and the fire watcher signed it off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fire_watch: Option<FireWatchRule>,
    /// Whether and how an issued permit of this grade may be changed (作业变更); `None`: a
    /// change needs a new permit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<ChangeRule>,
    /// A photo the work may not start without (line blinding: the numbered blind-location
    /// diagram); `None`: none is asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_photo: Option<StartPhoto>,
}

/// A photo of `phase` that must be on the permit before its work starts, and what it shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StartPhoto {
    pub phase: crate::event::PhotoPhase,
    /// What the photo must show, in words for the person taking it.
    pub name: LocalText,
    pub source: String,
}

/// How a change of an issued permit is approved: by `flow`, or — when it is empty — again by
/// the grade's own approval steps. The changed permit is validated as a whole, so a new window
/// stays within the grade's validity cap (an extension, where the cap leaves room).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangeRule {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flow: Vec<FlowStep>,
    pub source: String,
}

impl GradeDef {
    /// The steps a change of a permit of this grade goes through.
    pub fn change_steps(&self) -> Vec<&FlowStep> {
        match &self.changes {
            Some(rule) if !rule.flow.is_empty() => rule.flow.iter().collect(),
            Some(_) => self.flow.iter().filter(|s| s.phase == Phase::Approval).collect(),
            None => Vec::new(),
        }
    }
}

/// How long someone keeps watch for fire after the work ends (OSHA 1910.252: 30 min; NFPA 51B:
/// 60 min), and where the number comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FireWatchRule {
    pub minutes: i64,
    pub source: String,
}

impl GradeDef {
    /// The steps of the flow a permit with `form` goes through: those without a `when`, and
    /// those whose field is answered yes.
    pub fn flow_for<'g>(&'g self, form: &'g crate::form::PermitForm) -> impl Iterator<Item = &'g FlowStep> + 'g {
        let yes = |f: &String| form.details.get(f) == Some(&crate::form::FieldValue::YesNo(true));
        self.flow.iter().filter(move |s| s.when.as_ref().is_none_or(yes))
    }

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
    /// The grades the item belongs to (special-grade hot work's camera record); empty: all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grades: Vec<String>,
}

impl ChecklistItem {
    /// Whether a permit of `grade` is asked the item.
    pub fn applies_to(&self, grade: &str) -> bool {
        self.grades.is_empty() || self.grades.iter().any(|g| g == grade)
    }
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

/// A yes/no question of the type that, answered yes, sets the least grade: hot work on running
/// equipment, pipes or vessels — hot tapping included — is special grade (GB 30871).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldFloor {
    pub field: String,
    pub min_grade: String,
    pub source: String,
}

/// A yes/no question whose yes lifts the floors of some location classes and sets `grade`
/// instead: hot work in a unit that is shut down, purged and analysed may be managed as grade 2
/// with approval (GB 30871). The approval is the step of the grade's flow that asks the same
/// field (`FlowStep::when`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FloorWaiver {
    pub field: String,
    pub location_classes: Vec<String>,
    pub grade: String,
    pub source: String,
}

/// Planned on a holiday, a rest day or at night, a permit of the type is one grade more severe
/// than it would be otherwise (GB 30871 for hot work).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GradeRaise {
    pub when: Vec<crate::calendar::CalendarCondition>,
    /// Yes/no fields of the type that raise it the same way when answered yes (special
    /// weather for hot work).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    pub source: String,
}

/// The entrant roster of a type, and where the rule comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RosterRule {
    pub source: String,
}

/// A field a permit type adds to the common form (作业票专用栏目), e.g. the working height of
/// work at height or the blind's number of line blinding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldDef {
    pub code: String,
    pub name: LocalText,
    #[serde(flatten)]
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    /// The sub-types the field belongs to; empty = all of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subtypes: Vec<String>,
    /// Where the field and its range come from, shown to the safety manager.
    #[serde(default)]
    pub source: String,
}

impl FieldDef {
    /// Whether the field is on the form of a permit of sub-type `subtype`.
    pub fn applies_to(&self, subtype: Option<&str>) -> bool {
        self.subtypes.is_empty() || subtype.is_some_and(|s| self.subtypes.iter().any(|x| x == s))
    }
}

/// What a field holds, with its limits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldKind {
    /// A measured number in `unit` (`m`, `t`, `MPa`, `kW`…), within `min`..=`max`.
    Number {
        unit: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
    },
    /// Free text of at most `max_chars` characters.
    Text { max_chars: usize },
    /// One of the options, by code.
    Choice { options: Vec<ChoiceOption> },
    /// Yes or no (an aggravating factor, a confirmation).
    YesNo,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChoiceOption {
    pub code: String,
    pub name: LocalText,
}

/// A sub-type (子场景) of a permit type, e.g. hot tapping of hot work or fitting a blind of line
/// blinding, with the grade it is at least.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubtypeDef {
    pub code: String,
    pub name: LocalText,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_grade: Option<String>,
    #[serde(default)]
    pub source: String,
}

/// A grade computed from a number the applicant enters: work at height by the working height
/// (GB/T 3608), lifting by the load. Each band reaches up to its bound; the first band the
/// value falls in gives the grade. Yes/no fields in `raise_if` are aggravating factors: any one
/// of them answered yes raises the grade one step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GradeBy {
    pub field: String,
    /// From the lowest values up; the last band has no bound.
    pub bands: Vec<GradeBand>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub raise_if: Vec<String>,
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GradeBand {
    pub grade: String,
    /// The band's upper bound; `None` for the last band.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_to: Option<f64>,
    /// Whether the bound itself belongs to the band (2–5 m includes 5 m; lifting below 40 t
    /// does not include 40 t).
    #[serde(default = "GradeBand::inclusive")]
    pub up_to_inclusive: bool,
}

impl GradeBand {
    fn inclusive() -> bool {
        true
    }

    fn holds(&self, value: f64) -> bool {
        match self.up_to {
            None => true,
            Some(bound) if self.up_to_inclusive => value <= bound,
            Some(bound) => value < bound,
        }
    }
}

impl GradeBy {
    /// The band `value` falls in.
    pub fn band(&self, value: f64) -> Option<&GradeBand> {
        self.bands.iter().find(|b| b.holds(value))
    }
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
    /// The sub-types; when there are any, a permit names one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subtypes: Vec<SubtypeDef>,
    /// The fields this type adds to the form.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldDef>,
    /// The grade computed from a field, for types graded by a number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade_by: Option<GradeBy>,
    /// Yes/no questions whose yes sets a least grade.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub field_floors: Vec<FieldFloor>,
    /// Yes/no questions whose yes lifts location floors, with approval.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub floor_waivers: Vec<FloorWaiver>,
    /// The certificates the work asks of its crew, guardian, gas tester… (R-GATE).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub qualifications: Vec<QualificationRule>,
    /// What the guardian's presence on site (checked in and out by badge and location QR)
    /// means for the work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<PresenceRule>,
    /// The job safety analysis (JSA) of the type: the hazards its work typically carries, put
    /// before the applicant who writes the permit's hazards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jsa: Option<JsaGuide>,
}

/// The hazards a job safety analysis (工作危害分析, JSA) of a type goes through, with where
/// they come from (GB 30871: a JSA before every special operation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JsaGuide {
    pub hazards: Vec<LocalText>,
    pub source: String,
}

/// The presence rule of a type (R-QR): work stops when its guardian checks out while it runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PresenceRule {
    /// The guardian checking out of the site while work is active suspends the permit; it
    /// resumes only with the guardian (the one on duty) checked in again.
    pub suspend_when_guardian_leaves: bool,
    pub source: String,
}

impl PermitTypeDef {
    pub fn grade(&self, code: &str) -> Option<&GradeDef> {
        self.grades.iter().find(|g| g.code == code)
    }

    /// Where a grade stands in severity: 0 is the most severe. `None` for an unknown grade.
    pub fn severity_rank(&self, code: &str) -> Option<usize> {
        self.grades.iter().position(|g| g.code == code)
    }

    pub fn subtype(&self, code: &str) -> Option<&SubtypeDef> {
        self.subtypes.iter().find(|s| s.code == code)
    }

    pub fn field(&self, code: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.code == code)
    }

    /// What is inconsistent in the type's sub-types, fields and computed grade.
    fn field_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut codes = std::collections::BTreeSet::new();
        for s in &self.subtypes {
            if !codes.insert(&s.code) {
                out.push(format!("sub-type {} is defined twice", s.code));
            }
            if let Some(g) = s.min_grade.as_deref().filter(|g| self.grade(g).is_none()) {
                out.push(format!("sub-type {} names unknown grade {g}", s.code));
            }
        }
        let mut codes = std::collections::BTreeSet::new();
        for f in &self.fields {
            if !codes.insert(&f.code) {
                out.push(format!("field {} is defined twice", f.code));
            }
            for s in f.subtypes.iter().filter(|s| self.subtype(s).is_none()) {
                out.push(format!("field {} names unknown sub-type {s}", f.code));
            }
            match &f.kind {
                FieldKind::Number { min: Some(lo), max: Some(hi), .. } if lo > hi => {
                    out.push(format!("field {}: min {lo} is above max {hi}", f.code))
                }
                FieldKind::Number { min, max, .. } if [min, max].iter().any(|v| v.is_some_and(|v| !v.is_finite())) => {
                    out.push(format!("field {}: min and max must be finite numbers", f.code))
                }
                FieldKind::Text { max_chars: 0 } => out.push(format!("field {}: max_chars must be above 0", f.code)),
                FieldKind::Choice { options } if options.is_empty() => {
                    out.push(format!("field {}: a choice needs options", f.code))
                }
                _ => {}
            }
        }
        if let Some(by) = &self.grade_by {
            if !matches!(self.field(&by.field).map(|f| &f.kind), Some(FieldKind::Number { .. })) {
                out.push(format!("grade_by names {}, which is not a number field of the type", by.field));
            }
            for b in by.bands.iter().filter(|b| self.grade(&b.grade).is_none()) {
                out.push(format!("grade_by band names unknown grade {}", b.grade));
            }
            let bounds: Vec<Option<f64>> = by.bands.iter().map(|b| b.up_to).collect();
            let last_open = bounds.last().is_some_and(Option::is_none);
            let rising = bounds.iter().flatten().collect::<Vec<_>>().windows(2).all(|w| w[0] < w[1]);
            let open_only_last = bounds.iter().rev().skip(1).all(Option::is_some);
            if !(last_open && rising && open_only_last) {
                out.push("grade_by bands must rise, and only the last may be open-ended".into());
            }
            for r in &by.raise_if {
                if !matches!(self.field(r).map(|f| &f.kind), Some(FieldKind::YesNo)) {
                    out.push(format!("grade_by raise_if names {r}, which is not a yes/no field of the type"));
                }
            }
        }
        for f in self.grade_raise.iter().flat_map(|r| &r.fields) {
            if !matches!(self.field(f).map(|d| &d.kind), Some(FieldKind::YesNo)) {
                out.push(format!("grade raise names {f}, which is not a yes/no field of the type"));
            }
        }
        for w in &self.floor_waivers {
            if !matches!(self.field(&w.field).map(|d| &d.kind), Some(FieldKind::YesNo)) {
                out.push(format!("floor waiver names {}, which is not a yes/no field of the type", w.field));
                continue;
            }
            match self.grade(&w.grade) {
                None => out.push(format!("floor waiver {} names unknown grade {}", w.field, w.grade)),
                Some(g) if !g.flow.iter().any(|s| s.phase == Phase::Approval && s.when.as_ref() == Some(&w.field)) => {
                    out.push(format!(
                        "floor waiver {} lowers to {}, whose flow has no approval step asking {}",
                        w.field, w.grade, w.field
                    ))
                }
                Some(_) => {}
            }
        }
        for g in &self.grades {
            for s in g.flow.iter().filter(|s| s.when.is_some()) {
                let when = s.when.as_deref().unwrap_or_default();
                if !matches!(self.field(when).map(|d| &d.kind), Some(FieldKind::YesNo)) {
                    out.push(format!(
                        "{}/{} is asked when {when}, which is not a yes/no field of the type",
                        g.code, s.id
                    ));
                }
            }
        }
        for f in &self.field_floors {
            if !matches!(self.field(&f.field).map(|d| &d.kind), Some(FieldKind::YesNo)) {
                out.push(format!("field floor names {}, which is not a yes/no field of the type", f.field));
            }
            if self.grade(&f.min_grade).is_none() {
                out.push(format!("field floor {} names unknown grade {}", f.field, f.min_grade));
            }
        }
        out
    }

    /// The most severe floor that a location of `classes` imposes, if any does.
    pub fn grade_floor(&self, classes: &[String]) -> Option<&GradeFloor> {
        self.grade_floor_except(classes, &[])
    }

    /// The most severe floor of `classes` other than the `waived` ones.
    pub fn grade_floor_except(&self, classes: &[String], waived: &[String]) -> Option<&GradeFloor> {
        self.grade_floors
            .iter()
            .filter(|f| classes.contains(&f.location_class) && !waived.contains(&f.location_class))
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
    /// The certificate types the register knows, with their expiry warning thresholds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificate_types: Vec<CertificateType>,
    /// When alerts warn ahead and how an overdue step escalates (R-ALERT, R-SLA). A catalog
    /// signed before they existed reads with [`AlertingRules::default`].
    #[serde(default)]
    pub alerting: AlertingRules,
}

/// The alert engine's thresholds and escalation chain ([`crate::alerts`]), catalog data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertingRules {
    /// Minutes before a step's time limit that its signers are reminded.
    pub step_reminder_minutes: i64,
    /// Whom an overdue step reaches next, level by level, in order of `after_minutes` past the
    /// step's limit.
    pub escalation: Vec<EscalationLevel>,
    /// Minutes before the end of a running permit's window that it warns.
    pub validity_warning_minutes: i64,
    /// Minutes before a gas re-test is due that it warns.
    pub gas_retest_warning_minutes: i64,
    /// Minutes before the fire watch has run its time that the fire watcher is told.
    pub fire_watch_warning_minutes: i64,
    /// Minutes within which an alert counts as handled in time (the response rate, R-KPI).
    pub response_minutes: i64,
    pub source: String,
    /// Pairs of permits that must not run at the same time (SIMOPS): each live pair whose
    /// windows overlap raises a conflict on both. A catalog signed before them has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<ConflictRule>,
}

/// Two kinds of work that must not overlap in time at one place or on one item (SIMOPS).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConflictRule {
    pub code: String,
    pub name: LocalText,
    /// The two permit types (the same twice for two of one kind).
    pub types: [String; 2],
    /// A form field both types have whose values must differ (the pipe); with none, the two
    /// must not be at the same location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub source: String,
}

impl ConflictRule {
    /// Whether a permit of `a` and one of `b` fall under this rule (in either order).
    pub fn pairs(&self, a: &str, b: &str) -> bool {
        (self.types[0] == a && self.types[1] == b) || (self.types[0] == b && self.types[1] == a)
    }
}

/// One level of an overdue step's escalation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EscalationLevel {
    /// Minutes past the step's limit (0: at the limit).
    pub after_minutes: i64,
    #[serde(flatten)]
    pub to: EscalateTo,
}

/// Who an escalation level reaches, besides everyone the levels before reached.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum EscalateTo {
    /// The holders of the role of the flow's next step of the same phase (the level above in
    /// the chain); the overdue step's own role when it is the last.
    NextStep,
    /// The holders of a role.
    Role { role: Role },
}

impl Default for AlertingRules {
    fn default() -> Self {
        AlertingRules {
            step_reminder_minutes: 15,
            escalation: vec![
                EscalationLevel { after_minutes: 0, to: EscalateTo::NextStep },
                EscalationLevel { after_minutes: 60, to: EscalateTo::Role { role: Role::new("safety_manager") } },
                EscalationLevel { after_minutes: 120, to: EscalateTo::Role { role: Role::new("plant_manager") } },
            ],
            validity_warning_minutes: 60,
            gas_retest_warning_minutes: 15,
            fire_watch_warning_minutes: 10,
            response_minutes: 30,
            source: "plant rule (seed: 临期提醒、超时升级)".into(),
            conflicts: Vec::new(),
        }
    }
}

impl AlertingRules {
    /// What is inconsistent: a negative threshold, levels out of order, an unknown role.
    fn problems(&self, catalog: &Catalog) -> Vec<String> {
        let mut out = Vec::new();
        for (name, v) in [
            ("step_reminder_minutes", self.step_reminder_minutes),
            ("validity_warning_minutes", self.validity_warning_minutes),
            ("gas_retest_warning_minutes", self.gas_retest_warning_minutes),
            ("fire_watch_warning_minutes", self.fire_watch_warning_minutes),
        ] {
            if v < 0 {
                out.push(format!("alerting: {name} must not be negative"));
            }
        }
        if self.response_minutes <= 0 {
            out.push("alerting: response_minutes must be above 0".into());
        }
        let mut last = -1;
        for (i, level) in self.escalation.iter().enumerate() {
            if level.after_minutes < 0 || level.after_minutes <= last {
                out.push(format!(
                    "alerting: escalation level {} must come after the one before it, at 0 minutes or later",
                    i + 1
                ));
            }
            last = level.after_minutes;
            if let EscalateTo::Role { role } = &level.to {
                if catalog.role(role).is_none() {
                    out.push(format!("alerting: escalation level {} names unknown role {}", i + 1, role.0));
                }
            }
        }
        let mut codes = std::collections::BTreeSet::new();
        for rule in &self.conflicts {
            let at = format!("alerting: conflict {}", rule.code);
            if rule.code.trim().is_empty() {
                out.push("alerting: a conflict has no code".into());
            } else if !codes.insert(rule.code.as_str()) {
                out.push(format!("{at} is defined twice"));
            }
            let distinct = if rule.types[0] == rule.types[1] { &rule.types[..1] } else { &rule.types[..] };
            for t in distinct {
                match catalog.permit_type(t) {
                    None => out.push(format!("{at} names unknown permit type {t}")),
                    Some(def) => {
                        if let Some(field) = &rule.field {
                            if def.field(field).is_none() {
                                out.push(format!("{at}: permit type {t} has no field {field}"));
                            }
                        }
                    }
                }
            }
        }
        out
    }
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

    pub fn certificate_type(&self, code: &str) -> Option<&CertificateType> {
        self.certificate_types.iter().find(|c| c.code == code)
    }

    /// What is inconsistent in the certificate types and in `t`'s qualification rules.
    fn qualification_problems(&self, t: &PermitTypeDef) -> Vec<String> {
        let mut out = Vec::new();
        let mut codes = std::collections::BTreeSet::new();
        for r in &t.qualifications {
            if !codes.insert(&r.code) {
                out.push(format!("{}: qualification {} is defined twice", t.code, r.code));
            }
            if r.parties.is_empty() || r.any_of.is_empty() {
                out.push(format!("{}: qualification {} names no party or no certificate type", t.code, r.code));
            }
            for c in r.any_of.iter().filter(|c| self.certificate_type(c).is_none()) {
                out.push(format!("{}: qualification {} names unknown certificate type {c}", t.code, r.code));
            }
            for s in r.subtypes.iter().filter(|s| t.subtype(s).is_none()) {
                out.push(format!("{}: qualification {} names unknown sub-type {s}", t.code, r.code));
            }
            if let Some(f) =
                r.when_yes.as_ref().filter(|f| !matches!(t.field(f).map(|x| &x.kind), Some(FieldKind::YesNo)))
            {
                out.push(format!(
                    "{}: qualification {} depends on {f}, which is not a yes/no field of the type",
                    t.code, r.code
                ));
            }
        }
        out
    }

    /// What is inconsistent in the catalog: grades without a flow, steps or actions naming a
    /// role the catalog does not define, codes used twice. Empty = consistent.
    pub fn problems(&self) -> Vec<String> {
        let mut out = self.alerting.problems(self);
        let mut cert_types = std::collections::BTreeSet::new();
        for c in &self.certificate_types {
            if !cert_types.insert(&c.code) {
                out.push(format!("certificate type {} is defined twice", c.code));
            }
        }
        let mut types = std::collections::BTreeSet::new();
        for t in &self.permit_types {
            if !types.insert(&t.code) {
                out.push(format!("permit type {} is defined twice", t.code));
            }
            out.extend(self.qualification_problems(t));
            for w in &t.floor_waivers {
                for class in w.location_classes.iter().filter(|c| self.location_class(c).is_none()) {
                    out.push(format!("{}: floor waiver {} names unknown location class {class}", t.code, w.field));
                }
            }
            for f in &t.grade_floors {
                if self.location_class(&f.location_class).is_none() {
                    out.push(format!("{}: grade floor names unknown location class {}", t.code, f.location_class));
                }
                if t.grade(&f.min_grade).is_none() {
                    out.push(format!("{}: grade floor names unknown grade {}", t.code, f.min_grade));
                }
            }
            out.extend(t.field_problems().into_iter().map(|p| format!("{}: {p}", t.code)));
            for item in &t.precautions {
                for g in item.grades.iter().filter(|g| t.grade(g).is_none()) {
                    out.push(format!("{}: precaution {} names unknown grade {g}", t.code, item.code));
                }
            }
            if let Some(jsa) = &t.jsa {
                if jsa.hazards.is_empty() || jsa.hazards.iter().any(|h| h.get("zh-CN").trim().is_empty()) {
                    out.push(format!("{}: the JSA lists no hazard, or a hazard with no name", t.code));
                }
            }
            let mut grades = std::collections::BTreeSet::new();
            for g in &t.grades {
                if !grades.insert(&g.code) {
                    out.push(format!("{}/{} is defined twice", t.code, g.code));
                }
                if g.flow.is_empty() {
                    out.push(format!("{}/{} has no flow", t.code, g.code));
                } else if !g.flow.iter().any(|s| s.phase == Phase::Approval && s.when.is_none()) {
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
                for s in g.changes.iter().flat_map(|c| &c.flow) {
                    if self.role(&s.role).is_none() {
                        out.push(format!("{}/{}: change step {}: unknown role {}", t.code, g.code, s.id, s.role.0));
                    }
                    if s.phase != Phase::Approval {
                        out.push(format!("{}/{}: change step {} must be an approval step", t.code, g.code, s.id));
                    }
                }
                if g.fire_watch.as_ref().is_some_and(|w| w.minutes <= 0) {
                    out.push(format!("{}/{}: the fire watch must last more than 0 minutes", t.code, g.code));
                }
                if let Some(gas) = &g.gas_test {
                    out.extend(gas.problems().into_iter().map(|p| format!("{}/{}: gas test: {p}", t.code, g.code)));
                    if let Some(f) = &gas.sample_points_when {
                        if !matches!(t.field(f).map(|x| &x.kind), Some(FieldKind::YesNo))
                            || gas.sample_points.is_empty()
                        {
                            out.push(format!(
                                "{}/{}: gas test: sample_points_when names {f}, which is not a yes/no field of the type, or there are no sample points",
                                t.code, g.code
                            ));
                        }
                    }
                    for f in gas
                        .medium_lel_field
                        .iter()
                        .filter(|f| !matches!(t.field(f).map(|x| &x.kind), Some(FieldKind::Number { .. })))
                    {
                        out.push(format!(
                            "{}/{}: gas test: medium_lel_field names {f}, which is not a number field of the type",
                            t.code, g.code
                        ));
                    }
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
        let cases: Vec<(&str, Break, &str)> = vec![
            (
                "unknown role",
                |c| c.permit_types[0].grades[0].flow[0].role = Role::new("wizard"),
                "hot_work/special/workshop_review: unknown role wizard",
            ),
            (
                "no approval step",
                |c| c.permit_types[0].grades[0].flow.retain(|s| s.phase != Phase::Approval),
                "hot_work/special: the flow has no approval step",
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
                "a gas group twice in the test order",
                |c| {
                    gas_rule(c).test_order = Some(GasOrder {
                        groups: vec![GasGroup::Oxygen, GasGroup::Toxics, GasGroup::Oxygen],
                        source: "plant rule".into(),
                    })
                },
                "hot_work/grade_1: gas test: test_order lists Oxygen twice",
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
                "conflict with an unknown permit type",
                |c| c.alerting.conflicts[0].types[1] = "juggling".into(),
                "alerting: conflict two_blinds_one_pipe names unknown permit type juggling",
            ),
            (
                "conflict on a field a type lacks",
                |c| c.alerting.conflicts[0].field = Some("boom_length".into()),
                "alerting: conflict two_blinds_one_pipe: permit type line_blinding has no field boom_length",
            ),
            (
                "a conflict defined twice",
                |c| {
                    let again = c.alerting.conflicts[0].clone();
                    c.alerting.conflicts.push(again);
                },
                "alerting: conflict two_blinds_one_pipe is defined twice",
            ),
            (
                "escalation to an unknown role",
                |c| c.alerting.escalation[1].to = EscalateTo::Role { role: Role::new("wizard") },
                "alerting: escalation level 2 names unknown role wizard",
            ),
            (
                "escalation levels out of order",
                |c| c.alerting.escalation[2].after_minutes = 30,
                "alerting: escalation level 3 must come after the one before it, at 0 minutes or later",
            ),
            (
                "negative reminder",
                |c| c.alerting.step_reminder_minutes = -1,
                "alerting: step_reminder_minutes must not be negative",
            ),
            (
                "response limit 0",
                |c| c.alerting.response_minutes = 0,
                "alerting: response_minutes must be above 0",
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
            (
                "fire watch of 0 min",
                |c| c.permit_types[0].grades[1].fire_watch.as_mut().expect("fire watch").minutes = 0,
                "hot_work/grade_1: the fire watch must last more than 0 minutes",
            ),
            (
                "re-test after a pause of 0 min",
                |c| {
                    let gas = c.permit_types[1].grades[0].gas_test.as_mut().expect("gas test");
                    gas.retest_after_pause_minutes = Some(0)
                },
                "confined_space/standard: gas test: retest_after_pause_minutes must be above 0",
            ),
            (
                "grade computed from a yes/no field",
                |c| c.permit_types[2].grade_by.as_mut().expect("grade_by").field = "strong_wind".into(),
                "work_at_height: grade_by names strong_wind, which is not a number field of the type",
            ),
            (
                "band of an unknown grade",
                |c| c.permit_types[2].grade_by.as_mut().expect("grade_by").bands[0].grade = "grade_v".into(),
                "work_at_height: grade_by band names unknown grade grade_v",
            ),
            (
                "bands that fall",
                |c| c.permit_types[2].grade_by.as_mut().expect("grade_by").bands[1].up_to = Some(4.0),
                "work_at_height: grade_by bands must rise, and only the last may be open-ended",
            ),
            (
                "field floor on a number",
                |c| c.permit_types[0].field_floors[0].field = "medium_lel_pct".into(),
                "hot_work: field floor names medium_lel_pct, which is not a yes/no field of the type",
            ),
            (
                "field floor of an unknown grade",
                |c| c.permit_types[0].field_floors[0].min_grade = "grade_0".into(),
                "hot_work: field floor running_equipment names unknown grade grade_0",
            ),
            (
                "a grade raise by a field that is not yes/no",
                |c| c.permit_types[0].grade_raise.as_mut().expect("raise").fields.push("medium_lel_pct".into()),
                "hot_work: grade raise names medium_lel_pct, which is not a yes/no field of the type",
            ),
            (
                "aggravating factor that is a number",
                |c| c.permit_types[2].grade_by.as_mut().expect("grade_by").raise_if.push("height_m".into()),
                "work_at_height: grade_by raise_if names height_m, which is not a yes/no field of the type",
            ),
            (
                "field range upside down",
                |c| {
                    if let FieldKind::Number { min, .. } = &mut c.permit_types[2].fields[0].kind {
                        *min = Some(900.0)
                    }
                },
                "work_at_height: field height_m: min 900 is above max 500",
            ),
            (
                "sub-type of an unknown grade",
                |c| c.permit_types[2].subtypes[0].min_grade = Some("grade_v".into()),
                "work_at_height: sub-type scaffold names unknown grade grade_v",
            ),
            (
                "field of an unknown sub-type",
                |c| c.permit_types[2].fields[0].subtypes = vec!["balloon".into()],
                "work_at_height: field height_m names unknown sub-type balloon",
            ),
            ("nobody may start", |c| c.permit_types[0].grades[1].actions.start.clear(), "hot_work/grade_1: nobody may start"),
            (
                "an action for an unknown role",
                |c| c.permit_types[0].grades[1].actions.start = vec![ActorRule::Role(Role::new("wizard"))],
                "hot_work/grade_1: start names unknown role wizard",
            ),
            (
                "a change step for an unknown role",
                |c| {
                    let mut step = c.permit_types[0].grades[1].flow[0].clone();
                    step.role = Role::new("wizard");
                    c.permit_types[0].grades[1].changes.as_mut().expect("changes").flow = vec![step];
                },
                "hot_work/grade_1: change step workshop_review: unknown role wizard",
            ),
            (
                "a change step that is not an approval",
                |c| {
                    let mut step = c.permit_types[0].grades[1].flow[0].clone();
                    step.phase = Phase::Acceptance;
                    c.permit_types[0].grades[1].changes.as_mut().expect("changes").flow = vec![step];
                },
                "hot_work/grade_1: change step workshop_review must be an approval step",
            ),
            (
                "sample points switched by a number field",
                |c| {
                    let gas = c.permit_types[1].grades[0].gas_test.as_mut().expect("gas test");
                    gas.sample_points_when = Some("no_such_field".into())
                },
                "confined_space/standard: gas test: sample_points_when names no_such_field, which is not a yes/no field of the type, or there are no sample points",
            ),
            (
                "the medium's LEL from a yes/no field",
                |c| gas_rule(c).medium_lel_field = Some("pressure_vessel".into()),
                "hot_work/grade_1: gas test: medium_lel_field names pressure_vessel, which is not a number field of the type",
            ),
            (
                "a flammable limit above 100 %",
                |c| set_limits(c, |l| l.flammable_by_lel[0].max_vol_pct = 120.0),
                "hot_work/grade_1: gas test: flammable_by_lel percentages must be within 0–100 %",
            ),
            (
                "re-test every 0 min",
                |c| c.permit_types[1].grades[0].gas_test.as_mut().expect("gas test").retest_interval_minutes = Some(0),
                "confined_space/standard: gas test: retest_interval_minutes must be above 0",
            ),
            (
                "CO not a number",
                |c| set_limits(c, |l| l.co_max_ppm = Some(f64::NAN)),
                "hot_work/grade_1: gas test: co_max_ppm must be 0 or more",
            ),
            (
                "a permit type twice",
                |c| {
                    let t = c.permit_types[7].clone();
                    c.permit_types.push(t)
                },
                "permit type road_closure is defined twice",
            ),
            (
                "a grade twice",
                |c| {
                    let g = c.permit_types[7].grades[0].clone();
                    c.permit_types[7].grades.push(g)
                },
                "road_closure/standard is defined twice",
            ),
            (
                "a sub-type twice",
                |c| {
                    let s = c.permit_types[2].subtypes[0].clone();
                    c.permit_types[2].subtypes.push(s)
                },
                "work_at_height: sub-type scaffold is defined twice",
            ),
            (
                "a field twice",
                |c| {
                    let f = c.permit_types[3].fields[1].clone();
                    c.permit_types[3].fields.push(f)
                },
                "lifting: field crane is defined twice",
            ),
            (
                "a text of no characters",
                |c| c.permit_types[3].fields[1].kind = FieldKind::Text { max_chars: 0 },
                "lifting: field crane: max_chars must be above 0",
            ),
            (
                "a choice without options",
                |c| c.permit_types[3].fields[1].kind = FieldKind::Choice { options: vec![] },
                "lifting: field crane: a choice needs options",
            ),
            (
                "a range that is not a number",
                |c| {
                    if let FieldKind::Number { max, .. } = &mut c.permit_types[3].fields[0].kind {
                        *max = Some(f64::INFINITY)
                    }
                },
                "lifting: field load_t: min and max must be finite numbers",
            ),
            (
                "a qualification twice",
                |c| {
                    let q = c.permit_types[3].qualifications[0].clone();
                    c.permit_types[3].qualifications.push(q)
                },
                "lifting: qualification crane_certified is defined twice",
            ),
            (
                "a qualification of nobody",
                |c| c.permit_types[3].qualifications[0].parties.clear(),
                "lifting: qualification crane_certified names no party or no certificate type",
            ),
            (
                "a qualification by an unknown certificate",
                |c| c.permit_types[3].qualifications[0].any_of = vec!["wizard_licence".into()],
                "lifting: qualification crane_certified names unknown certificate type wizard_licence",
            ),
            (
                "a qualification for an unknown sub-type",
                |c| c.permit_types[3].qualifications[0].subtypes = vec!["balloon".into()],
                "lifting: qualification crane_certified names unknown sub-type balloon",
            ),
            (
                "a qualification switched by a number field",
                |c| c.permit_types[3].qualifications[0].when_yes = Some("load_t".into()),
                "lifting: qualification crane_certified depends on load_t, which is not a yes/no field of the type",
            ),
            (
                "a certificate type twice",
                |c| {
                    let t = c.certificate_types[0].clone();
                    c.certificate_types.push(t)
                },
                "",
            ),
            (
                "a precaution of an unknown grade",
                |c| c.permit_types[0].precautions[0].grades = vec!["grade_7".into()],
                "hot_work: precaution isolation_blinds names unknown grade grade_7",
            ),
            (
                "a JSA with no hazards",
                |c| c.permit_types[1].jsa.as_mut().expect("confined space has a JSA").hazards.clear(),
                "confined_space: the JSA lists no hazard, or a hazard with no name",
            ),
            (
                "a floor waiver asking a number",
                |c| c.permit_types[0].floor_waivers[0].field = "medium_lel_pct".into(),
                "hot_work: floor waiver names medium_lel_pct, which is not a yes/no field of the type",
            ),
            (
                "a floor waiver with no approval for it",
                |c| c.permit_types[0].grades[2].flow.retain(|s| s.when.is_none()),
                "hot_work: floor waiver unit_shut_down lowers to grade_2, whose flow has no approval step asking unit_shut_down",
            ),
            (
                "a floor waiver of an unknown class",
                |c| c.permit_types[0].floor_waivers[0].location_classes.push("swamp".into()),
                "hot_work: floor waiver unit_shut_down names unknown location class swamp",
            ),
            (
                "a step asked on an unknown field",
                |c| c.permit_types[0].grades[1].flow[1].when = Some("moon_phase".into()),
                "hot_work: grade_1/safety_approval is asked when moon_phase, which is not a yes/no field of the type",
            ),
            (
                "a flow whose only approval is conditional",
                |c| {
                    let g = &mut c.permit_types[0].grades[2];
                    g.flow.retain(|s| s.phase != Phase::Approval || s.when.is_some())
                },
                "hot_work/grade_2: the flow has no approval step",
            ),
            (
                "a grade floor of an unknown class",
                |c| c.permit_types[0].grade_floors[0].location_class = "swamp".into(),
                "hot_work: grade floor names unknown location class swamp",
            ),
            (
                "a grade floor of an unknown grade",
                |c| c.permit_types[0].grade_floors[0].min_grade = "grade_9".into(),
                "hot_work: grade floor names unknown grade grade_9",
            ),
        ];
        fn gas_rule(c: &mut Catalog) -> &mut GasTestRule {
            c.permit_types[0].grades[1].gas_test.as_mut().expect("grade 1 has a gas test")
        }
        fn set_limits(c: &mut Catalog, f: impl FnOnce(&mut GasLimits)) {
            f(&mut gas_rule(c).limits)
        }
        let certificate_type = c.certificate_types[0].code.clone();
        for (what, break_it, expected) in cases {
            let mut broken = c.clone();
            break_it(&mut broken);
            let expected = if expected.is_empty() {
                format!("certificate type {certificate_type} is defined twice")
            } else {
                expected.to_owned()
            };
            assert_eq!(broken.problems(), vec![expected], "{what}");
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
