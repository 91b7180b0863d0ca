"""A change of an issued permit (作业变更) in the real window: while the work goes on, the
applicant asks to take a worker off, put another on and end the work three hours early; the
change waits for the approval chain — the workshop director, then the safety department — and
the permit's crew and window change only when the last of them signs. The change stays on the
permit, old value beside new, and the calendar of planned work shows the new window."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from test_layout import check_layout, resize
from test_hot_work_story import (
    act,
    css,
    an_approved_hot_work_permit,
    click,
    find,
    open_permit,
    record_gas_test,
    sign_in,
    sign_out,
    text_of,
    type_into,
    wait_status,
    wait_text,
    wait_text_contains,
)


def test_a_change_goes_through_the_approval_chain_before_the_crew_changes(driver, screenshot):
    # 刘洋 signs his approval by hand: the drawing covers the permit as it is now.
    number = an_approved_hot_work_permit(driver, by_hand=("刘洋",))
    sign_in(driver, "李娜")
    open_permit(driver, number, from_home=True)
    record_gas_test(driver)
    act(driver, "action-start")
    wait_status(driver, "作业中")
    sign_out(driver)

    # 赵磊 asks: 孙浩 off, 钱勇 on.
    sign_in(driver, "赵磊")
    open_permit(driver, number)
    click(driver, "change-form")
    click(driver, "change-reason-scope_change")
    type_into(driver, "change-explanation", "孙浩调往 2# 装置，由钱勇接替焊接。")
    click(driver, "change-crew-孙浩")
    click(driver, "change-crew-钱勇")
    old_window = text_of(driver, "permit-window")
    click(driver, "change-planned-end")
    click(driver, "dt-plus-1h")
    click(driver, "dt-done")
    act(driver, "action-change-request")
    wait_text_contains(driver, "change-outcome", "待审批")
    wait_text_contains(driver, "change-lines", "撤下作业人员：孙浩")
    wait_text(driver, "permit-crew", "孙浩")  # until approved, the old crew stands
    wait_text(driver, "permit-window", old_window)
    wait_text_contains(driver, "waiting-for", "刘洋")
    screenshot("change-requested")
    sign_out(driver)

    # The approval chain signs it again, each from the list of what waits for them.
    for approver in ["刘洋", "王强"]:
        sign_in(driver, approver)
        open_permit(driver, number, from_home=True)
        act(driver, "action-approve-change")
        sign_out(driver)

    sign_in(driver, "赵磊")
    open_permit(driver, number)
    wait_text_contains(driver, "change-outcome", "已批准")
    wait_text(driver, "permit-crew", "钱勇")
    wait_text_contains(driver, "change-lines", "增加作业人员：钱勇")
    wait_status(driver, "作业中")
    new_window = text_of(driver, "permit-window")
    assert new_window != old_window, new_window
    wait_text_contains(driver, "change-lines", "计划结束时间：")
    find(driver, "changes")
    # 刘洋's drawing was over the permit before the change: it no longer covers what it says.
    assert find(driver, "handwritten").get_attribute("data-broken") == "true"
    wait_text_contains(driver, "handwritten-broken", "内容已变更")
    screenshot("change-approved")

    # The calendar of planned work shows it in its area, with the new end.
    click(driver, "back-to-list")
    click(driver, "open-calendar")
    find(driver, "calendar")
    item = WebDriverWait(driver, 30).until(
        lambda d: next((i for i in d.find_elements(By.CSS_SELECTOR, css("calendar-item")) if i.get_attribute("data-number") == number), None),
        message="the permit is not on the calendar",
    )
    new_end = new_window.rsplit(" ", 1)[-1]
    assert new_end in item.text, (new_end, item.text)
    screenshot("calendar-week")

    # On a tablet, upright and on its side: the calendar and the permit with its change fit,
    # every target at least 48 px.
    for width, height in [(800, 1280), (1024, 768)]:
        resize(driver, width, height)
        find(driver, "calendar")
        check_layout(driver, "the calendar of planned work")
        screenshot(f"layout-{width}x{height}-calendar")
        click(driver, "calendar-item")
        find(driver, "changes")
        check_layout(driver, "a permit with a change")
        driver.execute_script("document.querySelector('[data-testid=\"changes\"]').scrollIntoView({block: 'start'});")
        screenshot(f"layout-{width}x{height}-permit-change")
        click(driver, "back-to-list")
        click(driver, "open-calendar")
