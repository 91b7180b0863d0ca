//! The register's commands: certificates added, listed, revoked and warned about; people and
//! certificates imported from CSV / XLSX (dry run first); the cross-check against a regulator's
//! export; the certificate holding statistics as XLSX. Every change goes through the registry
//! log, checked and signed by this server, all of an import or none of it.

use anyhow::{bail, Context};
use clap::Subcommand;
use ptw_core::authority::RegistryOp;
use ptw_core::qualification;
use ptw_core::registry::{Certificate, Registry};
use ptw_core::PersonId;
use ptw_register::import::{ImportPlan, ImportProblem};
use ptw_register::sheet::Sheet;
use ptw_sync_server::now_ms;
use ptw_sync_server::registry::ServerRegistry;
use ptw_sync_server::storage::Storage;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Register a certificate (or change one: the same type and number).
    Add {
        /// The holder: their id or badge.
        #[arg(long)]
        person: String,
        /// A certificate type code from the catalog (`plant catalog` lists them), e.g.
        /// special_equipment_welding.
        #[arg(long = "type")]
        cert_type: String,
        #[arg(long)]
        number: String,
        #[arg(long, default_value = "")]
        issuer: String,
        /// First valid day, YYYY-MM-DD (plant date).
        #[arg(long)]
        from: String,
        /// Last valid day, YYYY-MM-DD (valid through the whole day).
        #[arg(long)]
        to: String,
    },
    /// List certificates, with where each stands today.
    List {
        /// Only this person's (id or badge).
        #[arg(long)]
        person: Option<String>,
    },
    /// Revoke a certificate: from now on it allows nothing; what was done before stands.
    Revoke {
        #[arg(long)]
        id: uuid::Uuid,
        #[arg(long)]
        reason: String,
    },
    /// Certificates expiring within their type's warning days, or expired (R-EXPIRY).
    Expiring {
        #[arg(long)]
        person: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import people (姓名, 工号, 类别, 单位, 部门, 工种, 角色, 电话) from CSV or XLSX.
    People {
        file: PathBuf,
        /// Report what would change and every row's problems; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Import certificates (工号, 姓名, 证书类型, 证书编号, 发证机关, 有效期起, 有效期至).
    Certificates {
        file: PathBuf,
        #[arg(long)]
        dry_run: bool,
    },
    /// Compare a third party's certificate list (the regulator's lookup, as CSV or XLSX: 姓名,
    /// 证书编号, and optionally 证书类型, 有效期起, 有效期至) with the register. Changes nothing.
    CrossCheck { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// The certificate holding statistics (持证情况统计表) as an XLSX workbook.
    Certificates {
        /// Where to write the workbook.
        #[arg(long)]
        out: PathBuf,
        /// Headings in this language: zh-CN (default) or en.
        #[arg(long, default_value = "zh-CN")]
        lang: String,
    },
}

/// A person by id or badge.
fn person(registry: &Registry, key: &str) -> anyhow::Result<PersonId> {
    if let Ok(id) = key.parse::<PersonId>() {
        if registry.person(id).is_some() {
            return Ok(id);
        }
    }
    registry.person_by_badge(key).map(|p| p.id).with_context(|| format!("no person with id or badge {key:?}"))
}

fn day(registry: &Registry, ms: i64) -> String {
    ptw_core::calendar::plant_date(registry.settings.zone(), ms).map(|d| d.to_string()).unwrap_or_default()
}

fn date(text: &str) -> anyhow::Result<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .with_context(|| format!("{text:?}: a date is YYYY-MM-DD"))
}

pub fn cert(storage: &dyn Storage, registry: &ServerRegistry, command: CertCommand) -> anyhow::Result<()> {
    let r = registry.current();
    let now = now_ms();
    match command {
        CertCommand::Add { person: holder, cert_type, number, issuer, from, to } => {
            let holder = person(&r, &holder)?;
            let (from, to) = (date(&from)?, date(&to)?);
            if to < from {
                bail!("the last valid day comes before the first");
            }
            let (valid_from_ms, valid_to_ms) = qualification::validity_ms(r.settings.zone(), from, to);
            let number = number.trim().to_owned();
            let existing = r.certificates.iter().find(|c| c.cert_type == cert_type && c.number.trim() == number);
            let certificate = Certificate {
                id: existing.map_or_else(uuid::Uuid::now_v7, |c| c.id),
                person: holder,
                cert_type,
                number,
                issuer,
                valid_from_ms,
                valid_to_ms,
                revoked_ms: None,
                training: existing.map(|c| c.training.clone()).unwrap_or_default(),
            };
            let id = certificate.id;
            registry.append(storage, vec![RegistryOp::PutCertificate { certificate }], now)?;
            println!("{id}");
        }
        CertCommand::List { person: who } => {
            let who = who.map(|k| person(&r, &k)).transpose()?;
            for c in r.certificates.iter().filter(|c| who.is_none_or(|p| c.person == p)) {
                let warn = r.catalog.certificate_type(&c.cert_type).map(|t| t.warn_days);
                let standing = qualification::standing_of(c, warn, now);
                let name = r.person(c.person).map_or("", |p| p.name.as_str());
                println!(
                    "{}\t{name}\t{}\t{}\t{}\t{}\t{}\t{standing:?}",
                    c.id,
                    c.cert_type,
                    c.number,
                    day(&r, c.valid_from_ms),
                    day(&r, c.valid_to_ms - 1),
                    c.issuer
                );
            }
        }
        CertCommand::Revoke { id, reason } => {
            registry.append(storage, vec![RegistryOp::RevokeCertificate { certificate: id, reason }], now)?;
            println!("{id} revoked: it allows nothing from now on");
        }
        CertCommand::Expiring { person: who } => {
            let who = who.map(|k| person(&r, &k)).transpose()?;
            for w in qualification::expiry_warnings(&r, who, now) {
                let name = r.person(w.person).map_or("", |p| p.name.as_str());
                println!(
                    "{name}\t{}\t{}\t{}\t{:?}\t{} days",
                    w.cert_type,
                    w.number,
                    day(&r, w.valid_to_ms - 1),
                    w.standing,
                    w.days_left
                );
            }
        }
    }
    Ok(())
}

/// A problem as one line: where, and what.
fn describe(p: &ImportProblem) -> String {
    match p {
        ImportProblem::MissingColumn { names } => format!("no column named any of {}", names.join(" / ")),
        ImportProblem::Required => "empty, and required".into(),
        ImportProblem::BadDate { text } => format!("{text:?} is not a date (YYYY-MM-DD, or an Excel date)"),
        ImportProblem::DatesReversed => "the last valid day comes before the first".into(),
        ImportProblem::UnknownCertificateType { text } => format!("{text:?} is not a certificate type of the catalog"),
        ImportProblem::UnknownRole { text } => format!("{text:?} is not a role of the catalog"),
        ImportProblem::BadKind { text } => format!("{text:?}: 员工 (employee) or 承包商 (contractor)"),
        ImportProblem::CompanyMissing => "a contractor's company is needed".into(),
        ImportProblem::UnknownPerson { badge } => format!("nobody in the register has badge {badge:?}"),
        ImportProblem::NameMismatch { register, file } => {
            format!("the badge is {register}'s, the row says {file}")
        }
        ImportProblem::DuplicateInFile { other_row } => format!("also in row {other_row}"),
        ImportProblem::Register { refused } => format!("refused: {refused}"),
    }
}

fn report(plan: &ImportPlan) -> String {
    let mut out = format!(
        "{} rows: {} to add, {} to change, {} unchanged, {} problems",
        plan.rows,
        plan.added,
        plan.changed,
        plan.unchanged,
        plan.problems.len()
    );
    for p in &plan.problems {
        let column = p.column.as_deref().map(|c| format!(", column {c}")).unwrap_or_default();
        out.push_str(&format!("\nrow {}{column}: {}", p.row, describe(&p.problem)));
    }
    out
}

pub fn import(storage: &dyn Storage, registry: &ServerRegistry, command: ImportCommand) -> anyhow::Result<()> {
    let r = registry.current();
    let (file, dry_run, people) = match command {
        ImportCommand::People { file, dry_run } => (file, dry_run, true),
        ImportCommand::Certificates { file, dry_run } => (file, dry_run, false),
        ImportCommand::CrossCheck { file } => {
            let sheet = Sheet::read(&file)?;
            let check = ptw_register::cross_check(&sheet, &r, now_ms());
            println!("{} rows: {} agree, {} mismatches", check.rows, check.agreed, check.mismatches.len());
            for m in &check.mismatches {
                println!("{}", serde_json_line(m));
            }
            return Ok(());
        }
    };
    let sheet = Sheet::read(&file)?;
    let plan = if people { ptw_register::plan_people(&sheet, &r) } else { ptw_register::plan_certificates(&sheet, &r) };
    if !plan.is_clean() {
        bail!("{}\nnothing imported: {} problem(s) in {}", report(&plan), plan.problems.len(), file.display());
    }
    println!("{}", report(&plan));
    if dry_run {
        println!("dry run: nothing changed");
        return Ok(());
    }
    let n = plan.ops.len();
    registry.append(storage, plan.ops, now_ms())?;
    println!("imported: {n} registry change(s)");
    Ok(())
}

fn serde_json_line(m: &ptw_register::Mismatch) -> String {
    serde_json::to_string(m).unwrap_or_else(|_| format!("{m:?}"))
}

pub fn report_command(registry: &ServerRegistry, command: ReportCommand) -> anyhow::Result<()> {
    let r = registry.current();
    match command {
        ReportCommand::Certificates { out, lang } => {
            let now = now_ms();
            let bytes = ptw_register::statistics_xlsx(&r, now, &lang).context("writing the workbook")?;
            std::fs::write(&out, bytes).with_context(|| format!("writing {}", out.display()))?;
            let stats = qualification::holding_statistics(&r, now);
            for row in &stats.rows {
                println!(
                    "{}\t{}\tholders {}\tvalid {}\texpiring {}\tlapsed {}",
                    row.department,
                    row.cert_type,
                    row.holders(),
                    row.valid,
                    row.expiring,
                    row.lapsed
                );
            }
            println!("written: {}", out.display());
        }
    }
    Ok(())
}
