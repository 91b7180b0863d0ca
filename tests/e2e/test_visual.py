"""The visual language, in the real window: every status badge on screen wears its status's
own symbol (so no two statuses differ by colour alone), every list row and the permit's header
show the pictogram of its work type, the main buttons and the top bar carry icons beside their
words, an empty list says what to do, and every icon really draws: an <svg> of non-zero size
with at least one shape in it, hidden from screen readers.

赵磊 files a hot-work permit and a second one and saves a confined-space permit as a draft; 刘洋
rejects the first. The list then holds three statuses (draft, in approval, rejected) and two
work types; it and a permit are saved as screenshots at 1280×800 and 800×1280
(artifacts/e2e/visual-*.png).

The end of the test shows the checks can fail: with a badge given another status's symbol, a
pictogram's drawing taken out, a button's icon squashed to nothing and another's shapes
removed, they name each of them.
"""

from __future__ import annotations

from selenium.webdriver.support.ui import WebDriverWait

from test_hot_work_story import (
    TIMEOUT,
    act,
    click,
    css,
    find,
    open_permit,
    select_containing,
    text_of,
    type_into,
    wait_status,
    wait_text,
)
from test_layout import fill_a_hot_work_permit, from_menu, narrow, resize, sign_in_here

# The symbol of each status (ui/src/icons.rs): nine statuses, nine different symbols.
STATUS_ICONS = {
    "draft": "pencil",
    "in_approval": "hourglass",
    "approved": "check",
    "active": "play",
    "suspended": "pause",
    "completed": "flag",
    "closed": "lock",
    "rejected": "x",
    "cancelled": "ban",
}

# The pictogram of each work type the catalog ships, and of one it does not know.
WORK_TYPE_ICONS = {"hot_work": "flame", "confined_space": "cylinder"}

# The main buttons and top-bar items, and the icon each carries beside its words.
LIST_BUTTONS = {"new-permit": "plus"}
BAR_ITEMS = {"sign-out": "log-out", "open-settings": "settings", "language-switch": "languages"}
DETAIL_BUTTONS = {"back-to-list": "arrow-left"}

# Answers the problems with the icons that `checks` expect, as sentences (empty: none). A check
# is [css selector, expected, label]: every element shown that the selector matches holds an
# icon (.icon[data-icon]) that is hidden from screen readers and draws an <svg> at least 8 px
# wide and high with a shape of non-zero size in it; `expected` is the icon's name, or
# {attr, map}: the name is map[the element's attribute attr]; or null: any icon.
ICON_PROBLEMS = """
const [checks] = arguments;
const problems = [];
const SHAPES = 'path, circle, rect, line, polyline, polygon, ellipse';
const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
const name = el => {
  const testid = el.getAttribute('data-testid');
  const extra = ['data-number', 'data-status', 'data-work-type']
    .filter(a => el.hasAttribute(a)).map(a => ` ${a}=${el.getAttribute(a)}`).join('');
  return `<${el.tagName.toLowerCase()}` + (testid ? ` data-testid=${testid}` : ` class="${el.className}"`) + extra + '>';
};
for (const [selector, expected, label] of checks) {
  const hosts = [...document.querySelectorAll(selector)].filter(shown);
  if (hosts.length === 0) { problems.push(`${label}: nothing shown matches ${selector}`); continue; }
  for (const host of hosts) {
    const where = `${label} ${name(host)}`;
    const icon = host.matches('.icon[data-icon]') ? host : host.querySelector('.icon[data-icon]');
    if (!icon) { problems.push(`${where}: has no icon`); continue; }
    const got = icon.getAttribute('data-icon');
    let want = expected;
    if (expected && typeof expected === 'object') {
      const key = (host.closest(`[${expected.attr}]`) || host).getAttribute(expected.attr);
      want = expected.map[key];
      if (!want) problems.push(`${where}: no symbol is expected for ${expected.attr}=${key}`);
    }
    if (want && got !== want) problems.push(`${where}: shows the icon "${got}", not "${want}"`);
    if (icon.getAttribute('aria-hidden') !== 'true') problems.push(`${where}: its icon "${got}" is not hidden from screen readers`);
    const svg = icon.querySelector('svg');
    if (!svg) { problems.push(`${where}: its icon "${got}" has no <svg>`); continue; }
    const r = svg.getBoundingClientRect();
    if (r.width < 8 || r.height < 8) problems.push(`${where}: its icon "${got}" is drawn ${Math.round(r.width)}×${Math.round(r.height)} px`);
    const drawn = [...svg.querySelectorAll(SHAPES)].filter(s => { const b = s.getBBox(); return b.width > 0 || b.height > 0; });
    if (drawn.length === 0) problems.push(`${where}: its icon "${got}" draws no shape`);
    const style = getComputedStyle(svg);
    if (style.display === 'none' || style.visibility === 'hidden' || Number(style.opacity) === 0) problems.push(`${where}: its icon "${got}" is invisible`);
  }
}
return problems;
"""

BADGES = '[data-testid="row-status"], [data-testid="permit-status"], [data-testid="status-badge"]'
STATUS_CHECK = [BADGES, {"attr": "data-status", "map": STATUS_ICONS}, "status badge"]
WORK_TYPE_CHECK = ['[data-testid="row-work-type"], [data-testid="permit-work-type"]', {"attr": "data-work-type", "map": WORK_TYPE_ICONS}, "work-type pictogram"]


def icon_problems(driver, checks: list) -> list[str]:
    return driver.execute_script(ICON_PROBLEMS, checks)


def buttons(icons: dict[str, str]) -> list:
    return [[css(testid), icon, f"[{testid}]"] for testid, icon in icons.items()]


def shown_statuses(driver) -> dict[str, set[str]]:
    """Each status shown on a badge, and the symbols its badges wear."""
    pairs = driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].filter(b => b.getClientRects().length > 0)"
        ".map(b => [b.getAttribute('data-status'), (b.querySelector('.icon[data-icon]') || {getAttribute: () => null}).getAttribute('data-icon')]);",
        BADGES,
    )
    out: dict[str, set[str]] = {}
    for status, icon in pairs:
        out.setdefault(status, set()).add(icon)
    return out


def symbol_problems(driver) -> list[str]:
    """A status wears one symbol wherever it shows, and no two statuses share one."""
    problems = []
    seen = shown_statuses(driver)
    for status, icons in seen.items():
        if len(icons) != 1:
            problems.append(f"status {status} is shown with {len(icons)} different symbols: {sorted(map(str, icons))}")
    owners: dict[str, list[str]] = {}
    for status, icons in seen.items():
        for icon in icons:
            owners.setdefault(str(icon), []).append(status)
    problems += [f"the symbol {icon} stands for {sorted(s)}" for icon, s in owners.items() if len(s) > 1]
    return problems


def check_icons(driver, screen: str, checks: list) -> None:
    problems = icon_problems(driver, checks) + symbol_problems(driver)
    assert not problems, f"{screen}:\n  " + "\n  ".join(problems)


def check_bar(driver, screen: str) -> None:
    """The top bar: the sync state's symbol, the pending changes', and each item's icon (in
    the menu, opened for it, when the bar is folded)."""
    checks = [['[data-testid="online-status"] .dot', None, "sync state"], [".pending", "cloud-upload", "pending changes"]]
    if narrow(driver):
        checks.append([css("menu-toggle"), "menu", "[menu-toggle]"])
        check_icons(driver, screen, checks)
        click(driver, "menu-toggle")
        check_icons(driver, f"{screen}, menu open", [[css("menu-toggle"), "x", "[menu-toggle]"], *buttons(BAR_ITEMS)])
        click(driver, "menu-toggle")
    else:
        check_icons(driver, screen, checks + buttons(BAR_ITEMS))


def save_a_confined_space_draft(driver) -> None:
    click(driver, "new-permit")
    click(driver, "type-confined_space")
    # A type of one grade has it chosen.
    WebDriverWait(driver, TIMEOUT).until(lambda d: find(d, "grade-standard").get_attribute("aria-checked") == "true")
    type_into(driver, "field-title", "V-201 反应釜内部检查")
    select_containing(driver, "field-location", "T-101")
    click(driver, "save-draft")
    wait_status(driver, "草稿")


def file_a_hot_work_permit(driver) -> str:
    click(driver, "new-permit")
    fill_a_hot_work_permit(driver)
    click(driver, "submit-permit")
    wait_status(driver, "审批中")
    return text_of(driver, "permit-number")


def show_every_permit(driver) -> None:
    """The list on "all": three rows, in three statuses, of two work types."""
    click(driver, "tab-all")
    WebDriverWait(driver, TIMEOUT, poll_frequency=0.3).until(
        lambda d: len(d.find_elements("css selector", css("permit-row"))) == 3 and len(shown_statuses(d)) == 3,
        message=f"the list shows the statuses {shown_statuses(driver)}",
    )
    types = driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(r => (r.querySelector(arguments[1]) || {dataset: {}}).dataset.workType);",
        css("permit-row"),
        css("row-work-type"),
    )
    assert sorted(types) == ["confined_space", "hot_work", "hot_work"], f"the rows' work types: {types}"
    driver.execute_script("window.scrollTo(0, 0);")


def test_statuses_wear_their_own_symbols_rows_show_their_work_type_and_the_main_buttons_have_icons(driver, screenshot):
    assert len(set(STATUS_ICONS.values())) == len(STATUS_ICONS), "two statuses share a symbol"
    resize(driver, 1280, 800)
    sign_in_here(driver, "赵磊")

    # Nothing filed yet: the empty list says what to do, under its icon.
    find(driver, "list-empty")
    assert text_of(driver, "list-empty-hint"), "the empty list gives no hint"
    check_icons(driver, "the empty list", [[css("list-empty-state"), "inbox", "empty list"], *buttons(LIST_BUTTONS)])
    check_bar(driver, "the top bar on the empty list")
    screenshot("visual-1280x800-01-empty-list")

    first = file_a_hot_work_permit(driver)
    click(driver, "back-to-list")
    save_a_confined_space_draft(driver)
    click(driver, "back-to-list")
    file_a_hot_work_permit(driver)
    from_menu(driver, "sign-out")

    sign_in_here(driver, "刘洋")
    open_permit(driver, first)
    type_into(driver, "approval-comment", "动火点 15 米内可燃物未清理")
    check_icons(driver, "a permit waiting for 刘洋's approval", [
        STATUS_CHECK,
        WORK_TYPE_CHECK,
        *buttons({"action-approve": "check", "action-reject": "x", **DETAIL_BUTTONS}),
    ])
    act(driver, "action-reject")
    wait_status(driver, "已驳回")
    from_menu(driver, "sign-out")

    sign_in_here(driver, "赵磊")
    for width, height in [(1280, 800), (800, 1280)]:
        resize(driver, width, height)
        size = f"{width}x{height}"
        show_every_permit(driver)
        # Every row: its status's symbol and its work type's pictogram, once each.
        check_icons(driver, f"the list at {size}", [STATUS_CHECK, WORK_TYPE_CHECK, *buttons(LIST_BUTTONS)])
        per_row = driver.execute_script(
            "return [...document.querySelectorAll(arguments[0])].map(r => [r.querySelectorAll(arguments[1]).length, r.querySelectorAll(arguments[2]).length]);",
            css("permit-row"),
            css("row-work-type"),
            css("row-status"),
        )
        assert all(p == [1, 1] for p in per_row), f"pictograms and badges per row at {size}: {per_row}"
        check_bar(driver, f"the top bar at {size}")
        screenshot(f"visual-{size}-02-list")

        open_permit(driver, first)
        wait_status(driver, "已驳回")
        check_icons(driver, f"the rejected permit at {size}", [
            STATUS_CHECK,
            WORK_TYPE_CHECK,
            *buttons({"action-revise": "file-pen", **DETAIL_BUTTONS}),
        ])
        screenshot(f"visual-{size}-03-detail")
        click(driver, "back-to-list")
        find(driver, "permit-row")

    # A search that finds nothing says so, and what to try.
    resize(driver, 1280, 800)
    click(driver, "tab-all")
    type_into(driver, "list-search", "没有这张作业票")
    find(driver, "list-empty")
    check_icons(driver, "a search that finds nothing", [[css("list-empty-state"), "search-x", "empty search"]])
    assert text_of(driver, "list-empty-hint"), "the empty search gives no hint"
    screenshot("visual-1280x800-04-nothing-found")
    click(driver, "list-search-clear")
    find(driver, "permit-row")

    # The checks can fail: a badge wearing another status's symbol, a pictogram without its
    # drawing, a button's icon squashed to nothing, another's shapes taken out.
    driver.execute_script(
        """
        const badge = document.querySelector('[data-testid="row-status"][data-status="draft"] .icon');
        badge.setAttribute('data-icon', 'x');
        document.querySelector('[data-testid="row-work-type"][data-work-type="confined_space"] svg').remove();
        document.querySelector('[data-testid="new-permit"] .icon svg').style.setProperty('width', '0', 'important');
        document.querySelectorAll('[data-testid="language-switch"] .icon svg > *').forEach(s => s.remove());
        """
    )
    problems = "\n".join(
        icon_problems(driver, [STATUS_CHECK, WORK_TYPE_CHECK, *buttons(LIST_BUTTONS), *buttons(BAR_ITEMS)]) + symbol_problems(driver)
    )
    assert 'data-status=draft>: shows the icon "x", not "pencil"' in problems, problems
    assert "the symbol x stands for ['draft', 'rejected']" in problems, problems
    assert 'data-work-type=confined_space>: its icon "cylinder" has no <svg>' in problems, problems
    assert '[new-permit] <button data-testid=new-permit>: its icon "plus" is drawn 0×' in problems, problems
    assert '[language-switch] <button data-testid=language-switch>: its icon "languages" draws no shape' in problems, problems
