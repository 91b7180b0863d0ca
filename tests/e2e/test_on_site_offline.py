"""On site with no signal (R-OFFLINE): with the sync server stopped, the workshop director
approves by drawing his signature on the pad, and the guardian checks in by photographing her
badge and the location's poster and takes two photos of the work. Then the server starts
again; the window syncs, and a second device (ptw-sim) shows the same presence trail, the same
photos — bytes equal to what the window shows — and the signature, intact and not broken."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from test_hot_work_story import (
    TIMEOUT,
    a_submitted_hot_work_permit,
    act,
    click,
    css,
    draw_a_signature,
    find,
    open_permit,
    sign_in,
    sign_out,
    wait_status,
    wait_synced,
)
from test_layout import check_layout, resize
from test_live_sync import sim  # noqa: F401  (the second device, a pytest fixture)
from test_presence import wait_value
from test_settings import choose_file

# A scene drawn by the webview's own canvas and saved as its camera would: a JPEG.
DRAW_A_PHOTO = """
const [hue, bar] = arguments;
const c = document.createElement('canvas');
c.width = 960; c.height = 720;
const g = c.getContext('2d');
const grad = g.createLinearGradient(0, 0, 960, 720);
grad.addColorStop(0, `hsl(${hue}, 60%, 70%)`);
grad.addColorStop(1, `hsl(${hue + 40}, 50%, 35%)`);
g.fillStyle = grad; g.fillRect(0, 0, 960, 720);
g.fillStyle = '#1d2939'; g.fillRect(bar, 0, 90, 720);
g.fillStyle = '#fef0c7'; g.beginPath(); g.arc(720 - bar / 2, 260, 110, 0, 2 * Math.PI); g.fill();
return c.toDataURL('image/jpeg', 0.92);
"""


def a_photo(driver, path: Path, hue: int, bar: int) -> bytes:
    url = driver.execute_script(DRAW_A_PHOTO, hue, bar)
    assert url.startswith("data:image/jpeg;base64,"), url[:40]
    data = base64.b64decode(url.split(",", 1)[1])
    path.write_bytes(data)
    return data


def photo_tiles(driver) -> list:
    return driver.find_elements(By.CSS_SELECTOR, css("photo"))


def full_size_bytes(driver, index: int) -> bytes:
    """The picture the window shows when photo `index` is opened."""
    tile = photo_tiles(driver)[index]
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", tile)
    tile.find_element(By.CSS_SELECTOR, css("photo-open")).click()
    img = WebDriverWait(driver, TIMEOUT).until(lambda d: d.find_element(By.CSS_SELECTOR, f"{css('photo-full')} img"))
    src = img.get_attribute("src")
    click(driver, "photo-close")
    return base64.b64decode(src.split(",", 1)[1])


def test_check_in_photos_and_a_drawn_signature_with_the_server_stopped_reach_a_second_device(
    plant, driver, sim, screenshot, tmp_path
):
    badge = tmp_path / "badge-li.png"
    li = next(line.split("\t")[0] for line in plant.admin("user", "list").splitlines() if "\t李娜\t" in line)
    plant.admin("user", "badge", "--id", li, "--png", str(badge))
    poster = tmp_path / "poster-t101.png"
    plant.admin("plant", "poster", "--code", "T-101", "--png", str(poster))

    number = a_submitted_hot_work_permit(driver)

    # No signal from here on.
    plant.stop()

    sign_in(driver, "刘洋")
    open_permit(driver, number, from_home=True)
    draw_a_signature(driver)
    act(driver, "action-approve")
    find(driver, "handwritten-image")
    assert find(driver, "handwritten").get_attribute("data-broken") == "false"
    sign_out(driver)
    sign_in(driver, "王强")
    open_permit(driver, number, from_home=True)
    act(driver, "action-approve")
    wait_status(driver, "已批准")
    sign_out(driver)

    sign_in(driver, "李娜")
    open_permit(driver, number, from_home=True)
    choose_file(driver, "presence-badge-photo-input", badge)
    wait_value(driver, "presence-badge", "1002")
    choose_file(driver, "presence-location-photo-input", poster)
    wait_value(driver, "presence-location", "T-101")
    act(driver, "action-check-in")
    assert len(driver.find_elements(By.CSS_SELECTOR, css("presence-row"))) == 1

    # Two photos: the site before work, and the gas detector's display.
    before = a_photo(driver, tmp_path / "before.jpg", hue=200, bar=180)
    gas = a_photo(driver, tmp_path / "gas.jpg", hue=30, bar=520)
    click(driver, "photo-phase-before")
    choose_file(driver, "photo-input", tmp_path / "before.jpg")
    WebDriverWait(driver, TIMEOUT).until(lambda d: len(photo_tiles(d)) == 1, message="the first photo never showed")
    click(driver, "photo-phase-gas_test")
    choose_file(driver, "photo-input", tmp_path / "gas.jpg")
    WebDriverWait(driver, TIMEOUT).until(lambda d: len(photo_tiles(d)) == 2, message="the second photo never showed")
    WebDriverWait(driver, TIMEOUT).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, css("photo-thumb"))) == 2)
    assert [t.get_attribute("data-phase") for t in photo_tiles(driver)] == ["before", "gas_test"]
    assert not driver.find_elements(By.CSS_SELECTOR, css("photo-reused"))
    shown = [full_size_bytes(driver, 0), full_size_bytes(driver, 1)]
    # An upright camera JPEG of this size is kept byte for byte.
    assert shown == [before, gas]
    screenshot("offline-01-trail-photos")
    # On a tablet, upright and on its side: the photos and the pad's permit fit, 48 px targets.
    for width, height in [(800, 1280), (1024, 768)]:
        resize(driver, width, height)
        find(driver, "photo-gallery")
        check_layout(driver, f"a permit with its photos at {width}x{height}")
        driver.execute_script("document.querySelector('[data-testid=\"photos\"]').scrollIntoView({block: 'start'});")
        screenshot(f"offline-photos-{width}x{height}")
    resize(driver, 1280, 800)

    # The signal is back: the window's changes and pictures go up, the other tablet takes them.
    plant.start_again()
    wait_synced(driver)
    saved = tmp_path / "second"
    saved.mkdir()
    report = sim.sync()
    assert report["pulled"] >= 1, report
    other = json.loads(sim.run("show", "--number", number, "--save", str(saved)).strip().splitlines()[-1])
    assert other["status"] == "approved", other
    assert other["rejected"] == 0, other
    assert len(other["presence"]) == 1, other
    stay = other["presence"][0]
    assert stay["person"] == li and stay["location"] == "T-101" and stay["location_matches"], stay
    assert [p["phase"] for p in other["photos"]] == ["before", "gas_test"], other
    for p, bytes_shown in zip(other["photos"], shown):
        assert p["photo"]["present"] and p["photo"]["intact"] and p["thumbnail"]["intact"], p
        assert (saved / p["photo"]["hash"]).read_bytes() == bytes_shown
    assert len(other["handwritten"]) == 1, other
    signature = other["handwritten"][0]
    assert signature["step"] == "workshop_review" and not signature["broken"], signature
    assert signature["image"]["present"] and signature["image"]["intact"] and signature["image"]["mime"] == "image/png", signature
