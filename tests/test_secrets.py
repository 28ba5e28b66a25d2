"""Passwords in camera URLs (from ``${VAR}``) never show: not in layout errors, `videowall
validate`, reprs, JSON dumps, nor the log of a running wall whose cameras fail."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compositor.cli import main
from compositor.core.errors import LayoutError
from compositor.core.redact import redact_secrets, redact_url
from compositor.layout.parse import parse_layout
from compositor.layout.validate import validate_text

SECRET = "s3cr3t-Pa55"
ENV = {"CAM_PASS": SECRET}

# Every way a URL can be wrong while carrying the password.
BAD_URLS = """\
cameras:
  a: {url: 'http://op:${CAM_PASS}@10.0.0.1/x'}
  b: {url: 'rtsp://op:${CAM_PASS}@/nohost'}
  c: {url: 'rtsp://op:${CAM_PASS}@10.0.0.3/x', url_low: 'ftp://op:${CAM_PASS}@10.0.0.3/y'}
  d: {url: 'rtsp://op:${CAM_PASS}@10.0.0.4/x', bogus: 'rtsp://op:${CAM_PASS}@10.0.0.4/x'}
  d: {url: 'rtsp://op:${CAM_PASS}@10.0.0.4/x'}
  e: {url: 'rtsp://op:${CAM_PASS}@10.0.0.5/x'}
outputs:
  - {id: A1, size: [640, 360], grid: 2x2, tiles: [a, b, c, 'rtsp://op:s3cr3t-Pa55@h/x']}
"""


def test_layout_errors_never_show_the_password() -> None:
    with pytest.raises(LayoutError) as caught:
        parse_layout(BAD_URLS, "s.yaml", env=ENV)
    text = str(caught.value)
    assert "no host" in text and "scheme 'ftp'" in text and "duplicate key 'd'" in text
    assert "is not a valid id" in text
    assert SECRET not in text


def test_validate_never_shows_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAM_PASS", SECRET)
    monkeypatch.delenv("DISPLAY", raising=False)
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_URLS)
    good = tmp_path / "good.yaml"
    good.write_text(
        "cameras:\n  a: {url: 'rtsp://op:${CAM_PASS}@10.0.0.1/x'}\n"
        "  spare: {url: 'rtsp://op:${CAM_PASS}@10.0.0.2/x'}\n"
        "outputs:\n  - {id: A1, size: [640, 360], grid: 1x1, tiles: [a]}\n"
    )
    assert main(["validate", str(bad), str(good)]) == 1
    captured = capsys.readouterr()
    assert f"{bad}:" in captured.out and f"{good}: ok" in captured.out
    assert SECRET not in captured.out + captured.err
    assert SECRET not in "\n".join(validate_text(BAD_URLS, "s.yaml", env=ENV).lines())


def test_a_layout_repr_and_json_dump_never_show_the_password() -> None:
    layout = parse_layout(
        "cameras:\n  a: {url: 'rtsp://op:${CAM_PASS}@10.0.0.1/x', "
        "url_low: 'rtsp://op:${CAM_PASS}@10.0.0.1/sub'}\n"
        "outputs:\n  - {id: A1, size: [640, 360], grid: 1x1, tiles: [a]}\n",
        env=ENV,
    )
    assert layout.cameras["a"].url == f"rtsp://op:{SECRET}@10.0.0.1/x"  # the wall needs it
    assert SECRET not in repr(layout) and SECRET not in str(layout)
    dumped = layout.model_dump_json()
    assert SECRET not in dumped and "rtsp://op:***@10.0.0.1/sub" in dumped


@pytest.mark.parametrize(
    "password", [SECRET, "pa/ss", "p@ss", "pa#ss?x", "pa ss", "pa:ss", "%2Fpa"]
)
def test_redaction_survives_passwords_with_url_characters(password: str) -> None:
    url = f"rtsp://operator:{password}@10.0.0.1:554/Streaming/Channels/101"
    assert redact_url(url) == "rtsp://operator:***@10.0.0.1:554/Streaming/Channels/101"
    if " " not in password:  # free text: a password runs to a blank
        message = redact_secrets(f"Could not open '{url}': Connection refused")
        assert password not in message and "operator:***@10.0.0.1" in message
    assert redact_url("rtsp://10.0.0.1/a@b") == "rtsp://10.0.0.1/a@b"  # an @ in the path


@pytest.mark.e2e
def test_credentials_never_appear_in_the_log_of_a_running_wall(tmp_path: Path) -> None:
    """Cameras failing in several ways, with a password from the environment: the log
    (every camera state change, every reason) never shows it."""
    from compositor.demo.testcams import SyntheticCamera, SyntheticCameraServer

    camera = SyntheticCamera("red", "red", 160, 90, 10, (220, 30, 30))
    with SyntheticCameraServer([camera], user="operator", password=SECRET) as server:
        port = server.port
        layout = tmp_path / "wall.yaml"
        layout.write_text(
            "cameras:\n"
            f"  good: {{url: 'rtsp://operator:${{CAM_PASS}}@127.0.0.1:{port}/red', "
            f"url_low: 'rtsp://operator:${{CAM_PASS}}@127.0.0.1:{port}/red'}}\n"
            f"  missing: {{url: 'rtsp://operator:${{CAM_PASS}}@127.0.0.1:{port}/nope'}}\n"
            f"  wrong: {{url: 'rtsp://operator:${{CAM_PASS}}x@127.0.0.1:{port}/red'}}\n"
            "  refused: {url: 'rtsp://operator:${CAM_PASS}@127.0.0.1:1/x'}\n"
            "outputs:\n"
            "  - {id: O1, size: [320, 180], grid: 2x2, tiles: [good, missing, wrong, refused]}\n"
        )
        env = dict(os.environ, CAM_PASS=SECRET)
        process = subprocess.Popen(
            [sys.executable, "-m", "compositor", "run", str(layout), "--headless", "-v"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        try:
            time.sleep(6)
        finally:
            process.send_signal(signal.SIGINT)
            output, _ = process.communicate(timeout=15)
    assert "camera good" in output and "live" in output, output
    assert "camera refused" in output and "connection refused" in output, output
    assert SECRET not in output
