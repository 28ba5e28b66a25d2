from compositor.compose.health import assess, format_duration
from compositor.core.clock import ManualClock
from compositor.slots import CameraState, CameraStatus
from compositor.sources.backoff import Backoff


def status(
    state: CameraState,
    since: float,
    last_frame_at: float = 0.0,
    reason: str = "",
    attempts: int = 1,
    interval: float = 0.04,
    lag: float = 0.0,
) -> CameraStatus:
    frames = 10 if last_frame_at else 0
    return CameraStatus(
        state, since, last_frame_at, frames, interval, attempts, (640, 360), reason, lag=lag
    )


def test_live_camera_has_no_notice() -> None:
    clock = ManualClock()
    health = assess(
        "North",
        status(CameraState.LIVE, clock.now(), clock.now() - 0.5),
        clock.now(),
        clock.wall_time(),
    )
    assert health.state == "live" and health.notice is None


def test_no_new_frame_for_two_seconds_is_a_stall_with_dimmed_picture() -> None:
    clock = ManualClock()
    last = clock.now()
    clock.advance(42.0)
    health = assess(
        "Concorde North", status(CameraState.LIVE, last - 60, last), clock.now(), clock.wall_time()
    )
    assert health.state == "stalled"
    assert health.notice is not None and health.notice.dim
    assert health.notice.lines[0] == "NO SIGNAL · Concorde North"
    assert health.notice.lines[1].endswith("(0:42)")


def test_never_connected_camera_shows_its_name_and_reason() -> None:
    clock = ManualClock()
    health = assess(
        "Bastille",
        status(CameraState.RETRYING, clock.now(), reason="connection refused"),
        clock.now(),
        clock.wall_time(),
    )
    assert health.state == "retrying"
    assert health.notice is not None and not health.notice.dim
    assert health.notice.lines[:2] == ("Bastille", "connection refused")


def test_connecting_is_informational_until_an_attempt_failed() -> None:
    clock = ManualClock()
    first = assess("x", status(CameraState.CONNECTING, clock.now()), clock.now(), clock.wall_time())
    assert first.notice is not None and first.notice.severity == "info"
    again = assess(
        "x",
        status(CameraState.CONNECTING, clock.now(), reason="timeout", attempts=3),
        clock.now(),
        clock.wall_time(),
    )
    assert again.notice is not None and again.notice.severity == "error"


def test_format_duration() -> None:
    assert format_duration(42) == "0:42"
    assert format_duration(3723) == "1:02:03"


def test_backoff_doubles_to_the_cap_and_resets_after_a_stable_connection() -> None:
    backoff = Backoff(rand=lambda: 0.5)  # no jitter
    assert [backoff.next_delay() for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.next_delay(connected_for=61.0) == 1


def test_backoff_jitter_stays_within_bounds() -> None:
    low = Backoff(rand=lambda: 0.0)
    high = Backoff(rand=lambda: 1.0)
    assert low.next_delay() == 0.8 and high.next_delay() == 1.2


def test_a_one_fps_camera_is_not_stalled_between_frames() -> None:
    clock = ManualClock()
    last = clock.now()
    clock.advance(2.5)
    slow = assess(
        "x", status(CameraState.LIVE, last, last, interval=1.5), clock.now(), clock.wall_time()
    )
    assert slow.state == "live"
    clock.advance(1.0)  # 3.5 s > 2 intervals of 1.5 s
    slow = assess(
        "x", status(CameraState.LIVE, last, last, interval=1.5), clock.now(), clock.wall_time()
    )
    assert slow.state == "stalled"


def test_capture_clock_sees_a_late_flushed_frame_as_old() -> None:
    from compositor.sources.timing import CaptureClock

    clock = CaptureClock()
    assert clock.capture_time(None, 100.0) == 100.0
    for i in range(10):  # 10 fps, arriving 30 ms after capture
        assert abs(clock.capture_time(i * 0.1, 100.03 + i * 0.1) - (100.03 + i * 0.1)) < 1e-9
    # The camera freezes; FFmpeg flushes the next frame 5 s later: it is 5 s old.
    taken = clock.capture_time(1.0, 106.0)
    assert abs(taken - 101.03) < 0.01


def test_capture_clock_starts_again_when_the_cameras_timestamps_jump_back() -> None:
    from compositor.sources.timing import CaptureClock

    clock = CaptureClock()
    for i in range(30):
        clock.capture_time(3600 + i * 0.1, 100.03 + i * 0.1)
    # The camera's clock is set back 10 s: its next frame is new, not 10 s old.
    assert abs(clock.capture_time(3593.0, 103.03) - 103.03) < 1e-9
    assert abs(clock.capture_time(3593.1, 103.13) - 103.13) < 1e-9 and clock.restarts == 1


def test_capture_clock_follows_a_slow_camera_clock() -> None:
    from compositor.sources.timing import CaptureClock

    clock = CaptureClock()
    # The camera's clock runs 500 ppm slow: over an hour, frames must not look old.
    for second in range(0, 3600, 1):
        taken = clock.capture_time(second * (1 - 500e-6), 50.0 + second)
    assert 50.0 + 3599 - taken < 0.05


def test_frames_that_still_come_but_old_are_delayed_not_frozen() -> None:
    """A decoder 6 s behind its stream (the host cannot keep up): its newest frame was
    taken 6.1 s ago and decoded 0.1 s ago. The tile says so, over the live picture."""
    clock = ManualClock()
    behind = status(CameraState.LIVE, clock.now() - 60, clock.now() - 6.1, lag=6.0)
    health = assess("North", behind, clock.now(), clock.wall_time())
    assert health.state == "delayed"
    assert health.notice is not None and not health.notice.dim
    assert health.notice.lines == ("DELAYED · North", "pictures over 5 s late: the host is behind")
    # When those frames stop coming too, it is a stall like any other.
    clock.advance(3.0)
    assert assess("North", behind, clock.now(), clock.wall_time()).state == "stalled"


def test_a_delayed_tile_says_how_late_in_steps_not_by_the_second() -> None:
    # Its text (and so its painted band) changes at a step, not each second of a lag
    # that grows: 7, 8 and 9 s late read the same.
    from compositor.compose.health import late_by

    assert late_by(0.4) == "0 s"
    assert [late_by(s) for s in (1.0, 2.5, 7.0, 8.0, 9.9)] == [
        "over 1 s",
        "over 2 s",
        "over 5 s",
        "over 5 s",
        "over 5 s",
    ]
    assert late_by(10.0) == "over 10 s"
    assert late_by(75.0) == "over 1 min" and late_by(400.0) == "over 5 min"
    assert late_by(7200.0) == "over 1 h"
    texts = {late_by(s / 10) for s in range(0, 36000)}  # an hour, tenth by tenth
    assert len(texts) <= 20
