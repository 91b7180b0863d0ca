//! The register at the server's console: people with their company, department and badge;
//! certificates added, refused, revoked and warned about; imports from CSV and XLSX with a dry
//! run, applied whole or not at all; the statistics workbook.

mod common;
use common::*;

fn people(server: &Server) -> Vec<String> {
    server.admin(&["user", "list"]).lines().map(str::to_owned).collect()
}

#[test]
fn people_and_certificates_are_added_retired_revoked_and_warned_about() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    let sun = server.admin(&[
        "user",
        "add",
        "--name",
        "孙浩",
        "--title",
        "焊工",
        "--company",
        "华建安装工程有限公司",
        "--department",
        "维修车间",
        "--badge",
        "C2001",
    ]);
    let sun = sun.trim();
    let listed = people(&server).join("\n");
    assert!(listed.contains("孙浩\t焊工\t\t维修车间\t华建安装工程有限公司\tC2001"), "{listed}");
    // A second person cannot take the same badge.
    let refused = server.admin_refused(&["user", "add", "--name", "吴刚", "--badge", "C2001"]);
    assert!(refused.contains("C2001"), "{refused}");
    // A change keeps what it does not name.
    server.admin(&["user", "add", "--id", sun, "--name", "孙浩", "--title", "高级焊工"]);
    assert!(people(&server).join("\n").contains("高级焊工\t\t维修车间\t华建安装工程有限公司\tC2001"));

    let cert = server.admin(&[
        "cert",
        "add",
        "--person",
        "C2001",
        "--type",
        "welding_thermal_cutting",
        "--number",
        "T320102",
        "--from",
        "2023-06-01",
        "--to",
        "2099-05-31",
    ]);
    let unknown = server.admin_refused(&[
        "cert",
        "add",
        "--person",
        "C2001",
        "--type",
        "pilot_licence",
        "--number",
        "X",
        "--from",
        "2023-06-01",
        "--to",
        "2029-05-31",
    ]);
    assert!(unknown.contains("pilot_licence"), "{unknown}");
    let bad_date = server.admin_refused(&[
        "cert",
        "add",
        "--person",
        "C2001",
        "--type",
        "electrician",
        "--number",
        "E1",
        "--from",
        "2023/13/01",
        "--to",
        "2029-05-31",
    ]);
    assert!(bad_date.contains("YYYY-MM-DD"), "{bad_date}");
    // Expiring in 10 days: warned about.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64;
    let soon = chrono::DateTime::from_timestamp_millis(now + 10 * 86_400_000).expect("date").date_naive().to_string();
    server.admin(&[
        "cert",
        "add",
        "--person",
        "C2001",
        "--type",
        "special_equipment_welding",
        "--number",
        "TS-1",
        "--from",
        "2024-03-01",
        "--to",
        &soon,
    ]);
    let expiring = server.admin(&["cert", "expiring"]);
    assert!(expiring.contains("TS-1") && expiring.contains("Expiring") && !expiring.contains("T320102"), "{expiring}");

    server.admin(&["cert", "revoke", "--id", cert.trim(), "--reason", "证书注销"]);
    assert!(server.admin(&["cert", "list", "--person", "C2001"]).contains("Revoked"));
    assert!(server.admin_refused(&["cert", "revoke", "--id", cert.trim(), "--reason", "again"]).contains("revoked"));

    server.admin(&["user", "retire", "--id", sun, "--reason", "合同到期"]);
    assert!(people(&server).join("\n").contains("\tretired"));
    assert!(server.admin_refused(&["user", "retire", "--id", sun, "--reason", "again"]).contains("retired"));
}

#[test]
fn an_import_is_tried_first_applied_whole_and_a_second_one_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    let files = tempfile::tempdir().expect("temp dir");
    let good = files.path().join("people.csv");
    std::fs::write(
        &good,
        "姓名,工号,类别,单位,部门,工种\n孙浩,C2001,承包商,华建安装,维修车间,焊工\n吴刚,1011,员工,,维修车间,电工\n",
    )
    .expect("write");
    let good = good.to_str().expect("path");
    let dry = server.admin(&["import", "people", good, "--dry-run"]);
    assert!(dry.contains("2 rows: 2 to add, 0 to change, 0 unchanged, 0 problems") && dry.contains("dry run"), "{dry}");
    assert!(people(&server).is_empty(), "a dry run changes nothing");
    assert!(server.admin(&["import", "people", good]).contains("imported: 2"));
    assert_eq!(people(&server).len(), 2);
    let again = server.admin(&["import", "people", good]);
    assert!(again.contains("0 to add, 0 to change, 2 unchanged") && again.contains("imported: 0"), "{again}");

    let bad = files.path().join("bad.csv");
    std::fs::write(&bad, "姓名,工号\n李娜,1002\n,1003\n").expect("write");
    let refused = server.admin_refused(&["import", "people", bad.to_str().expect("path")]);
    assert!(refused.contains("row 3, column 姓名: empty, and required"), "{refused}");
    assert!(refused.contains("nothing imported"), "{refused}");
    assert_eq!(people(&server).len(), 2, "the good row of a broken file is not imported either");

    let certs = files.path().join("certs.csv");
    std::fs::write(&certs, "工号,证书类型,证书编号,有效期起,有效期至\nC2001,焊接与热切割作业证,T1,2023-06-01,46000\n")
        .expect("write");
    assert!(server.admin(&["import", "certificates", certs.to_str().expect("path")]).contains("imported: 1"));
    let listed = server.admin(&["cert", "list"]);
    assert!(listed.contains("T1\t2023-06-01\t2025-12-09"), "an Excel serial date: {listed}");

    let out = files.path().join("stats.xlsx");
    let printed = server.admin(&["report", "certificates", "--out", out.to_str().expect("path")]);
    assert!(printed.contains("维修车间\twelding_thermal_cutting\tholders 1"), "{printed}");
    let sheet = ptw_register::Sheet::read(&out).expect("calamine reads the workbook");
    assert_eq!(sheet.headers[0], "特种作业人员持证情况统计表");
}
