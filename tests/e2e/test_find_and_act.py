"""Finding what to do and doing it: the list opens on what waits for the person signed in, a
step to sign is approved with two taps from there, a rejected permit says why at its top and is
revised and resubmitted as a new draft linked to it, and search finds a permit by a part of its
title."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from test_hot_work_story import (
    TAPS,
    act,
    click,
    css,
    find,
    open_permit,
    text_of,
    type_into,
    wait_status,
    wait_text,
    wait_text_contains,
)
from test_layout import fill_a_hot_work_permit, from_menu, sign_in_here

TIMEOUT = 30


def rows(driver) -> list[dict]:
    """The list's rows: number, title (as text content) and whether it is the person's turn."""
    return driver.execute_script(
        """
        return [...document.querySelectorAll(arguments[0])].map(r => ({
          number: r.dataset.number,
          mine: r.dataset.mine === 'true',
          title: (r.querySelector(arguments[1]) || {}).textContent,
          turn: (r.querySelector(arguments[2]) || {}).textContent,
        }));
        """,
        css("permit-row"),
        css("row-title"),
        css("row-turn"),
    )


def wait_rows(driver, check, message: str) -> list[dict]:
    return WebDriverWait(driver, TIMEOUT, poll_frequency=0.2).until(
        lambda d: (lambda r: r if check(r) else None)(rows(d)), message=message
    )


def test_waiting_for_me_two_tap_approval_revise_and_resubmit_and_search(driver, screenshot):
    # 赵磊 files and submits a hot-work permit.
    sign_in_here(driver, "赵磊")
    click(driver, "new-permit")
    fill_a_hot_work_permit(driver)
    click(driver, "submit-permit")
    wait_status(driver, "审批中")
    first = text_of(driver, "permit-number")
    # Pushed at once: the page's "not uploaded" mark goes with the pending count.
    WebDriverWait(driver, TIMEOUT, poll_frequency=0.2).until(
        lambda d: not d.find_elements(By.CSS_SELECTOR, css("permit-not-on-server")) and text_of(d, "pending-count") == "0",
        message="the submitted permit still says it is not on the server",
    )
    from_menu(driver, "sign-out")

    # 刘洋's list opens on what waits for him: this permit, his turn to approve.
    sign_in_here(driver, "刘洋")
    assert find(driver, "tab-mine").get_attribute("aria-pressed") == "true", "home is 'waiting for me'"
    listed = wait_rows(driver, lambda r: len(r) == 1, "one permit waits for 刘洋")
    assert listed[0]["number"] == first and listed[0]["mine"], listed
    assert "轮到您" in listed[0]["turn"], listed
    screenshot("find-01-waiting-for-me")
    # Two taps: the row, then approve.
    TAPS[0] = 0
    row = find(driver, "permit-row")
    TAPS[0] += 1
    row.click()
    act(driver, "action-approve")
    assert TAPS[0] == 2, f"{TAPS[0]} taps from the home page to an approval"
    print(f"\n刘洋 approved from his home page in {TAPS[0]} taps")
    wait_text_contains(driver, "waiting-for", "王强")
    screenshot("find-02-approved-in-two-taps")
    # Nothing else waits for him: the list shows every permit, this one now 王强's turn.
    click(driver, "back-to-list")
    listed = wait_rows(driver, lambda r: len(r) == 1 and not r[0]["mine"], "the permit is no longer 刘洋's turn")
    assert "王强" in listed[0]["turn"], listed
    click(driver, "tab-mine")
    wait_text(driver, "list-empty", "现在没有等您处理的作业票。")
    from_menu(driver, "sign-out")

    # The safety department rejects it, with the reason.
    sign_in_here(driver, "王强")
    wait_rows(driver, lambda r: len(r) == 1 and r[0]["mine"], "the permit waits for 王强")
    click(driver, "tab-mine")
    find(driver, "permit-row").click()
    type_into(driver, "approval-comment", "动火点 15 米内可燃物未清理")
    act(driver, "action-reject")
    wait_status(driver, "已驳回")
    from_menu(driver, "sign-out")

    # 赵磊 sees why at the top, and revises it: a new draft with the same content, linked.
    sign_in_here(driver, "赵磊")
    open_permit(driver, first)
    reason = wait_text_contains(driver, "rejection-reason", "可燃物未清理")
    assert "王强" in reason, reason
    screenshot("find-03-rejected-with-reason")
    click(driver, "action-revise")
    title = find(driver, "field-title")
    assert title.get_attribute("value") == "T-101 罐顶人孔法兰补焊", "the draft holds the rejected permit's form"
    type_into(driver, "field-title", "T-101 罐顶人孔法兰补焊（已清理可燃物）")
    click(driver, "submit-permit")
    wait_status(driver, "审批中")
    second = text_of(driver, "permit-number")
    assert second and second != first
    wait_text_contains(driver, "revises-link", first)
    screenshot("find-04-resubmitted")
    click(driver, "revises-link")
    wait_text(driver, "permit-number", first)
    wait_status(driver, "已驳回")
    wait_text_contains(driver, "revised-link", second)

    # Search: a part of the title finds both; the addition finds the revision only.
    click(driver, "back-to-list")
    click(driver, "tab-all")
    type_into(driver, "list-search", "人孔法兰")
    wait_rows(driver, lambda r: sorted(x["number"] for x in r) == sorted([first, second]), "both by a part of the title")
    type_into(driver, "list-search", "已清理")
    wait_rows(driver, lambda r: [x["number"] for x in r] == [second], "the revision by its new words")
    screenshot("find-05-search")
    type_into(driver, "list-search", "没有这张票")
    find(driver, "list-empty")
    click(driver, "list-search-clear")
    wait_rows(driver, lambda r: len(r) == 2, "clearing the search shows all again")

    # The same row of chips narrows by work type, area and days; a chip pressed again lets go.
    both = lambda r: sorted(x["number"] for x in r) == sorted([first, second])  # noqa: E731
    click(driver, "filter-type-hot_work")
    wait_rows(driver, both, "both are hot work")
    click(driver, "filter-type-confined_space")
    find(driver, "list-empty")
    click(driver, "filter-type-confined_space")
    wait_rows(driver, both, "the type chip lets go")
    click(driver, "filter-area-罐区")
    wait_rows(driver, both, "both are at T-101, in 罐区")
    screenshot("find-06-filtered-by-area")
    click(driver, "filter-area-公用工程")
    find(driver, "list-empty")
    click(driver, "filter-area-公用工程")
    # Both were planned from the moment they were filed, so they run today and this week.
    click(driver, "filter-when-today")
    wait_rows(driver, both, "both run today")
    click(driver, "filter-when-week")
    wait_rows(driver, both, "both run this week")
    assert find(driver, "filter-when-today").get_attribute("aria-pressed") == "false", "one stretch of days at a time"
