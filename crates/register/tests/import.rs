//! Import and cross-check on real files the tests write: CSV with Chinese headers, XLSX with date
//! cells and serial numbers, a broken row. The plan is applied through the signed registry log,
//! as the sync server does, and a second import of the same file changes nothing.

use ed25519_zebra::SigningKey;
use ptw_core::authority::{Authority, RegistryOp};
use ptw_core::registry::Registry;
use ptw_core::Catalog;
use ptw_register::crosscheck::{cross_check, Mismatch};
use ptw_register::import::{plan_certificates, plan_people, ImportProblem};
use ptw_register::sheet::Sheet;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use std::path::{Path, PathBuf};

/// A plant as the server writes it: the catalog and settings, no people yet.
struct Plant {
    server: Authority,
    entries: Vec<ptw_core::authority::SignedEntry>,
    registry: Registry,
}

impl Plant {
    fn new() -> Plant {
        let mut plant = Plant {
            server: Authority::new(SigningKey::from_bytes(&[9u8; 32]), None),
            entries: vec![],
            registry: Registry::empty(),
        };
        plant.apply(vec![
            RegistryOp::Genesis { plant: "import plant".into() },
            RegistryOp::SetCatalog { catalog: Catalog::gb30871().expect("catalog") },
        ]);
        plant
    }

    /// Sign and fold `ops`, each checked first as the server checks it.
    fn apply(&mut self, ops: Vec<RegistryOp>) {
        for op in ops {
            assert_eq!(op.problem(&self.registry), None, "{op:?}");
            let at = self.entries.len() as i64 + 1_000;
            self.entries.push(self.server.append(op, at));
        }
        self.registry = Registry::from_log(&self.entries, &self.server.public_key()).expect("the log folds");
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

const PEOPLE_CSV: &str = "\u{feff}姓名,工号,类别,单位,部门,工种,角色,电话
孙浩,C2001,承包商,华建安装工程有限公司,维修车间,焊工,,13900000007
李娜,1002,员工,,维修车间,监护人,\"监护人,气体分析人\",13800000002
吴刚,1011,员工,,维修车间,电工,,13800000011
";

#[test]
fn people_from_csv_with_chinese_headers_apply_whole_and_a_second_import_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut plant = Plant::new();
    let sheet = Sheet::read(&write(dir.path(), "people.csv", PEOPLE_CSV)).expect("reads");
    let plan = plan_people(&sheet, &plant.registry);
    assert!(plan.is_clean(), "{:?}", plan.problems);
    assert_eq!((plan.added, plan.changed, plan.unchanged), (3, 0, 0));
    plant.apply(plan.ops);
    let sun = plant.registry.person_by_badge("C2001").expect("孙浩");
    assert_eq!(sun.name, "孙浩");
    assert!(sun.profile.is_contractor());
    assert_eq!(sun.profile.company, "华建安装工程有限公司");
    let li = plant.registry.person_by_badge("1002").expect("李娜");
    let roles: Vec<&str> = li.roles.iter().map(|r| r.as_str()).collect();
    assert_eq!(roles, ["guardian", "gas_tester"], "roles by their Chinese names");

    let again = plan_people(&sheet, &plant.registry);
    assert!(again.is_clean(), "{:?}", again.problems);
    assert_eq!((again.added, again.changed, again.unchanged, again.ops.len()), (0, 0, 3, 0));

    // A changed phone number is a change of that person only, under the same id.
    let changed = PEOPLE_CSV.replace("13800000011", "13800000099");
    let plan = plan_people(&Sheet::read(&write(dir.path(), "people2.csv", &changed)).expect("reads"), &plant.registry);
    assert_eq!((plan.added, plan.changed, plan.unchanged), (0, 1, 2));
    let wu = plant.registry.person_by_badge("1011").map(|p| p.id);
    assert!(matches!(&plan.ops[..], [RegistryOp::PutPerson { id, .. }] if Some(*id) == wu));
}

#[test]
fn a_broken_row_is_reported_by_row_and_column_and_nothing_is_applied() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plant = Plant::new();
    let text = "姓名,工号,类别,单位,角色
孙浩,C2001,承包商,,
,1002,员工,,监护人
李娜,1003,临时工,,飞行员
吴刚,C2001,员工,,
";
    let plan = plan_people(&Sheet::read(&write(dir.path(), "bad.csv", text)).expect("reads"), &plant.registry);
    assert!(plan.ops.is_empty(), "a file with problems applies nothing");
    let seen: Vec<(usize, Option<&str>, &ImportProblem)> =
        plan.problems.iter().map(|p| (p.row, p.column.as_deref(), &p.problem)).collect();
    assert_eq!(
        seen,
        vec![
            (2, Some("单位"), &ImportProblem::CompanyMissing),
            (3, Some("姓名"), &ImportProblem::Required),
            (4, Some("类别"), &ImportProblem::BadKind { text: "临时工".into() }),
            (4, Some("角色"), &ImportProblem::UnknownRole { text: "飞行员".into() }),
            (5, Some("工号"), &ImportProblem::DuplicateInFile { other_row: 2 }),
        ]
    );
    let missing = plan_people(&Sheet::from_csv("name,phone\n孙浩,1\n".as_bytes()).expect("csv"), &plant.registry);
    assert!(
        matches!(&missing.problems[..], [p] if p.row == 1 && matches!(&p.problem, ImportProblem::MissingColumn { names } if names.contains(&"工号".to_string())))
    );
}

/// An XLSX certificates sheet: the first row's dates as date cells, the second's as the serial
/// numbers Excel stores, the third's as text, the fourth broken.
fn certificates_xlsx(path: &Path) {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (c, h) in ["工号", "姓名", "证书类型", "证书编号", "发证机关", "有效期起", "有效期至"].iter().enumerate()
    {
        sheet.write_string(0, c as u16, *h).expect("header");
    }
    let rows: [[&str; 5]; 4] = [
        ["C2001", "孙浩", "焊接与热切割作业证", "T320102198803150012", "江苏省应急管理厅"],
        ["C2001", "孙浩", "special_equipment_welding", "TS-HJ-2024-03871", "江苏省市场监督管理局"],
        ["1011", "吴刚", "电工作业证", "T320105199006060021", "江苏省应急管理厅"],
        ["9999", "王五", "潜水证", "X-1", ""],
    ];
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, v) in row.iter().enumerate() {
            sheet.write_string(r, c as u16, *v).expect("cell");
        }
    }
    let from = ExcelDateTime::from_ymd(2023, 6, 1).expect("date");
    let to = ExcelDateTime::from_ymd(2029, 5, 31).expect("date");
    sheet.write_datetime_with_format(1, 5, &from, &date).expect("date");
    sheet.write_datetime_with_format(1, 6, &to, &date).expect("date");
    // 2024-03-01 and 2028-02-29 as Excel's serial numbers, in plain number cells.
    sheet.write_number(2, 5, 45352.0).expect("serial");
    sheet.write_number(2, 6, 46812.0).expect("serial");
    sheet.write_string(3, 5, "2024/4/1").expect("text date");
    sheet.write_string(3, 6, "2030年3月31日").expect("text date");
    sheet.write_string(4, 5, "2024-13-01").expect("bad date");
    sheet.write_string(4, 6, "").expect("empty");
    book.save(path).expect("save");
}

fn with_people() -> Plant {
    let mut plant = Plant::new();
    let sheet = Sheet::from_csv(PEOPLE_CSV.as_bytes()).expect("csv");
    let plan = plan_people(&sheet, &plant.registry);
    plant.apply(plan.ops);
    plant
}

#[test]
fn certificates_from_xlsx_read_dates_the_excel_way_and_report_the_broken_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("certificates.xlsx");
    certificates_xlsx(&path);
    let mut plant = with_people();
    let sheet = Sheet::read(&path).expect("reads");
    let plan = plan_certificates(&sheet, &plant.registry);
    let seen: Vec<(usize, Option<&str>, &ImportProblem)> =
        plan.problems.iter().map(|p| (p.row, p.column.as_deref(), &p.problem)).collect();
    assert_eq!(
        seen,
        vec![
            (5, Some("工号"), &ImportProblem::UnknownPerson { badge: "9999".into() }),
            (5, Some("证书类型"), &ImportProblem::UnknownCertificateType { text: "潜水证".into() }),
            (5, Some("有效期起"), &ImportProblem::BadDate { text: "2024-13-01".into() }),
            (5, Some("有效期至"), &ImportProblem::Required),
        ]
    );
    assert!(plan.ops.is_empty());

    // Without the broken row the rest applies, dates read all three ways.
    let mut good = sheet.clone();
    good.rows.truncate(3);
    let plan = plan_certificates(&good, &plant.registry);
    assert!(plan.is_clean(), "{:?}", plan.problems);
    assert_eq!(plan.added, 3);
    plant.apply(plan.ops);
    let zone = plant.registry.settings.zone();
    let dates = |number: &str| {
        let c = plant.registry.certificates.iter().find(|c| c.number == number).expect("imported");
        (
            ptw_core::calendar::plant_date(zone, c.valid_from_ms).map(|d| d.to_string()),
            ptw_core::calendar::plant_date(zone, c.valid_to_ms - 1).map(|d| d.to_string()),
        )
    };
    let d = |s: &str| Some(s.to_string());
    assert_eq!(dates("T320102198803150012"), (d("2023-06-01"), d("2029-05-31")));
    assert_eq!(dates("TS-HJ-2024-03871"), (d("2024-03-01"), d("2028-02-29")));
    assert_eq!(dates("T320105199006060021"), (d("2024-04-01"), d("2030-03-31")));
    let again = plan_certificates(&good, &plant.registry);
    assert_eq!((again.added, again.changed, again.unchanged, again.ops.len()), (0, 0, 3, 0));

    // The same number given to someone else is refused by the register's rule.
    let mut stolen = good.clone();
    stolen.rows.truncate(1);
    stolen.rows[0][0] = ptw_register::sheet::Cell::Text("1011".into());
    stolen.rows[0][1] = ptw_register::sheet::Cell::Empty;
    let plan = plan_certificates(&stolen, &plant.registry);
    assert!(
        matches!(&plan.problems[..], [p] if p.row == 2 && matches!(p.problem, ImportProblem::Register { .. })),
        "{:?}",
        plan.problems
    );
}

#[test]
fn the_cross_check_flags_unknown_numbers_other_holders_and_other_dates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("certificates.xlsx");
    certificates_xlsx(&path);
    let mut plant = with_people();
    let mut good = Sheet::read(&path).expect("reads");
    good.rows.truncate(3);
    let plan = plan_certificates(&good, &plant.registry);
    plant.apply(plan.ops);
    // The regulator's lookup, saved as CSV: its own headings and order.
    let export = "证号,姓名,作业类别,有效期至
T320102198803150012,孙浩,焊接与热切割作业证,2029-05-31
T320105199006060021,吴刚,电工作业证,2030-03-30
TS-HJ-2024-03871,孙皓,特种设备焊接操作证,2028-02-29
T999,赵六,焊接与热切割作业证,2028-01-01
T320102198803150099,孙浩,焊接与热切割作业证,2029-05-31
";
    let sheet = Sheet::read(&write(dir.path(), "regulator.csv", export)).expect("reads");
    let check = cross_check(&sheet, &plant.registry, 1_800_000_000_000);
    assert_eq!(check.agreed, 1, "{:?}", check.mismatches);
    assert_eq!(
        check.mismatches,
        vec![
            Mismatch::DatesMismatch {
                row: 3,
                number: "T320105199006060021".into(),
                which: "valid_to".into(),
                register: chrono::NaiveDate::from_ymd_opt(2030, 3, 31).expect("date"),
                export: chrono::NaiveDate::from_ymd_opt(2030, 3, 30).expect("date"),
            },
            Mismatch::HolderMismatch {
                row: 4,
                number: "TS-HJ-2024-03871".into(),
                register: "孙浩".into(),
                export: "孙皓".into(),
            },
            Mismatch::NotInRegister { row: 5, number: "T999".into(), name: "赵六".into() },
            Mismatch::NumberMismatch {
                row: 6,
                name: "孙浩".into(),
                cert_type: "welding_thermal_cutting".into(),
                register: "T320102198803150012".into(),
                export: "T320102198803150099".into(),
            },
        ]
    );
}

#[test]
fn the_statistics_workbook_reads_back_with_the_counts_by_department_and_type() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("certificates.xlsx");
    certificates_xlsx(&path);
    let mut plant = with_people();
    let mut good = Sheet::read(&path).expect("reads");
    good.rows.truncate(3);
    let plan = plan_certificates(&good, &plant.registry);
    plant.apply(plan.ops);
    // 2028-01-15 (Shanghai): 孙浩's special-equipment welding certificate ends 2028-02-29,
    // inside its 60 warning days.
    let at = 1_831_564_800_000;
    let bytes = ptw_register::statistics_xlsx(&plant.registry, at, "zh-CN").expect("workbook");
    let out = dir.path().join("statistics.xlsx");
    std::fs::write(&out, bytes).expect("write");
    let summary = Sheet::read(&out).expect("calamine reads it back");
    assert_eq!(summary.headers[0], "特种作业人员持证情况统计表");
    let rows: Vec<Vec<String>> = summary.rows.iter().map(|r| r.iter().map(|c| c.text()).collect()).collect();
    let line = |t: &str| rows.iter().find(|r| r.get(1).map(String::as_str) == Some(t)).cloned();
    assert_eq!(line("证书类型").map(|r| r[2].clone()), Some("持证人数".into()));
    assert_eq!(
        line("焊接与热切割作业证"),
        Some(vec!["维修车间", "焊接与热切割作业证", "1", "1", "0", "0", "3"].into_iter().map(String::from).collect())
    );
    assert_eq!(line("特种设备焊接操作证").map(|r| r[4].clone()), Some("1".into()), "expiring");
    assert_eq!(line("电工作业证").map(|r| r[3].clone()), Some("1".into()));
    let en = ptw_register::statistics_xlsx(&plant.registry, at, "en").expect("workbook");
    std::fs::write(&out, en).expect("write");
    assert_eq!(Sheet::read(&out).expect("reads").headers[0], "Certificate holding statistics");
}
