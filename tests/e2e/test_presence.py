"""Check-in and check-out on site (到岗签到 / 离岗签退) in the real window: the guardian photographs
her badge and the wrong location's poster — the permit flags the location — checks out, then
checks in with a keyboard-wedge reader's text at the right poster; she starts the work, and
checking out while it runs suspends it, with the reason on the permit. The permit's own QR code,
read by a wedge reader in the list's search, opens it."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from test_hot_work_story import (
    act,
    an_approved_hot_work_permit,
    click,
    css,
    find,
    open_permit,
    press_enter,
    record_gas_test,
    sign_in,
    type_into,
    wait_status,
    wait_text,
    wait_text_contains,
)
from test_settings import choose_file, value_of


def test_the_guardian_checks_in_by_badge_and_poster_and_leaving_during_work_suspends_it(plant, driver, screenshot, tmp_path):
    badge = tmp_path / "badge-li.png"
    li = next(line.split("\t")[0] for line in plant.admin("user", "list").splitlines() if "\t李娜\t" in line)
    plant.admin("user", "badge", "--id", li, "--png", str(badge))
    wrong_poster = tmp_path / "poster-pr3.png"
    out = plant.admin("plant", "poster", "--code", "PR-3", "--png", str(wrong_poster))
    assert "QR text: openptw-location:PR-3" in out, out

    number = an_approved_hot_work_permit(driver)
    sign_in(driver, "李娜")
    open_permit(driver, number, from_home=True)

    # Photos of her badge and of the pipe rack's poster (not this permit's T-101).
    find(driver, "presence")
    choose_file(driver, "presence-badge-photo-input", badge)
    wait_value(driver, "presence-badge", "1002")
    choose_file(driver, "presence-location-photo-input", wrong_poster)
    wait_value(driver, "presence-location", "PR-3")
    act(driver, "action-check-in")
    find(driver, "presence-wrong-location")
    wait_alert(driver, "PR-3")
    screenshot("presence-01-wrong-location")

    # Out again, and in at the right poster with a wedge reader (its text, then Enter).
    type_into(driver, "presence-badge", "openptw-badge:1002")
    press_enter(driver, "presence-badge")
    wait_value(driver, "presence-badge", "1002")
    type_into(driver, "presence-location", "openptw-location:PR-3")
    press_enter(driver, "presence-location")
    act(driver, "action-check-out")
    type_into(driver, "presence-badge", "openptw-badge:1002")
    press_enter(driver, "presence-badge")
    type_into(driver, "presence-location", "openptw-location:T-101")
    press_enter(driver, "presence-location")
    act(driver, "action-check-in")
    rows = driver.find_elements(By.CSS_SELECTOR, css("presence-row"))
    assert len(rows) == 2, [r.text for r in rows]

    # Someone else's badge is refused in words.
    record_gas_test(driver)
    act(driver, "action-start")
    wait_status(driver, "作业中")
    type_into(driver, "presence-badge", "1001")
    type_into(driver, "presence-location", "T-101")
    find(driver, "action-check-out").click()
    wait_text_contains(driver, "refusal-rule", "1001")
    find(driver, "refusal-close").click()

    # Leaving while the work runs stops it.
    type_into(driver, "presence-badge", "1002")
    type_into(driver, "presence-location", "T-101")
    act(driver, "action-check-out")
    wait_status(driver, "已暂停")
    wait_alert(driver, "签退离岗")
    screenshot("presence-02-guardian-left")
    from test_layout import check_layout, resize

    for width, height in [(800, 1280), (1024, 768)]:
        resize(driver, width, height)
        find(driver, "presence-trail")
        check_layout(driver, f"a permit with its presence trail at {width}x{height}")
        screenshot(f"presence-{width}x{height}")
    resize(driver, 1280, 800)

    # The permit's QR code (drawn as SVG) opens it from the list, as a wedge reader types it.
    click(driver, "permit-qr-section")
    qr = find(driver, "permit-qr")
    WebDriverWait(driver, 30, poll_frequency=0.2).until(lambda d: qr.find_elements(By.CSS_SELECTOR, "svg"), message="no QR drawn")
    text = qr.get_attribute("data-text")
    assert text.startswith("openptw-permit:"), text
    click(driver, "back-to-list")
    type_into(driver, "list-search", text)
    press_enter(driver, "list-search")
    wait_text(driver, "permit-number", number)


def wait_alert(driver, text: str) -> None:
    """Waits until one of the permit's alerts says `text`."""
    from selenium.webdriver.support.ui import WebDriverWait

    from test_hot_work_story import TIMEOUT

    WebDriverWait(driver, TIMEOUT, poll_frequency=0.2).until(
        lambda d: any(text in a.text for a in d.find_elements(By.CSS_SELECTOR, css("alert"))),
        message=f"no alert says {text!r}",
    )


def wait_value(driver, testid: str, expected: str) -> None:
    """Waits until field `testid` holds `expected`."""
    from selenium.webdriver.support.ui import WebDriverWait

    from test_hot_work_story import TIMEOUT

    WebDriverWait(driver, TIMEOUT, poll_frequency=0.2).until(
        lambda d: value_of(d, testid) == expected,
        message=f"[{testid}] did not come to hold {expected!r} (holds {value_of(driver, testid)!r})",
    )
