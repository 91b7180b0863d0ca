"""The register in the real window, through the sync server's admin API: the admin unlocks the
screen with her PIN (a wrong one is refused), adds a contractor's pipe fitter with a badge, a
role and a PIN, is told when a badge is someone else's, and freezes an account with the reason;
the new person then finds himself by badge on the sign-in page and signs in, and the frozen one
shows as frozen in the register and in the server's own listing. Sheets of location posters and
of the badges of the people found are drawn for print."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from test_hot_work_story import (
    TIMEOUT,
    click,
    css,
    find,
    press_enter,
    sign_in,
    sign_out,
    type_into,
    wait_text_contains,
)


def person_row(driver, name: str):
    """The register's row of `name`, waiting for it."""
    return WebDriverWait(driver, TIMEOUT, poll_frequency=0.2).until(
        lambda d: next((r for r in d.find_elements(By.CSS_SELECTOR, css("admin-person")) if r.get_attribute("data-name") == name), False),
        message=f"no register row for {name}",
    )


def done(driver) -> None:
    find(driver, "admin-done")


def test_an_admin_adds_a_contractor_who_then_signs_in_by_badge_and_freezes_an_account(plant, driver, screenshot):
    sign_in(driver, "马丽")
    click(driver, "open-admin")

    # The PIN again; a wrong one changes nothing.
    type_into(driver, "admin-pin", "0000")
    press_enter(driver, "admin-pin")
    find(driver, "refusal")
    type_into(driver, "admin-pin", "9090")
    press_enter(driver, "admin-pin")
    find(driver, "admin-search")
    screenshot("admin-01-register")

    # A new contractor: nothing is sent without a name, and the company is asked for.
    click(driver, "admin-add")
    click(driver, "admin-save")
    find(driver, "admin-problem")
    type_into(driver, "admin-name", "郑凯")
    type_into(driver, "admin-title", "管工")
    click(driver, "admin-contractor")
    click(driver, "admin-save")
    wait_text_contains(driver, "admin-problem", "承包商单位")
    type_into(driver, "admin-company", "华建安装工程有限公司")
    type_into(driver, "admin-department", "维修车间")
    type_into(driver, "admin-phone", "13900000099")
    click(driver, "admin-role-guardian")
    # A badge that is already 张伟's: the server says whose.
    type_into(driver, "admin-badge", "1001")
    click(driver, "admin-save")
    wait_text_contains(driver, "refusal-rule", "张伟")
    click(driver, "refusal-close")
    type_into(driver, "admin-badge", "C3001")
    click(driver, "admin-save")
    done(driver)
    person_row(driver, "郑凯")
    # Once saved, his PIN: too short first.
    type_into(driver, "admin-new-pin", "12")
    click(driver, "admin-set-pin")
    find(driver, "admin-problem")
    type_into(driver, "admin-new-pin", "2468")
    click(driver, "admin-set-pin")
    wait_text_contains(driver, "admin-done", "PIN")
    screenshot("admin-02-added")

    # 钱勇's account frozen, with the reason; the register shows it.
    type_into(driver, "admin-search", "钱")
    person_row(driver, "钱勇").click()
    click(driver, "admin-freeze")
    find(driver, "admin-problem")
    type_into(driver, "admin-freeze-reason", "违章作业，停岗调查")
    click(driver, "admin-freeze")
    done(driver)
    wait_text_contains(driver, "admin-status", "冻结")
    person_row(driver, "钱勇").find_element(By.CSS_SELECTOR, css("chip-frozen"))
    find(driver, "admin-unfreeze")
    screenshot("admin-03-frozen")
    from test_layout import check_layout, resize

    for width, height in [(800, 1280), (1024, 768)]:
        resize(driver, width, height)
        check_layout(driver, f"the register at {width}x{height}")
        screenshot(f"admin-{width}x{height}")
    resize(driver, 1280, 800)
    listing = plant.admin("user", "list")
    frozen = [line for line in listing.splitlines() if "\t钱勇\t" in line]
    assert frozen and frozen[0].endswith("frozen"), listing
    added = [line for line in listing.splitlines() if "\t郑凯\t" in line]
    assert added and "guardian" in added[0] and "C3001" in added[0], listing

    # Sheets to print: the posters of every location, and the badges of the people found.
    click(driver, "admin-print-posters")
    WebDriverWait(driver, TIMEOUT, poll_frequency=0.2).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, css("sheet-poster") + " svg")) >= 3, message="no posters drawn"
    )
    codes = {p.get_attribute("data-code") for p in driver.find_elements(By.CSS_SELECTOR, css("sheet-poster"))}
    assert {"T-101", "PR-3"} <= codes, codes
    screenshot("admin-04-posters")
    click(driver, "sheet-close")
    type_into(driver, "admin-search", "华建")
    click(driver, "admin-print-badges")
    find(driver, "sheet-badge")
    names = {b.get_attribute("data-name") for b in driver.find_elements(By.CSS_SELECTOR, css("sheet-badge"))}
    assert names == {"孙浩", "郑凯"}, names
    click(driver, "sheet-close")

    # The new person finds himself by badge and signs in with the PIN the admin set.
    click(driver, "back-to-list")
    sign_out(driver)
    type_into(driver, "person-search", "C3001")
    press_enter(driver, "person-search")
    wait_text_contains(driver, "pin-entry-title", "郑凯")
    type_into(driver, "pin-input", "2468")
    press_enter(driver, "pin-input")
    wait_text_contains(driver, "current-person", "郑凯")
    assert not driver.find_elements(By.CSS_SELECTOR, css("open-admin")), "the register is the admin's"
