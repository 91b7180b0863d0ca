"""The operations besides hot work and confined space, in the real window: a work-at-height
permit whose grade comes from the working height the applicant types (GB/T 3608), one grade
higher with an aggravating factor, with the reason shown; filed with its own fields, which the
permit then shows."""

from __future__ import annotations

from selenium.webdriver.support.ui import WebDriverWait

from test_hot_work_story import (
    TIMEOUT,
    click,
    find,
    select_containing,
    sign_in,
    text_of,
    tick,
    type_into,
    wait_status,
    wait_text,
    wait_text_contains,
)


def chosen(driver, testid: str) -> bool:
    return find(driver, testid).get_attribute("aria-checked") == "true"


def test_work_at_height_is_graded_by_the_height_typed_and_raised_by_strong_wind(driver, screenshot):
    sign_in(driver, "张伟")
    click(driver, "new-permit")
    click(driver, "type-work_at_height")
    click(driver, "subtype-scaffold")
    select_containing(driver, "field-location", "R-201")
    type_into(driver, "detail-height_m", "18")
    WebDriverWait(driver, TIMEOUT).until(lambda d: chosen(d, "grade-grade_iii"), message="18 m is not proposed as grade III")
    wait_text_contains(driver, "grade-floor", "按作业高度分级")
    tick(driver, "detail-strong_wind")
    WebDriverWait(driver, TIMEOUT).until(lambda d: chosen(d, "grade-grade_iv"), message="strong wind does not raise it to IV")
    hint = wait_text_contains(driver, "grade-floor", "阵风风力五级及以上")
    assert "GB/T 3608" in hint, hint
    screenshot("height-graded")

    type_into(driver, "field-title", "R-201 反应釜顶部保温拆除")
    type_into(driver, "field-work-description", "搭设脚手架，拆除釜顶保温层。")
    click(driver, "guardian-李娜")
    tick(driver, "crew-孙浩")
    type_into(driver, "field-hazards", "高处坠落；物体打击。")
    click(driver, "precautions-all")
    click(driver, "submit-permit")
    wait_status(driver, "审批中")
    wait_text(driver, "permit-detail-height_m", "18 m")
    wait_text(driver, "permit-detail-strong_wind", "是")
    assert "四级高处" in text_of(driver, "permit-kind") and "脚手架作业" in text_of(driver, "permit-kind")
    screenshot("height-filed")
