"""A decoded frame brought to its tile's size in the slot: the exact halvings and the
bilinear path (OpenCV straight into the slot), against swscale.

Frames are made in memory with PyAV (no server needed below the decoder).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from av.video.reformatter import ColorRange, Interpolation, VideoReformatter

from compositor.core.geometry import Fit
from compositor.slots import FrameSlot
from compositor.sources.camera import (
    Rendition,
    RenditionSpec,
    exact_halvings,
    plan_scaling,
    rescales_whole,
)


def _frame(w: int, h: int, seed: int = 1) -> av.VideoFrame:
    """A textured I420 frame (noise and gradients: every 2x2 block differs)."""
    rng = np.random.default_rng(seed)
    rows = h * 3 // 2
    data = rng.integers(16, 236, size=(rows, w), dtype=np.uint8)
    data[:h] = (data[:h] // 2 + np.arange(w, dtype=np.uint8)[None, :] // 2).astype(np.uint8)
    return av.VideoFrame.from_ndarray(data, format="yuv420p")


def _slot_picture(tmp_path: Path, frame: av.VideoFrame, box: tuple[int, int], fit: Fit) -> tuple:
    path = tmp_path / "slot"
    owner = FrameSlot(path, *box, create=True)
    rendition = Rendition(RenditionSpec(str(path), box[0], box[1], fit))
    rendition.publish(frame, Fraction(1), 7.0)
    view = owner.view()
    assert view is not None and view.captured_at == 7.0
    picture = (view.y.copy(), view.u.copy(), view.v.copy())
    rendition.close()
    del view
    owner.close()
    return picture


def _swscale(frame: av.VideoFrame, w: int, h: int) -> tuple:
    scaled = VideoReformatter().reformat(
        frame, width=w, height=h, format="yuv420p", interpolation=Interpolation.AREA
    )
    sizes = ((h, w), (h // 2, w // 2), (h // 2, w // 2))
    return tuple(
        np.frombuffer(memoryview(p), np.uint8).reshape(rows, p.line_size)[:, :cols]
        for p, (rows, cols) in zip(scaled.planes, sizes, strict=True)
    )


def _box_mean(plane: np.ndarray) -> np.ndarray:
    h, w = plane.shape
    return plane.reshape(h // 2, 2, w // 2, 2).astype(np.float64).mean(axis=(1, 3))


def test_a_frame_at_twice_the_tile_is_halved_into_the_slot_like_swscale(tmp_path: Path) -> None:
    frame = _frame(1920, 1080)
    assert (
        exact_halvings(frame, plan_scaling(1920, 1080, 960, 540, Fit.LETTERBOX, Fraction(1))) == 1
    )
    y, u, v = _slot_picture(tmp_path, frame, (960, 540), Fit.LETTERBOX)
    assert (y.shape, u.shape, v.shape) == ((540, 960), (270, 480), (270, 480))
    source = [frame.to_ndarray()[:1080], None, None]
    chroma = frame.to_ndarray()[1080:].reshape(2, 540, 960)
    source[1], source[2] = chroma[0], chroma[1]
    for ours, theirs, plane in zip((y, u, v), _swscale(frame, 960, 540), source, strict=True):
        # Each pixel is its 2x2 block's mean, rounded; swscale's AREA agrees within 1.
        assert np.abs(ours - _box_mean(plane)).max() <= 0.5
        assert np.abs(ours.astype(int) - theirs).max() <= 1


@pytest.mark.parametrize(
    ("source", "box", "steps", "whole", "left"),
    [
        ((1280, 720), (500, 360), 1, (640, 360), 70),  # a half, its middle 500 columns
        ((1920, 1080), (400, 270), 2, (480, 270), 40),  # a quarter, its middle 400
    ],
)
def test_a_cropped_tile_halves_only_its_part(
    tmp_path: Path,
    source: tuple[int, int],
    box: tuple[int, int],
    steps: int,
    whole: tuple[int, int],
    left: int,
) -> None:
    frame = _frame(*source, seed=2)
    plan = plan_scaling(*source, *box, Fit.CROP, Fraction(1))
    assert exact_halvings(frame, plan) == steps and (plan.crop.x, plan.crop.w) == (left, box[0])
    y, u, _ = _slot_picture(tmp_path, frame, box, Fit.CROP)
    whole_y, whole_u, _ = _swscale(frame, *whole)
    assert np.abs(y.astype(int) - whole_y[:, left : left + box[0]]).max() <= steps
    half = left // 2
    assert np.abs(u.astype(int) - whole_u[:, half : half + box[0] // 2]).max() <= steps


def test_other_frames_go_through_swscale() -> None:
    plan = plan_scaling(1920, 1080, 960, 540, Fit.LETTERBOX, Fraction(1))
    full_range = _frame(1920, 1080)
    full_range.color_range = int(ColorRange.JPEG)  # MJPEG: swscale brings it to limited range
    assert not exact_halvings(full_range, plan)
    assert not exact_halvings(_frame(1920, 1080).reformat(format="nv12"), plan)
    # A third, 2.67x, 1366 -> 683 (rounded up to 684 for I420), a sixteenth: not halvings.
    for w, h, box in (
        (1920, 1080, (640, 360)),
        (1280, 720, (480, 270)),
        (1366, 768, (683, 384)),
        (3840, 2160, (240, 135)),
    ):
        assert not exact_halvings(
            _frame(w, h), plan_scaling(w, h, *box, Fit.LETTERBOX, Fraction(1))
        ), (w, h, box)


def _block_mean(plane: np.ndarray, n: int) -> np.ndarray:
    h, w = plane.shape
    return plane.reshape(h // n, n, w // n, n).astype(np.float64).mean(axis=(1, 3))


@pytest.mark.parametrize(
    ("source", "box", "steps"),
    [((1920, 1080), (480, 270), 2), ((1280, 720), (320, 180), 2), ((3840, 2160), (480, 270), 3)],
)
def test_a_frame_at_four_or_eight_times_the_tile_is_halved_again_and_again(
    tmp_path: Path, source: tuple[int, int], box: tuple[int, int], steps: int
) -> None:
    frame = _frame(*source, seed=3)
    assert exact_halvings(frame, plan_scaling(*source, *box, Fit.LETTERBOX, Fraction(1))) == steps
    picture = _slot_picture(tmp_path, frame, box, Fit.LETTERBOX)
    w, h = source
    planes = frame.to_ndarray()
    whole = (planes[:h], *planes[h:].reshape(2, h // 2, w // 2))
    n = 1 << steps
    for ours, theirs, plane in zip(picture, _swscale(frame, *box), whole, strict=True):
        assert ours.shape == (plane.shape[0] // n, plane.shape[1] // n)
        # Each pixel is its n x n block's mean, rounded once per halving; swscale's AREA
        # averages the same block.
        assert np.abs(ours - _block_mean(plane, n)).max() <= 0.5 * steps
        assert np.abs(ours.astype(int) - theirs).max() <= steps


def _smooth_frame(w: int, h: int) -> av.VideoFrame:
    """A picture without detail finer than a few pixels (gradients, slow waves)."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    luma = 128 + 60 * np.sin(xs / 23.0) * np.cos(ys / 17.0) + 30 * (xs / w - ys / h)
    cy, cx = np.mgrid[0 : h // 2, 0 : w // 2].astype(np.float64)
    u = 128 + 40 * np.sin(cx / 13.0 + cy / 29.0)
    v = 128 + 40 * np.cos(cy / 11.0 - cx / 31.0)
    data = np.concatenate([luma.ravel(), u.ravel(), v.ravel()]).clip(16, 235).astype(np.uint8)
    return av.VideoFrame.from_ndarray(data.reshape(h * 3 // 2, w), format="yuv420p")


def _swscale_to(frame: av.VideoFrame, w: int, h: int, interpolation: Interpolation) -> tuple:
    scaled = VideoReformatter().reformat(
        frame, width=w, height=h, format="yuv420p", interpolation=interpolation
    )
    sizes = ((h, w), (h // 2, w // 2), (h // 2, w // 2))
    return tuple(
        np.frombuffer(memoryview(p), np.uint8).reshape(rows, p.line_size)[:, :cols]
        for p, (rows, cols) in zip(scaled.planes, sizes, strict=True)
    )


@pytest.mark.parametrize(
    ("source", "box", "interpolation"),
    [
        ((960, 540), (1923, 1083), Interpolation.BILINEAR),  # a span of 2x2 screens, halved
        ((640, 360), (960, 540), Interpolation.BILINEAR),  # a sub-stream on a 2x2 tile
        ((1280, 720), (960, 540), Interpolation.AREA),  # down by less than 1.5x
        ((640, 360), (480, 270), Interpolation.AREA),
    ],
)
def test_a_frame_made_larger_or_a_little_smaller_is_scaled_into_the_slot_like_swscale(
    tmp_path: Path,
    source: tuple[int, int],
    box: tuple[int, int],
    interpolation: Interpolation,
) -> None:
    frame = _smooth_frame(*source)
    plan = plan_scaling(*source, *box, Fit.LETTERBOX, Fraction(1))
    assert rescales_whole(frame, plan) and not exact_halvings(frame, plan)
    picture = _slot_picture(tmp_path, frame, box, Fit.LETTERBOX)
    theirs = _swscale_to(frame, plan.width, plan.height, interpolation)
    for ours, reference in zip(picture, theirs, strict=True):
        assert ours.shape == reference.shape
        difference = np.abs(ours.astype(int) - reference)
        assert difference.mean() < 0.5 and difference.max() <= 3


def test_crops_and_large_reductions_stay_with_swscale() -> None:
    frame = _frame(1920, 1080)
    # Down by 1.5x or more would alias with a bilinear filter: swscale's AREA.
    for box in ((1280, 718), (640, 360), (480, 270)):
        assert not rescales_whole(frame, plan_scaling(1920, 1080, *box, Fit.LETTERBOX, Fraction(1)))
    assert rescales_whole(frame, plan_scaling(1920, 1080, 1282, 722, Fit.LETTERBOX, Fraction(1)))
    # A crop fit keeps part of the scaled picture: swscale makes it, the slot gets the part.
    assert not rescales_whole(frame, plan_scaling(1920, 1080, 1920, 1400, Fit.CROP, Fraction(1)))
    full_range = _frame(1920, 1080)
    full_range.color_range = int(ColorRange.JPEG)
    assert not rescales_whole(
        full_range, plan_scaling(1920, 1080, 3840, 2160, Fit.LETTERBOX, Fraction(1))
    )
