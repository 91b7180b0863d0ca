//! Import of people and certificates: every row read, checked against the register and the
//! rest of the file, and turned into the registry changes it asks for. A plan with problems is
//! applied not at all; a row that changes nothing makes no change, so importing the same file
//! twice writes nothing the second time.
//!
//! People are known by their badge id (工号), certificates by type and number: a row naming a
//! badge or a certificate the register has changes it, any other adds one.

use crate::sheet::{Cell, Sheet};
use ptw_core::authority::{OpProblem, RegistryOp};
use ptw_core::catalog::Role;
use ptw_core::registry::{Certificate, Profile, Registry};
use ptw_core::PersonId;
use serde::Serialize;
use std::collections::BTreeMap;

/// What is wrong with one cell or row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum ImportProblem {
    /// The header has no column by any of these names.
    MissingColumn {
        names: Vec<String>,
    },
    Required,
    BadDate {
        text: String,
    },
    /// Valid to is not after valid from.
    DatesReversed,
    UnknownCertificateType {
        text: String,
    },
    UnknownRole {
        text: String,
    },
    /// Employee or contractor (员工 / 承包商), nothing else.
    BadKind {
        text: String,
    },
    /// A contractor's company is needed.
    CompanyMissing,
    /// No one in the register (or in this file) has this badge.
    UnknownPerson {
        badge: String,
    },
    /// The name in the row is not the name of the badge's holder.
    NameMismatch {
        register: String,
        file: String,
    },
    /// The same badge, or certificate, is in the file twice.
    DuplicateInFile {
        other_row: usize,
    },
    /// The register refuses the change the row asks for (a certificate number registered to
    /// someone else, a badge that is another person's…).
    Register {
        refused: OpProblem,
    },
}

/// A problem at a row (numbered as the spreadsheet shows it: the header is row 1) and column
/// (by its header), or of the whole file when `column` names a missing one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    pub row: usize,
    pub column: Option<String>,
    pub problem: ImportProblem,
}

/// What an import would do.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ImportPlan {
    /// The registry changes, in row order; empty when there are problems.
    #[serde(skip)]
    pub ops: Vec<RegistryOp>,
    pub rows: usize,
    pub added: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub problems: Vec<RowProblem>,
}

impl ImportPlan {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The columns of a people file, each by its accepted names.
pub mod people_columns {
    pub const NAME: &[&str] = &["姓名", "name"];
    pub const BADGE: &[&str] = &["工号", "胸卡号", "badge", "badge id", "employee no"];
    pub const TRADE: &[&str] = &["工种", "岗位", "trade", "title"];
    pub const DEPARTMENT: &[&str] = &["部门", "department"];
    pub const COMPANY: &[&str] = &["单位", "承包商单位", "所属单位", "company"];
    pub const KIND: &[&str] = &["类别", "人员类别", "kind"];
    pub const ROLES: &[&str] = &["角色", "roles"];
    pub const PHONE: &[&str] = &["电话", "手机", "phone", "mobile"];
}

/// The columns of a certificates file.
pub mod certificate_columns {
    pub const BADGE: &[&str] = &["工号", "胸卡号", "badge", "badge id"];
    pub const NAME: &[&str] = &["姓名", "持证人", "name", "holder"];
    pub const TYPE: &[&str] = &["证书类型", "证件类型", "作业类别", "certificate type", "type"];
    pub const NUMBER: &[&str] = &["证书编号", "证号", "certificate number", "number"];
    pub const ISSUER: &[&str] = &["发证机关", "发证单位", "issuer"];
    pub const VALID_FROM: &[&str] = &["有效期起", "有效期自", "发证日期", "valid from"];
    pub const VALID_TO: &[&str] = &["有效期至", "有效期止", "到期日期", "valid to", "expiry"];
}

/// Reads cells of a row by column, noting problems as it goes.
struct Row<'a> {
    sheet: &'a Sheet,
    cells: &'a [Cell],
    number: usize,
    problems: &'a mut Vec<RowProblem>,
}

impl Row<'_> {
    fn cell(&self, col: Option<usize>) -> &Cell {
        col.and_then(|c| self.cells.get(c)).unwrap_or(&Cell::Empty)
    }
    fn header(&self, col: Option<usize>) -> Option<String> {
        col.and_then(|c| self.sheet.headers.get(c).cloned())
    }
    fn problem(&mut self, col: Option<usize>, problem: ImportProblem) {
        let column = self.header(col);
        self.problems.push(RowProblem { row: self.number, column, problem });
    }
    fn text(&self, col: Option<usize>) -> String {
        self.cell(col).text()
    }
    fn required(&mut self, col: Option<usize>) -> Option<String> {
        let t = self.text(col);
        if t.is_empty() {
            self.problem(col, ImportProblem::Required);
            None
        } else {
            Some(t)
        }
    }
    fn date(&mut self, col: Option<usize>) -> Option<chrono::NaiveDate> {
        let cell = self.cell(col).clone();
        if cell.is_empty() {
            self.problem(col, ImportProblem::Required);
            return None;
        }
        let d = cell.date();
        if d.is_none() {
            self.problem(col, ImportProblem::BadDate { text: cell.text() });
        }
        d
    }
}

/// The columns `names` lists, or a problem for each one missing.
fn columns<const N: usize>(
    sheet: &Sheet,
    required: [&[&str]; N],
    problems: &mut Vec<RowProblem>,
) -> [Option<usize>; N] {
    required.map(|names| {
        let col = sheet.column(names);
        if col.is_none() {
            problems.push(RowProblem {
                row: 1,
                column: None,
                problem: ImportProblem::MissingColumn { names: names.iter().map(|n| n.to_string()).collect() },
            });
        }
        col
    })
}

/// A role by its code or its name in any language.
fn role(registry: &Registry, text: &str) -> Option<Role> {
    registry
        .catalog
        .roles
        .iter()
        .find(|r| r.code.as_str() == text || r.name.0.values().any(|n| n == text))
        .map(|r| r.code.clone())
}

/// A certificate type by its code or its name in any language.
pub fn certificate_type(registry: &Registry, text: &str) -> Option<String> {
    let text = text.trim();
    registry
        .catalog
        .certificate_types
        .iter()
        .find(|t| t.code == text || t.name.0.values().any(|n| n == text))
        .map(|t| t.code.clone())
}

/// Sorts an op into added / changed / unchanged and keeps it if it changes anything.
fn keep(plan: &mut ImportPlan, registry: &Registry, op: RegistryOp, existed: bool, row: usize, col: Option<String>) {
    if op.changes_nothing(registry) {
        plan.unchanged += 1;
        return;
    }
    if let Some(refused) = op.problem(registry) {
        plan.problems.push(RowProblem { row, column: col, problem: ImportProblem::Register { refused } });
        return;
    }
    if existed {
        plan.changed += 1;
    } else {
        plan.added += 1;
    }
    plan.ops.push(op);
}

/// The plan for a people file against `registry`.
pub fn plan_people(sheet: &Sheet, registry: &Registry) -> ImportPlan {
    use people_columns as C;
    let mut plan = ImportPlan { rows: sheet.rows.len(), ..ImportPlan::default() };
    let [name_col, badge_col] = columns(sheet, [C::NAME, C::BADGE], &mut plan.problems);
    if !plan.problems.is_empty() {
        return plan;
    }
    let [trade, department, company, kind, roles, phone] =
        [C::TRADE, C::DEPARTMENT, C::COMPANY, C::KIND, C::ROLES, C::PHONE].map(|n| sheet.column(n));
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, cells) in sheet.rows.iter().enumerate() {
        if cells.iter().all(Cell::is_empty) {
            continue;
        }
        let number = i + 2;
        let mut problems = Vec::new();
        let mut row = Row { sheet, cells, number, problems: &mut problems };
        let name = row.required(name_col);
        let badge = row.required(badge_col);
        if let Some(b) = &badge {
            if let Some(other_row) = seen.insert(b.clone(), number) {
                row.problem(badge_col, ImportProblem::DuplicateInFile { other_row });
            }
        }
        let company_text = row.text(company);
        let contractor = match row.text(kind).as_str() {
            "" => !company_text.is_empty(),
            "员工" | "正式员工" | "本厂" | "employee" | "Employee" => false,
            "承包商" | "外包" | "外来施工" | "contractor" | "Contractor" => true,
            other => {
                let text = other.to_owned();
                row.problem(kind, ImportProblem::BadKind { text });
                false
            }
        };
        if contractor && company_text.is_empty() {
            row.problem(company, ImportProblem::CompanyMissing);
        }
        let existing = badge.as_deref().and_then(|b| registry.person_by_badge(b));
        let role_codes: Vec<Role> = match roles {
            Some(_) => {
                let text = row.text(roles);
                let mut out = Vec::new();
                for item in text.split([',', '，', '、', ';', '；']).map(str::trim).filter(|s| !s.is_empty()) {
                    match role(registry, item) {
                        Some(r) if !out.contains(&r) => out.push(r),
                        Some(_) => {}
                        None => row.problem(roles, ImportProblem::UnknownRole { text: item.to_owned() }),
                    }
                }
                out
            }
            None => existing.map(|p| p.roles.clone()).unwrap_or_default(),
        };
        let (Some(name), Some(badge), true) = (name, badge, problems.is_empty()) else {
            plan.problems.append(&mut problems);
            continue;
        };
        let keep_or = |col: Option<usize>, old: Option<&str>| match col {
            Some(_) => row_text(cells, col),
            None => old.unwrap_or_default().to_owned(),
        };
        let profile = Profile {
            company: if contractor { company_text } else { String::new() },
            department: keep_or(department, existing.map(|p| p.profile.department.as_str())),
            badge,
            phone: keep_or(phone, existing.map(|p| p.profile.phone.as_str())),
        };
        let op = RegistryOp::PutPerson {
            id: existing.map_or_else(|| PersonId(uuid::Uuid::now_v7()), |p| p.id),
            name,
            title: keep_or(trade, existing.map(|p| p.title.as_str())),
            roles: role_codes,
            profile,
        };
        keep(&mut plan, registry, op, existing.is_some(), number, None);
    }
    if !plan.is_clean() {
        plan.ops.clear();
    }
    plan
}

fn row_text(cells: &[Cell], col: Option<usize>) -> String {
    col.and_then(|c| cells.get(c)).map(Cell::text).unwrap_or_default()
}

/// The plan for a certificates file against `registry` (its people imported already).
pub fn plan_certificates(sheet: &Sheet, registry: &Registry) -> ImportPlan {
    use certificate_columns as C;
    let mut plan = ImportPlan { rows: sheet.rows.len(), ..ImportPlan::default() };
    let [badge_col, type_col, number_col, from_col, to_col] =
        columns(sheet, [C::BADGE, C::TYPE, C::NUMBER, C::VALID_FROM, C::VALID_TO], &mut plan.problems);
    if !plan.problems.is_empty() {
        return plan;
    }
    let name_col = sheet.column(C::NAME);
    let issuer_col = sheet.column(C::ISSUER);
    let zone = registry.settings.zone();
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (i, cells) in sheet.rows.iter().enumerate() {
        if cells.iter().all(Cell::is_empty) {
            continue;
        }
        let number = i + 2;
        let mut problems = Vec::new();
        let mut row = Row { sheet, cells, number, problems: &mut problems };
        let badge = row.required(badge_col);
        let person = badge.as_deref().and_then(|b| {
            let p = registry.person_by_badge(b);
            if p.is_none() {
                row.problem(badge_col, ImportProblem::UnknownPerson { badge: b.to_owned() });
            }
            p
        });
        if let (Some(p), Some(col)) = (person, name_col) {
            let file = row.text(Some(col));
            if !file.is_empty() && file != p.name {
                row.problem(name_col, ImportProblem::NameMismatch { register: p.name.clone(), file });
            }
        }
        let cert_type = row.required(type_col).and_then(|t| {
            let code = certificate_type(registry, &t);
            if code.is_none() {
                row.problem(type_col, ImportProblem::UnknownCertificateType { text: t });
            }
            code
        });
        let cert_number = row.required(number_col);
        if let (Some(t), Some(n)) = (&cert_type, &cert_number) {
            if let Some(other_row) = seen.insert((t.clone(), n.clone()), number) {
                row.problem(number_col, ImportProblem::DuplicateInFile { other_row });
            }
        }
        let from = row.date(from_col);
        let to = row.date(to_col);
        if let (Some(f), Some(t)) = (from, to) {
            if t < f {
                row.problem(to_col, ImportProblem::DatesReversed);
            }
        }
        let (Some(person), Some(cert_type), Some(cert_number), Some(from), Some(to), true) =
            (person, cert_type, cert_number, from, to, problems.is_empty())
        else {
            plan.problems.append(&mut problems);
            continue;
        };
        let existing =
            registry.certificates.iter().find(|c| c.cert_type == cert_type && c.number.trim() == cert_number);
        let (valid_from_ms, valid_to_ms) = ptw_core::qualification::validity_ms(zone, from, to);
        let certificate = Certificate {
            id: existing.map_or_else(uuid::Uuid::now_v7, |c| c.id),
            person: person.id,
            cert_type,
            number: cert_number,
            issuer: match issuer_col {
                Some(_) => row_text(cells, issuer_col),
                None => existing.map(|c| c.issuer.clone()).unwrap_or_default(),
            },
            valid_from_ms,
            valid_to_ms,
            revoked_ms: existing.and_then(|c| c.revoked_ms),
            training: existing.map(|c| c.training.clone()).unwrap_or_default(),
        };
        let col = existing.filter(|c| c.person != person.id).and_then(|_| sheet.headers.get(badge_col?).cloned());
        keep(&mut plan, registry, RegistryOp::PutCertificate { certificate }, existing.is_some(), number, col);
    }
    if !plan.is_clean() {
        plan.ops.clear();
    }
    plan
}
