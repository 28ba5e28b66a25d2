"""Property and fuzz tests: no layout text, however broken, escapes as anything but
a located LayoutError (never another exception, a hang or a memory blow-up), and a
layout that parses is usable: every output's tiles and every preset resolve."""

from __future__ import annotations

import json
import time
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from compositor.core.errors import LayoutError
from compositor.layout.models import Layout
from compositor.layout.parse import parse_layout
from compositor.layout.validate import validate_text

REPO = Path(__file__).resolve().parent.parent
LAYOUTS = REPO / "layouts"
ENV = {"CAM_USER": "operator", "CAM_PASS": "pw"}
SHIPPED = [path.read_text() for path in sorted(LAYOUTS.glob("*.yaml"))]
FUZZ = settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
# A hang detector, not a speed test: a layout takes milliseconds.
PARSE_BOUND_S = 10.0
YAML_CHARACTERS = st.sampled_from([*"abc01:-[]{}&*!|>'\"%@`#,?~<=. \n\t\ufeff\\", "x: ", "\n  - "])


def _parses_or_explains(text: str) -> None:
    started = time.monotonic()
    try:
        layout = parse_layout(text, "fuzz.yaml", env=ENV, source_dir=LAYOUTS)
    except LayoutError as exc:
        assert exc.issues
        for issue in exc.issues:
            assert issue.file == "fuzz.yaml" and issue.message
            assert issue.line >= 0 and issue.col >= 0
        assert "Traceback" not in str(exc)
        event("refused")
    else:
        event("accepted")
        assert isinstance(layout, Layout)
        for arrangement in [layout, *(layout.with_preset(name) for name in layout.presets)]:
            for output in arrangement.outputs:
                arrangement.placed_tiles(output.id)
        assert validate_text(text, "fuzz.yaml", env=ENV, source_dir=LAYOUTS).ok
    assert time.monotonic() - started < PARSE_BOUND_S


@FUZZ
@given(st.text(max_size=400))
def test_random_text(text: str) -> None:
    _parses_or_explains(text)


@FUZZ
@given(st.lists(YAML_CHARACTERS, max_size=300).map("".join))
def test_random_yaml_punctuation(text: str) -> None:
    _parses_or_explains(text)


@FUZZ
@given(
    st.sampled_from(SHIPPED),
    st.lists(
        st.tuples(
            st.sampled_from(["delete", "duplicate", "swap", "char", "junk"]),
            st.integers(0, 10_000),
            st.integers(0, 10_000),
            st.text(max_size=12),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_mutated_shipped_layouts(text: str, edits: list[tuple[str, int, int, str]]) -> None:
    lines = text.splitlines()
    for kind, a, b, junk in edits:
        i, j = a % len(lines), b % len(lines)
        if kind == "delete" and len(lines) > 1:
            del lines[i]
        elif kind == "duplicate":
            lines.insert(j, lines[i])
        elif kind == "swap":
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "char" and lines[i]:
            k = b % len(lines[i])
            lines[i] = lines[i][:k] + (junk[:1] or " ") + lines[i][k + 1 :]
        else:
            lines.insert(i, junk)
    _parses_or_explains("\n".join(lines))


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5000), st.floats(), st.text(max_size=8)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
_camera_ids = st.sampled_from(["cam01", "cam02", "cam03", "nope", ""])
_rects = st.one_of(st.none(), st.lists(st.integers(-10, 2000), min_size=3, max_size=5), _values)
_tile_kinds = st.one_of(
    st.fixed_dictionaries({"camera": _camera_ids}),
    st.fixed_dictionaries({"tour": st.lists(_camera_ids, max_size=4)}),
    st.fixed_dictionaries({"clock": st.sampled_from(["%H:%M", "", "%Q", 3])}),
    st.fixed_dictionaries({"text": st.text(max_size=20)}),
    st.fixed_dictionaries(
        {"image": st.one_of(st.sampled_from(["images/logo.png", "", "/", "~x/a"]), st.text())}
    ),
    st.fixed_dictionaries({"clock": st.text(max_size=12)}),
    st.dictionaries(st.sampled_from(["camera", "tour", "clock", "text", "image"]), _values),
)
_tiles = st.lists(
    st.one_of(
        _camera_ids,
        _values,
        st.tuples(
            _tile_kinds,
            st.fixed_dictionaries(
                {},
                optional={
                    "rect": _rects,
                    "fit": st.sampled_from(["crop", "fill", "zoom"]),
                    "label": st.one_of(st.booleans(), _values),
                    "every": st.one_of(st.floats(), st.integers(-1, 5000)),
                },
            ),
        ).map(lambda parts: {**parts[0], **parts[1]}),
    ),
    max_size=5,
)
_grids = st.one_of(st.none(), st.sampled_from(["1x1", "2x2", "3x3", "0x1", "2by2"]), _values)
_output_ids = st.sampled_from(["A1", "A2", "B1", "", "A 1"])


@FUZZ
@given(
    cameras=st.dictionaries(
        _camera_ids,
        st.fixed_dictionaries(
            {
                "url": st.sampled_from(
                    ["rtsp://h/x", "http://h", "", "rtsp://", "rtsp://u:${CAM_PASS}@h"]
                )
            },
            optional={"url_low": st.sampled_from(["rtsp://h/y", "ftp://h", None]), "name": _values},
        ),
        max_size=3,
    ),
    outputs=st.lists(
        st.fixed_dictionaries(
            {
                "id": _output_ids,
                "size": st.one_of(st.sampled_from([[640, 360], [0, 1], [99999, 1]]), _values),
                "grid": _grids,
                "tiles": _tiles,
            }
        ),
        max_size=3,
    ),
    presets=st.dictionaries(
        st.sampled_from(["night", "day", ""]),
        st.fixed_dictionaries(
            {
                "outputs": st.lists(
                    st.fixed_dictionaries(
                        {"id": _output_ids}, optional={"grid": _grids, "tiles": _tiles}
                    ),
                    max_size=2,
                )
            },
            optional={"spans": _values},
        ),
        max_size=2,
    ),
    extra=st.dictionaries(
        st.sampled_from(["wall", "spans", "labels", "bogus"]), _values, max_size=2
    ),
)
def test_random_structured_layouts(
    cameras: dict[str, object],
    outputs: list[object],
    presets: dict[str, object],
    extra: dict[str, object],
) -> None:
    document = {"cameras": cameras, "outputs": outputs, "presets": presets, **extra}
    _parses_or_explains(json.dumps(document, default=str))  # JSON is YAML


# -- layouts valid by construction are accepted, and resolve as written ----------------------

_CAMERAS = ["cam01", "cam02", "cam03"]
_good_tile = st.one_of(
    st.sampled_from(_CAMERAS),
    st.builds(
        lambda c, label: {"camera": c, "label": label},
        st.sampled_from(_CAMERAS),
        st.one_of(
            st.booleans(),
            st.fixed_dictionaries(
                {},
                optional={
                    "show": st.booleans(),
                    "position": st.sampled_from(
                        ["top-left", "top-right", "bottom-left", "bottom-right"]
                    ),
                    "size": st.floats(0.1, 4),
                },
            ),
        ),
    ),
    st.builds(
        lambda t, every: {"tour": t, "every": every},
        st.lists(st.sampled_from(_CAMERAS), min_size=2, max_size=4),
        st.floats(1, 3600),
    ),
    st.builds(lambda f: {"clock": f}, st.sampled_from(["%H:%M", "%H:%M:%S", "%a %d %b"])),
    st.builds(
        lambda t: {"text": t},
        st.text(st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1, max_size=50),
    ),
    st.just({"image": "images/logo.png"}),
)


@st.composite
def _good_output(draw: st.DrawFn, output_id: str) -> dict[str, object]:
    rows, columns = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    tiles = draw(st.lists(_good_tile, max_size=rows * columns))
    return {"id": output_id, "size": [640, 360], "grid": f"{rows}x{columns}", "tiles": tiles}


@st.composite
def _good_layout(draw: st.DrawFn) -> dict[str, object]:
    ids = [f"A{n}" for n in range(1, draw(st.integers(1, 3)) + 1)]
    outputs = [draw(_good_output(i)) for i in ids]
    presets = {
        name: {
            "outputs": [
                {k: v for k, v in draw(_good_output(i)).items() if k != "size"}
                for i in draw(st.sets(st.sampled_from(ids)))
            ]
        }
        for name in draw(st.sets(st.sampled_from(["night", "incident"])))
    }
    return {
        "labels": {"position": draw(st.sampled_from(["top-left", "bottom-right"]))},
        "cameras": {
            c: {"url": f"rtsp://u:${{CAM_PASS}}@h/{c}", "url_low": f"rtsp://h/{c}/sub"}
            for c in _CAMERAS
        },
        "outputs": outputs,
        "presets": presets,
    }


@settings(max_examples=100, deadline=None, database=None)
@given(_good_layout())
def test_valid_layouts_are_accepted_and_resolve_as_written(document: dict[str, object]) -> None:
    # ensure_ascii=False: YAML has no surrogate pairs; JSON writes U+10000 and up as two.
    layout = parse_layout(
        json.dumps(document, ensure_ascii=False), "good.yaml", env=ENV, source_dir=LAYOUTS
    )
    for name in [None, *layout.presets]:
        arrangement = layout if name is None else layout.with_preset(name)
        for output in arrangement.outputs:
            placed = arrangement.placed_tiles(output.id)
            assert len(placed) == len(output.tiles)
            for tile, config in zip(placed, output.tiles, strict=True):
                assert tile.kind == config.kind and tile.cameras == config.cameras
                assert tile.camera == (config.cameras[0] if config.cameras else "")
                assert (tile.label is not None) <= bool(tile.cameras)
                assert tile.kind != "image" or tile.content == LAYOUTS / "images" / "logo.png"
                assert output.size[0] >= tile.rect.right and output.size[1] >= tile.rect.bottom
