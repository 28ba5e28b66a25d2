"""The degrade rule when the host cannot keep up: pure logic, times injected.

Each test feeds one camera's lag, frame by frame at 25 fps, as a function of
time: what a key-frame burst, a scheduling hiccup, a host at its limit and a
host really too slow do to it. Only a lag that keeps growing may cost frames.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from compositor.sources.budget import (
    GROWING_S,
    LAG_LIMIT_FRAMES,
    MAX_RECOVER_S,
    RECOVER_S,
    SECOND_S,
    DecodeBudget,
    DecodePolicy,
    SkipLevel,
    SkipTier,
    deblocking_skip,
    skip_tier,
)

INTERVAL = 0.04  # 25 fps
Lag = Callable[[float], float | None]  # seconds -> lag, or None: no frame comes out then


def _run(
    budget: DecodeBudget,
    lag: Lag,
    start: float,
    seconds: float,
    tier: SkipTier = SkipTier.SMALL,
    every: float = INTERVAL,
) -> list[tuple[float, SkipLevel]]:
    """One observation per frame from ``start`` for ``seconds``; each change of level."""
    changes = []
    for n in range(round(seconds / every)):
        t = start + n * every
        value = lag(t)
        if value is None:
            continue
        before = budget.level
        if budget.observe(t, value, INTERVAL, tier) != before:
            changes.append((round(t, 2), budget.level))
    return changes


def _constant(value: float) -> Lag:
    return lambda t: value


def _growing(rate: float, since: float = 0.0, until: float = float("inf")) -> Lag:
    """A decoder slower than real time: its lag grows by ``rate`` seconds a second."""
    return lambda t: rate * (min(t, until) - since) if t > since else 0.0


def _bursts(peak: float, lasting: float, period: float = 2.0) -> Lag:
    """Key frames of cameras started together: every GOP the lag jumps to ``peak`` and
    falls back to nothing over ``lasting`` seconds (the decoder working the burst off)."""

    def lag(t: float) -> float:
        phase = t % period
        return peak * (1 - phase / lasting) if phase < lasting else 0.0

    return lag


def _skips(budget: DecodeBudget, lag: Lag, seconds: float, tier: SkipTier) -> bool:
    return bool(_run(budget, lag, 0.0, seconds, tier)) or budget.skipping


def test_tiers_follow_the_largest_tile() -> None:
    assert skip_tier([(480, 270), (640, 360)]) is SkipTier.SMALL
    assert skip_tier([(480, 270), (960, 540)]) is SkipTier.MEDIUM
    assert skip_tier([(480, 270), (1920, 1080)]) is SkipTier.LARGE
    assert skip_tier([(3840, 2160)]) is SkipTier.LARGE


def test_a_host_keeping_up_never_skips() -> None:
    budget = DecodeBudget()
    assert _run(budget, _constant(0.0), 0.0, 600.0) == []
    assert budget.level is SkipLevel.EVERY_FRAME


def test_key_frame_bursts_never_cost_frames() -> None:
    """Cameras started together spike together every GOP (2 s): a lag of 10 intervals
    for a moment, or worked off over most of the GOP on a host near its limit."""
    for peak, lasting in ((10 * INTERVAL, 0.3), (10 * INTERVAL, 1.9), (0.5, 1.99)):
        for tier in SkipTier:
            budget = DecodeBudget()
            assert _run(budget, _bursts(peak, lasting), 0.0, 600.0, tier) == [], (peak, lasting)


def test_bursts_with_a_gop_that_is_not_whole_seconds() -> None:
    # 1.6 s and 3.2 s GOPs (40 and 80 frames): bursts drift through the seconds.
    for period in (1.6, 3.2, 10.0):
        budget = DecodeBudget()
        assert _run(budget, _bursts(8 * INTERVAL, 1.2, period), 0.0, 600.0) == [], period


def test_jitter_is_not_growth() -> None:
    """Every frame a random lag of up to 4 intervals (a busy host's scheduling)."""
    chance = random.Random(18)
    budget = DecodeBudget()
    assert _run(budget, lambda t: chance.uniform(0, 4 * INTERVAL), 0.0, 600.0) == []


def test_a_hiccup_that_is_caught_up_costs_nothing() -> None:
    """Another program takes the CPU: no frame for 3 s, then the backlog comes out and is
    worked off, quickly or slowly (a host with 5 % to spare takes a minute)."""
    for catch_up in (1.0, 0.2, 0.05):

        def lag(t: float, catch_up: float = catch_up) -> float | None:
            if 10.0 <= t < 13.0:
                return None  # stalled: nothing decoded
            if t >= 13.0:
                return max(0.0, 3.0 - catch_up * (t - 13.0))
            return 0.0

        budget = DecodeBudget()
        assert _run(budget, lag, 0.0, 120.0) == [], catch_up


def test_a_partial_hiccup_that_is_caught_up_costs_nothing() -> None:
    """The decoder gets half the CPU it needs for 3 s (the lag grows at 0.5 s a second
    for less than GROWING_S seconds), then catches up."""
    assert GROWING_S > 3

    def lag(t: float) -> float:
        if t < 10.0:
            return 0.0
        if t < 13.0:
            return 0.5 * (t - 10.0)
        return max(0.0, 1.5 - 0.3 * (t - 13.0))

    assert _run(DecodeBudget(), lag, 0.0, 60.0) == []


def test_a_decoder_slower_than_real_time_skips_within_seconds() -> None:
    """10 % and 1 % too slow: small tiles skip a few seconds after the lag passes their
    limit, at a lag well under a second."""
    for rate, within in ((0.1, 1.0 + GROWING_S + 2), (0.01, 8.0 + GROWING_S + 2)):
        budget = DecodeBudget()
        changes = _run(budget, _growing(rate), 0.0, 60.0)
        assert changes and changes[0][1] is SkipLevel.REFERENCE_FRAMES, rate
        assert changes[0][0] <= within, (rate, changes)
        assert rate * changes[0][0] < 0.8


def test_slower_than_real_time_through_bursts_and_jitter() -> None:
    chance = random.Random(7)
    bursts = _bursts(6 * INTERVAL, 0.3)
    budget = DecodeBudget()
    changes = _run(budget, lambda t: 0.05 * t + bursts(t) + chance.uniform(0, INTERVAL), 0, 30)
    assert changes and changes[0][0] < 10.0, changes


def test_small_tiles_give_up_frames_first() -> None:
    """A lag that grew to 3 intervals and stays: only cameras on small tiles skip; one
    that grew to 5: medium too; past 8: every tier."""
    for lag_frames, expected in (
        (3, {SkipTier.SMALL}),
        (5, {SkipTier.SMALL, SkipTier.MEDIUM}),
        (9, {SkipTier.SMALL, SkipTier.MEDIUM, SkipTier.LARGE}),
    ):
        rate = lag_frames * INTERVAL / (GROWING_S + 2)  # the limit is reached growing
        skipping = {
            tier
            for tier in SkipTier
            if _skips(DecodeBudget(), _growing(rate, until=GROWING_S + 2), 30.0, tier)
        }
        assert skipping == expected, lag_frames


def test_a_high_lag_that_does_not_grow_is_not_acted_on() -> None:
    """A clock offset or a backlog the decoder neither grows nor catches up: frames are
    late but every one is shown; skipping is for a host that falls further behind."""
    assert not _skips(DecodeBudget(), _constant(20 * INTERVAL), 120.0, SkipTier.SMALL)


def test_recovers_promptly_through_key_frame_bursts() -> None:
    """Once the host has caught up, every frame again after RECOVER_S calm seconds, even
    though bursts go on every GOP (they made the old rule, which wanted every quarter
    second calm for 10 s, keep a camera skipping for good)."""
    budget = DecodeBudget()
    _run(budget, _growing(0.1), 0.0, 10.0)
    assert budget.skipping
    changes = _run(budget, _bursts(5 * INTERVAL, 0.4), 10.0, 30.0)
    assert changes == [(changes[0][0], SkipLevel.EVERY_FRAME)]
    assert changes[0][0] <= 10.0 + RECOVER_S + 2 * SECOND_S


def test_a_relapse_waits_longer_before_the_next_recovery() -> None:
    budget = DecodeBudget()
    _run(budget, _growing(0.1), 0.0, 10.0)
    changes = _run(budget, _constant(0.0), 10.0, 10.0)
    recovered = changes[0][0]
    assert recovered <= 10.0 + RECOVER_S + 1
    # Behind again half a minute later: skipping again, and the calm wait doubles.
    changes = _run(budget, _growing(0.1, since=40.0), 40.0, 10.0)
    assert changes[0][1] is SkipLevel.REFERENCE_FRAMES
    skipping_from = changes[0][0]
    changes = _run(budget, _constant(0.0), 50.0, 30.0)
    assert changes[0][1] is SkipLevel.EVERY_FRAME
    assert changes[0][0] - 50.0 >= 2 * RECOVER_S - 1, (skipping_from, changes)
    assert changes[0][0] - 50.0 <= 2 * RECOVER_S + 1


def test_the_recovery_wait_is_bounded() -> None:
    budget = DecodeBudget()
    t = 0.0
    for _ in range(12):  # relapse after relapse, each soon after the last recovery
        _run(budget, _growing(0.2, since=t), t, 8.0)
        assert budget.skipping
        t += 8.0
        wait = _run(budget, _constant(0.0), t, MAX_RECOVER_S + 5)
        assert wait, "never recovered"
        t = wait[0][0] + 1.0
    assert wait[0][0] - (t - 1.0) <= MAX_RECOVER_S + 5


def test_lag_between_the_limits_keeps_the_current_decision() -> None:
    """Between 1 and 2 intervals and steady: a skipping camera keeps skipping (not calm),
    one decoding every frame keeps doing so (not past its limit)."""
    budget = DecodeBudget()
    assert not _skips(budget, _constant(1.5 * INTERVAL), 30.0, SkipTier.SMALL)
    _run(budget, _growing(0.1, since=30.0), 30.0, 10.0)
    assert budget.skipping
    assert _run(budget, _constant(1.5 * INTERVAL), 40.0, 60.0) == []
    assert budget.skipping


def test_frames_reordered_late_are_not_a_host_behind() -> None:
    """B-frame reordering makes two frames of three look 5 intervals late; the least lag
    of each second is what counts."""
    budget = DecodeBudget()
    for n in range(5000):
        lag = 5 * INTERVAL if n % 3 else 0.0
        assert not budget.observe(n * INTERVAL, lag, INTERVAL, SkipTier.SMALL)


def test_a_reconnect_starts_the_judgement_again() -> None:
    budget = DecodeBudget()
    _run(budget, _growing(0.05), 0.0, GROWING_S - 0.5)
    budget.reset()  # a new connection: its first seconds are no trend with the old ones
    assert _run(budget, _growing(0.05, since=GROWING_S), GROWING_S, GROWING_S - 0.5) == []


def test_disabled_never_skips_but_measures() -> None:
    budget = DecodeBudget(enabled=False)
    assert not _skips(budget, _growing(0.5), 30.0, SkipTier.SMALL)
    assert budget.lag > 10.0


def test_unknown_interval_uses_25_fps() -> None:
    budget = DecodeBudget()
    for n in range(400):
        budget.observe(n * INTERVAL, 0.1 * n * INTERVAL, 0.0, SkipTier.SMALL)
    assert budget.skipping


def test_the_limits_keep_the_order_of_the_tiers() -> None:
    assert (
        LAG_LIMIT_FRAMES[SkipTier.SMALL]
        < LAG_LIMIT_FRAMES[SkipTier.MEDIUM]
        < LAG_LIMIT_FRAMES[SkipTier.LARGE]
    )


def test_b_frames_skip_deblocking_below_full_screens_unless_told_not_to() -> None:
    light, full = DecodePolicy(), DecodePolicy(light_deblocking=False)
    assert deblocking_skip(light, SkipTier.SMALL) == "bidir"
    assert deblocking_skip(light, SkipTier.MEDIUM) == "bidir"
    assert deblocking_skip(light, SkipTier.LARGE) == "default"
    assert all(deblocking_skip(full, tier) == "default" for tier in SkipTier)


def test_the_command_line_switches_each_saving_off() -> None:
    from compositor.cli import _options, build_parser

    default = _options(build_parser().parse_args(["run", "wall.yaml"]))
    assert default.degrade and default.light_deblocking
    off = _options(
        build_parser().parse_args(["run", "wall.yaml", "--no-degrade", "--full-deblocking"])
    )
    assert not off.degrade and not off.light_deblocking
