"""The degrade order when the host cannot keep up: pure logic, times injected."""

from __future__ import annotations

from compositor.sources.budget import (
    HOLD_S,
    RECOVER_S,
    WINDOW_S,
    DecodeBudget,
    DecodePolicy,
    SkipTier,
    deblocking_skip,
    skip_tier,
)

INTERVAL = 0.04  # 25 fps
LONG_ENOUGH = HOLD_S + 3 * WINDOW_S + 0.1  # lag held this long is acted on


def _feed(budget: DecodeBudget, start: float, seconds: float, lag: float, tier: SkipTier) -> bool:
    """One observation per frame for ``seconds``; the last answer."""
    skipping = budget.skipping
    frames = int(seconds / INTERVAL)
    for n in range(frames + 1):
        skipping = budget.observe(start + n * INTERVAL, lag, INTERVAL, tier)
    return skipping


def test_tiers_follow_the_largest_tile() -> None:
    assert skip_tier([(480, 270), (640, 360)]) is SkipTier.SMALL
    assert skip_tier([(480, 270), (960, 540)]) is SkipTier.MEDIUM
    assert skip_tier([(480, 270), (1920, 1080)]) is SkipTier.LARGE
    assert skip_tier([(3840, 2160)]) is SkipTier.LARGE


def test_small_tiles_give_up_frames_first() -> None:
    """At a lag of 3 frame intervals only cameras on small tiles skip; at 5, medium too."""
    for lag_frames, expected in (
        (3, {SkipTier.SMALL}),
        (5, {SkipTier.SMALL, SkipTier.MEDIUM}),
        (9, {SkipTier.SMALL, SkipTier.MEDIUM, SkipTier.LARGE}),
    ):
        skipping = {
            tier
            for tier in SkipTier
            if _feed(DecodeBudget(), 0.0, LONG_ENOUGH, lag_frames * INTERVAL, tier)
        }
        assert skipping == expected, lag_frames


def test_a_short_burst_of_lag_is_not_enough() -> None:
    budget = DecodeBudget()
    assert not _feed(budget, 0.0, HOLD_S * 0.5, 10 * INTERVAL, SkipTier.SMALL)
    assert not _feed(budget, HOLD_S * 0.5, 2.0, 0.0, SkipTier.SMALL)  # caught up: starts over
    assert not _feed(budget, 3.0, HOLD_S * 0.5, 10 * INTERVAL, SkipTier.SMALL)


def test_recovers_after_a_calm_while_and_waits_longer_after_a_relapse() -> None:
    budget = DecodeBudget()
    assert _feed(budget, 0.0, LONG_ENOUGH, 10 * INTERVAL, SkipTier.SMALL)
    # Caught up, but not for long enough yet.
    assert _feed(budget, 2.0, RECOVER_S - 1, 0.0, SkipTier.SMALL)
    assert not _feed(budget, 2.0 + RECOVER_S - 1, 2.0, 0.0, SkipTier.SMALL)
    recovered = 2.0 + RECOVER_S + 1
    # Behind again soon after: skipping again, and the next recovery waits twice as long.
    assert _feed(budget, recovered + 5, LONG_ENOUGH, 10 * INTERVAL, SkipTier.SMALL)
    calm = recovered + 5 + HOLD_S + 0.2
    assert _feed(budget, calm, RECOVER_S * 1.5, 0.0, SkipTier.SMALL)
    assert not _feed(budget, calm + RECOVER_S * 1.5, RECOVER_S, 0.0, SkipTier.SMALL)


def test_lag_between_the_limits_keeps_the_current_decision() -> None:
    """Between 1 and 2 intervals: a skipping camera keeps skipping, a full one stays full."""
    budget = DecodeBudget()
    assert not _feed(budget, 0.0, 5.0, 1.5 * INTERVAL, SkipTier.SMALL)
    assert _feed(budget, 5.0, LONG_ENOUGH, 3 * INTERVAL, SkipTier.SMALL)
    assert _feed(budget, 7.0, RECOVER_S * 3, 1.5 * INTERVAL, SkipTier.SMALL)


def test_frames_reordered_late_are_not_a_host_behind() -> None:
    """B-frame reordering makes every other frame look 5 intervals late; the least lag
    of each window is what counts."""
    budget = DecodeBudget()
    for n in range(500):
        lag = 5 * INTERVAL if n % 3 else 0.0
        assert not budget.observe(n * INTERVAL, lag, INTERVAL, SkipTier.SMALL)


def test_disabled_never_skips() -> None:
    assert not _feed(DecodeBudget(enabled=False), 0.0, 5.0, 50 * INTERVAL, SkipTier.SMALL)


def test_unknown_interval_uses_25_fps() -> None:
    budget = DecodeBudget()
    for n in range(60):
        budget.observe(n * INTERVAL, 3 * INTERVAL, 0.0, SkipTier.SMALL)
    assert budget.skipping


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
