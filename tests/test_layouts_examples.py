"""Every shipped layout is valid, with each of its presets, and has its preview in docs/."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from compositor.layout.parse import load_layout
from compositor.layout.validate import validate_file
from compositor.preview import BACKGROUND, render_preview

REPO = Path(__file__).resolve().parent.parent
LAYOUTS = sorted((REPO / "layouts").glob("*.yaml"))
ENV = {"CAM_USER": "operator", "CAM_PASS": "secret-pw"}


def test_the_examples_are_there() -> None:
    names = {path.stem for path in LAYOUTS}
    assert {"poc-14", "demo", "wall-2x2", "wall-3x3-bezels", "control-room-14"} <= names


@pytest.mark.parametrize("path", LAYOUTS, ids=[p.stem for p in LAYOUTS])
def test_every_shipped_layout_is_valid_with_each_preset(path: Path) -> None:
    report = validate_file(path, env=ENV)
    assert report.ok, "\n".join(report.lines())
    assert not report.warnings, "\n".join(report.lines())
    layout = load_layout(path, env=ENV)
    for name in [None, *layout.presets]:
        arranged = layout if name is None else layout.with_preset(name)
        image = render_preview(arranged, width=600)
        drawn = (image != np.array(BACKGROUND, np.uint8)).any(axis=2).mean()
        assert drawn > 0.5, f"{path.name} preset {name}: little drawn"
    assert (REPO / "docs" / "layouts" / f"{path.stem}.png").is_file(), "preview PNG missing"


def test_the_examples_show_every_kind_of_tile_and_keep_credentials_out() -> None:
    kinds: set[str] = set()
    labels_styled = presets = 0
    for path in LAYOUTS:
        layout = load_layout(path, env=ENV)
        kinds |= {t.kind for o in layout.outputs for t in o.tiles}
        labels_styled += "labels" in layout.model_fields_set
        presets += len(layout.presets)
        for tile in (t for o in layout.outputs for t in layout.placed_tiles(o.id)):
            if tile.kind == "image":
                assert isinstance(tile.content, Path) and tile.content.is_file(), (
                    f"{path.name}: {tile.content} missing"
                )
        text = path.read_text()
        # No password written into a shipped file: credentials come from ${VAR}.
        for url in re.findall(r"rtsps?://[^\"'\s]+", text):
            userinfo = url.split("//", 1)[1].split("@")[0] if "@" in url else ""
            assert not userinfo or re.fullmatch(r"\$\{\w+\}:\$\{\w+\}", userinfo), url
    assert kinds == {"camera", "tour", "clock", "text", "image"}
    assert labels_styled >= 2 and presets >= 2
