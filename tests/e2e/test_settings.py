"""The settings screen: this device's sync state and its enrolment with a sync server.

A fresh tablet is not enrolled: it has no plant, so the sign-in page says so and sends IT to
设置; IT types a server address where nothing listens — the app says, in Chinese, that the sync
server cannot be reached, and the device stays as it was. The settings sit over the page they
were opened from: closing them gives back a half-filled permit form untouched.

Enrolment for real: IT runs `ptw-sync-server device enrol --png` against a running server and
hands over the QR picture; scanning it in the enrolment form fills the server address and the
code (the QR text, which also names the server's key and certificate), and submitting enrols
the tablet, which then gets the plant's people. A picture without a QR code, or a file that is
no picture, is explained in Chinese and fills nothing.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.file_detector import UselessFileDetector
from selenium.webdriver.support.ui import WebDriverWait

from test_hot_work_story import TIMEOUT, click, css, find, sign_in, text_of, type_into, wait_text, wait_text_contains

# Port 9 (discard) on loopback: nothing listens there, so a connection is refused at once.
NOBODY_LISTENS = "http://127.0.0.1:9"


def clear_field(driver, testid: str) -> None:
    """Empties an input the way typing would (WebDriver's clear() need not fire `input`)."""
    driver.execute_script(
        "arguments[0].value = ''; arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
        find(driver, testid),
    )


def absent(driver, testid: str) -> bool:
    return not any(el.is_displayed() for el in driver.find_elements(By.CSS_SELECTOR, css(testid)))


@pytest.mark.unenrolled
def test_an_unenrolled_tablet_says_so_and_an_unreachable_server_is_explained_in_chinese(driver, screenshot):
    # No plant yet: nobody to sign in, and the way to enrol.
    find(driver, "not-enrolled")
    assert not driver.find_elements(By.CSS_SELECTOR, css("person-张伟"))
    screenshot("sign-in-not-enrolled")
    click(driver, "not-enrolled-settings")
    find(driver, "settings")

    # Not enrolled: no server, nothing to sync with, no "sync now", no last-sync time up top.
    wait_text_contains(driver, "settings-server", "未登记")
    assert find(driver, "sync-state").get_attribute("data-enrolled") == "false"
    wait_text_contains(driver, "settings-last-sync", "从未同步")
    assert "没有同步服务器" in text_of(driver, "settings-connection")
    assert absent(driver, "sync-now")
    assert absent(driver, "last-sync")
    assert find(driver, "enrol-url").get_attribute("placeholder").startswith("https://")
    screenshot("settings-not-enrolled")

    # An empty form is explained field by field, without asking the back end.
    click(driver, "enrol-submit")
    wait_text_contains(driver, "settings", "请填写以 http:// 或 https:// 开头的服务器地址")
    assert "请填写登记码" in text_of(driver, "settings")

    # A wrong code at an address where nothing listens: the server cannot be reached.
    type_into(driver, "enrol-url", NOBODY_LISTENS)
    type_into(driver, "enrol-code", "NOT-A-REAL-CODE")
    click(driver, "enrol-submit")
    find(driver, "refusal")
    wait_text_contains(driver, "refusal-rule", "无法连接同步服务器")
    screenshot("settings-enrol-unreachable")
    assert find(driver, "sync-state").get_attribute("data-enrolled") == "false"
    assert absent(driver, "enrol-done")

    # The QR text pasted whole carries the address itself; same server, same answer.
    click(driver, "refusal-close")
    clear_field(driver, "enrol-url")
    type_into(driver, "enrol-code", f"openptw-enrol:{NOBODY_LISTENS}#NOT-A-REAL-CODE")
    click(driver, "enrol-submit")
    wait_text_contains(driver, "refusal-rule", "无法连接同步服务器")

    # Back to where the user was: the sign-in page, still not enrolled.
    click(driver, "settings-back")
    find(driver, "not-enrolled")
    assert absent(driver, "settings")


def test_settings_opened_from_a_half_filled_form_give_the_form_back_untouched(driver, screenshot):
    find(driver, "person-赵磊")
    sign_in(driver, "赵磊")
    click(driver, "new-permit")
    type_into(driver, "field-title", "T-101 罐顶法兰焊接")

    click(driver, "open-settings")
    find(driver, "settings")
    assert absent(driver, "field-title")
    # The pending counter stays in the top bar on every screen.
    find(driver, "pending-count")
    # Enrolled at start with the plant's server (over HTTPS, its certificate pinned).
    assert find(driver, "sync-state").get_attribute("data-enrolled") == "true"
    wait_text_contains(driver, "settings-server", "已登记")
    assert absent(driver, "settings-time-unverified"), "the first sync set the tablet's clock"
    screenshot("settings-signed-in")
    click(driver, "language-switch")
    wait_text(driver, "settings-server", "Enrolled")
    screenshot("settings-en")

    # The network returning asks for a sync round; nothing changes on the form and nothing breaks.
    driver.execute_script("window.dispatchEvent(new Event('online'));")
    wait_text(driver, "settings-server", "Enrolled")

    click(driver, "settings-back")
    title = find(driver, "field-title")
    WebDriverWait(driver, TIMEOUT).until(lambda d: title.get_attribute("value") == "T-101 罐顶法兰焊接")


def white_png(path: Path, width: int = 320, height: int = 240) -> Path:
    """A blank white greyscale PNG: a picture with no QR code in it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return path


def choose_file(driver, testid: str, path: Path) -> None:
    """Picks `path` in a file input, as the camera or the file chooser would.

    The file is on this machine already: no Selenium-Grid upload (which tauri-driver lacks).
    """
    with driver.file_detector_context(UselessFileDetector):
        driver.find_element(By.CSS_SELECTOR, css(testid)).send_keys(str(path))


def value_of(driver, testid: str) -> str:
    return find(driver, testid).get_attribute("value") or ""


def printed(out: str, prefix: str) -> str:
    """The rest of the line of `out` that starts with `prefix`."""
    for line in out.splitlines():
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    raise AssertionError(f"no line starting {prefix!r} in:\n{out}")


@pytest.mark.unenrolled
def test_scanning_the_enrolment_qr_from_its_png_fills_the_form_and_enrols_the_tablet(
    driver, screenshot, plant, tmp_path
):
    sync_server = plant
    qr = tmp_path / "qr.png"
    out = sync_server.admin("device", "enrol", "--name", "T-E2E", "--url", sync_server.url, "--png", str(qr))
    code = printed(out, "Enrolment code for T-E2E: ")
    qr_text = printed(out, "QR text: ")
    # Address, code, the server's registry key and its certificate's fingerprint.
    assert qr_text.startswith(f"openptw-enrol:{sync_server.url}#{code}#")
    assert len(qr_text.split("#")) == 4
    assert qr.read_bytes().startswith(b"\x89PNG")

    find(driver, "not-enrolled")
    click(driver, "open-settings")
    find(driver, "settings")
    assert find(driver, "sync-state").get_attribute("data-enrolled") == "false"
    # The app's own button, in Chinese; the file input behind it is never displayed (its
    # native "Choose File" would be in the webview's language).
    wait_text(driver, "enrol-scan-choose", "拍照或选择图片")
    scan = driver.find_element(By.CSS_SELECTOR, css("enrol-scan"))
    assert not scan.is_displayed()
    # On a tablet: the rear camera.
    assert scan.get_attribute("type") == "file"
    assert scan.get_attribute("accept") == "image/*"
    assert scan.get_attribute("capture") == "environment"
    assert "扫描二维码" in text_of(driver, "settings")

    # A picture with no QR code in it: the app says so, in Chinese, and fills nothing.
    choose_file(driver, "enrol-scan", white_png(tmp_path / "blank.png"))
    wait_text_contains(driver, "enrol-scan-error", "图片中没有找到二维码")
    assert "靠近" in text_of(driver, "enrol-scan-error")
    assert value_of(driver, "enrol-url") == "" and value_of(driver, "enrol-code") == ""
    screenshot("settings-scan-no-qr")

    # A file that is not a picture at all.
    not_a_picture = tmp_path / "notes.png"
    not_a_picture.write_text("openptw-enrol: this is text, not a picture\n")
    choose_file(driver, "enrol-scan", not_a_picture)
    wait_text_contains(driver, "enrol-scan-error", "所选文件不是图片")
    assert value_of(driver, "enrol-url") == "" and value_of(driver, "enrol-code") == ""

    # The QR picture IT made: both fields are filled from it (the code field holds the whole QR
    # text, keys and all), nothing is sent yet.
    choose_file(driver, "enrol-scan", qr)
    find(driver, "enrol-scanned")
    WebDriverWait(driver, TIMEOUT).until(
        lambda d: value_of(d, "enrol-url") == sync_server.url and value_of(d, "enrol-code") == qr_text,
        message=f"fields: {value_of(driver, 'enrol-url')!r} {value_of(driver, 'enrol-code')!r}",
    )
    assert absent(driver, "enrol-scan-error")
    assert find(driver, "sync-state").get_attribute("data-enrolled") == "false"
    screenshot("settings-enrol-scanned")

    click(driver, "enrol-submit")
    wait_text_contains(driver, "enrol-done", "登记成功")
    WebDriverWait(driver, TIMEOUT).until(
        lambda d: find(d, "sync-state").get_attribute("data-enrolled") == "true",
        message="the settings never showed the device as enrolled",
    )
    wait_text_contains(driver, "settings-server", "已登记")
    assert absent(driver, "refusal")
    # The code was used; the code field is emptied, and the server lists the tablet.
    assert value_of(driver, "enrol-code") == ""
    devices = sync_server.admin("device", "list")
    assert any("T-E2E" in line and "active" in line for line in devices.splitlines()), devices
    screenshot("settings-enrolled-by-qr")

    # The plant arrives with the first sync: its people can sign in.
    click(driver, "settings-back")
    find(driver, "person-张伟", timeout=60)
