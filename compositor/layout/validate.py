"""``videowall validate``: every error and warning of layout files, without running anything.

Errors make a layout unusable (the wall refuses it); warnings name what is
probably a mistake but harmless to run: a camera defined and never shown, a
grid with empty cells, an output whose monitor is not connected.
"""

from __future__ import annotations

__all__ = ["NO_DISPLAY", "FileReport", "validate_file", "validate_text"]

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from compositor.core.errors import LayoutError, LayoutIssue
from compositor.layout.parse import ParsedLayout, parse_layout_document
from compositor.layout.yaml_reader import read_layout_text


@dataclass
class FileReport:
    """What validation found in one file."""

    source: str
    errors: list[LayoutIssue] = field(default_factory=list)
    warnings: list[LayoutIssue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be checked, and why
    summary: str = ""  # for a good file: what it holds

    @property
    def ok(self) -> bool:
        return not self.errors

    def lines(self) -> list[str]:
        shown = [str(issue) for issue in _folded(self.errors)]
        for issue in self.warnings:
            where = f"{issue.file}:{issue.line}:{issue.col}" if issue.line else issue.file
            shown.append(f"{where}: warning: {issue.message}")
        shown += [f"{self.source}: note: {note}" for note in self.notes]
        if self.ok:
            shown.append(f"{self.source}: ok: {self.summary}")
        return shown


def _folded(issues: list[LayoutIssue]) -> list[LayoutIssue]:
    """One line per distinct message: an unset ${VAR} in 48 URLs is one problem."""
    first: dict[str, LayoutIssue] = {}
    more: dict[str, list[int]] = {}
    for issue in issues:
        if issue.message in first:
            more[issue.message].append(issue.line)
        else:
            first[issue.message] = issue
            more[issue.message] = []
    folded = []
    for message, issue in first.items():
        lines = more[message]
        if lines:
            shown = ", ".join(str(n) for n in lines[:8]) + (", ..." if len(lines) > 8 else "")
            message = f"{message} (also on line(s) {shown}: {len(lines)} more)"
        folded.append(LayoutIssue(issue.file, issue.line, issue.col, message))
    return folded


NO_DISPLAY = "no X display to ask"


def validate_text(
    text: str,
    source: str,
    env: Mapping[str, str] | None = None,
    monitors: Sequence[str] | None = None,
    source_dir: Path | None = None,
    unchecked: str = NO_DISPLAY,
) -> FileReport:
    """Check layout ``text``; ``monitors``: the X server's connector names, in its order
    (None: they could not be asked, ``unchecked`` says why). ``source_dir`` is where
    relative image paths start (default: the current folder).
    """
    report = FileReport(source)
    try:
        # A laptop has no camera secrets: a ${VAR} unset here is a warning, not an error.
        parsed = parse_layout_document(text, source, env, source_dir, unset_variables="allow")
    except LayoutError as exc:
        report.errors = exc.issues
        return report
    report.warnings = [
        LayoutIssue(
            issue.file,
            issue.line,
            issue.col,
            f"environment variable {name} is not set here ({issue.message}): "
            "the wall's host must set it",
        )
        for name, issue in parsed.unset.items()
    ] + _warnings(parsed, monitors)
    if monitors is None:
        report.notes.append(f"monitors not checked: {unchecked}")
    layout = parsed.layout
    tiles = sum(len(layout.placed_tiles(o.id)) for o in layout.outputs)
    report.summary = (
        f"{len(layout.cameras)} cameras, {len(layout.outputs)} outputs, {tiles} tiles"
        + (f", a {layout.wall.rows}x{layout.wall.columns} wall" if layout.wall else "")
    )
    return report


def validate_file(
    path: Path,
    env: Mapping[str, str] | None = None,
    monitors: Sequence[str] | None = None,
    unchecked: str = NO_DISPLAY,
) -> FileReport:
    try:
        text = read_layout_text(path)
    except LayoutError as exc:
        return FileReport(str(path), errors=exc.issues)
    return validate_text(text, str(path), env, monitors, Path(path).absolute().parent, unchecked)


def _warnings(parsed: ParsedLayout, monitors: Sequence[str] | None) -> list[LayoutIssue]:
    layout = parsed.layout
    found: list[LayoutIssue] = []
    # A camera shown only by a tour or a preset is used.
    used = layout.cameras_in_use() | {
        camera for name in layout.presets for camera in layout.with_preset(name).cameras_in_use()
    }
    for camera_id in layout.cameras:
        if camera_id not in used:
            found.append(
                parsed.issue(("cameras", camera_id), f"camera {camera_id!r} is never shown")
            )
    for index, output in enumerate(layout.outputs):
        shape = output.grid_shape
        if shape is not None and 0 < len(output.tiles) < shape[0] * shape[1]:
            empty = shape[0] * shape[1] - len(output.tiles)
            found.append(
                parsed.issue(
                    ("outputs", index, "tiles"),
                    f"grid {output.grid} has {shape[0] * shape[1]} cells but "
                    f"{len(output.tiles)} tiles: {empty} cell(s) stay black",
                )
            )
        if monitors is not None and output.monitor is not None:
            names = list(monitors)
            wanted = output.monitor
            if isinstance(wanted, int) and not 0 <= wanted < len(monitors):
                message = f"monitor index {wanted}: the X server has {len(monitors)} monitors"
            elif isinstance(wanted, str) and wanted not in names:
                message = (
                    f"monitor {wanted!r} is not connected (connected: {', '.join(names) or 'none'})"
                )
            else:
                continue
            found.append(parsed.issue(("outputs", index, "monitor"), message))
    return found
