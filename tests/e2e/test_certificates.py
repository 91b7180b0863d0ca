"""The certificate gate in the real window: a welder whose special-equipment welding certificate
runs out inside the 30-day margin cannot be put on a pressure-vessel welding permit, and the
message names him, the certificate and its number; the same permit without the pressure vessel
goes through on his ordinary welding certificate. An inspector sees the expiring certificate and
downloads the holding statistics as XLSX. On the sign-in page people are found by typing; a badge
scanned by a keyboard-wedge reader, or photographed with the camera, opens that person's PIN
entry, and a picture of some other code says it is not a badge."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from test_hot_work_story import click, fill_a_hot_work_permit, find, sign_in, tick, wait_status, wait_text_contains

# 孙浩's special-equipment welding certificate in the demo plant.
DEMO_SPECIAL_WELDING = "0190c5a0-0000-7000-8000-000000000202"


@pytest.fixture
def welder_near_expiry(plant):
    """Before the app starts: 孙浩's special-equipment welding certificate is revoked and a new
    one registered that ends in 20 days — valid, but inside pressure-vessel welding's margin."""
    plant.admin("cert", "revoke", "--id", DEMO_SPECIAL_WELDING, "--reason", "换证")
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    plant.admin(
        "cert", "add", "--person", "C2001", "--type", "special_equipment_welding", "--number", "TS-HJ-2026-09911",
        "--issuer", "江苏省市场监督管理局", "--from", f"{today - timedelta(days=700):%Y-%m-%d}",
        "--to", f"{today + timedelta(days=20):%Y-%m-%d}",
    )
    expiring = plant.admin("cert", "expiring", "--person", "C2001")
    assert "TS-HJ-2026-09911" in expiring, expiring
    return plant


def test_a_welder_inside_the_margin_is_refused_for_pressure_vessel_welding_by_name(welder_near_expiry, driver, screenshot):
    sign_in(driver, "赵磊")
    click(driver, "new-permit")
    fill_a_hot_work_permit(driver)
    tick(driver, "detail-pressure_vessel")
    click(driver, "submit-permit")
    message = wait_text_contains(driver, "error-crew", "孙浩")
    for part in ["特种设备焊接操作证", "TS-HJ-2026-09911", "30"]:
        assert part in message, message
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", find(driver, "error-crew"))
    screenshot("certificates-01-welder-refused")
    assert not driver.find_elements("css selector", '[data-testid="permit-number"]'), "nothing was submitted"

    # Not on a pressure vessel, his welding certificate does.
    click(driver, "detail-pressure_vessel")
    click(driver, "submit-permit")
    wait_status(driver, "审批中")
    assert find(driver, "permit-number").text.strip()


def test_an_inspector_sees_the_expiring_certificate_and_downloads_the_statistics_as_xlsx(welder_near_expiry, driver, screenshot):
    from python_calamine import CalamineWorkbook

    sign_in(driver, "周敏")
    click(driver, "open-certificates")
    warning = wait_text_contains(driver, "expiry-warnings", "TS-HJ-2026-09911")
    assert "孙浩" in warning and "临期" in warning, warning
    stats = wait_text_contains(driver, "cert-stats", "维修车间")
    assert "焊接与热切割作业证" in stats, stats
    click(driver, "export-cert-report")
    path = wait_text_contains(driver, "export-saved", ".xlsx")
    screenshot("certificates-02-statistics-exported")
    book = CalamineWorkbook.from_path(path)
    summary = book.get_sheet_by_index(0).to_python()
    assert summary[0][0] == "特种作业人员持证情况统计表", summary[:2]
    rows = {(r[0], r[1]): r for r in summary[4:]}
    welding = rows[("维修车间", "特种设备焊接操作证")]
    # 孙浩 holds one, inside its 60 warning days: one holder, expiring.
    assert [int(v) for v in welding[2:6]] == [1, 0, 1, 0], welding
    detail = book.get_sheet_by_index(1).to_python()
    assert any("TS-HJ-2026-09911" in [str(c) for c in r] and "孙浩" in r for r in detail), detail
    # The page on a portrait tablet and a small desktop: nothing scrolls sideways, every control
    # is a full-size target.
    from test_layout import check_layout, resize

    for width, height in [(800, 1280), (1024, 768)]:
        resize(driver, width, height)
        check_layout(driver, f"certificates at {width}x{height}")
        screenshot(f"certificates-{width}x{height}")


def person_id(plant, name: str) -> str:
    """A demo person's id, from the register's listing."""
    for line in plant.admin("user", "list").splitlines():
        fields = line.split("\t")
        if len(fields) > 1 and fields[1] == name:
            return fields[0]
    raise AssertionError(f"{name} is not in the register")


def test_people_are_found_by_typing_and_a_scanned_badge_opens_the_pin_entry(plant, driver, screenshot, tmp_path):
    from test_hot_work_story import PINS, press_enter, sign_out, type_into
    from test_settings import choose_file, white_png

    # The badge IT prints for 吴刚, and a picture with no code on it.
    badge = tmp_path / "badge-wu.png"
    out = plant.admin("user", "badge", "--id", person_id(plant, "吴刚"), "--png", str(badge))
    assert "QR text: openptw-badge:1011" in out, out
    # The camera: a photo of his badge opens his PIN entry.
    find(driver, "scan-badge")
    choose_file(driver, "scan-badge-input", badge)
    wait_text_contains(driver, "pin-entry-title", "吴刚")
    click(driver, "sign-in-cancel")
    # A picture with no QR code in it: the reader says so, and nobody is chosen.
    choose_file(driver, "scan-badge-input", white_png(tmp_path / "blank.png"))
    find(driver, "badge-problem")
    # A keyboard-wedge reader types the badge's QR text and Enter; an unknown badge is named.
    type_into(driver, "person-search", "openptw-badge:C9999")
    press_enter(driver, "person-search")
    wait_text_contains(driver, "badge-problem", "C9999")
    type_into(driver, "person-search", "openptw-badge:1011")
    press_enter(driver, "person-search")
    wait_text_contains(driver, "pin-entry-title", "吴刚")
    click(driver, "sign-in-cancel")

    # Part of a name narrows the list; a name nobody has says so.
    type_into(driver, "person-search", "孙")
    find(driver, "person-孙浩")
    assert not driver.find_elements("css selector", '[data-testid="person-张伟"]'), "the list is not narrowed"
    type_into(driver, "person-search", "不存在的人")
    find(driver, "person-none")
    # A keyboard-wedge reader types the badge id and presses Enter: his PIN entry opens.
    type_into(driver, "person-search", "C2001")
    press_enter(driver, "person-search")
    type_into(driver, "pin-input", PINS["孙浩"])
    press_enter(driver, "pin-input")
    wait_text_contains(driver, "current-person", "孙浩")
    screenshot("certificates-03-signed-in-by-badge")
    sign_out(driver)
