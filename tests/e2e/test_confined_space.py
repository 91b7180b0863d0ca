"""A confined-space entry in the real window, through a whole shift: the guardian keeps the
entry log at the opening — each worker in and out with one tap, tools in by name — re-tests the
gas while people work, stops the work for a long pause (and cannot resume on the old test), then
re-tests and resumes; hands the watch over to the next shift's guardian, who counts everyone out;
the work cannot be completed while anyone or anything is still inside (GB 30871: people and
tools logged in and out, counted out at the end). Time moves on the test's clock, not by
sleeping."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from test_hot_work_story import (
    TIMEOUT,
    act,
    click,
    css,
    find,
    open_permit,
    record_gas_test,
    select_containing,
    sign_in,
    sign_out,
    text_of,
    tick,
    type_into,
    wait_status,
    wait_text,
    wait_text_contains,
)


def gas_rows(driver) -> int:
    return len(driver.find_elements(By.CSS_SELECTOR, css("gas-test-row")))


@pytest.mark.fake_clock
def test_the_guardian_logs_people_and_tools_in_and_out_and_the_work_ends_only_when_all_are_out(driver, screenshot, fake_clock):
    sign_in(driver, "张伟")
    click(driver, "new-permit")
    click(driver, "type-confined_space")
    select_containing(driver, "field-location", "调节池")
    WebDriverWait(driver, TIMEOUT).until(lambda d: find(d, "grade-standard").get_attribute("aria-checked") == "true")
    type_into(driver, "field-title", "调节池清淤")
    type_into(driver, "field-work-description", "进入调节池清理池底淤泥。")
    click(driver, "guardian-李娜")
    tick(driver, "crew-孙浩")
    # The type's job safety analysis offers its usual hazards: one tap adds 缺氧窒息 (the first).
    type_into(driver, "field-hazards", "硫化氢中毒；")
    click(driver, "jsa-hazard-0")
    WebDriverWait(driver, TIMEOUT).until(
        lambda d: find(d, "field-hazards").get_attribute("value") == "硫化氢中毒；缺氧窒息",
        message="the JSA hazard was not added to the hazards",
    )
    click(driver, "precautions-all")
    click(driver, "submit-permit")
    wait_status(driver, "审批中")
    number = text_of(driver, "permit-number")
    sign_out(driver)
    for signer in ["李娜", "王强", "刘洋"]:
        sign_in(driver, signer)
        open_permit(driver, number, from_home=True)
        act(driver, "action-approve")
        sign_out(driver)

    sign_in(driver, "李娜")
    open_permit(driver, number, from_home=True)
    wait_status(driver, "已批准")
    wait_text_contains(driver, "countdown-validity", "有效期还剩")
    # Gases are tested oxygen first: a flammables reading alone is refused, in words.
    type_into(driver, "gas-lel", "0")
    type_into(driver, "gas-instrument", "MX4 #A1234")
    click(driver, "action-gas-test")
    wait_text_contains(driver, "refusal-rule", "测可燃气体之前须先测氧含量")
    click(driver, "refusal-close")
    assert gas_rows(driver) == 0, "the refused test was stored"
    record_gas_test(driver)
    # The test is good for 30 minutes: the clock says how long is left to start.
    wait_text_contains(driver, "countdown-gas-age", "内开始作业")
    act(driver, "action-start")
    wait_status(driver, "作业中")
    wait_text(driver, "inside-list", "空间内无人员、无工具")
    # While work runs, the next re-test (at least every 2 h) counts down.
    wait_text_contains(driver, "countdown-retest", "下次气体复测")

    # 孙浩 goes in with a lamp.
    act(driver, "entry-孙浩")
    wait_text_contains(driver, "inside-list", "孙浩")
    type_into(driver, "entry-tool-name", "防爆照明灯")
    act(driver, "entry-tool-in")
    wait_text(driver, "inside-count", "1 人 · 1 件工具")
    wait_text_contains(driver, "inside-list", "防爆照明灯")
    screenshot("confined-space-inside")

    # Completing with them inside is refused, naming who and what.
    click(driver, "action-complete")
    refusal = wait_text_contains(driver, "refusal-rule", "受限空间内还有人员或工具")
    assert "孙浩" in refusal and "防爆照明灯" in refusal, refusal
    wait_status(driver, "作业中")
    screenshot("confined-space-complete-refused")
    click(driver, "refusal-close")

    # While they work, the gas is tested again (GB 30871: at least every 2 h).
    fake_clock.advance(20)
    record_gas_test(driver)
    WebDriverWait(driver, TIMEOUT).until(lambda d: gas_rows(d) == 2, message="the second gas test is not listed")

    # A long pause: 孙浩 comes out, the work is suspended for more than an hour.
    act(driver, "entry-孙浩")
    wait_text(driver, "inside-count", "0 人 · 1 件工具")
    type_into(driver, "suspend-reason", "等待备件")
    act(driver, "action-suspend")
    wait_status(driver, "已暂停")
    fake_clock.advance(61)
    # The pause has run past the hour after which the space is tested again.
    WebDriverWait(driver, TIMEOUT, poll_frequency=0.2).until(
        lambda d: "overdue" in (find(d, "countdown-pause").get_attribute("class") or ""),
        message=f"the pause is not shown as past its hour: {text_of(driver, 'countdown-pause')!r}",
    )
    assert "超过 60 分钟" in text_of(driver, "countdown-pause")
    # Resuming on the test from before the pause is refused; a re-test lets the work go on.
    click(driver, "action-resume")
    wait_text_contains(driver, "refusal-rule", "气体分析")
    wait_status(driver, "已暂停")
    screenshot("confined-space-resume-refused")
    click(driver, "refusal-close")
    record_gas_test(driver)
    WebDriverWait(driver, TIMEOUT).until(lambda d: gas_rows(d) == 3, message="the re-test is not listed")
    act(driver, "action-resume")
    wait_status(driver, "作业中")
    act(driver, "entry-孙浩")
    wait_text(driver, "inside-count", "1 人 · 1 件工具")

    # 李娜's shift ends: she hands the watch over to 钱勇, with 孙浩 and the lamp still inside.
    click(driver, "handover-form")
    click(driver, "handover-to-钱勇")
    type_into(driver, "handover-plant-state", "调节池已隔离通风；池内 1 人 1 件工具。")
    act(driver, "action-handover")
    sign_out(driver)
    sign_in(driver, "钱勇")
    open_permit(driver, number, from_home=True)
    wait_text_contains(driver, "handover-state", "池内 1 人")
    act(driver, "action-take-over")
    wait_text(driver, "permit-guardian", "钱勇")

    # The incoming guardian counts them out, and the work completes.
    act(driver, "entry-孙浩")
    WebDriverWait(driver, TIMEOUT).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, css("roster-tool"))) == 1)
    tool = driver.find_element(By.CSS_SELECTOR, css("roster-tool"))
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", tool)
    tool.find_element(By.TAG_NAME, "button").click()
    find(driver, "action-done")
    wait_text(driver, "inside-list", "空间内无人员、无工具")
    act(driver, "action-complete")
    wait_status(driver, "待验收")
    # The log shows every entry and exit.
    kinds = [r.find_element(By.CSS_SELECTOR, ".kind").text for r in driver.find_elements(By.CSS_SELECTOR, css("event-row"))]
    assert kinds.count("进入受限空间") == 3 and kinds.count("离开受限空间") == 3, kinds
    assert kinds.count("气体分析") == 3 and "交班" in kinds and "接班" in kinds, kinds
    screenshot("confined-space-completed")
