"""Shared fixtures: a real RTSP server on 127.0.0.1, a real X server, in-process walls,
Debian's Chromium.

What tests share besides fixtures is in :mod:`tests.helpers`.

The cameras are generated pictures with a solid background colour each, so
a tile can be recognised by its colour, and a moving ball, so a frozen
picture can be told from a live one.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from compositor.app import RunOptions, WallApp
from compositor.demo.testcams import SyntheticCamera, SyntheticCameraServer
from compositor.demo.virtual_x import VirtualDisplay
from compositor.layout.parse import load_layout, parse_layout
from tests.helpers.notify_socket import NotifyListener
from tests.helpers.pixels import BLUE, GREEN, RED

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

E2E_CAMERAS = (
    SyntheticCamera("red", "red 16:9", 320, 180, 15, RED),
    SyntheticCamera("green", "green 4:3", 240, 180, 15, GREEN),
    # PAL-like: 352x288 with 12:11 pixels is a 4:3 picture, 384x288 in square pixels.
    SyntheticCamera("blue", "blue PAL", 352, 288, 15, BLUE, sar=(12, 11)),
)


@pytest.fixture(scope="session")
def camera_server() -> Iterator[SyntheticCameraServer]:
    with SyntheticCameraServer(E2E_CAMERAS) as server:
        yield server


@pytest.fixture(scope="session")
def x_display() -> Iterator[VirtualDisplay]:
    with VirtualDisplay.xvfb(1280, 720) as display:
        yield display


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[NotifyListener]:
    """A systemd notify socket (``NOTIFY_SOCKET``) bound by the test, as systemd binds one."""
    bound = NotifyListener(tmp_path / "notify")
    yield bound
    bound.close()


@pytest.fixture
def wall() -> Iterator[Callable[..., WallApp]]:
    """Start headless walls from layout text; all are closed after the test."""
    apps: list[WallApp] = []

    def start(
        text: str, workers: int | None = None, layout_path: Path | None = None, **options: Any
    ) -> WallApp:
        """With ``layout_path``, the text is written there and the wall follows that file."""
        run = RunOptions(headless=True, workers=workers, layout_path=layout_path, **options)
        if layout_path is None:
            app = WallApp(parse_layout(text, "faults.yaml"), run)
        else:
            layout_path.write_text(text)
            app = WallApp(load_layout(layout_path), run)
        apps.append(app)
        app.start()
        return app

    yield start
    for app in apps:
        app.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """Debian's Chromium, headless, driven through the system's chromedriver (nothing
    downloaded); one per module, for the control page's tests."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = "/usr/bin/chromium", "/usr/bin/chromedriver"
    if not (shutil.which(chromium) and shutil.which(chromedriver)):
        pytest.fail("Debian's chromium and chromium-driver are needed: make test installs them")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",  # root in a container
        "--disable-gpu",
        "--disable-dev-shm-usage",
        # The machine has no internet: no background connections, no updates, no sync.
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
        "--window-size=1280,800",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


# -- one way to mark end-to-end tests ---------------------------------------------------

E2E_FIXTURES = frozenset({"camera_server", "x_display", "wall", "browser"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """An end-to-end test (one on real parts: the test cameras, an X server, a wall) lives
    in a module marked once, ``pytestmark = pytest.mark.e2e``, so ``make unit`` (``-m "not
    e2e"``) runs only what needs none; a marker on a single test, or a real part used in an
    unmarked module, fails here with what to do."""
    wrong = []
    for item in items:
        module = getattr(item, "module", None)
        module_mark = getattr(module, "pytestmark", None)
        marks = module_mark if isinstance(module_mark, list) else [module_mark]
        marked = any(getattr(m, "name", None) == "e2e" for m in marks if m is not None)
        function = getattr(item, "function", None)
        own = [m for m in getattr(function, "pytestmark", []) if m.name == "e2e"]
        if own:
            wrong.append(f"{item.nodeid}: marks itself e2e; mark its module instead")
        elif not marked and E2E_FIXTURES & set(getattr(item, "fixturenames", ())):
            wrong.append(f"{item.nodeid}: uses a real part in a module not marked e2e")
    if wrong:
        raise pytest.UsageError("end-to-end tests marked the wrong way:\n  " + "\n  ".join(wrong))
