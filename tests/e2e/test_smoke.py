"""Smoke test: the real window opens on the Chinese UI and the back end answers."""

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def text_of(driver, element_id: str) -> str:
    found = driver.find_elements(By.ID, element_id)
    return found[0].text if found else ""


def wait_for_text(driver, element_id: str, expected: str, timeout: float = 30.0) -> None:
    WebDriverWait(driver, timeout, poll_frequency=0.2).until(
        lambda d: text_of(d, element_id) == expected,
        message=f"#{element_id}: expected {expected!r}, saw {text_of(driver, element_id)!r}",
    )


def invoke(driver, command: str, args: dict | None = None):
    """Calls a Tauri command from inside the window (the path the UI's api module takes) and
    answers {"ok": value} or {"err": message}."""
    return driver.execute_async_script(
        """
        const [command, args, done] = arguments;
        window.__TAURI__.core.invoke(command, args)
          .then(value => done({ok: value}), error => done({err: String(error)}));
        """,
        command,
        args or {},
    )


def test_window_shows_chinese_title_and_the_people_from_the_back_end(driver, screenshot):
    wait_for_text(driver, "app-title", "电子作业票")
    assert driver.title == "openptw"
    # IPC round trip through the real webview: the `ping` command answers "pong".
    assert invoke(driver, "ping") == {"ok": "pong"}
    # The sign-in buttons come from the `directory` command: the back end answered.
    WebDriverWait(driver, 30.0, poll_frequency=0.2).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="person-张伟"]'),
        message="no person buttons: the directory command did not answer",
    )
    screenshot("smoke-zh-CN")

    # The English locale is compiled in too.
    driver.find_element(By.ID, "toggle-language").click()
    wait_for_text(driver, "app-title", "Permit to work")
    screenshot("smoke-en")


def test_the_content_security_policy_stops_injected_script_and_the_ui_still_runs(driver):
    wait_for_text(driver, "app-title", "电子作业票")
    # An inline script put into the page (what an injected string would become) does not run,
    # and the webview reports the violation; the UI's own wasm and IPC work under the policy.
    outcome = driver.execute_async_script(
        """
        const done = arguments[0];
        let violated = null;
        document.addEventListener('securitypolicyviolation', e => { violated = e.violatedDirective; });
        const s = document.createElement('script');
        s.textContent = 'window.__injectedRan = true;';
        document.body.appendChild(s);
        setTimeout(() => done({ran: window.__injectedRan === true, violated}), 500);
        """
    )
    assert outcome["ran"] is False, outcome
    assert outcome["violated"] and outcome["violated"].startswith("script-src"), outcome
    assert invoke(driver, "ping") == {"ok": "pong"}
