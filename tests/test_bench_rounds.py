"""The benchmark's rounds: each runner's median round, and each ratio round by round.

Pure functions of measurements: no server, no runner (the quick bench test runs those).
"""

from __future__ import annotations

from benchmarks.bench import (
    RATIOS,
    Measurement,
    judge,
    judge_where_held,
    median_round,
    most_held_by_all,
    ratio_rounds,
)


def _m(runner: str, cpu: float | None, ok: bool = True) -> Measurement:
    return Measurement(runner, 12, ok=ok, cpu_per_s=cpu, held=ok)


def test_the_median_round_is_kept_whole_with_every_rounds_cpu() -> None:
    rounds = [_m("wall_headless", 1.10), _m("wall_headless", 0.95), _m("wall_headless", 1.02)]
    chosen = median_round(rounds)
    assert chosen is rounds[2]
    assert chosen.details["cpu_per_s_rounds"] == [1.10, 0.95, 1.02]


def test_failed_rounds_are_left_out_and_an_even_count_takes_the_lower_middle() -> None:
    rounds = [
        _m("opencv", None, ok=False),
        _m("opencv", 1.4),
        _m("opencv", 1.2),
        _m("opencv", 1.3),
        _m("opencv", 1.5),
    ]
    chosen = median_round(rounds)
    assert chosen.cpu_per_s == 1.3
    assert chosen.details["cpu_per_s_rounds"] == [None, 1.4, 1.2, 1.3, 1.5]


def test_a_runner_that_failed_every_round_reports_its_first_failure() -> None:
    first, second = _m("ffmpeg_xstack", None, ok=False), _m("ffmpeg_xstack", None, ok=False)
    assert median_round([first, second]) is first


def test_one_round_is_left_as_measured() -> None:
    only = _m("decode_floor", 0.86)
    assert median_round([only]) is only
    assert "cpu_per_s_rounds" not in only.details


def test_ratios_round_by_round_pair_runners_of_the_same_round() -> None:
    rounds = {
        "decode_floor": [_m("decode_floor", 0.80), _m("decode_floor", 1.00)],
        "wall_headless": [_m("wall_headless", 0.92), _m("wall_headless", 1.10)],
        "ffmpeg_xstack": [_m("ffmpeg_xstack", None, ok=False), _m("ffmpeg_xstack", 1.32)],
    }
    found = ratio_rounds(rounds, RATIOS)
    assert found["wall_over_decode_floor"] == [1.15, 1.1]
    assert found["ffmpeg_over_wall"] == [None, 1.2]
    assert "opencv_over_wall" not in found  # not measured


def test_verdicts_carry_the_rounds_only_when_there_were_several() -> None:
    figures = {"decode_floor": _m("decode_floor", 1.0), "wall_headless": _m("wall_headless", 1.1)}
    tables = {"ratios": {"wall_over_decode_floor": 1.1}}
    spread = {"ratios": {"wall_over_decode_floor": [1.12, 1.1, 1.16]}}
    verdict = judge(figures, tables, spread)[0]
    assert verdict["target"] == "main streams: wall / decode floor <= 1.1"
    assert verdict["pass"] is True
    assert verdict["rounds"] == [1.12, 1.1, 1.16]
    once = {"ratios": {"wall_over_decode_floor": [1.1]}}
    assert "rounds" not in judge(figures, tables, once)[0]


def _verdict(verdicts: list[dict[str, object]], starts: str) -> dict[str, object]:
    return next(v for v in verdicts if str(v["target"]).startswith(starts))


def test_every_target_is_judged_on_its_own_table() -> None:
    tables = {
        "ratios": {
            "wall_over_decode_floor": 1.12,
            "ffmpeg_over_wall": 1.2,
            "opencv_over_wall": 1.3,
        },
        "substream_ratios": {"wall_over_floor": 1.15, "ffmpeg_over_wall": 1.05},
    }
    verdicts = judge({}, tables)
    assert [v["pass"] for v in verdicts] == [False, True, True, True, False]


def test_sub_stream_targets_are_not_judged_when_not_measured() -> None:
    verdict = _verdict(judge({}, {"ratios": {}}), "sub-streams: FFmpeg")
    assert verdict["pass"] is None and verdict["value"] is None


def test_frame_age_memory_and_cameras_held() -> None:
    wall = Measurement("room_wall", 40, cpu_per_s=1.8, age_p99_ms=81.0, peak_pss_mb=600.0)
    floor = Measurement("room_floor", 40, cpu_per_s=1.5, peak_pss_mb=400.0)
    figures = {"room_wall": wall, "room_floor": floor}
    verdicts = judge(figures, {}, max_held={"room_wall": 24, "room_floor": ">= 40"})
    assert _verdict(verdicts, "room_wall p99 frame age")["pass"] is False  # 80 ms at most
    memory = _verdict(verdicts, "memory (PSS): room_wall")
    assert memory["value"] == 1.5 and memory["pass"] is True
    held = _verdict(verdicts, "cameras held: room_wall")
    assert held["value"] == "24 against >= 40" and held["pass"] is False
    # Without a ramp: listed, not judged.
    assert _verdict(judge(figures, {}), "cameras held: room_wall")["pass"] is None
    # The wall held every count tried, the floor fewer: met.
    ok = judge(figures, {}, max_held={"room_wall": ">= 40", "room_floor": 32})
    assert _verdict(ok, "cameras held: room_wall")["pass"] is True


def test_a_ratio_of_runners_that_did_not_keep_up_is_not_judged() -> None:
    figures = {
        "decode_floor": _m("decode_floor", 1.2, ok=True),
        "wall_headless": Measurement("wall_headless", 12, cpu_per_s=1.2, held=False),
    }
    verdict = judge(figures, {"ratios": {"wall_over_decode_floor": 1.0}})[0]
    assert verdict["value"] == 1.0 and verdict["pass"] is None
    assert "wall_headless" in verdict["not_judged"]
    neither = judge(figures, {}, max_held={"wall_headless": "< 12", "decode_floor": "< 12"})
    assert _verdict(neither, "cameras held: wall_headless")["pass"] is None


def _at(runner: str, cameras: int, cpu: float, held: bool = True) -> Measurement:
    return Measurement(runner, cameras, cpu_per_s=cpu, held=held)


def test_the_main_streams_are_judged_again_at_the_most_cameras_every_runner_held() -> None:
    ramp = {
        "decode_floor": [_at("decode_floor", 4, 0.7), _at("decode_floor", 8, 1.4, held=False)],
        "wall_headless": [_at("wall_headless", 4, 0.8), _at("wall_headless", 8, 1.6)],
        "opencv": [_at("opencv", 4, 1.0)],
    }
    assert most_held_by_all(ramp, ["decode_floor", "wall_headless", "opencv"], 12) == 4
    assert most_held_by_all(ramp, ["wall_headless"], 12) == 8
    assert most_held_by_all(ramp, ["wall_headless"], 8) == 4  # below the count asked for
    assert most_held_by_all(ramp, ["decode_floor", "ffmpeg_xstack"], 12) is None  # not ramped

    at_twelve = {
        "decode_floor": _at("decode_floor", 12, 1.8, held=False),
        "wall_headless": _at("wall_headless", 12, 1.8, held=False),
    }
    at_twelve["wall_headless"].age_p99_ms = 900.0
    verdicts = judge(at_twelve, {"ratios": {"wall_over_decode_floor": 1.0}})
    rounds = {
        "decode_floor": [_at("decode_floor", 4, 0.70), _at("decode_floor", 4, 0.72)],
        "wall_headless": [_at("wall_headless", 4, 0.84), _at("wall_headless", 4, 0.79)],
    }
    for measured in rounds["wall_headless"]:
        measured.age_p99_ms = 35.0
    at_four = {r: median_round(m) for r, m in rounds.items()}
    judge_where_held(verdicts, at_four, rounds, 4, 12, ["decode_floor", "wall_headless"])
    verdict = _verdict(verdicts, "main streams: wall / decode floor")
    assert verdict["pass"] is False and verdict["at_cameras"] == 4
    assert verdict["value"] == 1.129 and verdict["rounds"] == [1.2, 1.097]  # lower middles
    assert "judged at 4" in verdict["note"] and not verdict["not_judged"]
    age = _verdict(verdicts, "wall_headless p99")
    assert (age["value"], age["pass"], age["at_cameras"]) == (35.0, True, 4)
    # Targets judged where they were asked for, or of other runners, are left alone.
    assert _verdict(verdicts, "sub-streams: wall / decode floor")["pass"] is None
    assert "at_cameras" not in _verdict(verdicts, "sub-streams: wall / decode floor")
