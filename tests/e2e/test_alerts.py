"""Alerts in the real window (R-ALERT, R-SLA): an approval step runs past its time limit on the
test clock, and the approver's tablet says so — a reminder first, then the step overdue and
escalated, then critical, with the alarm over every page — until the approver acknowledges it
and signs. Meanwhile the plant server raises the same escalations on its own and sends them to
the plant's DingTalk group (a strict robot on loopback), and counts the acknowledgement for the
response rate."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from test_hot_work_story import (
    TIMEOUT,
    a_submitted_hot_work_permit,
    act,
    click,
    css,
    find,
    open_permit,
    sign_in,
    wait_text_contains,
)


def inbox_count(driver) -> int:
    text = find(driver, "inbox-count").text.strip()
    return int(text) if text.isdigit() else -1


def wait_inbox(driver, expected: int) -> None:
    WebDriverWait(driver, TIMEOUT, poll_frequency=0.3).until(
        lambda d: inbox_count(d) == expected, message=f"the inbox count did not become {expected}"
    )


def alerts_listed(driver) -> list[dict[str, str]]:
    return [
        {
            "kind": a.get_attribute("data-kind"),
            "severity": a.get_attribute("data-severity"),
            "level": a.get_attribute("data-level"),
            "acknowledged": a.get_attribute("data-acknowledged"),
            "text": a.find_element(By.CSS_SELECTOR, css("inbox-alert-text")).text,
        }
        for a in driver.find_elements(By.CSS_SELECTOR, css("inbox-alert"))
    ]


def wait_robot(dingtalk, needle: str, number: str) -> dict:
    """The one message the DingTalk group got that says `needle` about permit `number`."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        found = [t for t in dingtalk.texts() if needle in t and number in t]
        if found:
            assert len(found) == 1, found
            return json.loads(found[0])
        time.sleep(0.3)
    raise AssertionError(f"the DingTalk group never got {needle!r} for {number}: {dingtalk.texts()} {dingtalk.refused}")


def response_report(plant, fake_clock) -> list[dict]:
    now = datetime.now(timezone.utc) + timedelta(milliseconds=fake_clock.offset_ms)
    text = plant.admin(
        "alerts", "response", "--from", (now - timedelta(days=1)).isoformat(), "--to", (now + timedelta(days=1)).isoformat()
    )
    return json.loads(text)


@pytest.mark.fake_clock
@pytest.mark.dingtalk
def test_an_overdue_approval_reminds_escalates_and_alarms_the_approver_until_acknowledged(
    driver, screenshot, fake_clock, dingtalk, plant
):
    number = a_submitted_hot_work_permit(driver)
    # The workshop review opened at the submit and is due 60 minutes later.
    sign_in(driver, "刘洋")
    wait_inbox(driver, 0)
    assert not driver.find_elements(By.CSS_SELECTOR, css("critical-alarm"))

    fake_clock.advance(50)
    wait_inbox(driver, 1)
    click(driver, "open-inbox")
    WebDriverWait(driver, TIMEOUT).until(lambda d: alerts_listed(d), message="no alert listed")
    [reminder] = alerts_listed(driver)
    assert reminder["kind"] == "step_due_soon" and reminder["severity"] == "notice", reminder
    assert "即将超时" in reminder["text"] and "车间审核" in reminder["text"], reminder
    assert number in find(driver, "inbox-alert-permit").text
    screenshot("alerts-01-reminder")

    # Past the limit: overdue, and the next level of the flow (the safety manager) is told.
    fake_clock.advance(11)
    WebDriverWait(driver, TIMEOUT, poll_frequency=0.3).until(
        lambda d: [a["kind"] for a in alerts_listed(d)] == ["step_overdue"], message="the step is not shown overdue"
    )
    [late] = alerts_listed(driver)
    assert late["severity"] == "warning" and late["level"] == "1", late
    assert "已超时" in late["text"], late
    assert not driver.find_elements(By.CSS_SELECTOR, css("critical-alarm")), "a warning sounds no alarm"
    # The server saw it too, with no tablet asking: the plant's group gets the escalation as
    # a card that opens the permit; the reminder before it was below the group's severity.
    card = wait_robot(dingtalk, "已升级 1 级", number)
    assert card["msgtype"] == "actionCard", card
    assert "车间审核" in card["actionCard"]["text"] and "刘洋" in card["actionCard"]["text"], card
    assert not [t for t in dingtalk.texts() if "即将超时" in t], dingtalk.texts()

    # An hour later still: critical, and the alarm shows over every page.
    fake_clock.advance(60)
    alarm = find(driver, "critical-alarm")
    wait_text_contains(driver, "critical-alarm-text", "1 条紧急警报")
    [critical] = alerts_listed(driver)
    assert critical["severity"] == "critical" and critical["level"] == "2", critical
    assert "已升级 2 级" in critical["text"], critical
    assert "has-critical" in find(driver, "open-inbox").get_attribute("class")
    wait_robot(dingtalk, "已升级 2 级", number)
    screenshot("alerts-02-critical")
    click(driver, "back-to-list")
    assert alarm.is_displayed() and find(driver, "critical-alarm").is_displayed(), "the alarm stays on other pages"
    screenshot("alerts-03-alarm-on-the-list")

    # 刘洋 takes it: acknowledged, the alarm stops, the escalation goes no further.
    click(driver, "critical-alarm-open")
    click(driver, "inbox-acknowledge")
    WebDriverWait(driver, TIMEOUT, poll_frequency=0.3).until(
        lambda d: not d.find_elements(By.CSS_SELECTOR, css("critical-alarm")), message="the alarm did not stop"
    )
    wait_text_contains(driver, "inbox-alert-taken", "刘洋")
    wait_inbox(driver, 0)
    [taken] = alerts_listed(driver)
    assert taken["acknowledged"] == "true" and taken["level"] == "2", taken
    screenshot("alerts-04-acknowledged")
    # The acknowledgement left the tablet at once; the server counts it for the response rate
    # (raised at +61 min, taken at +121: not within the catalog's 30 minutes).
    deadline = time.monotonic() + TIMEOUT
    while not any(r["acknowledged"] >= 1 for r in response_report(plant, fake_clock)):
        assert time.monotonic() < deadline, f"the server never counted the acknowledgement: {response_report(plant, fake_clock)}"
        time.sleep(0.5)
    [row] = [r for r in response_report(plant, fake_clock) if r["acknowledged"] >= 1]
    assert row["acknowledged"] == 1 and row["raised"] >= 1 and row["handled_in_time"] == 0, row
    # The whole plant's view: the same alert, whom it asks, no button for what is taken.
    click(driver, "inbox-plant")
    WebDriverWait(driver, TIMEOUT, poll_frequency=0.3).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, css("inbox-alert-asks")), message="the plant's view lists nothing"
    )
    [whole] = alerts_listed(driver)
    assert whole["kind"] == "step_overdue" and whole["acknowledged"] == "true", whole
    assert "刘洋" in find(driver, "inbox-alert-asks").text
    assert not driver.find_elements(By.CSS_SELECTOR, css("inbox-acknowledge"))
    screenshot("alerts-04b-whole-plant")
    click(driver, "inbox-mine")
    fake_clock.advance(60)
    # (The plant manager's level would be reached now; acknowledged, it stays at 2.)
    WebDriverWait(driver, TIMEOUT, poll_frequency=0.3).until(
        lambda d: [a["level"] for a in alerts_listed(d)] == ["2"], message="the acknowledged alert moved on"
    )

    # Signing the step ends it.
    click(driver, "inbox-open-permit")
    act(driver, "action-approve")
    click(driver, "open-inbox")
    find(driver, "inbox-empty")
    assert inbox_count(driver) == 0
    screenshot("alerts-05-signed")
    # The acknowledgement is on the permit's record, signed.
    click(driver, "back-to-list")
    open_permit(driver, number)
    rows = driver.find_elements(By.CSS_SELECTOR, css("event-row"))
    kinds = [r.find_element(By.CSS_SELECTOR, ".kind").text for r in rows]
    assert "确认警报" in kinds, kinds
    # Acknowledged, the escalation went no further on the server either; nothing was refused.
    assert not [t for t in dingtalk.texts() if "已升级 3 级" in t], dingtalk.texts()
    assert dingtalk.refused == [], dingtalk.refused
