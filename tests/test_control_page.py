"""The control page in a real browser: Debian's Chromium, driven by Selenium through the
system's chromedriver (nothing downloaded), against a running wall's API on 127.0.0.1.

An operator logs in with a token, clicks a tile, finds a camera by name and calls it up;
the picture the page shows of that screen changes. A viewer's token is refused the
same click, and says so on the page."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from compositor.demo.testcams import SyntheticCameraServer
from tests.helpers.api_wall import ApiWall, api_layout_text
from tests.helpers.pixels import Pixels, shows
from tests.helpers.walls import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.alone]

# Where the test leaves a screenshot of the page (for a person to look at), if set.
SCREENSHOT = os.environ.get("VIDEOWALL_PAGE_SCREENSHOT")


@pytest.fixture(scope="module")
def wall(
    camera_server: SyntheticCameraServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiWall]:
    wall = ApiWall(tmp_path_factory.mktemp("page"), api_layout_text(camera_server))
    try:
        wait_until(lambda: shows(wall.snapshot("O1"), "1x2", ["red", "green"]), 30, "the wall up")
        yield wall
    finally:
        wall.stop()


def log_in(browser: WebDriver, wall: ApiWall, role: str) -> None:
    browser.get(wall.url)
    wait = WebDriverWait(browser, 15)
    field = wait.until(ec.visibility_of_element_located((By.ID, "token")))
    field.clear()
    field.send_keys(wall.tokens[role])
    browser.find_element(By.ID, "login-button").click()
    wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, '[data-tile="O1.2"]')))
    assert not browser.find_element(By.ID, "login").is_displayed()


def page_picture(browser: WebDriver, output: str) -> Pixels | None:
    """The picture the page shows of ``output`` now, as the browser decoded it."""
    data_url = browser.execute_script(
        """
        const image = document.querySelector(`.output[data-output="${arguments[0]}"] img`);
        if (!image || !image.complete || !image.naturalWidth) return null;
        const canvas = document.createElement("canvas");
        canvas.width = image.naturalWidth;
        canvas.height = image.naturalHeight;
        canvas.getContext("2d").drawImage(image, 0, 0);
        return canvas.toDataURL("image/png");
        """,
        output,
    )
    if not data_url:
        return None
    png = base64.b64decode(data_url.split(",", 1)[1])
    pixels = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    return None if pixels is None else np.asarray(pixels, np.uint8)


def page_shows(browser: WebDriver, left: str, right: str) -> bool:
    pixels = page_picture(browser, "O1")
    return pixels is not None and shows(pixels, "1x2", [left, right])


def call_up(browser: WebDriver, tile: str, search: str, camera: str) -> None:
    browser.find_element(By.CSS_SELECTOR, f'[data-tile="{tile}"]').click()
    WebDriverWait(browser, 5).until(ec.visibility_of_element_located((By.ID, "tile-dialog")))
    browser.find_element(By.ID, "camera-search").send_keys(search)
    choice = WebDriverWait(browser, 5).until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, f'#camera-choices [data-camera="{camera}"]'))
    )
    assert len(browser.find_elements(By.CSS_SELECTOR, "#camera-choices li")) == 1
    choice.click()


def message(browser: WebDriver) -> str:
    return str(browser.find_element(By.ID, "message").text)


def test_an_operator_calls_a_camera_up_from_the_page_and_sees_it_a_viewer_cannot(
    wall: ApiWall, browser: WebDriver, tmp_path: Path
) -> None:
    browser.get(wall.url)
    WebDriverWait(browser, 15).until(ec.visibility_of_element_located((By.ID, "token")))
    browser.find_element(By.ID, "token").send_keys("vw_not-a-token")
    browser.find_element(By.ID, "login-button").click()
    WebDriverWait(browser, 10).until(
        ec.text_to_be_present_in_element((By.ID, "login-error"), "refused the token")
    )
    assert not browser.find_element(By.ID, "main").is_displayed()

    log_in(browser, wall, "viewer")
    wait_until(lambda: page_shows(browser, "red", "green"), 15, "the page shows O1")
    call_up(browser, "O1.2", "Blu", "blue")  # found by its name, in any case
    wait_until(lambda: "needs the operator role" in message(browser), 10, "the refusal shown")
    assert shows(wall.snapshot("O1"), "1x2", ["red", "green"]), "the wall unchanged"

    browser.find_element(By.ID, "logout").click()
    log_in(browser, wall, "operator")
    wait_until(lambda: page_shows(browser, "red", "green"), 15, "the page shows O1 again")
    call_up(browser, "O1.2", "blu", "blue")
    wait_until(lambda: message(browser).startswith("O1.2: blue"), 10, "the call-up answered")
    wait_until(lambda: page_shows(browser, "red", "blue"), 10, "the page's picture changed")
    assert shows(wall.snapshot("O1"), "1x2", ["red", "blue"])
    assert [c["camera"] for c in wall.status()["callups"]] == ["blue"]
    assert any(e["action"] == "callup.set" and e["actor"] == "operator1" for e in wall.audit())
    # The tile is marked as called up once the page hears of it (the event stream).
    WebDriverWait(browser, 10).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, '[data-tile="O1.2"].callup'))
    )
    # The page redraws its camera list as states change: the row is found afresh each try
    # (one found before a redraw is stale: failed once in a full run).
    WebDriverWait(browser, 10, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda driver: (
            "live" in driver.find_element(By.CSS_SELECTOR, '#cameras [data-camera="blue"]').text
        )
    )
    if SCREENSHOT:
        browser.save_screenshot(SCREENSHOT)

    browser.find_element(By.CSS_SELECTOR, '[data-tile="O1.2"]').click()
    WebDriverWait(browser, 5).until(ec.element_to_be_clickable((By.ID, "clear-callup"))).click()
    wait_until(lambda: page_shows(browser, "red", "green"), 10, "the tile given back")
    # The refusals asked for above are the browser's only errors: no script error.
    page_errors = [
        entry
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE"
        and not any(f"status of {code}" in entry["message"] for code in (401, 403))
    ]
    assert page_errors == [], page_errors
