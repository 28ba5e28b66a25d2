"""Property and fuzz tests: no layout text, however broken, escapes as anything but
a located LayoutError (never another exception, a hang or a memory blow-up)."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compositor.errors import LayoutError
from compositor.layout import Layout, parse_layout

REPO = Path(__file__).resolve().parent.parent
ENV = {"CAM_USER": "operator", "CAM_PASS": "pw"}
SHIPPED = [(REPO / "layouts" / name).read_text() for name in ("poc-14.yaml", "demo.yaml")]
FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)


def _parses_or_explains(text: str) -> None:
    try:
        layout = parse_layout(text, "fuzz.yaml", env=ENV)
    except LayoutError as exc:
        assert exc.issues
        for issue in exc.issues:
            assert issue.file == "fuzz.yaml" and issue.message
            assert issue.line >= 0 and issue.col >= 0
        return
    assert isinstance(layout, Layout)


@FUZZ
@given(st.text(max_size=400))
def test_random_text(text: str) -> None:
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


@FUZZ
@given(
    cameras=st.dictionaries(
        st.text(max_size=8),
        st.fixed_dictionaries({"url": st.sampled_from(["rtsp://h/x", "http://h", "", "rtsp://"])}),
        max_size=3,
    ),
    outputs=st.lists(
        st.fixed_dictionaries(
            {"id": st.text(max_size=4), "size": _values, "grid": _values, "tiles": _values}
        ),
        max_size=3,
    ),
    extra=st.dictionaries(st.sampled_from(["wall", "spans", "bogus"]), _values, max_size=2),
)
def test_random_structured_layouts(
    cameras: dict[str, object], outputs: list[object], extra: dict[str, object]
) -> None:
    document = {"cameras": cameras, "outputs": outputs, **extra}
    _parses_or_explains(json.dumps(document, default=str))  # JSON is YAML
