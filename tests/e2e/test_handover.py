"""A shift handover (交接班) in the real window: the outgoing guardian signs what they hand over —
the state of the plant and the open items — to a guardian of the next shift, who finds it
waiting for them, reads it, signs the take-over, and is the permit's guardian from then on."""

from __future__ import annotations

from test_hot_work_story import (
    act,
    click,
    fill_a_hot_work_permit,
    find,
    open_permit,
    sign_in,
    sign_out,
    text_of,
    type_into,
    wait_status,
    wait_text,
    wait_text_contains,
)


def test_the_outgoing_guardian_hands_over_and_the_incoming_one_takes_over_and_completes(driver, screenshot):
    sign_in(driver, "赵磊")
    click(driver, "new-permit")
    fill_a_hot_work_permit(driver)
    click(driver, "submit-permit")
    wait_status(driver, "审批中")
    number = text_of(driver, "permit-number")
    sign_out(driver)
    for approver in ["刘洋", "王强"]:
        sign_in(driver, approver)
        open_permit(driver, number, from_home=True)
        act(driver, "action-approve")
        sign_out(driver)

    sign_in(driver, "李娜")
    open_permit(driver, number, from_home=True)
    for testid, value in [("gas-o2", "20.9"), ("gas-lel", "0"), ("gas-h2s", "0"), ("gas-co", "0")]:
        type_into(driver, testid, value)
    act(driver, "action-gas-test")
    act(driver, "action-start")
    wait_status(driver, "作业中")

    # 李娜's shift ends: she hands over to 钱勇.
    click(driver, "handover-form")
    click(driver, "handover-to-钱勇")
    type_into(driver, "handover-plant-state", "T-101 已倒空置换，盲板已加；动火点一处，现场有两具灭火器。")
    type_into(driver, "handover-open-items", "东侧法兰焊缝待探伤。")
    act(driver, "action-handover")
    wait_text_contains(driver, "waiting-for", "钱勇")
    wait_text(driver, "permit-guardian", "李娜")  # until he signs, she watches
    screenshot("handover-signed")
    sign_out(driver)

    # 钱勇 finds it waiting for him, reads it and takes over.
    sign_in(driver, "钱勇")
    open_permit(driver, number, from_home=True)
    wait_text_contains(driver, "handover-pending", "李娜")
    wait_text_contains(driver, "handover-state", "盲板已加")
    wait_text(driver, "handover-items", "东侧法兰焊缝待探伤。")
    screenshot("handover-to-take-over")
    act(driver, "action-take-over")
    wait_text(driver, "permit-guardian", "钱勇")
    # The guardian's acts are his now: he completes the work.
    act(driver, "action-complete")
    wait_status(driver, "待验收")
    find(driver, "event-row")
    screenshot("handover-completed-by-the-incoming-guardian")
