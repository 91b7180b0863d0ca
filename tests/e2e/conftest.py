"""Fixtures for end-to-end tests of the real openptw window.

`./openptw e2e` builds the UI and the app, then runs pytest under Xvfb with:
  OPENPTW_APP        the app binary (built with the `custom-protocol` feature: UI embedded)
  OPENPTW_ARTIFACTS  where screenshots and logs go (default: <repo>/artifacts/e2e)

Each test gets its own tauri-driver (which starts WebKitWebDriver, which starts the app) and a
fresh HOME / XDG_* / OPENPTW_DATA_DIR in a temporary directory, so tests never touch the real
home directory and never share app data.

Every app starts enrolled with a plant server of its own: a real `ptw-sync-server` process
(the binary beside the app, or OPENPTW_SYNC_SERVER) on a loopback port, over HTTPS with a
self-signed certificate (`tls init`), holding the demo plant (`demo seed`) working round the clock; the app gets the
enrolment QR text in OPENPTW_ENROL and enrols at start, pinning the server's key and
certificate — as `./openptw run` does. A test marked `unenrolled` gets a fresh tablet instead
(and the `plant` fixture, a server it can enrol with by hand).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from selenium import webdriver
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.remote.client_config import ClientConfig
from selenium.webdriver.remote.remote_connection import RemoteConnection

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("OPENPTW_ARTIFACTS", ROOT / "artifacts" / "e2e"))
DEFAULT_APP = Path.home() / ".cache" / "openptw" / "target" / "debug" / "openptw"


# Longest a single WebDriver command may take before the client gives up (the default is to
# wait forever, which turns a wedged WebKitWebDriver into a CI job that never ends).
COMMAND_TIMEOUT = 120


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


# A SIGTERM (CI cancelling the job, `kill`) should still run the fixtures' teardown, which
# stops tauri-driver and the app; pytest does that for KeyboardInterrupt.
signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)


def _die_with_parent() -> None:
    """In the child, before exec: get SIGKILL when pytest dies, however it dies (Linux)."""
    try:
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"tauri-driver exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"tauri-driver did not listen on port {port} within {timeout} s")


def stop_process_group(proc: subprocess.Popen) -> None:
    """Stops tauri-driver and what it started (WebKitWebDriver, the app): its own group."""
    if proc.poll() is not None:
        return
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


# What every screen the app opens on has: the top bar's title (the sign-in screen, the enrolment
# screen and a restored session all show it).
RENDERED_UI = "#app-title"


def _fail_on_a_blank_window(session, artifacts: Path, name: str, timeout: float = 60.0) -> None:
    """Fails the test at once if the window shows no UI: a webview that loaded a truncated or
    missing embedded UI is an empty grey page with no error anywhere (it happened after a build
    that compiled the app twice at once). Every test starts with this check."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if session.execute_script(
                "const t = document.querySelector(arguments[0]);"
                "return !!t && t.textContent.trim().length > 0;",
                RENDERED_UI,
            ):
                return
        except Exception:  # the page may still be loading
            pass
        time.sleep(0.2)
    try:
        body = session.execute_script("return document.documentElement.outerHTML.slice(0, 2000);")
    except Exception as e:
        body = f"(no document: {e})"
    try:
        session.save_screenshot(str(artifacts / f"{name}-blank-window.png"))
    except Exception:
        pass
    pytest.fail(
        f"the window is blank: no {RENDERED_UI} after {timeout:.0f} s, so the UI embedded in the "
        f"app did not render. The page holds:\n{body}"
    )


@pytest.fixture(scope="session")
def app_binary() -> Path:
    app = Path(os.environ.get("OPENPTW_APP", DEFAULT_APP))
    if not app.is_file():
        pytest.fail(f"no app binary at {app}: run `./openptw e2e` (it builds the UI and the app)")
    return app


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def gui_env(tmp_path: Path) -> dict[str, str]:
    """Environment for the app: HOME, XDG_* and OPENPTW_DATA_DIR under a temporary directory."""
    real_home = Path.home()
    home = tmp_path / "home"
    env = dict(os.environ)
    # Keep the real toolchain reachable even though HOME moves.
    env.setdefault("RUSTUP_HOME", str(real_home / ".rustup"))
    env.setdefault("CARGO_HOME", str(real_home / ".cargo"))
    dirs = {
        "HOME": home,
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_DATA_HOME": home / ".local" / "share",
        "XDG_CACHE_HOME": home / ".cache",
        "XDG_STATE_HOME": home / ".local" / "state",
        "XDG_RUNTIME_DIR": tmp_path / "runtime",
        "OPENPTW_DATA_DIR": tmp_path / "data",
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    dirs["XDG_RUNTIME_DIR"].chmod(0o700)
    env.update({k: str(v) for k, v in dirs.items()})
    # Quiet, deterministic WebKit under Xvfb (software GL, no accessibility bus).
    # Not WEBKIT_DISABLE_COMPOSITING_MODE: with compositing off, WebKitWebDriver 2.50's
    # screenshot command never answers on a page that does not scroll (e.g. the sign-in page).
    env.setdefault("NO_AT_BRIDGE", "1")
    env.setdefault("LIBGL_ALWAYS_SOFTWARE", "1")
    return env


@pytest.fixture
def driver(request, app_binary: Path, app_env: dict[str, str], artifacts: Path):
    """A WebDriver session on a freshly started openptw window (via tauri-driver)."""
    gui_env = app_env
    tauri_driver = shutil.which("tauri-driver", path=gui_env.get("PATH"))
    if tauri_driver is None:
        pytest.fail("tauri-driver not on PATH: run `./openptw setup`")
    port, native_port = free_port(), free_port()
    log_path = artifacts / f"{request.node.name}.tauri-driver.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [tauri_driver, "--port", str(port), "--native-port", str(native_port)],
            env=gui_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        session = None
        try:
            wait_for_port(port, proc)
            # tauri-driver listens before the WebKitWebDriver it started does; a session
            # request in between is refused ("tcp connect error"), so wait for both.
            wait_for_port(native_port, proc)
            options = ArgOptions()
            options.set_capability("browserName", "wry")
            options.set_capability("tauri:options", {"application": str(app_binary)})
            url = f"http://127.0.0.1:{port}"
            connection = RemoteConnection(
                client_config=ClientConfig(remote_server_addr=url, timeout=COMMAND_TIMEOUT)
            )
            session = webdriver.Remote(command_executor=connection, options=options)
            session.implicitly_wait(0)
            _fail_on_a_blank_window(session, artifacts, request.node.name)
            yield session
            report = getattr(request.node, "rep_call", None)
            if report is not None and report.failed:
                # What the window showed when the test failed, for whoever reads the run.
                try:
                    session.save_screenshot(str(artifacts / f"{request.node.name}.failed.png"))
                except Exception as e:  # the window may be gone
                    print(f"no screenshot of the failure: {e}")
        finally:
            if session is not None:
                try:
                    session.quit()
                except Exception as e:  # the app may already be gone
                    print(f"session.quit() failed: {e}")
            stop_process_group(proc)


@pytest.fixture
def screenshot(driver, artifacts: Path):
    """`screenshot(name)` saves artifacts/e2e/<name>.png (the webview, through WebDriver) and
    <name>-screen.png (the whole Xvfb screen, window included) and answers the first path."""

    def take(name: str) -> Path:
        # Right after an action WebKit may still show the previous frame.
        time.sleep(1.0)
        path = artifacts / f"{name}.png"
        if not driver.save_screenshot(str(path)):
            raise RuntimeError(f"WebDriver could not save {path}")
        grab = shutil.which("import")
        if grab and os.environ.get("DISPLAY"):
            subprocess.run(
                [grab, "-window", "root", str(artifacts / f"{name}-screen.png")],
                check=False,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=30,
            )
        return path

    return take


@dataclasses.dataclass
class SyncServer:
    """A running `ptw-sync-server serve` and the admin CLI on the same data directory."""

    binary: Path
    data_dir: Path
    url: str

    def admin(self, *args: str) -> str:
        """Runs `ptw-sync-server --data-dir <its dir> ARGS…`; its stdout (it must succeed)."""
        done = subprocess.run(
            [str(self.binary), "--data-dir", str(self.data_dir), *args],
            env=_server_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(f"ptw-sync-server {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
        return done.stdout

    def enrol_qr(self, name: str) -> str:
        """The QR text of a fresh one-time enrolment code for a device called `name`."""
        out = self.admin("device", "enrol", "--name", name, "--url", self.url)
        for line in out.splitlines():
            if line.startswith("QR text: "):
                return line.removeprefix("QR text: ").strip()
        raise AssertionError(f"no QR text in:\n{out}")


def _server_env() -> dict[str, str]:
    env = dict(os.environ)
    # SQLite in the data directory, whatever the caller's environment says.
    for key in ("PTW_SYNC_DATABASE_URL", "PTW_SYNC_CONFIG", "PTW_SYNC_DATA_DIR", "PTW_SYNC_BIND", "PTW_SYNC_KEY_FILE"):
        env.pop(key, None)
    env["RUST_LOG"] = "warn"
    return env


def _server_binary(app_binary: Path) -> Path:
    binary = Path(os.environ.get("OPENPTW_SYNC_SERVER", app_binary.parent / "ptw-sync-server"))
    if not binary.is_file():
        pytest.fail(f"no sync server binary at {binary}: run `./openptw e2e` (it builds the workspace)")
    return binary


class FakeClock:
    """The test-only clock the app and its sync server both read (the server's
    `--fake-clock-file`, the debug app's OPENPTW_FAKE_CLOCK_FILE): an offset from the system
    clock, which the test moves forward to let a fire watch run its time without sleeping."""

    def __init__(self, path: Path):
        self.path = path
        self.offset_ms = 0
        self._write()

    def advance(self, minutes: float) -> None:
        self.offset_ms += int(minutes * 60_000)
        self._write()

    def _write(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(f"+{self.offset_ms}\n")
        tmp.replace(self.path)


@pytest.fixture
def fake_clock(tmp_path: Path) -> FakeClock:
    return FakeClock(tmp_path / "fake-clock")


class DingTalkRobot:
    """A DingTalk custom robot on loopback, as strict as DingTalk: `POST /robot/send` with the
    robot's access_token, a millisecond timestamp within an hour of its clock (the test's fake
    clock, when there is one) and sign = urlencode(base64(HMAC-SHA256(secret, timestamp + "\\n" +
    secret))); a JSON body of a known msgtype with its required fields; at most 20 messages a
    minute. It answers as DingTalk does — HTTP 200 and an errcode (300001 no such token, 310000
    bad timestamp or signature, 130101 over the rate limit, 400 bad body) — and keeps what it
    accepted and what it refused."""

    TOKEN = "e2e-robot-token"
    SECRET = "SECe2e0123456789abcdef0123456789"
    REQUIRED = {
        "text": [("text", "content")],
        "markdown": [("markdown", "title"), ("markdown", "text")],
        "actionCard": [("actionCard", "title"), ("actionCard", "text"), ("actionCard", "singleTitle"), ("actionCard", "singleURL")],
        "link": [("link", "title"), ("link", "text"), ("link", "messageUrl")],
    }

    def __init__(self, clock: FakeClock | None):
        self.clock = clock
        self.accepted: list[dict] = []
        self.refused: list[tuple[int, str]] = []
        self._sent_at: list[int] = []
        self._lock = threading.Lock()
        robot = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the standard library's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                errcode, errmsg = robot._judge(self.path, self.headers.get("Content-Type", ""), body)
                answer = json.dumps({"errcode": errcode, "errmsg": errmsg}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def now_ms(self) -> int:
        return int(time.time() * 1000) + (self.clock.offset_ms if self.clock else 0)

    def _judge(self, path: str, content_type: str, body: bytes) -> tuple[int, str]:
        url = urlsplit(path)
        query = parse_qs(url.query, keep_blank_values=True)
        with self._lock:
            verdict = self._check(url.path, query, content_type, body)
            if verdict[0] == 0:
                self.accepted.append(json.loads(body))
                self._sent_at.append(self.now_ms())
            else:
                self.refused.append(verdict)
            return verdict

    def _check(self, path: str, query: dict, content_type: str, body: bytes) -> tuple[int, str]:
        if path != "/robot/send":
            return 404, "not found"
        if query.get("access_token") != [self.TOKEN]:
            return 300001, "token is not exist"
        [timestamp] = query.get("timestamp") or [""]
        [sign] = query.get("sign") or [""]
        if not timestamp.isdigit() or abs(self.now_ms() - int(timestamp)) > 3_600_000:
            return 310000, "invalid timestamp"
        digest = hmac.new(self.SECRET.encode(), f"{timestamp}\n{self.SECRET}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(sign, base64.b64encode(digest).decode()):
            return 310000, "sign not match"
        if not content_type.startswith("application/json"):
            return 400, "content type must be application/json"
        try:
            message = json.loads(body)
        except ValueError:
            return 400, "body is not json"
        fields = self.REQUIRED.get(message.get("msgtype"))
        if fields is None:
            return 400, "unknown msgtype"
        for outer, inner in fields:
            if not isinstance((message.get(outer) or {}).get(inner), str) or not message[outer][inner]:
                return 400, f"missing {outer}.{inner}"
        if len([t for t in self._sent_at if t > self.now_ms() - 60_000]) >= 20:
            return 130101, "send too fast, exceed 20 times per minute"
        return 0, "ok"

    def texts(self) -> list[str]:
        """Every accepted message's words."""
        with self._lock:
            return [json.dumps(m, ensure_ascii=False) for m in self.accepted]

    def server_config(self) -> str:
        return f"""
[alerts]
interval_seconds = 1
permit_url = "openptw://permits/{{permit}}"

[[alerts.channel]]
name = "安全群"
kind = "dingtalk"
webhook = "{self.url}/robot/send"
access_token = "{self.TOKEN}"
secret = "{self.SECRET}"
min_severity = "warning"
"""

    def close(self) -> None:
        self._server.shutdown()


@pytest.fixture
def dingtalk(request):
    clock = request.getfixturevalue("fake_clock") if request.node.get_closest_marker("fake_clock") else None
    robot = DingTalkRobot(clock)
    yield robot
    robot.close()


def _serve(
    binary: Path, data_dir: Path, bind: str, log, clock: Path | None = None, config: Path | None = None
) -> tuple[subprocess.Popen, str]:
    """Starts `ptw-sync-server serve` on `bind`; the process and the address it listens on."""
    fake = ["--fake-clock-file", str(clock)] if clock else []
    configured = ["--config", str(config)] if config else []
    proc = subprocess.Popen(
        [str(binary), "--data-dir", str(data_dir), *fake, *configured, "serve", "--bind", bind],
        env=_server_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    # The first line on stdout is `listening on 127.0.0.1:PORT`, once it accepts connections.
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("listening on "):
        proc.wait(timeout=10)
        raise RuntimeError(f"the sync server did not start ({proc.returncode}): {line!r}")
    return proc, line.removeprefix("listening on ").strip()


class RunningPlant(SyncServer):
    """The test's plant server, which a test may stop and start again on the same address."""

    def __init__(self, binary: Path, data_dir: Path, log, clock: Path | None = None, config: Path | None = None):
        self._log = log
        self._clock = clock
        self._config = config
        self.proc, addr = _serve(binary, data_dir, "127.0.0.1:0", log, clock, config)
        self.addr = addr
        super().__init__(binary=binary, data_dir=data_dir, url=f"https://{addr}")

    def stop(self) -> None:
        stop_process_group(self.proc)

    def start_again(self) -> None:
        """The same data on the same address (the tablets remember it); retried while the port
        is still being let go."""
        for _ in range(50):
            try:
                self.proc, _ = _serve(self.binary, self.data_dir, self.addr, self._log, self._clock, self._config)
                return
            except RuntimeError:
                time.sleep(0.2)
        raise RuntimeError(f"the sync server did not start again on {self.addr}")


@pytest.fixture
def plant(request, app_binary: Path, tmp_path: Path, artifacts: Path):
    """The demo plant's sync server on 127.0.0.1 (a free port), over HTTPS with a certificate of
    its own; stopped after the test."""
    binary = _server_binary(app_binary)
    data_dir = tmp_path / "sync-server"
    data_dir.mkdir()
    setup = SyncServer(binary=binary, data_dir=data_dir, url="")
    setup.admin("tls", "init")
    setup.admin("demo", "seed")
    # The demo plant rests at weekends and has night hours, which raise hot work one grade: the
    # plant of a test works every day around the clock, so no story depends on when the suite
    # runs — except a test marked `night_now`, whose plant's night is the hours around now.
    if request.node.get_closest_marker("night_now") is None:
        setup.admin("plant", "calendar", "--rest-weekdays", "", "--holidays", "", "--night", "none")
    else:
        now = datetime.now(ZoneInfo("Asia/Shanghai"))
        night = f"{now - timedelta(hours=1):%H:%M}-{now + timedelta(hours=6):%H:%M}"
        setup.admin("plant", "calendar", "--rest-weekdays", "", "--holidays", "", "--night", night)
    # A test marked `fake_clock` moves time by hand, for the server and the app alike.
    clock = request.getfixturevalue("fake_clock").path if request.node.get_closest_marker("fake_clock") else None
    # A test marked `dingtalk` has the server send its alerts to the `dingtalk` robot.
    config = None
    if request.node.get_closest_marker("dingtalk") is not None:
        config = data_dir / "server.toml"
        config.write_text(request.getfixturevalue("dingtalk").server_config(), encoding="utf-8")
    log_path = artifacts / f"{request.node.name}.sync-server.log"
    with open(log_path, "wb") as log:
        server = RunningPlant(binary, data_dir, log, clock, config)
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def app_env(request, gui_env: dict[str, str]) -> dict[str, str]:
    """The app's environment: enrolled with the test's plant server unless the test is marked
    `unenrolled`."""
    if request.node.get_closest_marker("unenrolled") is None:
        server = request.getfixturevalue("plant")
        gui_env["OPENPTW_ENROL"] = server.enrol_qr("T-E2E")
    if request.node.get_closest_marker("fake_clock") is not None:
        gui_env["OPENPTW_FAKE_CLOCK_FILE"] = str(request.getfixturevalue("fake_clock").path)
    # `@pytest.mark.app_env(NAME="value")`: more of the app's environment.
    for marker in request.node.iter_markers("app_env"):
        gui_env.update({k: str(v) for k, v in marker.kwargs.items()})
    return gui_env


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's report on the test item (`rep_call`…), for the driver fixture to see
    whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def pytest_configure(config):
    config.addinivalue_line("markers", "unenrolled: the app starts on a fresh tablet, enrolled with nothing")
    config.addinivalue_line("markers", "app_env(**vars): more environment variables for the app")
    config.addinivalue_line("markers", "fake_clock: the app and its server read the test's fake clock (fixture `fake_clock`)")
    config.addinivalue_line("markers", "dingtalk: the plant server sends its alerts to a DingTalk robot on loopback (fixture `dingtalk`)")
