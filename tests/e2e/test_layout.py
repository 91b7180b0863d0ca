"""The layout on the screens a plant uses: an upright 800×1280 tablet, a 1024×768 tablet on its
side and a 1280×800 laptop, in the real window resized to each.

At every size, on every main screen — sign-in, the PIN pad, the permit list, the new-permit
form, a permit waiting for approval with its action panel, the settings — the top bar is one
row and lies inside the window, the bar with the buttons of the current step lies inside the
window without scrolling (and for the applicant, who may not approve, whom the permit waits
for shows there instead), nothing makes the page scroll sideways, and every button, field, link and section
heading a finger may touch measures at least 48×48 px. Each screen at each size is saved as a
screenshot (artifacts/e2e/layout-<size>-*.png) to look at.

The last test shows the checks can fail: with the old top bar's rules put back (it wrapped to
two rows at 1024 px) and one button shrunk, they name what is wrong.
"""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from test_hot_work_story import (
    PINS,
    TIMEOUT,
    click,
    css,
    fill_a_hot_work_permit,
    find,
    type_into,
    wait_status,
    wait_text_contains,
)

SIZES = [(800, 1280), (1024, 768), (1280, 800)]

# The top bar is one row: 48 px buttons, a little padding and its orange rule.
MAX_BAR_HEIGHT = 72
MIN_TARGET = 48

# What a finger may touch.
INTERACTIVE = "button, a[href], input:not([type=hidden]), select, textarea, [role=button], summary"

# Answers the problems on the page as it is now, as sentences (empty: none). Everything is
# measured in the page, in CSS pixels, against window.innerWidth / innerHeight.
MEASURE = """
const [interactive, minTarget, maxBar, needActionBar] = arguments;
const vw = window.innerWidth, vh = window.innerHeight;
const problems = [];
const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
const name = el => {
  const testid = el.getAttribute('data-testid');
  const text = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().replace(/\\s+/g, ' ');
  return `<${el.tagName.toLowerCase()}` + (el.id ? ` id=${el.id}` : '')
    + (testid ? ` data-testid=${testid}` : '')
    + (!el.id && !testid && el.className ? ` class="${el.className}"` : '')
    + `>` + (text ? ` "${text.slice(0, 30)}"` : '');
};
const box = r => `${Math.round(r.width)}×${Math.round(r.height)} at (${Math.round(r.left)}, ${Math.round(r.top)})`;
const inside = r => r.left >= -0.5 && r.top >= -0.5 && r.right <= vw + 0.5 && r.bottom <= vh + 0.5;

const bar = document.querySelector('header.app-bar');
if (!bar || !shown(bar)) {
  problems.push('no top bar');
} else {
  const r = bar.getBoundingClientRect();
  if (r.height > maxBar) problems.push(`the top bar is ${Math.round(r.height)} px high (more than one row, ${maxBar} px)`);
  for (const el of [bar, ...bar.querySelectorAll('*')]) {
    if (!shown(el)) continue;
    const e = el.getBoundingClientRect();
    if (e.width === 0 && e.height === 0) continue;
    if (!inside(e)) problems.push(`top bar: ${name(el)} lies outside the ${vw}×${vh} window: ${box(e)}`);
  }
}

const actionBars = [...document.querySelectorAll('[data-testid="action-bar"]')].filter(shown);
if (needActionBar && actionBars.length === 0) problems.push('no action bar for the current step is shown');
for (const ab of actionBars) {
  for (const el of [ab, ...ab.querySelectorAll('*')]) {
    if (!shown(el)) continue;
    const e = el.getBoundingClientRect();
    if (!inside(e)) problems.push(`action bar: ${name(el)} lies outside the ${vw}×${vh} window: ${box(e)}`);
  }
}

// Inside the window is not enough: what is pressed there must be the button itself, not
// something over it, nor a scrolling box that clips it.
const covered = el => {
  const e = el.getBoundingClientRect();
  const hit = document.elementFromPoint(e.left + e.width / 2, e.top + e.height / 2);
  return !(hit && (hit === el || el.contains(hit)));
};
for (const el of [...(bar ? bar.querySelectorAll('button') : []), ...actionBars.flatMap(ab => [...ab.querySelectorAll('button')])]) {
  if (shown(el) && inside(el.getBoundingClientRect()) && covered(el)) {
    const e = el.getBoundingClientRect();
    const hit = document.elementFromPoint(e.left + e.width / 2, e.top + e.height / 2);
    problems.push(`${name(el)} cannot be pressed: ${hit ? name(hit) : 'nothing'} is where it shows`);
  }
}

for (const el of document.querySelectorAll(interactive)) {
  if (!shown(el)) continue;
  const e = el.getBoundingClientRect();
  if (e.width < minTarget - 0.5 || e.height < minTarget - 0.5) {
    problems.push(`${name(el)} is ${Math.round(e.width)}×${Math.round(e.height)} px, less than ${minTarget}×${minTarget}`);
  }
}

const wide = document.documentElement.scrollWidth;
if (wide > vw + 0.5) problems.push(`the page is ${wide} px wide in a ${vw} px window: it scrolls sideways`);
return problems;
"""


def layout_problems(driver, need_action_bar: bool = False) -> list[str]:
    return driver.execute_script(MEASURE, INTERACTIVE, MIN_TARGET, MAX_BAR_HEIGHT, need_action_bar)


def check_layout(driver, screen: str, need_action_bar: bool = False) -> None:
    # Scrolled to the top, as the screen opens: the action bar must be there without scrolling.
    driver.execute_script("window.scrollTo(0, 0);")
    problems = layout_problems(driver, need_action_bar)
    size = driver.execute_script("return `${window.innerWidth}×${window.innerHeight}`;")
    assert not problems, f"{screen} at {size}:\n  " + "\n  ".join(problems)


def assert_in_window(driver, testid: str) -> None:
    """The element with `testid` lies wholly inside the window as it is scrolled now."""
    r = driver.execute_script(
        "const el = arguments[0], r = el.getBoundingClientRect();"
        "const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);"
        "return [r.left, r.top, r.right, r.bottom, window.innerWidth, window.innerHeight,"
        " !!hit && (hit === el || el.contains(hit))];",
        find(driver, testid),
    )
    left, top, right, bottom, vw, vh, on_top = r
    assert left >= 0 and top >= 0 and right <= vw and bottom <= vh, f"[{testid}] lies at {r[:4]} in a {vw}×{vh} window"
    assert on_top, f"[{testid}] is covered or clipped where it shows"


def resize(driver, width: int, height: int) -> None:
    """Makes the page itself (window.innerWidth × innerHeight) `width` × `height`; the window
    around it may have a frame to add."""
    inner = lambda: tuple(driver.execute_script("return [window.innerWidth, window.innerHeight];"))  # noqa: E731
    driver.set_window_size(width, height)
    for _ in range(3):
        try:
            WebDriverWait(driver, 5, poll_frequency=0.2).until(lambda d: inner() == (width, height))
            break
        except Exception:
            w, h = inner()
            size = driver.get_window_size()
            driver.set_window_size(size["width"] + width - w, size["height"] + height - h)
    assert inner() == (width, height), f"the page is {inner()} after resizing the window to {width}×{height}"


def narrow(driver) -> bool:
    """Whether the top bar folds its items into the menu at this width."""
    return any(el.is_displayed() for el in driver.find_elements(By.CSS_SELECTOR, css("menu-toggle")))


def from_menu(driver, testid: str) -> None:
    """Presses a top-bar item: in the menu when the bar is folded, on the bar otherwise."""
    if narrow(driver):
        click(driver, "menu-toggle")
    click(driver, testid)


def sign_in_here(driver, name: str) -> None:
    click(driver, f"person-{name}")
    type_into(driver, "pin-input", PINS[name])
    click(driver, "sign-in-button")
    find(driver, "new-permit")
    who = "menu-person" if narrow(driver) else "current-person"
    wait_text_contains(driver, who, name)


@pytest.mark.parametrize("width,height", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_main_screen_fits_the_window_with_one_row_of_top_bar_and_48_px_targets(driver, screenshot, width, height):
    resize(driver, width, height)
    size = f"{width}x{height}"
    shot = lambda step: screenshot(f"layout-{size}-{step}")  # noqa: E731

    find(driver, "person-赵磊")
    check_layout(driver, "the sign-in screen")
    shot("01-sign-in")

    click(driver, "person-赵磊")
    find(driver, "pin-input")
    check_layout(driver, "the PIN pad")
    shot("02-pin")
    type_into(driver, "pin-input", PINS["赵磊"])
    click(driver, "sign-in-button")
    find(driver, "new-permit")
    who = "menu-person" if narrow(driver) else "current-person"
    wait_text_contains(driver, who, "赵磊")
    check_layout(driver, "the permit list")
    shot("03-list")

    if narrow(driver):
        # Folded: the menu opens under its button, inside the window, with the person, signing
        # out, the settings and the language; it closes again on the same button.
        click(driver, "menu-toggle")
        for testid in ["current-person", "sign-out", "open-settings", "language-switch"]:
            find(driver, testid)
        assert find(driver, "menu-toggle").get_attribute("aria-expanded") == "true"
        check_layout(driver, "the list with the menu open")
        shot("04-menu")
        click(driver, "menu-toggle")
        WebDriverWait(driver, TIMEOUT).until(lambda d: not find(d, "menu-toggle").get_attribute("aria-expanded") == "true")
        assert not driver.find_element(By.CSS_SELECTOR, css("sign-out")).is_displayed()

    click(driver, "new-permit")
    find(driver, "field-title")
    check_layout(driver, "the new-permit form")
    shot("05-form")
    fill_a_hot_work_permit(driver)
    check_layout(driver, "the filled-in form")
    driver.execute_script("window.scrollTo(0, document.body.scrollHeight);")
    shot("06-form-end")

    click(driver, "submit-permit")
    wait_status(driver, "审批中")
    # 赵磊 is not offered his own permit's approval: where the buttons would be, the panel says
    # whom the permit waits for — inside the window.
    wait_text_contains(driver, "waiting-for", "刘洋")
    assert_in_window(driver, "waiting-for")
    assert not driver.find_elements(By.CSS_SELECTOR, css("action-approve"))
    check_layout(driver, "a permit waiting for someone else's approval")
    shot("07a-detail-applicant")

    # The workshop director finds it waiting for him, with the approval in reach.
    from_menu(driver, "sign-out")
    sign_in_here(driver, "刘洋")
    row = find(driver, "permit-row")
    assert row.get_attribute("data-mine") == "true", "the list opens on what waits for 刘洋"
    row.click()
    find(driver, "action-approve")
    check_layout(driver, "a permit waiting for approval", need_action_bar=True)
    assert_in_window(driver, "action-approve")
    shot("07-detail")
    driver.execute_script("window.scrollTo(0, document.body.scrollHeight);")
    shot("08-detail-end")

    # The sections fold: the approval steps close on their heading and open again.
    steps = driver.find_element(By.CSS_SELECTOR, ".steps-section > summary")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", steps)
    steps.click()
    WebDriverWait(driver, TIMEOUT).until(
        lambda d: not d.find_element(By.CSS_SELECTOR, css("step-workshop_review")).is_displayed(),
        message="the approval steps did not fold",
    )
    check_layout(driver, "a permit with its steps folded", need_action_bar=True)
    shot("09-detail-steps-folded")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", steps)
    steps.click()
    find(driver, "step-workshop_review")

    click(driver, "back-to-list")
    find(driver, "permit-row")
    check_layout(driver, "the permit list with a permit")
    shot("10-list-with-permit")

    from_menu(driver, "open-settings")
    find(driver, "sync-now")
    check_layout(driver, "the settings")
    shot("11-settings")

    # English words are longer: the bar still holds them in one row.
    from_menu(driver, "language-switch")
    wait_text_contains(driver, "settings", "Sync now")
    check_layout(driver, "the settings in English")
    shot("12-settings-en")
    click(driver, "settings-back")
    wait_text_contains(driver, "new-permit", "New permit")
    check_layout(driver, "the permit list in English")
    shot("13-list-en")


def test_the_layout_checks_catch_a_top_bar_that_wraps_and_a_button_below_48_px(driver):
    resize(driver, 1024, 768)
    find(driver, "person-赵磊")
    assert layout_problems(driver) == []
    # The top bar as it was before it folded into a menu, and one small button.
    # (Set through the CSSOM: the content security policy refuses a <style> element.)
    driver.execute_script(
        """
        const set = (el, rules) => Object.entries(rules).forEach(([k, v]) => el.style.setProperty(k, v, 'important'));
        const bar = document.querySelector('header.app-bar');
        set(bar, {'flex-wrap': 'wrap', height: 'auto', padding: '0.5rem 1.25rem'});
        set(bar.querySelector('.bar-menu'), {display: 'contents'});
        set(bar.querySelector('.menu-toggle'), {display: 'none'});
        set(document.querySelector('button.person'), {'min-height': '30px', height: '30px'});
        """
    )
    problems = "\n".join(layout_problems(driver, need_action_bar=True))
    assert "the top bar is" in problems and "more than one row" in problems, problems
    assert 'data-testid=person-张伟> "张伟' in problems and "less than 48×48" in problems, problems
    assert "no action bar" in problems, problems
