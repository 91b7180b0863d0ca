"""The sync state says one thing at a time, in words: synced, the server down (and the pending
change and the permit's "not uploaded" mark while it is), synced again when it is back; "sync
now" says how the round went, not that it started; a tablet with no server shows nothing
waiting; and a server's raw error page never reaches the screen."""

from __future__ import annotations

import http.server
import threading

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from test_hot_work_story import click, css, find, sign_in, text_of, type_into, wait_text_contains
from test_settings import absent

TIMEOUT = 30


def state(driver) -> tuple[str, str]:
    """The sync state on the bar: (its kind, its words); there is exactly one."""
    pills = driver.find_elements(By.CSS_SELECTOR, "header .conn")
    assert len(pills) == 1, f"{len(pills)} sync states on the bar"
    return pills[0].get_attribute("data-state"), pills[0].get_attribute("title")


def wait_state(driver, kind: str) -> str:
    WebDriverWait(driver, TIMEOUT, poll_frequency=0.2).until(
        lambda d: state(d)[0] == kind, message=f"the sync state never became {kind}: {state(driver)}"
    )
    return state(driver)[1]


def test_the_sync_state_follows_the_server_going_away_and_coming_back(driver, plant, screenshot):
    sign_in(driver, "赵磊")
    words = wait_state(driver, "online")
    assert words.startswith("已同步"), words

    plant.stop()
    click(driver, "open-settings")
    click(driver, "sync-now")
    failed = wait_text_contains(driver, "sync-failed", "同步没有完成")
    assert "无法连接" in failed, failed
    assert absent(driver, "sync-done")
    words = wait_state(driver, "offline")
    assert "不可达" in words and "已同步" not in words, words
    screenshot("sync-state-server-down")
    click(driver, "settings-back")

    # A draft saved now waits on this tablet, and its row says so.
    click(driver, "new-permit")
    click(driver, "type-hot_work")
    click(driver, "grade-grade_1")
    type_into(driver, "field-title", "服务器停机时保存的草稿")
    click(driver, "save-draft")
    find(driver, "permit-not-on-server")
    click(driver, "back-to-list")
    click(driver, "tab-all")
    find(driver, "row-not-on-server")
    WebDriverWait(driver, TIMEOUT).until(lambda d: text_of(d, "pending-count") not in ("", "0"))
    screenshot("sync-state-not-uploaded")

    plant.start_again()
    click(driver, "open-settings")
    click(driver, "sync-now")
    wait_text_contains(driver, "sync-done", "同步完成")
    words = wait_state(driver, "online")
    assert words.startswith("已同步"), words
    click(driver, "settings-back")
    WebDriverWait(driver, TIMEOUT).until(lambda d: text_of(d, "pending-count") == "0")
    WebDriverWait(driver, TIMEOUT).until(lambda d: absent(d, "row-not-on-server"), message="the mark stays")
    screenshot("sync-state-back")


class _HtmlErrorPage(http.server.BaseHTTPRequestHandler):
    """A proxy's error page: 502 with an HTML body, for every request."""

    def _answer(self) -> None:
        body = b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"
        self.send_response(502)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def html_error_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HtmlErrorPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@pytest.mark.unenrolled
def test_a_standalone_tablet_waits_for_nothing_and_a_raw_error_page_is_said_in_words(driver, html_error_server, screenshot):
    find(driver, "not-enrolled")
    kind, words = state(driver)
    assert kind == "local" and "没有同步服务器" in words, (kind, words)
    assert absent(driver, "pending-count"), "nothing waits for a server a standalone tablet does not have"

    click(driver, "not-enrolled-settings")
    type_into(driver, "enrol-url", html_error_server)
    type_into(driver, "enrol-code", "ABCD-EFGH")
    click(driver, "enrol-submit")
    rule = wait_text_contains(driver, "refusal-rule", "502")
    page = driver.execute_script("return document.body.innerText;")
    assert "<html" not in page.lower() and "Bad Gateway" not in page, rule
    screenshot("sync-state-html-error-in-words")
