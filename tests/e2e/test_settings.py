"""The settings screen: this device's sync state and its enrolment with a sync server.

A fresh tablet is not enrolled: before anyone signs in, IT opens 设置 from the top bar, sees the
device in local mode, and types a server address where nothing listens — the app says, in
Chinese, that the sync server cannot be reached, and the device stays as it was. The settings
sit over the page they were opened from: closing them gives back a half-filled permit form
untouched. (Enrolling against a running ptw-sync-server is a later test.)
"""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from test_hot_work_story import TIMEOUT, click, css, find, sign_in, text_of, type_into, wait_text_contains

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


def test_an_unenrolled_tablet_shows_local_mode_and_an_unreachable_server_is_explained_in_chinese(driver, screenshot):
    find(driver, "person-张伟")
    click(driver, "open-settings")
    find(driver, "settings")

    # Not enrolled: local mode, nothing to sync with, no "sync now", no last-sync time up top.
    wait_text_contains(driver, "settings-server", "未登记")
    assert find(driver, "sync-state").get_attribute("data-enrolled") == "false"
    wait_text_contains(driver, "settings-last-sync", "从未同步")
    assert "本机模式" in text_of(driver, "settings-connection")
    assert absent(driver, "sync-now")
    assert absent(driver, "last-sync")
    assert find(driver, "enrol-url").get_attribute("placeholder") == "http://192.168.1.10:8787"
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

    # Back to where the user was: the sign-in page.
    click(driver, "settings-back")
    find(driver, "person-张伟")
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
    screenshot("settings-signed-in")
    click(driver, "language-switch")
    wait_text_contains(driver, "settings-server", "Not enrolled")
    screenshot("settings-en")

    # The network returning asks for a sync round; unenrolled, nothing changes and nothing breaks.
    driver.execute_script("window.dispatchEvent(new Event('online'));")
    wait_text_contains(driver, "settings-server", "Not enrolled")

    click(driver, "settings-back")
    title = find(driver, "field-title")
    WebDriverWait(driver, TIMEOUT).until(lambda d: title.get_attribute("value") == "T-101 罐顶法兰焊接")
