"""A change of an issued permit (作业变更) in the real window: while the work goes on, the
applicant asks to take a worker off and put another on; the change waits for the approval chain
— the workshop director, then the safety department — and the permit's crew changes only when
the last of them signs. The change stays on the permit, old value beside new."""

from __future__ import annotations

from test_hot_work_story import (
    act,
    an_approved_hot_work_permit,
    click,
    find,
    open_permit,
    record_gas_test,
    sign_in,
    sign_out,
    type_into,
    wait_status,
    wait_text,
    wait_text_contains,
)


def test_a_change_goes_through_the_approval_chain_before_the_crew_changes(driver, screenshot):
    number = an_approved_hot_work_permit(driver)
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
    act(driver, "action-change-request")
    wait_text_contains(driver, "change-outcome", "待审批")
    wait_text_contains(driver, "change-lines", "撤下作业人员：孙浩")
    wait_text(driver, "permit-crew", "孙浩")  # until approved, the old crew stands
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
    find(driver, "changes")
    screenshot("change-approved")
