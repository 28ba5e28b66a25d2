"""Logs that fit the journal: priority prefixes under $JOURNAL_STREAM, levels, JSON."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from compositor.core.logs import LogSetup, configure_logging, journal_priority, stream_is_journal


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_levels_map_to_syslog_priorities() -> None:
    assert [journal_priority(level) for level in (50, 40, 30, 20, 10)] == [2, 3, 4, 6, 7]


def test_the_journal_is_known_by_the_device_and_inode_of_stderr(tmp_path: Path) -> None:
    with (tmp_path / "stream").open("w") as stream:
        status = os.fstat(stream.fileno())
        mine = f"{status.st_dev}:{status.st_ino}"
        assert stream_is_journal(stream, {"JOURNAL_STREAM": mine})
        # Inherited by a process whose stderr went elsewhere: not the journal.
        assert not stream_is_journal(stream, {"JOURNAL_STREAM": f"{status.st_dev}:1"})
        assert not stream_is_journal(stream, {"JOURNAL_STREAM": "junk"})
        assert not stream_is_journal(stream, {})
    assert not stream_is_journal(io.StringIO(), {"JOURNAL_STREAM": mine})  # no descriptor


def test_under_the_journal_every_line_of_an_error_carries_its_priority(
    restore_logging: None,
) -> None:
    out = io.StringIO()
    configure_logging(LogSetup(logging.INFO, "text", journal=True), stream=out)
    log = logging.getLogger("compositor.live.reload")
    log.error("layout room.yaml refused:\n  room.yaml:9:18: unknown camera 'gren'")
    log.warning("camera cam03 (Bastille): retrying (connection refused)")
    log.info("wall started")
    log.debug("not shown at info")
    assert out.getvalue().splitlines() == [
        "<3>ERROR compositor.live.reload: layout room.yaml refused:",
        "<3>  room.yaml:9:18: unknown camera 'gren'",
        "<4>WARNING compositor.live.reload: camera cam03 (Bastille): retrying (connection refused)",
        "<6>INFO compositor.live.reload: wall started",
    ]


def test_off_the_journal_lines_carry_their_time_and_no_prefix(restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging(LogSetup(logging.WARNING, "text"), stream=out)
    logging.getLogger("x").info("hidden")
    logging.getLogger("x").warning("shown")
    (line,) = out.getvalue().splitlines()
    assert line.endswith(" WARNING x: shown") and line[:4].isdigit()


def test_json_is_one_object_a_line_with_the_journal_prefix_outside(restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging(LogSetup(logging.DEBUG, "json", journal=True), stream=out)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("compositor.app").exception("two\nlines")
    (line,) = out.getvalue().splitlines()
    assert line.startswith("<3>{")
    entry = json.loads(line[3:])
    assert entry["level"] == "ERROR" and entry["message"] == "two\nlines"
    assert entry["logger"] == "compositor.app" and entry["process"] == "wall"
    assert "ValueError: boom" in entry["exception"] and entry["pid"] == os.getpid()
    assert entry["time"][:4].isdigit() and entry["time"][19] == "."
