"""The grade-1 hot-work story, end to end in the real window, on the demo plant its sync server
holds (the app enrolled with it at start, over HTTPS with the server's certificate pinned).

赵磊 (applicant and deputy workshop director) files a grade-1 hot-work permit at 储罐区 T-101 and
tries to approve it himself — the rule engine refuses: the approver cannot be the applicant.
刘洋 (workshop director) and 王强 (safety management) approve; 李娜 (the guardian) records a
passing gas test, starts and completes the work, and keeps the fire watch: signing it off before
its 30 minutes are up is refused, after them (the test's clock moved on) it is signed; 刘洋
accepts and the permit closes. Every change goes up to the sync server: the pending counter
comes back to nothing.

Also: the language switch turns the UI English, an empty form explains every missing field, and a
wrong PIN is refused in words.
"""

from __future__ import annotations

import re

import pytest
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

TIMEOUT = 30.0

# The demo plant the sync server seeds (`ptw-sync-server demo seed`, crates/core/demo/plant.json).
PINS = {
    "张伟": "1111",
    "李娜": "2222",
    "刘洋": "3333",
    "王强": "4444",
    "陈静": "5555",
    "赵磊": "6666",
    "孙浩": "7777",
    "周敏": "8888",
    "钱勇": "1010",
    "马丽": "9090",
    "吴刚": "1212",
}


# ---------------------------------------------------------------------------------------------
# helpers: everything the test touches has a data-testid


def css(testid: str) -> str:
    return f'[data-testid="{testid}"]'


def find(driver: WebDriver, testid: str, timeout: float = TIMEOUT) -> WebElement:
    """The displayed element with `testid`, waiting for it to appear."""

    def displayed(d):
        for el in d.find_elements(By.CSS_SELECTOR, css(testid)):
            try:
                if el.is_displayed():
                    return el
            except StaleElementReferenceException:
                continue
        return False

    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(displayed, message=f"no visible [{testid}]")


def text_of(driver: WebDriver, testid: str) -> str:
    try:
        found = driver.find_elements(By.CSS_SELECTOR, css(testid))
        return found[0].text.strip() if found else ""
    except StaleElementReferenceException:
        return ""


def wait_text(driver: WebDriver, testid: str, expected: str, timeout: float = TIMEOUT) -> None:
    WebDriverWait(driver, timeout, poll_frequency=0.2).until(
        lambda d: text_of(d, testid) == expected,
        message=f"[{testid}]: expected {expected!r}, saw {text_of(driver, testid)!r}",
    )


def alerts_shown(driver: WebDriver) -> list[str]:
    """The texts of the window's alerts and refusals, for a failed wait to say what it saw."""
    try:
        return [e.text.strip() for e in driver.find_elements(By.CSS_SELECTOR, "[role=alert]") if e.text.strip()]
    except WebDriverException:
        return []


def wait_text_contains(driver: WebDriver, testid: str, expected: str, timeout: float = TIMEOUT) -> str:
    try:
        WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: expected in text_of(d, testid))
    except TimeoutException:
        raise TimeoutException(
            f"[{testid}]: expected to contain {expected!r}, saw {text_of(driver, testid)!r}; "
            f"alerts on screen: {alerts_shown(driver)!r}"
        ) from None
    return text_of(driver, testid)


# Taps a person makes on the screen, counted by the helpers below: a press is one, a field
# tapped into is one unless it has the focus already (the keys typed are not counted, the
# keyboard's Enter / "next" key among them; ENTERS counts those), a drop-down is two (open,
# choose).
TAPS = [0]
ENTERS = [0]


def click(driver: WebDriver, testid: str) -> None:
    TAPS[0] += 1
    el = find(driver, testid)
    # Centre it: sticky bars at the top and bottom of the page must not cover the target.
    driver.execute_script("arguments[0].scrollIntoView({block: 'center', inline: 'nearest'});", el)
    WebDriverWait(driver, TIMEOUT, poll_frequency=0.2).until(lambda d: el.is_enabled(), message=f"[{testid}] stays disabled")
    el.click()


def type_into(driver: WebDriver, testid: str, text: str) -> None:
    el = find(driver, testid)
    # A field that has the focus already (the PIN field does when it opens) takes no tap.
    if not driver.execute_script("return document.activeElement === arguments[0];", el):
        TAPS[0] += 1
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", el)
    el.clear()
    el.send_keys(text)
    if el.get_attribute("value") != text:
        # Some WebDriver builds drop CJK keystrokes: set the value as an input method would.
        driver.execute_script(
            "arguments[0].value = arguments[1];"
            "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
            el,
            text,
        )
    assert el.get_attribute("value") == text


def press_enter(driver: WebDriver, testid: str) -> None:
    """The keyboard's Enter ("next", "go") in field `testid`: a key typed, not a tap."""
    ENTERS[0] += 1
    find(driver, testid).send_keys(Keys.ENTER)


def type_and_next(driver: WebDriver, testid: str, text: str, then: str) -> None:
    """Types into `testid`, presses the keyboard's "next", and checks that `then` has the focus."""
    type_into(driver, testid, text)
    press_enter(driver, testid)
    nxt = find(driver, then)
    WebDriverWait(driver, TIMEOUT, poll_frequency=0.1).until(
        lambda d: d.execute_script("return document.activeElement === arguments[0];", nxt),
        message=f"Enter in [{testid}] did not move on to [{then}]",
    )


def choose(driver: WebDriver, testid: str, pick) -> None:
    """Chooses the first option of select `testid` for which `pick(value, text)` holds.

    Through the DOM rather than by clicking the option: WebKitWebDriver clicks options in
    place, and the form's sticky button bar can cover an option near the bottom of the view.
    """
    TAPS[0] += 2
    el = find(driver, testid)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", el)
    options = [(o.get_attribute("value"), o.text) for o in Select(el).options]
    value = next((v for v, t in options if pick(v, t)), None)
    assert value is not None, f"[{testid}] has no such option: {options}"
    driver.execute_script(
        "arguments[0].value = arguments[1];"
        "arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
        el,
        value,
    )
    WebDriverWait(driver, TIMEOUT).until(lambda d: el.get_attribute("value") == value)


def select_value(driver: WebDriver, testid: str, value: str) -> None:
    choose(driver, testid, lambda v, _t: v == value)


def select_containing(driver: WebDriver, testid: str, text: str) -> None:
    choose(driver, testid, lambda _v, t: text in t)


def fill_a_hot_work_permit(driver: WebDriver) -> None:
    """A complete grade-1 hot-work permit at 储罐区 T-101, as few taps as the form allows: the
    location proposes the grade, the keyboard's "next" goes from the title to the work."""
    click(driver, "type-hot_work")
    select_containing(driver, "field-location", "T-101")
    # T-101 is a fire and explosion hazard place: grade 1 at least, proposed, with the rule.
    WebDriverWait(driver, TIMEOUT).until(
        lambda d: find(d, "grade-grade_1").get_attribute("aria-checked") == "true", message="grade 1 is not proposed"
    )
    wait_text_contains(driver, "grade-floor", "火灾爆炸危险场所")
    type_and_next(driver, "field-title", "T-101 罐顶人孔法兰补焊", then="field-work-description")
    type_into(driver, "field-work-description", "更换罐顶人孔法兰垫片，补焊法兰根部裂纹（电焊）。")
    click(driver, "guardian-李娜")
    tick(driver, "crew-孙浩")
    type_into(driver, "field-hazards", "罐内残留油气遇明火爆炸；罐顶高处坠落；焊渣引燃周边可燃物。")
    click(driver, "precautions-all")


def a_submitted_hot_work_permit(driver: WebDriver) -> str:
    """赵磊 files and submits the grade-1 hot-work permit; its number. Nobody is signed in
    afterwards."""
    sign_in(driver, "赵磊")
    click(driver, "new-permit")
    fill_a_hot_work_permit(driver)
    click(driver, "submit-permit")
    wait_status(driver, "审批中")
    number = text_of(driver, "permit-number")
    sign_out(driver)
    return number


def an_approved_hot_work_permit(driver: WebDriver, by_hand: tuple[str, ...] = ()) -> str:
    """赵磊 files the grade-1 hot-work permit, 刘洋 and 王强 approve it — those named in `by_hand`
    drawing their signature on the pad; its number. Nobody is signed in afterwards."""
    number = a_submitted_hot_work_permit(driver)
    for approver in ["刘洋", "王强"]:
        sign_in(driver, approver)
        open_permit(driver, number, from_home=True)
        if approver in by_hand:
            draw_a_signature(driver)
        act(driver, "action-approve")
        sign_out(driver)
    return number


def draw_a_signature(driver: WebDriver) -> None:
    """A stroke across the signature pad with the pointer, as a finger or stylus would draw it."""
    from selenium.webdriver.common.action_chains import ActionChains

    canvas = find(driver, "signature-canvas")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", canvas)
    (
        ActionChains(driver)
        .move_to_element_with_offset(canvas, -160, 10)
        .click_and_hold()
        .move_by_offset(50, -35)
        .move_by_offset(60, 45)
        .move_by_offset(60, -40)
        .move_by_offset(70, 30)
        .release()
        .perform()
    )
    WebDriverWait(driver, TIMEOUT, poll_frequency=0.2).until(
        lambda d: find(d, "signature-clear").is_enabled(), message="the pad shows nothing drawn"
    )


def record_gas_test(driver: WebDriver, lel: str = "0") -> None:
    """The four readings (O₂ 20.9 %, LEL `lel`, H₂S and CO 0) and the instrument, recorded."""
    for testid, value in [("gas-o2", "20.9"), ("gas-lel", lel), ("gas-h2s", "0"), ("gas-co", "0"), ("gas-instrument", "MX4 #A1234")]:
        type_into(driver, testid, value)
    act(driver, "action-gas-test")


def tick(driver: WebDriver, testid: str) -> None:
    el = find(driver, testid)
    if not el.is_selected():
        click(driver, testid)
    WebDriverWait(driver, TIMEOUT).until(lambda d: el.is_selected(), message=f"[{testid}] did not tick")


def wait_synced(driver: WebDriver) -> None:
    """Every change made here reaches the sync server: the pending counter comes back to 0."""
    WebDriverWait(driver, 60, poll_frequency=0.5).until(
        lambda d: pending_count(d) == 0, message=f"{pending_count(driver)} changes never left the tablet"
    )


def pending_count(driver: WebDriver) -> int:
    digits = re.sub(r"\D", "", text_of(driver, "pending-count"))
    return int(digits) if digits else 0


def tab_count(driver: WebDriver, status: str) -> int:
    el = find(driver, f"tab-{status}")
    return int(el.find_element(By.CSS_SELECTOR, ".count").text.strip() or 0)


def sign_in(driver: WebDriver, name: str) -> None:
    """Taps the person, types the PIN into the field that has the focus, and presses Enter."""
    click(driver, f"person-{name}")
    type_into(driver, "pin-input", PINS[name])
    press_enter(driver, "pin-input")
    wait_text_contains(driver, "current-person", name)
    find(driver, "new-permit")


def sign_out(driver: WebDriver) -> None:
    click(driver, "sign-out")
    find(driver, "person-张伟")


def open_permit(driver: WebDriver, number: str, from_home: bool = False) -> None:
    """Opens permit `number` from the list of every permit, or with `from_home` from the list
    the app opens on (what waits for the person signed in)."""
    if not from_home:
        click(driver, "tab-all")
    find(driver, "permit-row")
    WebDriverWait(driver, TIMEOUT, poll_frequency=0.2).until(
        lambda d: any(r.get_attribute("data-number") == number for r in d.find_elements(By.CSS_SELECTOR, css("permit-row"))),
        message=f"no list row for permit {number}",
    )
    row = next(r for r in driver.find_elements(By.CSS_SELECTOR, css("permit-row")) if r.get_attribute("data-number") == number)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", row)
    TAPS[0] += 1
    row.click()
    wait_text(driver, "permit-number", number)


def act(driver: WebDriver, testid: str) -> None:
    """Presses an action button and waits until the back end has recorded it."""
    click(driver, testid)
    find(driver, "action-done")


def show(driver: WebDriver, testid: str, last: bool = False) -> None:
    """Scrolls the (first or last) element with `testid` into the middle of the view."""
    found = driver.find_elements(By.CSS_SELECTOR, css(testid))
    assert found, f"no [{testid}]"
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", found[-1] if last else found[0])


def wait_status(driver: WebDriver, expected: str) -> None:
    wait_text(driver, "permit-status", expected)


# ---------------------------------------------------------------------------------------------
# the stories


@pytest.mark.fake_clock
def test_grade_one_hot_work_goes_from_filing_to_closed_and_nobody_approves_their_own_permit(driver, screenshot, fake_clock):
    TAPS[0] = ENTERS[0] = 0
    find(driver, "person-赵磊")
    screenshot("story-01-sign-in")

    # 赵磊 files the permit with every field filled in.
    sign_in(driver, "赵磊")
    click(driver, "new-permit")
    fill_a_hot_work_permit(driver)
    assert find(driver, "field-planned-start").get_attribute("value"), "planned start defaults to now"
    assert find(driver, "field-planned-end").get_attribute("value"), "planned end defaults to now + 4 h"
    for code in ["isolation_blinds", "radius_15m", "extinguishers", "combustibles_cleared", "wind_below_5"]:
        assert find(driver, f"precaution-{code}").is_selected(), code
    screenshot("story-02-form-filled")
    click(driver, "submit-permit")
    wait_status(driver, "审批中")
    number = text_of(driver, "permit-number")
    assert number, "the submitted permit has a number"
    wait_synced(driver)
    screenshot("story-03-submitted")

    # He holds the workshop director's role too, but is not offered his own permit's approval:
    # the panel says who it waits for instead.
    waiting = wait_text_contains(driver, "waiting-for", "车间主任")
    assert "刘洋" in waiting and "赵磊" not in waiting, waiting
    assert not driver.find_elements(By.CSS_SELECTOR, css("action-approve")), "no approve button for the applicant"
    wait_status(driver, "审批中")
    screenshot("story-04-self-approval-not-offered")
    sign_out(driver)

    # The workshop director signs the first step; the safety department the second. Each finds
    # the permit on the list the app opens on (what waits for them) and approves in two taps.
    sign_in(driver, "刘洋")
    open_permit(driver, number, from_home=True)
    act(driver, "action-approve")
    wait_status(driver, "审批中")
    assert "step-done" in find(driver, "step-workshop_review").get_attribute("class")
    screenshot("story-05-workshop-approved")
    sign_out(driver)

    sign_in(driver, "王强")
    open_permit(driver, number, from_home=True)
    act(driver, "action-approve")
    wait_status(driver, "已批准")
    screenshot("story-06-approved")
    sign_out(driver)

    # The guardian records a passing gas test and starts the work, then completes it. The
    # keypad's "next" goes from reading to reading in the order of the test.
    sign_in(driver, "李娜")
    open_permit(driver, number, from_home=True)
    type_and_next(driver, "gas-o2", "20.9", then="gas-lel")
    type_and_next(driver, "gas-lel", "0", then="gas-h2s")
    type_and_next(driver, "gas-h2s", "0", then="gas-co")
    type_and_next(driver, "gas-co", "2", then="gas-instrument")
    type_and_next(driver, "gas-instrument", "MX4 四合一 #A1234", then="gas-point")
    type_into(driver, "gas-point", "人孔法兰处")
    act(driver, "action-gas-test")
    wait_text(driver, "gas-result", "合格")
    show(driver, "gas-test-row")
    screenshot("story-07-gas-test-passed")
    act(driver, "action-start")
    wait_status(driver, "作业中")
    screenshot("story-08-active")
    act(driver, "action-complete")
    wait_status(driver, "待验收")
    screenshot("story-09-completed")

    # The fire watch (30 min, from the catalog) counts down; signing it off before it is over
    # is refused, in words, and writes nothing.
    wait_text_contains(driver, "fire-watch-countdown", "监火中：还剩 ")
    countdown_taps = TAPS[0]
    click(driver, "action-fire-watch-end")
    wait_text_contains(driver, "refusal-rule", "监火尚未结束")
    screenshot("story-09b-fire-watch-running")
    click(driver, "refusal-close")
    TAPS[0] = countdown_taps  # the refused tap and closing its message are no part of the story
    fake_clock.advance(30)
    wait_text_contains(driver, "fire-watch-countdown", "监火时间已到")
    act(driver, "action-fire-watch-end")
    wait_status(driver, "待验收")
    sign_out(driver)

    # The workshop director accepts: the permit closes.
    sign_in(driver, "刘洋")
    open_permit(driver, number, from_home=True)
    act(driver, "action-accept")
    wait_status(driver, "已关闭")
    # Five people sign in and out on one tablet here. The goal (issue 9) is at most 30 taps for
    # the story as it was; the fire watch the catalog now asks for adds its sign-off.
    taps, enters = TAPS[0], ENTERS[0]
    print(
        f"\nthe hot-work story took {taps} taps (goal: at most 30 before the fire watch, 31 with its sign-off),"
        f" and {enters} Enter / next keys typed"
    )
    assert taps <= 31, f"the hot-work story took {taps} taps; the goal is at most 30, plus the fire watch's sign-off"
    wait_synced(driver)
    screenshot("story-10-closed")
    # Every step signed, and the whole history — the refused self-approval wrote nothing.
    show(driver, "step-acceptance")
    screenshot("story-10b-closed-flow")
    show(driver, "event-row", last=True)
    rows = driver.find_elements(By.CSS_SELECTOR, css("event-row"))
    kinds = [r.find_element(By.CSS_SELECTOR, ".kind").text for r in rows]
    assert kinds == ["验收签字", "监火结束", "作业完工", "开始作业", "气体分析", "审批同意", "审批同意", "提交审批"], kinds
    screenshot("story-10c-closed-log")

    # The list shows the permit closed too.
    click(driver, "back-to-list")
    click(driver, "tab-closed")
    row = find(driver, "permit-row")
    assert row.get_attribute("data-number") == number
    assert "已关闭" in row.text
    screenshot("story-11-list-closed")

    # The closed permit is the template of the next job: its work and precautions, no dates.
    open_permit(driver, number)
    click(driver, "action-copy")
    title = find(driver, "field-title")
    WebDriverWait(driver, TIMEOUT).until(lambda d: title.get_attribute("value") == "T-101 罐顶人孔法兰补焊")
    assert find(driver, "precaution-radius_15m").is_selected(), "the precautions come along"
    screenshot("story-12-copied-as-template")


def test_the_language_switch_turns_the_ui_english_and_back(driver, screenshot):
    find(driver, "person-张伟")
    wait_text(driver, "language-switch", "English")
    click(driver, "language-switch")
    wait_text(driver, "language-switch", "中文")
    assert driver.find_element(By.ID, "app-title").text == "Permit to work"
    assert "Who are you?" in driver.find_element(By.CSS_SELECTOR, ".sign-in h2").text
    screenshot("lang-en-sign-in")

    sign_in(driver, "张伟")
    wait_text(driver, "sign-out", "Sign out")
    wait_text_contains(driver, "new-permit", "New permit")
    wait_text_contains(driver, "tab-all", "All")
    wait_text_contains(driver, "tab-in_approval", "In approval")
    assert "waiting to sync" in driver.find_element(By.CSS_SELECTOR, ".pending").text
    screenshot("lang-en-list")

    click(driver, "new-permit")
    click(driver, "submit-permit")
    wait_text_contains(driver, "error-title", "required")
    wait_text_contains(driver, "form-errors-summary", "please fix the marked fields")
    screenshot("lang-en-form-errors")

    click(driver, "language-switch")
    wait_text(driver, "language-switch", "English")
    assert driver.find_element(By.ID, "app-title").text == "电子作业票"
    wait_text_contains(driver, "error-title", "必填")


def test_an_empty_form_says_what_is_missing_under_each_field(driver, screenshot):
    find(driver, "person-张伟")
    sign_in(driver, "张伟")
    permits_before = tab_count(driver, "all")
    click(driver, "new-permit")
    find(driver, "field-title")
    # Nothing shows before the first attempt.
    assert not driver.find_elements(By.CSS_SELECTOR, css("error-title"))
    # Not even a draft without its type: no default type is filed unread.
    click(driver, "save-draft")
    wait_text(driver, "error-permit-type", "必填")
    assert not text_of(driver, "permit-number"), "nothing was saved"
    click(driver, "type-hot_work")
    wait_text_contains(driver, "error-grade", "必填")
    click(driver, "grade-grade_1")
    click(driver, "submit-permit")
    for field in ["title", "location", "work-description", "guardian", "hazards"]:
        wait_text(driver, f"error-{field}", "必填")
    wait_text_contains(driver, "error-precautions", "未确认必选措施")
    find(driver, "form-errors-summary")
    screenshot("form-empty-errors")
    # Leaving asks first (the type and grade were changed); discarded, nothing was filed.
    click(driver, "back-to-list")
    click(driver, "leave-discard")
    find(driver, "tab-all")
    assert tab_count(driver, "all") == permits_before


def test_a_failing_gas_reading_during_work_stops_it_at_once_and_the_issuer_resumes_it_after_a_passing_retest(
    driver, screenshot
):
    number = an_approved_hot_work_permit(driver)

    sign_in(driver, "李娜")
    open_permit(driver, number, from_home=True)

    record_gas_test(driver)
    act(driver, "action-start")
    wait_status(driver, "作业中")
    # 12 %LEL during the work: suspended at once, with the alert saying what resumes it.
    record_gas_test(driver, lel="12")
    wait_status(driver, "已暂停")
    alert = wait_text_contains(driver, "alert", "气体分析不合格，作业已立即暂停")
    assert "审批人重新确认" in alert, alert
    # The guardian is not offered the resume; the panel names the approvers it waits for.
    assert not driver.find_elements(By.CSS_SELECTOR, css("action-resume")), "the guardian may not resume a failed reading"
    waiting = wait_text_contains(driver, "waiting-for", "刘洋")
    assert "王强" in waiting and "李娜" not in waiting, waiting
    record_gas_test(driver)
    screenshot("gas-failed-retested")
    sign_out(driver)

    sign_in(driver, "王强")
    open_permit(driver, number, from_home=True)
    act(driver, "action-resume")
    wait_status(driver, "作业中")
    assert not driver.find_elements(By.CSS_SELECTOR, css("alert")), "the alert goes with the suspension"
    screenshot("gas-failed-resumed")


@pytest.mark.night_now
def test_hot_work_planned_at_night_is_proposed_one_grade_higher_and_a_lower_grade_is_refused(driver, screenshot):
    # This test's plant has its night hours around now: the form's default window (now, four
    # hours) is at night, at T-101, a fire and explosion hazard place (grade 1 at least).
    sign_in(driver, "赵磊")
    click(driver, "new-permit")
    click(driver, "type-hot_work")
    select_containing(driver, "field-location", "T-101")
    WebDriverWait(driver, TIMEOUT).until(
        lambda d: find(d, "grade-special").get_attribute("aria-checked") == "true", message="special grade is not proposed"
    )
    hint = wait_text_contains(driver, "grade-floor", "夜间")
    assert "火灾爆炸危险场所" in hint and "特级动火" in hint and "GB 30871" in hint, hint
    screenshot("night-grade-raised")
    # Lowered by hand, it is refused at submit, in words.
    click(driver, "grade-grade_1")
    click(driver, "submit-permit")
    refused = wait_text_contains(driver, "error-grade", "不得低于特级动火")
    assert "夜间" in refused and "火灾爆炸危险场所" in refused, refused
    screenshot("night-grade-refused")


def test_a_wrong_pin_is_refused_in_words_and_the_right_one_signs_in(driver, screenshot):
    click(driver, "person-王强")
    type_into(driver, "pin-input", "0000")
    click(driver, "sign-in-button")
    wait_text(driver, "sign-in-error", "PIN 码不正确，请重新输入。")
    assert find(driver, "pin-input").get_attribute("value") == "", "a wrong PIN is cleared"
    screenshot("sign-in-wrong-pin")
    type_into(driver, "pin-input", PINS["王强"])
    click(driver, "sign-in-button")
    wait_text_contains(driver, "current-person", "王强")


def test_a_very_long_title_takes_at_most_two_lines_of_its_row_in_the_list(driver, screenshot):
    sign_in(driver, "赵磊")
    click(driver, "new-permit")
    click(driver, "type-hot_work")
    click(driver, "grade-grade_1")
    long_title = "罐区动火作业" * 80 + "END"
    type_into(driver, "field-title", long_title)
    click(driver, "save-draft")
    screenshot("long-title-saved")
    number = WebDriverWait(driver, TIMEOUT, poll_frequency=0.2).until(
        lambda d: text_of(d, "permit-number"), message="the saved draft shows no number"
    )
    click(driver, "back-to-list")
    open_row = lambda d: next(  # noqa: E731
        (r for r in d.find_elements(By.CSS_SELECTOR, css("permit-row")) if r.get_attribute("data-number") == number),
        None,
    )
    row = WebDriverWait(driver, TIMEOUT, poll_frequency=0.2).until(open_row, message=f"no list row for {number}")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", row)
    screenshot("list-long-title")
    title = row.find_element(By.CSS_SELECTOR, css("row-title"))
    line = driver.execute_script("return parseFloat(getComputedStyle(arguments[0]).lineHeight) || 0;", title)
    font = driver.execute_script("return parseFloat(getComputedStyle(arguments[0]).fontSize);", title)
    line = line or font * 1.6
    assert title.size["height"] <= 2 * line + 2, f"the title is {title.size['height']} px high, lines are {line} px"
    assert row.size["height"] < 200, f"the row is {row.size['height']} px high"
    assert row.size["width"] <= driver.execute_script("return window.innerWidth;"), "the row fits the window"
    # The whole title is still there, for the detail page and for search.
    assert driver.execute_script("return arguments[0].textContent;", title) == long_title
