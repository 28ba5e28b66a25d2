"""``--host``, ``--broker``, ``--wall``: which outputs this host shows, and how it joins
the others; checked before anything starts."""

from __future__ import annotations

__all__ = ["host_selection", "wall_name"]

import re
from pathlib import Path

from compositor.cluster.address import parse_broker_url
from compositor.cluster.node import CATCH_UP_S, MARGIN_S, ClusterOptions
from compositor.core.errors import CompositorError
from compositor.layout.models import ID_PATTERN, Layout

MAX_MARGIN_S = 5.0  # an order applied later than this after it was taken is no "together"


def wall_name(layout_path: Path, asked: str | None) -> str:
    """The wall's name on the broker: ``--wall``, else the layout file's name without
    ``.yaml`` (every host runs the same file)."""
    name = asked if asked is not None else layout_path.stem
    if not re.match(ID_PATTERN, name):
        raise CompositorError(
            f"the wall's name on the broker is {name!r}: "
            + ("give --wall NAME" if asked is None else "--wall")
            + " with letters, digits, '_', '.', '-' (up to 64; no '/', blank or wildcard)"
        )
    return name


def host_selection(
    layout: Layout,
    layout_path: Path,
    host: str | None,
    outputs: tuple[str, ...],
    broker: str | None,
    wall: str | None = None,
    margin_s: float = MARGIN_S,
    catch_up_s: float = CATCH_UP_S,
) -> tuple[tuple[str, ...], ClusterOptions | None]:
    """The outputs to show and the cluster to join, from the command line's options."""
    if host is None:
        if broker is not None:
            raise CompositorError(
                "--broker needs --host NAME: which of the layout's hosts this one is"
            )
        if wall is not None:
            raise CompositorError("--wall is for a wall over several hosts (with --broker)")
        return outputs, None
    if outputs:
        raise CompositorError(
            "--host and --outputs: choose one (--host shows the outputs the layout's "
            "hosts section gives that host)"
        )
    shown = layout.host_outputs(host)
    if broker is None:
        return shown, None
    if not 0 < margin_s <= MAX_MARGIN_S:
        raise CompositorError(f"--margin-ms: from 1 to {MAX_MARGIN_S * 1e3:g}")
    if catch_up_s < 0:
        raise CompositorError("--catch-up: seconds, 0 or more")
    options = ClusterOptions(
        parse_broker_url(broker), host, wall_name(layout_path, wall), margin_s, catch_up_s
    )
    return shown, options
