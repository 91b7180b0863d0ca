//! The cross-check (R-QUAL): a third party's certificate list — the regulator's certificate
//! lookup saved as a file — compared with the register. It flags what does not agree: a number
//! the register lacks or holds differently, another holder's name, other dates; and the
//! register's certificates of the types the export covers that the export does not list.
//! It changes nothing.

use crate::import::{certificate_columns as C, certificate_type, ImportProblem};
use crate::sheet::{Cell, Sheet};
use chrono::NaiveDate;
use ptw_core::registry::Registry;
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "mismatch", rename_all = "snake_case")]
pub enum Mismatch {
    /// The export's header lacks a column the check needs.
    MissingColumn { names: Vec<String> },
    /// A cell the check cannot read.
    Unreadable { row: usize, column: String, problem: ImportProblem },
    /// Nobody in the register holds this number, nor a certificate of its type under the name.
    NotInRegister { row: usize, number: String, name: String },
    /// The holder by name has a certificate of this type under another number.
    NumberMismatch { row: usize, name: String, cert_type: String, register: String, export: String },
    /// The number is registered to someone of another name.
    HolderMismatch { row: usize, number: String, register: String, export: String },
    /// The dates differ: `which` is `valid_from` or `valid_to`.
    DatesMismatch { row: usize, number: String, which: String, register: NaiveDate, export: NaiveDate },
    /// A live certificate of a type the export covers, missing from the export.
    NotInExport { number: String, holder: String, cert_type: String },
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CrossCheck {
    pub rows: usize,
    /// Rows whose number, holder and dates all agree.
    pub agreed: usize,
    pub mismatches: Vec<Mismatch>,
}

/// Compare the export `sheet` with `registry`, plant dates in its zone.
pub fn cross_check(sheet: &Sheet, registry: &Registry, now_ms: i64) -> CrossCheck {
    let mut out = CrossCheck { rows: sheet.rows.len(), ..CrossCheck::default() };
    let (Some(name_col), Some(number_col)) = (sheet.column(C::NAME), sheet.column(C::NUMBER)) else {
        for names in [C::NAME, C::NUMBER].into_iter().filter(|n| sheet.column(n).is_none()) {
            out.mismatches.push(Mismatch::MissingColumn { names: names.iter().map(|n| n.to_string()).collect() });
        }
        return out;
    };
    let type_col = sheet.column(C::TYPE);
    let date_cols = [("valid_from", sheet.column(C::VALID_FROM)), ("valid_to", sheet.column(C::VALID_TO))];
    let zone = registry.settings.zone();
    let plant_date = |ms: i64| ptw_core::calendar::plant_date(zone, ms);
    let holder = |id| registry.person(id).map(|p| p.name.clone()).unwrap_or_default();
    let mut listed: BTreeSet<String> = BTreeSet::new();
    let mut covered: BTreeSet<String> = BTreeSet::new();
    for (i, cells) in sheet.rows.iter().enumerate() {
        if cells.iter().all(Cell::is_empty) {
            continue;
        }
        let row = i + 2;
        let cell = |c: usize| cells.get(c).cloned().unwrap_or(Cell::Empty);
        let name = cell(name_col).text();
        let number = cell(number_col).text();
        let cert_type = type_col.and_then(|c| certificate_type(registry, &cell(c).text()));
        if let Some(t) = &cert_type {
            covered.insert(t.clone());
        }
        listed.insert(number.clone());
        let found = registry
            .certificates
            .iter()
            .find(|c| c.number.trim() == number && cert_type.as_ref().is_none_or(|t| *t == c.cert_type));
        let Some(cert) = found else {
            // Not by number: the same holder and type under another number?
            let other = registry.certificates.iter().find(|c| {
                cert_type.as_ref().is_some_and(|t| *t == c.cert_type)
                    && holder(c.person) == name
                    && c.revoked_ms.is_none()
            });
            out.mismatches.push(match other {
                Some(c) => Mismatch::NumberMismatch {
                    row,
                    name,
                    cert_type: c.cert_type.clone(),
                    register: c.number.clone(),
                    export: number,
                },
                None => Mismatch::NotInRegister { row, number, name },
            });
            continue;
        };
        covered.insert(cert.cert_type.clone());
        let before = out.mismatches.len();
        let register_name = holder(cert.person);
        if !name.is_empty() && register_name != name {
            out.mismatches.push(Mismatch::HolderMismatch {
                row,
                number: number.clone(),
                register: register_name,
                export: name.clone(),
            });
        }
        // The register keeps the end as the first instant after the last valid day.
        let register_dates = [plant_date(cert.valid_from_ms), plant_date(cert.valid_to_ms - 1)];
        for ((which, col), register) in date_cols.iter().zip(register_dates) {
            let Some(col) = col else { continue };
            let c = cell(*col);
            if c.is_empty() {
                continue;
            }
            match (c.date(), register) {
                (Some(export), Some(register)) if export != register => out.mismatches.push(Mismatch::DatesMismatch {
                    row,
                    number: number.clone(),
                    which: (*which).to_owned(),
                    register,
                    export,
                }),
                (None, _) => out.mismatches.push(Mismatch::Unreadable {
                    row,
                    column: sheet.headers.get(*col).cloned().unwrap_or_default(),
                    problem: ImportProblem::BadDate { text: c.text() },
                }),
                _ => {}
            }
        }
        if out.mismatches.len() == before {
            out.agreed += 1;
        }
    }
    for c in registry.certificates.iter().filter(|c| {
        covered.contains(&c.cert_type)
            && !listed.contains(c.number.trim())
            && c.revoked_ms.is_none()
            && c.valid_to_ms > now_ms
            && registry.person(c.person).is_some_and(|p| p.retired_ms.is_none())
    }) {
        out.mismatches.push(Mismatch::NotInExport {
            number: c.number.clone(),
            holder: holder(c.person),
            cert_type: c.cert_type.clone(),
        });
    }
    out
}
