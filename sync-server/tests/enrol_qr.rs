//! `device enrol --png FILE`: the enrolment QR as an image for a printed label. Read back with a
//! QR decoder, it says exactly what the command printed, and its code enrols a tablet.

mod common;

use common::{Server, TestDevice};
use reqwest::StatusCode;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ptw-sync-server");

/// The text of the one QR code in the PNG at `path`.
fn read_qr(path: &Path) -> String {
    let image = image::open(path).expect("a PNG image").into_luma8();
    let (w, h) = (image.width() as usize, image.height() as usize);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| image.get_pixel(x as u32, y as u32)[0]);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in {}", path.display());
    grids[0].decode().expect("a readable QR code").1
}

/// The value of the line of `out` that starts with `prefix`.
fn line<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines().find_map(|l| l.strip_prefix(prefix)).unwrap_or_else(|| panic!("no `{prefix}` line in:\n{out}")).trim()
}

#[test]
fn enrol_writes_a_png_whose_qr_is_the_printed_text_and_its_code_enrols_a_tablet() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("server"));
    let png = dir.path().join("T-07 label.png");
    let png_arg = png.to_str().expect("utf-8 path");

    let out = server.admin(&["device", "enrol", "--name", "T-07", "--url", &server.base, "--png", png_arg]);

    let code = line(&out, "Enrolment code for T-07: ");
    let printed = line(&out, "QR text: ");
    let qr = ptw_core::sync::EnrolQr::parse(printed).expect("an enrolment QR text");
    assert_eq!((qr.url.as_str(), qr.code.as_str()), (server.base.as_str(), code));
    assert_eq!(qr.server_key.as_ref().map(String::len), Some(64), "the registry key to pin");
    assert_eq!(line(&out, "QR image: "), png_arg);
    let bytes = std::fs::read(&png).expect("the PNG was written");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG file");
    let image = image::open(&png).expect("a PNG image");
    assert!(image.width() >= 512 && image.height() >= 512, "big enough to print: {}x{}", image.width(), image.height());

    let scanned = read_qr(&png);
    assert_eq!(scanned, printed);

    // What the app does with the scanned text: its code enrols the tablet at its URL, and the
    // server holds the key it names.
    let scanned = ptw_core::sync::EnrolQr::parse(&scanned).expect("an enrolment QR text");
    assert_eq!(scanned.url, server.base);
    let answer = server.enrol(&scanned.code, &TestDevice::new(7));
    assert_eq!(answer.status(), StatusCode::OK);
    let answer: ptw_core::sync::EnrolResponse = answer.json().expect("enrol answer");
    assert_eq!(Some(answer.server_key), scanned.server_key);
    assert!(server.admin(&["device", "list"]).contains("T-07"));
}

#[test]
fn enrol_with_a_png_path_that_cannot_be_written_fails_with_the_path_and_prints_no_code() {
    let dir = tempfile::tempdir().expect("temp dir");
    let png = dir.path().join("no such folder").join("qr.png");

    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(dir.path().join("server"))
        .args(["device", "enrol", "--name", "T-08", "--url", "http://127.0.0.1:8787", "--png"])
        .arg(&png)
        .env_remove("PTW_SYNC_DATABASE_URL")
        .env("RUST_LOG", "error")
        .output()
        .expect("run the CLI");

    assert!(!out.status.success(), "the command fails");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("cannot write the QR image to {}", png.display())), "{stderr}");
    assert!(stderr.contains("No such file or directory"), "the cause is given: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("Enrolment code"), "no code is handed out: {stdout}");
    assert!(!png.exists());
}
