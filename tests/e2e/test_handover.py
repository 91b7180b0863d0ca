"""A shift handover (交接班) in the real window: the outgoing guardian signs what they hand over —
the state of the plant and the open items — to a guardian of the next shift, who finds it
waiting for them, reads it, signs the take-over, and is the permit's guardian from then on."""

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


def test_the_outgoing_guardian_hands_over_and_the_incoming_one_takes_over_and_completes(driver, screenshot):
    number = an_approved_hot_work_permit(driver)

    sign_in(driver, "李娜")
    open_permit(driver, number, from_home=True)
    record_gas_test(driver)
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
