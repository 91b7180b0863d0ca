//! The certificate holding statistics (特种作业人员持证情况统计表) as an XLSX workbook for
//! inspectors: a summary by department and certificate type, and every certificate in detail.
//! Headings in Chinese or English.

use ptw_core::qualification::{self, Standing, DAY_MS};
use ptw_core::registry::Registry;

/// The workbook's words, in one language.
struct Words {
    summary: &'static str,
    detail: &'static str,
    title: &'static str,
    as_of: &'static str,
    summary_head: [&'static str; 7],
    detail_head: [&'static str; 11],
    no_department: &'static str,
    employee: &'static str,
    standing: fn(Standing) -> &'static str,
}

const ZH: Words = Words {
    summary: "统计",
    detail: "明细",
    title: "特种作业人员持证情况统计表",
    as_of: "统计时间",
    summary_head: ["部门", "证书类型", "持证人数", "有效", "临期", "失效", "部门人数"],
    detail_head: [
        "姓名",
        "工号",
        "部门",
        "单位",
        "证书类型",
        "证书编号",
        "发证机关",
        "有效期起",
        "有效期至",
        "状态",
        "剩余天数",
    ],
    no_department: "（未填部门）",
    employee: "本厂",
    standing: |s| match s {
        Standing::Valid => "有效",
        Standing::Expiring => "临期",
        Standing::Expired => "已过期",
        Standing::Revoked => "已吊销",
        Standing::NotYetValid => "未生效",
    },
};

const EN: Words = Words {
    summary: "Summary",
    detail: "Certificates",
    title: "Certificate holding statistics",
    as_of: "As of",
    summary_head: ["Department", "Certificate type", "Holders", "Valid", "Expiring", "Lapsed", "Headcount"],
    detail_head: [
        "Name",
        "Badge",
        "Department",
        "Company",
        "Certificate type",
        "Number",
        "Issuer",
        "Valid from",
        "Valid to",
        "Standing",
        "Days left",
    ],
    no_department: "(no department)",
    employee: "Plant",
    standing: |s| match s {
        Standing::Valid => "Valid",
        Standing::Expiring => "Expiring",
        Standing::Expired => "Expired",
        Standing::Revoked => "Revoked",
        Standing::NotYetValid => "Not yet valid",
    },
};

/// The workbook's bytes, for `registry` at `at_ms`, headed in `locale` (`en`, else Chinese).
pub fn statistics_xlsx(registry: &Registry, at_ms: i64, locale: &str) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let w = if locale.starts_with("en") { &EN } else { &ZH };
    let lang = if locale.starts_with("en") { "en" } else { "zh-CN" };
    let zone = registry.settings.zone();
    let day = |ms: i64| ptw_core::calendar::plant_date(zone, ms).map(|d| d.to_string()).unwrap_or_default();
    let type_name = |code: &str| {
        registry.catalog.certificate_type(code).map_or_else(|| code.to_owned(), |t| t.name.get(lang).to_owned())
    };
    let department = |d: &str| if d.trim().is_empty() { w.no_department.to_owned() } else { d.to_owned() };
    let bold = Format::new().set_bold();
    let mut book = Workbook::new();

    let stats = qualification::holding_statistics(registry, at_ms);
    let sheet = book.add_worksheet();
    sheet.set_name(w.summary)?;
    sheet.write_string_with_format(0, 0, w.title, &bold)?;
    sheet.write_string(1, 0, format!("{} {}", w.as_of, day(at_ms)))?;
    for (c, h) in w.summary_head.iter().enumerate() {
        sheet.write_string_with_format(3, c as u16, *h, &bold)?;
    }
    for (i, r) in stats.rows.iter().enumerate() {
        let row = 4 + i as u32;
        let headcount = stats.headcount.iter().find(|(d, _)| *d == r.department).map_or(0, |(_, n)| *n);
        sheet.write_string(row, 0, department(&r.department))?;
        sheet.write_string(row, 1, type_name(&r.cert_type))?;
        for (c, n) in [r.holders(), r.valid, r.expiring, r.lapsed, headcount].into_iter().enumerate() {
            sheet.write_number(row, 2 + c as u16, f64::from(n))?;
        }
    }
    sheet.set_column_width(0, 18)?;
    sheet.set_column_width(1, 26)?;

    let sheet = book.add_worksheet();
    sheet.set_name(w.detail)?;
    for (c, h) in w.detail_head.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    let mut certs: Vec<_> = registry
        .certificates
        .iter()
        .filter_map(|c| Some((registry.person(c.person).filter(|p| p.retired_ms.is_none_or(|r| at_ms < r))?, c)))
        .collect();
    certs.sort_by(|(pa, a), (pb, b)| {
        (&pa.profile.department, &pa.name, &a.cert_type, &a.number).cmp(&(
            &pb.profile.department,
            &pb.name,
            &b.cert_type,
            &b.number,
        ))
    });
    for (i, (p, c)) in certs.iter().enumerate() {
        let row = 1 + i as u32;
        let warn = registry.catalog.certificate_type(&c.cert_type).map(|t| t.warn_days);
        let standing = qualification::standing_of(c, warn, at_ms);
        let company = if p.profile.is_contractor() { p.profile.company.clone() } else { w.employee.to_owned() };
        let texts = [
            p.name.clone(),
            p.profile.badge.clone(),
            department(&p.profile.department),
            company,
            type_name(&c.cert_type),
            c.number.clone(),
            c.issuer.clone(),
            day(c.valid_from_ms),
            day(c.valid_to_ms - 1),
            (w.standing)(standing).to_owned(),
        ];
        for (col, t) in texts.iter().enumerate() {
            sheet.write_string(row, col as u16, t)?;
        }
        sheet.write_number(row, 10, (c.valid_to_ms - at_ms).div_euclid(DAY_MS) as f64)?;
    }
    for (c, width) in [10, 10, 14, 22, 26, 24, 20, 12, 12, 8, 8].into_iter().enumerate() {
        sheet.set_column_width(c as u16, width)?;
    }
    book.save_to_buffer()
}
