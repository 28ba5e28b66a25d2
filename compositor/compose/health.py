"""From camera status to what its tiles say: live, stalled, connecting, failing.

Pure logic over :class:`CameraStatus` and an injected time, so every rule is
unit-tested with a manual clock.
"""

from __future__ import annotations

__all__ = ["STALL_AFTER_S", "TileHealth", "assess", "format_duration", "late_by"]

import time
from dataclasses import dataclass

from compositor.compose.notice import TileNotice
from compositor.slots import CameraState, CameraStatus

STALL_AFTER_S = 2.0  # no new frame for this long (or 2 frame intervals, if longer) = stalled


def format_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


# How late a delayed camera's pictures are said to be: in steps, so that a lag growing by
# the second does not change the tile's text (and repaint its band) every second on
# every tile of every delayed camera: at 40 cameras past the host's limit that took
# most of the render loop (py-spy). The exact lag is in the status and the API.
_LATE_STEPS_S = (1, 2, 3, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 900, 1800, 3600)


def late_by(lag: float) -> str:
    """``lag`` seconds as a tile says it: the largest step it has passed ("over 5 s")."""
    step = max([s for s in _LATE_STEPS_S if s <= lag], default=0)
    if step == 0:
        return f"{max(0.0, lag):.0f} s"
    if step < 60:
        return f"over {step} s"
    if step < 3600:
        return f"over {step // 60} min"
    return "over 1 h"


def _clock_time(wall: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(wall))


@dataclass(frozen=True, slots=True)
class TileHealth:
    state: str  # "live", "delayed", "stalled", "connecting", "retrying", "stopped"
    notice: TileNotice | None


def assess(
    name: str,
    status: CameraStatus,
    now: float,
    wall_now: float,
    stall_after: float = STALL_AFTER_S,
) -> TileHealth:
    """What a tile of camera ``name`` should say, given its decoder's ``status``."""
    had_picture = status.last_frame_at > 0
    # A 1 fps camera is not stalled between its frames: wait two of its intervals.
    stall_after = max(stall_after, 2 * status.interval)
    if status.state is CameraState.LIVE and now - status.last_frame_at < stall_after:
        return TileHealth("live", None)
    # Frames still come, but old: the decoder is behind (the host cannot keep up), the
    # camera is not frozen. Its arrival is its capture plus the decoder's lag.
    if status.state is CameraState.LIVE and now - status.last_frame_at - status.lag < stall_after:
        late = (f"DELAYED · {name}", f"pictures {late_by(status.lag)} late: the host is behind")
        return TileHealth("delayed", TileNotice(late, dim=False))

    def since(moment: float) -> str:
        wall = wall_now - (now - moment)
        return f"since {_clock_time(wall)} ({format_duration(now - moment)})"

    if had_picture:
        # Keep the last picture, dimmed, and say how long it has been frozen.
        head = f"NO SIGNAL · {name}"
        lines = [head, since(status.last_frame_at)]
        if status.state is CameraState.RETRYING and status.reason:
            lines.append(status.reason)
        elif status.state is CameraState.CONNECTING:
            lines.append("reconnecting…")
        state = "stalled" if status.state is CameraState.LIVE else status.state.name.lower()
        return TileHealth(state, TileNotice(tuple(lines), dim=True))
    if status.state is CameraState.RETRYING:
        lines = [name, status.reason or "failed", f"{since(status.since)} · retrying"]
        return TileHealth("retrying", TileNotice(tuple(lines), dim=False))
    if status.state is CameraState.STOPPED:
        return TileHealth("stopped", TileNotice((name, "stopped"), dim=False, severity="info"))
    lines = [name, "connecting…"]
    if status.attempts > 1 and status.reason:
        lines.append(f"last attempt: {status.reason}")
        return TileHealth("connecting", TileNotice(tuple(lines), dim=False))
    return TileHealth("connecting", TileNotice(tuple(lines), dim=False, severity="info"))
