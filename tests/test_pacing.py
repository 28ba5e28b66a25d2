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
