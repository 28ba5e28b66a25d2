"""When the render loop counts as starved: pure logic, times injected."""

from __future__ import annotations

from compositor.core.pacing import WARM_UP_S, WINDOW_S, StarvedLoop


def _run(loop: StarvedLoop, start: float, seconds: float, rate: float) -> list[float]:
    """Ticks at ``rate`` for ``seconds``; the times the loop said it was starved."""
    fired = []
    ticks = int(seconds * rate)
    for n in range(ticks):
        now = start + n / rate
        if loop.observe(now):
            fired.append(now)
    return fired


def test_a_loop_at_its_rate_is_not_starved() -> None:
    loop = StarvedLoop(fps=60, started_at=0.0)
    assert _run(loop, 0.0, 30.0, 58.0) == []
    assert 57 < loop.rate < 59


def test_under_half_its_rate_for_a_window_fires_once() -> None:
    loop = StarvedLoop(fps=60, started_at=0.0)
    assert _run(loop, 0.0, 10.0, 60.0) == []
    fired = _run(loop, 10.0, 20.0, 6.0)
    assert len(fired) == 1 and fired[0] <= 10.0 + 2 * WINDOW_S + 0.5
    assert loop.fired and loop.rate < 7
    assert _run(loop, 30.0, 20.0, 6.0) == []  # once: the decoders are lowered for good


def test_a_slow_start_is_not_a_verdict() -> None:
    loop = StarvedLoop(fps=25, started_at=0.0)
    assert _run(loop, 0.0, WARM_UP_S, 2.0) == []
    assert _run(loop, WARM_UP_S, 10.0, 24.0) == []


def test_one_long_stall_is_not_starvation() -> None:
    """A stall of seconds (a picture decoded on the loop, a disk that held a write, a
    swap-in), then the loop at its rate again: decoders at a lower priority for good
    would not have helped."""
    for stall in (1.2, 3.0, 10.0, 60.0):
        loop = StarvedLoop(fps=25, started_at=0.0)
        assert _run(loop, 0.0, 10.0, 25.0) == []
        assert _run(loop, 10.0 + stall, 20.0, 25.0) == [], stall
        assert not loop.fired


def test_stalls_window_after_window_are_starvation() -> None:
    loop = StarvedLoop(fps=25, started_at=0.0)
    assert _run(loop, 0.0, 10.0, 25.0) == []
    fired = []
    for n in range(6):  # 1.5 s without a tick, then half a second at the rate
        start = 10.0 + 2.0 * n + 1.5
        fired += _run(loop, start, 0.5, 25.0)
    assert len(fired) == 1 and fired[0] < 10.0 + 3 * WINDOW_S + 1.0


def test_a_starved_loop_is_found_even_with_a_stall_among_its_ticks() -> None:
    """Starved, a loop's ticks are all late (measured: 2-14 of 60 a second, the longest
    gap 0.2-0.7 s): without its longest gap a window is as starved as with it."""
    loop = StarvedLoop(fps=60, started_at=0.0)
    assert _run(loop, 0.0, 10.0, 60.0) == []
    fired = _run(loop, 11.0, 4.0, 6.0)  # a second's stall, then starved
    assert len(fired) == 1 and fired[0] < 11.0 + WINDOW_S + 0.5


def test_a_restart_leaves_a_stall_of_the_loop_s_own_out() -> None:
    """Applying a layout is the wall's own work: the window starts again after it, even
    when it happens window after window (an operator going through presets)."""
    loop = StarvedLoop(fps=25, started_at=0.0)
    assert _run(loop, 0.0, 10.0, 25.0) == []
    for n in range(6):
        applied = 10.0 + 2.0 * n + 1.5  # the tick that applied a layout ended 1.5 s late
        loop.restart(applied)
        assert _run(loop, applied + 0.04, 0.46, 25.0) == []
    assert not loop.fired
    early = StarvedLoop(fps=25, started_at=0.0)
    early.restart(1.0)  # in the warm-up: no window yet
    assert _run(early, WARM_UP_S, 10.0, 24.0) == []
    assert early.rate > 23
