"""`videowall doctor`: every item, each OK / WARN / FAIL with what to do."""

from __future__ import annotations

import subprocess
from pathlib import Path

from compositor.doctor.findings import Finding, Level, exit_code
from compositor.doctor.host import (
    clock_state,
    parse_refresh_rates,
    shm_findings,
    slot_bytes,
    state_folder_findings,
)

XRANDR_QUERY = """Screen 0: minimum 8 x 8, current 960 x 270, maximum 32767 x 32767
DUMMY0 connected primary 480x270+0+0 0mm x 0mm
   480x270       59.98*+
   1920x1080     60.00 +  50.00
DUMMY1 connected 480x270+480+0 0mm x 0mm
   480x270       24.00*
DUMMY2 disconnected
   1920x1080     60.00
"""


def test_refresh_rates_are_read_from_the_current_mode() -> None:
    assert parse_refresh_rates(XRANDR_QUERY) == {"DUMMY0": 59.98, "DUMMY1": 24.0}


def _answer(stdout: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess([], code, stdout, "")


def test_the_clock_is_asked_of_timedatectl_then_timesyncd_then_chrony_then_the_kernel(
    tmp_path: Path,
) -> None:
    said = {"timedatectl": _answer("no\n")}
    state = clock_state(lambda cmd: said.get(cmd[0]), tmp_path)
    assert (state.synchronised, state.source) == (False, "timedatectl")
    (tmp_path / "synchronized").touch()  # timesyncd's flag file
    state = clock_state(lambda cmd: None, tmp_path)
    assert (state.synchronised, state.source) == (True, "systemd-timesyncd")
    chrony = {"chronyc": _answer("Reference ID : 1\nLeap status     : Not synchronised\n")}
    state = clock_state(lambda cmd: chrony.get(cmd[0]), tmp_path / "none")
    assert (state.synchronised, state.source) == (False, "chrony")
    # Nothing answers: the kernel's own NTP state (adjtimex), never a guess.
    state = clock_state(lambda cmd: None, tmp_path / "none")
    assert state.source in ("the kernel's NTP state (adjtimex)", "nothing here could tell")


def test_shared_memory_is_weighed_against_the_slots() -> None:
    assert slot_bytes([(960, 540)], cameras=1) == 64 + 2 * 960 * 540 * 3 // 2 + 224 * 1024
    assert slot_bytes([(321, 181)], cameras=1) == 64 + 2 * (322 * 182 * 3 // 2) + 224 * 1024
    (ok,) = shm_findings(1)
    assert ok.level is Level.OK
    (fail,) = shm_findings(1 << 50)
    assert fail.level is Level.FAIL and "remount" in fail.fix


def test_the_state_folder_must_be_private_and_writable(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    (missing,) = state_folder_findings(folder)
    assert missing.level is Level.OK and "not there yet" in missing.detail
    folder.mkdir(mode=0o700)
    (fine,) = state_folder_findings(folder)
    assert fine.level is Level.OK and "0700" in fine.detail
    folder.chmod(0o755)
    (open_to_all,) = state_folder_findings(folder)
    assert open_to_all.level is Level.WARN and open_to_all.fix == f"chmod 0700 {folder}"


def test_the_exit_status_is_the_worst_line() -> None:
    def one(level: Level) -> Finding:
        return Finding("x", level, "")

    assert exit_code([]) == 0
    assert exit_code([one(Level.OK), one(Level.WARN)]) == 1
    assert exit_code([one(Level.WARN), one(Level.FAIL), one(Level.OK)]) == 2
