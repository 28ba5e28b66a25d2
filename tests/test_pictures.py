"""Image tiles are limited by pixel count, read from the header, and decoded off the loop.

The header reader on every format it knows (made by OpenCV's own encoders);
the limit at validate time, at the image's line; the decoder never handed
more pixels than the limit, even for a file changed after validation; the
background loader that the running wall uses.
"""

from __future__ import annotations

import io
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compositor.cli import main
from compositor.compose.pictures import PictureJob, PictureLoader, TilePicture, load_picture
from compositor.core.colour import Matrix, planes_to_bgr
from compositor.core.geometry import Fit, TileRect
from compositor.core.picture_header import (
    PictureHeader,
    header_of_bytes,
    header_of_file,
    header_of_path,
    pixel_problem,
)
from compositor.layout.validate import validate_file
from tests.helpers.pictures import busy_png, png_bomb, png_header_only

REPO = Path(__file__).resolve().parent.parent


def _encoded(ext: str, picture: np.ndarray, params: list[int] | None = None) -> bytes | None:
    """``picture`` in the format of ``ext``; None if this OpenCV does not write it so."""
    try:
        ok, data = cv2.imencode(ext, picture, params or [])
    except cv2.error:
        return None
    return data.tobytes() if ok else None


@pytest.mark.parametrize(
    "ext, params",
    [
        (".png", []),
        (".jpg", []),
        (".jpg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]),
        (".bmp", []),
        (".webp", [cv2.IMWRITE_WEBP_QUALITY, 80]),
        (".webp", [cv2.IMWRITE_WEBP_QUALITY, 101]),  # lossless
        (".tiff", []),
        (".ppm", []),
        (".pgm", []),
        (".gif", []),
    ],
)
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_the_header_gives_the_size_opencv_decodes(
    ext: str, params: list[int], channels: int
) -> None:
    rng = np.random.default_rng(3)
    picture = rng.integers(0, 256, (37, 53, channels), np.uint8).squeeze()
    data = _encoded(ext, picture, params)
    if data is None:
        pytest.skip(f"this OpenCV does not write {ext} of {channels} channel(s)")
    header = header_of_bytes(data)
    assert header is not None, ext
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert (header.height, header.width) == decoded.shape[:2] == (37, 53)
    assert header_of_file(io.BytesIO(data)) == header


def test_a_jpeg_size_is_found_past_large_segments() -> None:
    data = _encoded(".jpg", np.zeros((40, 70, 3), np.uint8))
    assert data is not None
    # Metadata before the frame header: ten 60 KB APP segments (an ICC profile, EXIF...).
    app = b"".join(b"\xff\xe2" + struct.pack(">H", 60_002) + bytes(60_000) for _ in range(10))
    padded = data[:2] + app + data[2:]
    header = header_of_bytes(padded)
    assert header == PictureHeader("JPEG", 70, 40)
    decoded = cv2.imdecode(np.frombuffer(padded, np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded.shape[:2] == (40, 70)


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=200),
    st.sampled_from(
        [
            b"",
            b"\x89PNG\r\n\x1a\n",
            b"\xff\xd8",
            b"GIF89a",
            b"BM",
            b"II*\x00",
            b"MM\x00*",
            b"RIFF\x00\x00\x00\x00WEBPVP8X",
            b"P6",
        ]
    ),
)
def test_any_bytes_give_a_size_or_none_never_an_error(data: bytes, magic: bytes) -> None:
    header = header_of_bytes(magic + data)
    assert header is None or isinstance(header.pixels, int)
    pixel_problem(header)  # always a reason or None


def test_formats_whose_size_cannot_be_read_are_refused() -> None:
    data = _encoded(".hdr", np.zeros((8, 8, 3), np.float32))
    assert data is not None
    assert header_of_bytes(data) is None
    assert "whose size the wall can read" in (pixel_problem(None) or "")
    assert pixel_problem(PictureHeader("PNG", 12000, 12000)) == (
        "is 12000x12000 (144 Mpx): the limit is 40 Mpx"
    )
    assert pixel_problem(PictureHeader("PNG", 8000, 5000)) is None  # 40 Mpx: at the limit


def test_a_png_bomb_fails_validate_at_its_line(tmp_path: Path) -> None:
    """The issue's picture: 12000x12000 in a few hundred KB, under the 64 MB file limit."""
    (tmp_path / "maps").mkdir()
    bomb = png_bomb(tmp_path / "maps" / "city.png", 12000, 12000)
    assert bomb.stat().st_size < 1024 * 1024
    layout = tmp_path / "room.yaml"
    layout.write_text(
        "cameras:\n"
        "  a: {url: 'rtsp://127.0.0.1:9/a'}\n"
        "outputs:\n"
        "  - id: A1\n"
        "    size: [1920, 1080]\n"
        "    grid: 1x2\n"
        "    tiles:\n"
        "      - a\n"
        "      - {image: maps/city.png}\n"
    )
    report = validate_file(layout)
    assert not report.ok
    (line,) = report.lines()
    assert line == (
        f"{layout}:9:17: image 'maps/city.png' ({tmp_path}/maps/city.png) "
        "is 12000x12000 (144 Mpx): the limit is 40 Mpx"
    )
    # A format OpenCV reads but whose size is not read here: it cannot be bounded.
    hdr = _encoded(".hdr", np.zeros((8, 8, 3), np.float32))
    assert hdr is not None
    bomb.write_bytes(hdr)
    (line,) = validate_file(layout).lines()
    assert line.endswith(
        "is not a picture whose size the wall can read (PNG, JPEG, GIF, BMP, WebP, TIFF, PNM)"
    )
    bomb.unlink()
    os.mkfifo(bomb)  # never opened, let alone waited on
    (line,) = validate_file(layout).lines()
    assert line.endswith("is not a file")


def test_the_decoder_never_gets_more_pixels_than_the_limit(tmp_path: Path) -> None:
    """A picture that passed validation and was replaced after: checked again, from the
    very bytes that would be decoded."""
    path = tmp_path / "map.png"
    assert cv2.imwrite(str(path), np.full((60, 80, 3), 90, np.uint8))
    assert not isinstance(load_picture(path), str)
    png_bomb(path, 8000, 6000)  # 48 Mpx: 144 MB decoded
    assert load_picture(path) == "image map.png is 8000x6000 (48 Mpx): the limit is 40 Mpx"
    path.write_bytes(png_header_only(60000, 60000))
    assert "3600 Mpx" in str(load_picture(path))
    small_limit = load_picture(tmp_path / "map.png", max_pixels=1000)
    assert isinstance(small_limit, str) and "the limit is 0.0 Mpx" in small_limit
    (tmp_path / "fifo.png").unlink(missing_ok=True)
    os.mkfifo(tmp_path / "fifo.png")  # must not block the loader, nor the header's reader
    assert load_picture(tmp_path / "fifo.png") == "image fifo.png is not a file"
    assert header_of_path(tmp_path / "fifo.png") is None


def test_opencv_itself_refuses_a_bomb_in_the_wall_s_processes(tmp_path: Path) -> None:
    """OpenCV's own pixel limit, set by the package before OpenCV loads: a backstop for a
    decode that would slip past the wall's checks."""
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_only(12000, 12000))
    script = (
        "import compositor, sys, cv2, numpy as np\n"
        f"data = np.fromfile({str(bomb)!r}, np.uint8)\n"
        "try:\n"
        "    cv2.imdecode(data, cv2.IMREAD_UNCHANGED)\n"
        "except cv2.error as exc:\n"
        "    sys.exit(3 if 'CV_IO_MAX_IMAGE_PIXELS' in str(exc) else 4)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENCV_IO_MAX_IMAGE_PIXELS"}
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=REPO, timeout=60)
    assert done.returncode == 3


def test_preview_refuses_a_bomb_and_draws_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png_bomb(tmp_path / "city.png", 9000, 9000)
    layout = tmp_path / "room.yaml"
    layout.write_text(
        "cameras: {a: {url: 'rtsp://127.0.0.1:9/a'}}\n"
        "outputs:\n"
        "  - {id: A1, size: [640, 360], grid: 1x2, tiles: [a, {image: city.png}]}\n"
    )
    assert main(["preview", str(layout), "-o", str(tmp_path / "wall.png")]) == 1
    err = capsys.readouterr().err
    assert "is 9000x9000 (81 Mpx): the limit is 40 Mpx" in err and "Traceback" not in err


# --- the loader of the running wall -----------------------------------------------------


def _until_ready(job: PictureJob, timeout: float = 20.0) -> TilePicture:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        version, result = job.get()
        if version and result is not None:
            return result
        time.sleep(0.01)
    raise AssertionError("the picture was never loaded")


def _bgr(shown: TilePicture) -> np.ndarray:
    """What the planes look like on the canvas (made for an even place)."""
    return planes_to_bgr(*shown.planes, Matrix.BT601)


def _is(shown: TilePicture, bgr: tuple[int, int, int]) -> bool:
    return shown.reason is None and bool((np.abs(_bgr(shown).astype(int) - bgr) <= 2).all())


def test_the_loader_fits_pictures_in_the_background_and_follows_the_file(tmp_path: Path) -> None:
    path = tmp_path / "logo.png"
    assert cv2.imwrite(str(path), np.full((90, 160, 3), (200, 0, 200), np.uint8))
    loader = PictureLoader()
    tile = TileRect(320, 0, 320, 180)
    try:
        job = loader.request(path, tile, Fit.LETTERBOX)
        shown = _until_ready(job)
        assert shown.planes[0].shape == (180, 320) and _is(shown, (200, 0, 200))
        # The same tile again (a layout applied that keeps it): the same job, ready at once.
        assert loader.request(path, tile, Fit.LETTERBOX) is job
        assert job.get()[0] == 1
        # At an odd place, other chroma cells: another job.
        odd = loader.request(path, TileRect(321, 0, 320, 180), Fit.LETTERBOX)
        assert odd is not job and _until_ready(odd).planes[1].shape == (90, 160)
        # The file changes: the next request reads it again; the old picture shows till then.
        time.sleep(0.01)
        assert cv2.imwrite(str(path), np.full((90, 160, 3), (0, 200, 0), np.uint8))
        assert loader.request(path, tile, Fit.LETTERBOX) is job
        end = time.monotonic() + 20
        while job.get()[0] < 2 and time.monotonic() < end:
            time.sleep(0.01)
        version, result = job.get()
        assert version == 2 and result is not None and _is(result, (0, 200, 0))
        # A bomb, a missing file: the reason, on a panel; and the loader goes on.
        small = TileRect(0, 0, 64, 36)
        png_bomb(tmp_path / "bomb.png", 8000, 6000)
        bomb = _until_ready(loader.request(tmp_path / "bomb.png", small, Fit.FILL))
        assert bomb.reason == "image bomb.png is 8000x6000 (48 Mpx): the limit is 40 Mpx"
        missing = _until_ready(loader.request(tmp_path / "none.png", small, Fit.FILL))
        assert missing.reason == "image not found: none.png"
        assert missing.planes[0].shape == (36, 64)
        assert _until_ready(loader.request(path, small, Fit.CROP)).reason is None
    finally:
        loader.close()


def test_closing_the_loader_does_not_wait_for_a_decode(tmp_path: Path) -> None:
    path = busy_png(tmp_path / "big.png", 6000, 6000)
    loader = PictureLoader()
    job = loader.request(path, TileRect(0, 0, 640, 360), Fit.LETTERBOX)
    pid = _decoder_pid(loader)
    assert job.get() == (0, None)  # decoding
    loader.close()
    assert job.get() == (0, None)  # close did not wait for it: the decoder was killed
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def _decoder_pid(loader: PictureLoader) -> int:
    end = time.monotonic() + 20
    while loader.decoder_pid is None and time.monotonic() < end:
        time.sleep(0.01)
    assert loader.decoder_pid is not None
    return loader.decoder_pid


def test_a_decoder_that_dies_fails_its_picture_alone(tmp_path: Path) -> None:
    """A codec that crashes on a hostile file (here: killed mid-decode) takes down its
    process, not the wall: the tile says so, the next picture gets a new decoder."""
    big = busy_png(tmp_path / "big.png", 6000, 6000)
    logo = tmp_path / "logo.png"
    assert cv2.imwrite(str(logo), np.full((90, 160, 3), 90, np.uint8))
    loader = PictureLoader()
    try:
        job = loader.request(big, TileRect(0, 0, 640, 360), Fit.LETTERBOX)
        os.kill(_decoder_pid(loader), signal.SIGKILL)
        assert _until_ready(job).reason == "image unreadable: big.png (its decoder stopped)"
        assert job.loading is not None and job.loading.reason == "loading big.png"
        assert _until_ready(loader.request(logo, TileRect(0, 0, 32, 18), Fit.FILL)).reason is None
    finally:
        loader.close()
