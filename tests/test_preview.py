"""`videowall preview` draws the wall from a layout, and every shipped layout is valid."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from compositor.cli import main
from compositor.layout import load_layout
from compositor.preview import BACKGROUND, render_preview

REPO = Path(__file__).resolve().parent.parent
LAYOUTS = sorted((REPO / "layouts").glob("*.yaml"))
ENV = {"CAM_USER": "operator", "CAM_PASS": "secret-pw"}


def test_the_examples_are_there() -> None:
    names = {path.name for path in LAYOUTS}
    assert {"poc-14.yaml", "demo.yaml", "wall-2x2.yaml", "wall-3x3-bezels.yaml"} <= names
    assert "control-room-14.yaml" in names


@pytest.mark.parametrize("path", LAYOUTS, ids=[p.stem for p in LAYOUTS])
def test_every_shipped_layout_is_valid_and_previews(path: Path) -> None:
    layout = load_layout(path, env=ENV)
    image = render_preview(layout, width=800)
    assert image.shape[1] == 800 + 32
    # Something is drawn on every output: no screen left as background.
    assert (image != np.array(BACKGROUND, dtype=np.uint8)).any(axis=2).mean() > 0.5


def test_outputs_without_a_wall_stand_in_rows_with_gaps() -> None:
    layout = load_layout(REPO / "layouts" / "demo.yaml")
    image = render_preview(layout, width=1400)
    row = image[image.shape[0] // 4]
    is_gap = (row == np.array(BACKGROUND, dtype=np.uint8)).all(axis=1)
    runs = np.flatnonzero(np.diff(is_gap.astype(np.int8)) == 1)
    # Seven screens in a row: a margin, then six gaps between them.
    assert len(runs) == 7


def test_a_span_is_drawn_across_its_screens(tmp_path: Path) -> None:
    layout = load_layout(REPO / "layouts" / "wall-3x3-bezels.yaml", env=ENV)
    image = render_preview(layout, width=900)
    # The span covers A1..B2, the top-left two thirds: its colour on both sides of the
    # A1/A2 seam, at the same height.
    y = image.shape[0] // 10
    left, right = image[y, 16 + 900 // 3 - 20], image[y, 16 + 900 // 3 + 20]
    assert (np.abs(left.astype(int) - right.astype(int)) < 4).all()


def test_the_command_writes_a_png_and_never_shows_a_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "wall.png"
    assert main(["preview", str(REPO / "layouts" / "poc-14.yaml"), "-o", str(out)]) == 0
    image = cv2.imread(str(out))
    assert image is not None and image.shape[1] == 3232
    assert ENV["CAM_PASS"] not in capsys.readouterr().out
    assert main(["preview", str(REPO / "layouts" / "poc-14.yaml"), "-o", "/nonexistent/x.png"]) == 2
