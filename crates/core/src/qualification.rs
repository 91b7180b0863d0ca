//! The certificate gate (R-GATE): who may work on, watch, test for or sign a permit, by the
//! certificates (操作证) the register holds for them.
//!
//! What each kind of work needs is catalog data ([`QualificationRule`] on the permit type):
//! which certificate types allow it, for which party (crew, guardian, gas tester, applicant,
//! signer), for which sub-type or answered-yes field, and how much validity must remain (the
//! seed: pressure-vessel welding only with *more than* 30 days left). The check is a pure
//! function of the registry, the form and the event's time, so derivation re-runs it on every
//! device: a certificate revoked centrally fails the events after its revocation, never the
//! ones before.

use crate::catalog::{LocalText, PermitTypeDef};
use crate::form::{FieldValue, PermitForm};
use crate::ids::PersonId;
use crate::registry::{Certificate, Person, Registry};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// One day in Unix milliseconds: margins and warnings count whole days of 24 h.
pub const DAY_MS: i64 = 86_400_000;

/// A certificate type the register knows (高处作业证, 电工作业证…), with how long before its
/// expiry the holder and the supervisors are warned (R-EXPIRY).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateType {
    pub code: String,
    pub name: LocalText,
    /// Days before `valid_to` from which the certificate shows as expiring.
    pub warn_days: u32,
    /// Where the type and its threshold come from (regulation, seed, plant rule).
    pub source: String,
}

/// Who on a permit a rule applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualifiedParty {
    /// Every worker of the crew.
    Crew,
    /// The guardian named on the permit, and whoever takes over from them.
    Guardian,
    /// Whoever records a gas test.
    GasTester,
    /// The work leader who files it.
    Applicant,
    /// Whoever signs one of its steps.
    Signer,
}

impl QualifiedParty {
    pub fn code(self) -> &'static str {
        match self {
            QualifiedParty::Crew => "crew",
            QualifiedParty::Guardian => "guardian",
            QualifiedParty::GasTester => "gas_tester",
            QualifiedParty::Applicant => "applicant",
            QualifiedParty::Signer => "signer",
        }
    }
}

/// What a kind of work asks of a party: one valid certificate of `any_of`, with more than
/// `margin_days` of validity left at the moment of the event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualificationRule {
    /// A short code naming the rule in messages and reports.
    pub code: String,
    pub parties: Vec<QualifiedParty>,
    /// Certificate type codes, any one of which will do.
    pub any_of: Vec<String>,
    /// Whole days of validity that must remain, strictly more (0: valid at the time suffices).
    #[serde(default)]
    pub margin_days: u32,
    /// The sub-types it applies to; empty = all of the type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subtypes: Vec<String>,
    /// Applies only when this yes/no field of the type is answered yes (e.g. `pressure_vessel`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when_yes: Option<String>,
    pub source: String,
}

impl QualificationRule {
    /// Whether the rule concerns `party` on a permit with this form.
    pub fn applies(&self, form: &PermitForm, party: QualifiedParty) -> bool {
        self.parties.contains(&party)
            && (self.subtypes.is_empty() || form.subtype.as_ref().is_some_and(|s| self.subtypes.contains(s)))
            && self.when_yes.as_ref().is_none_or(|f| form.details.get(f) == Some(&FieldValue::YesNo(true)))
    }
}

/// Why a certificate does not do for a rule at a moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum CertificateProblem {
    /// Not valid yet.
    NotYetValid {
        valid_from_ms: i64,
    },
    Expired {
        valid_to_ms: i64,
    },
    Revoked {
        revoked_ms: i64,
    },
    /// Valid, but with `margin_days` or fewer left.
    InsideMargin {
        valid_to_ms: i64,
        margin_days: u32,
    },
}

/// The certificate closest to doing, as a message shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateSeen {
    pub cert_type: String,
    pub number: String,
    pub problem: CertificateProblem,
}

/// Why a person may not take part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Disqualification {
    /// Not in the register at all.
    UnknownPerson,
    /// Retired from the register (left the plant, contract ended).
    Retired { since_ms: i64 },
    /// The account is frozen (R-FREEZE).
    Frozen,
    /// No certificate of the rule's types, or none that does at this moment.
    Certificate {
        rule: String,
        any_of: Vec<String>,
        margin_days: u32,
        source: String,
        /// The best of those they hold, if they hold any of the types.
        best: Option<CertificateSeen>,
    },
}

/// A person who does not qualify for a part on a permit, and why: the data a message names the
/// person, the certificate and the rule from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unqualified {
    pub person: PersonId,
    pub party: QualifiedParty,
    pub why: Disqualification,
}

/// A certificate's validity from plant dates as printed on it, in the plant's zone: from the
/// first instant of `from` until the end of `to` (valid through the whole last day).
pub fn validity_ms(zone: chrono_tz::Tz, from: NaiveDate, to: NaiveDate) -> (i64, i64) {
    let end = to.succ_opt().map_or(i64::MAX, |next| crate::calendar::day_start_ms(zone, next));
    (crate::calendar::day_start_ms(zone, from), end)
}

/// Whether `cert` does for a rule asking `margin_days` at `at_ms`.
pub fn certificate_problem(cert: &Certificate, margin_days: u32, at_ms: i64) -> Option<CertificateProblem> {
    if let Some(revoked_ms) = cert.revoked_ms.filter(|r| at_ms >= *r) {
        return Some(CertificateProblem::Revoked { revoked_ms });
    }
    if at_ms < cert.valid_from_ms {
        return Some(CertificateProblem::NotYetValid { valid_from_ms: cert.valid_from_ms });
    }
    if at_ms >= cert.valid_to_ms {
        return Some(CertificateProblem::Expired { valid_to_ms: cert.valid_to_ms });
    }
    let left = cert.valid_to_ms - at_ms;
    (margin_days > 0 && left <= i64::from(margin_days) * DAY_MS)
        .then_some(CertificateProblem::InsideMargin { valid_to_ms: cert.valid_to_ms, margin_days })
}

/// How near a failing certificate is to doing, to name the most telling one: a valid one
/// inside the margin first, then the latest to expire.
fn closeness(seen: &CertificateSeen, cert: &Certificate) -> (u8, i64) {
    let rank = match seen.problem {
        CertificateProblem::InsideMargin { .. } => 3,
        CertificateProblem::NotYetValid { .. } => 2,
        CertificateProblem::Expired { .. } => 1,
        CertificateProblem::Revoked { .. } => 0,
    };
    (rank, cert.valid_to_ms)
}

/// Why `person` does not meet every rule of `ptype` for `party` on a permit with `form`, at
/// `at_ms` (the event's corrected time): the first rule failed; `None` when they qualify.
pub fn check(
    registry: &Registry,
    ptype: &PermitTypeDef,
    form: &PermitForm,
    party: QualifiedParty,
    person: PersonId,
    at_ms: i64,
) -> Option<Unqualified> {
    check_rules(registry, ptype.qualifications.iter().filter(|r| r.applies(form, party)), party, person, at_ms)
}

/// Why `person` does not meet every one of `rules` (those that apply to their part) as
/// `party` at `at_ms`: the first rule failed; `None` when they qualify.
pub fn check_rules<'a>(
    registry: &Registry,
    rules: impl IntoIterator<Item = &'a QualificationRule>,
    party: QualifiedParty,
    person: PersonId,
    at_ms: i64,
) -> Option<Unqualified> {
    let fail = |why| Some(Unqualified { person, party, why });
    let Some(p) = registry.person(person) else {
        return fail(Disqualification::UnknownPerson);
    };
    if let Some(why) = standing(p, at_ms) {
        return fail(why);
    }
    for rule in rules {
        let mut best: Option<(CertificateSeen, (u8, i64))> = None;
        let mut ok = false;
        for cert in registry.certificates_of(person).filter(|c| rule.any_of.contains(&c.cert_type)) {
            match certificate_problem(cert, rule.margin_days, at_ms) {
                None => {
                    ok = true;
                    break;
                }
                Some(problem) => {
                    let seen =
                        CertificateSeen { cert_type: cert.cert_type.clone(), number: cert.number.clone(), problem };
                    let close = closeness(&seen, cert);
                    if best.as_ref().is_none_or(|(_, c)| close > *c) {
                        best = Some((seen, close));
                    }
                }
            }
        }
        if !ok {
            return fail(Disqualification::Certificate {
                rule: rule.code.clone(),
                any_of: rule.any_of.clone(),
                margin_days: rule.margin_days,
                source: rule.source.clone(),
                best: best.map(|(s, _)| s),
            });
        }
    }
    None
}

/// Why a person is not in good standing at `at_ms` (retired, frozen), if they are not.
pub fn standing(p: &Person, at_ms: i64) -> Option<Disqualification> {
    if let Some(since_ms) = p.retired_ms.filter(|r| at_ms >= *r) {
        return Some(Disqualification::Retired { since_ms });
    }
    p.frozen_at(at_ms).then_some(Disqualification::Frozen)
}

/// Every named party of `form` checked at `at_ms`: crew, guardian, applicant (a gas tester and
/// the signers are checked when they act). Empty = all qualify.
pub fn check_form(registry: &Registry, ptype: &PermitTypeDef, form: &PermitForm, at_ms: i64) -> Vec<Unqualified> {
    let named = form
        .crew
        .iter()
        .map(|p| (QualifiedParty::Crew, *p))
        .chain(form.guardian.map(|g| (QualifiedParty::Guardian, g)))
        .chain(form.applicant.map(|a| (QualifiedParty::Applicant, a)));
    named.filter_map(|(party, person)| check(registry, ptype, form, party, person, at_ms)).collect()
}

/// How a certificate stands against its type's warning threshold at `at_ms` (R-EXPIRY).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    Valid,
    /// Inside its type's `warn_days` before expiry.
    Expiring,
    Expired,
    Revoked,
    NotYetValid,
}

/// Where `cert` stands at `at_ms`, with its type's warning days (none when the type is not in
/// the catalog).
pub fn standing_of(cert: &Certificate, warn_days: Option<u32>, at_ms: i64) -> Standing {
    match certificate_problem(cert, 0, at_ms) {
        Some(CertificateProblem::Revoked { .. }) => Standing::Revoked,
        Some(CertificateProblem::Expired { .. }) => Standing::Expired,
        Some(CertificateProblem::NotYetValid { .. }) => Standing::NotYetValid,
        _ if warn_days.is_some_and(|d| cert.valid_to_ms - at_ms <= i64::from(d) * DAY_MS) => Standing::Expiring,
        _ => Standing::Valid,
    }
}

/// A certificate that needs attention: expiring inside its type's threshold, or expired.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiryWarning {
    pub certificate: uuid::Uuid,
    pub person: PersonId,
    pub cert_type: String,
    pub number: String,
    pub valid_to_ms: i64,
    pub standing: Standing,
    /// Whole days left (negative once expired), counted down from `valid_to`.
    pub days_left: i64,
}

/// The certificates of people still in the register (not retired) that expire within their
/// type's warning days or have expired, soonest first; one person's only if `person` is given.
pub fn expiry_warnings(registry: &Registry, person: Option<PersonId>, at_ms: i64) -> Vec<ExpiryWarning> {
    let mut out: Vec<ExpiryWarning> = registry
        .certificates
        .iter()
        .filter(|c| person.is_none_or(|p| c.person == p))
        .filter(|c| registry.person(c.person).is_some_and(|p| p.retired_ms.is_none_or(|r| at_ms < r)))
        .filter_map(|c| {
            let warn = registry.catalog.certificate_type(&c.cert_type).map(|t| t.warn_days);
            let standing = standing_of(c, warn, at_ms);
            matches!(standing, Standing::Expiring | Standing::Expired).then(|| ExpiryWarning {
                certificate: c.id,
                person: c.person,
                cert_type: c.cert_type.clone(),
                number: c.number.clone(),
                valid_to_ms: c.valid_to_ms,
                standing,
                days_left: (c.valid_to_ms - at_ms).div_euclid(DAY_MS),
            })
        })
        .collect();
    // A person's newer certificate of the same type replaces the old one: no warning for it.
    out.retain(|w| {
        !registry.certificates_of(w.person).any(|c| {
            c.cert_type == w.cert_type
                && c.id != w.certificate
                && c.valid_to_ms > w.valid_to_ms
                && certificate_problem(c, 0, at_ms).is_none()
                && registry
                    .catalog
                    .certificate_type(&c.cert_type)
                    .is_none_or(|t| c.valid_to_ms - at_ms > i64::from(t.warn_days) * DAY_MS)
        })
    });
    out.sort_by_key(|w| (w.valid_to_ms, w.person, w.number.clone()));
    out
}

/// One line of the certificate holding statistics (持证情况统计表): a department's people who
/// hold a certificate type, by where their best certificate of it stands.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldingRow {
    pub department: String,
    pub cert_type: String,
    /// Valid and outside the type's warning days.
    pub valid: u32,
    /// Valid, inside the warning days.
    pub expiring: u32,
    /// Holding only expired, revoked or not yet valid ones.
    pub lapsed: u32,
}

impl HoldingRow {
    pub fn holders(&self) -> u32 {
        self.valid + self.expiring + self.lapsed
    }
}

/// The statistics at `at_ms`: one row per department and certificate type held there, by
/// department then the catalog's order of types; and each department's headcount.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldingStatistics {
    pub rows: Vec<HoldingRow>,
    /// People in the register (not retired), by department.
    pub headcount: Vec<(String, u32)>,
}

pub fn holding_statistics(registry: &Registry, at_ms: i64) -> HoldingStatistics {
    use std::collections::BTreeMap;
    let active = |p: &Person| p.retired_ms.is_none_or(|r| at_ms < r);
    let mut headcount: BTreeMap<String, u32> = BTreeMap::new();
    for p in registry.people.iter().filter(|p| active(p)) {
        *headcount.entry(p.profile.department.clone()).or_default() += 1;
    }
    // Each person's best standing per type.
    let mut best: BTreeMap<(PersonId, &str), Standing> = BTreeMap::new();
    for c in &registry.certificates {
        if !registry.person(c.person).is_some_and(active) {
            continue;
        }
        let warn = registry.catalog.certificate_type(&c.cert_type).map(|t| t.warn_days);
        let s = standing_of(c, warn, at_ms);
        best.entry((c.person, c.cert_type.as_str())).and_modify(|b| *b = (*b).min(s)).or_insert(s);
    }
    let order = |t: &str| registry.catalog.certificate_types.iter().position(|c| c.code == t).unwrap_or(usize::MAX);
    let mut rows: BTreeMap<(String, usize, String), HoldingRow> = BTreeMap::new();
    for ((person, cert_type), standing) in best {
        let department = registry.person(person).map(|p| p.profile.department.clone()).unwrap_or_default();
        let row = rows
            .entry((department.clone(), order(cert_type), cert_type.to_owned()))
            .or_insert_with(|| HoldingRow { department, cert_type: cert_type.to_owned(), ..HoldingRow::default() });
        match standing {
            Standing::Valid => row.valid += 1,
            Standing::Expiring => row.expiring += 1,
            _ => row.lapsed += 1,
        }
    }
    HoldingStatistics { rows: rows.into_values().collect(), headcount: headcount.into_iter().collect() }
}

/// The roles that see the whole plant's certificates, warnings and statistics (R-CERTREPORT:
/// inspectors, the safety department, the managers, IT); everyone sees their own.
pub const OVERSIGHT_ROLES: [&str; 6] =
    ["inspector", "safety_manager", "safety_officer", "plant_manager", "workshop_director", "admin"];

/// Whether `person` sees the whole plant's certificates.
pub fn oversees(person: &Person) -> bool {
    person.roles.iter().any(|r| OVERSIGHT_ROLES.contains(&r.as_str()))
}
