"""Passwords in camera URLs (from ``${VAR}``) never show: not in layout errors, `videowall
validate`, reprs, JSON dumps, nor the log of a running wall whose cameras fail."""

from __future__ import annotations

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


# -- passwords outside user:pass@ (DVRs) ------------------------------------------------

DVR_FORMS = [
    # XMEye / Xiongmai and many Chinese DVRs
    "rtsp://10.0.0.9:554/user=admin&password=s3cr3t-Pa55&channel=1&stream=0.sdp",
    "rtsp://10.0.0.9:554/user=admin_password=s3cr3t-Pa55_channel=1_stream=0.sdp",
    # query strings, ;-separated parameters, other key names
    "rtsp://10.0.0.9/live?user=op&pwd=s3cr3t-Pa55",
    "rtsp://10.0.0.9/live;user=op;passwd=s3cr3t-Pa55;x=1",
    "rtsp://10.0.0.9/cgi?auth=s3cr3t-Pa55",
    "rtsp://10.0.0.9/cgi?usr=op&PASSWORD=s3cr3t-Pa55#frag",
    "rtsp://10.0.0.9/videostream.cgi?user=op&pass=s3cr3t-Pa55&resolution=32",
]


@pytest.mark.parametrize("url", DVR_FORMS)
def test_password_parameters_are_hidden_in_urls_and_free_text(url: str) -> None:
    shown = redact_url(url)
    assert SECRET not in shown and "***" in shown and "10.0.0.9" in shown, shown
    assert "channel=1" in shown or "channel" not in url, shown  # the rest stays readable
    message = redact_secrets(f"Could not open '{url}': Connection refused")
    assert SECRET not in message and "Connection refused" in message, message


VAR_LAYOUT = """\
cameras:
  dvr: {url: 'rtsp://10.0.0.9:554/user=admin&password=${CAM_PASS}&channel=1&stream=0.sdp'}
  token: {url: 'rtsp://10.0.0.8/live/${CAM_PASS}/main', url_low: 'rtsp://10.0.0.8/s?k=${CAM_PASS}'}
  host: {url: 'rtsp://${CAM_HOST}/x'}
outputs:
  - {id: A1, size: [640, 360], grid: 2x2, tiles: [dvr, token, host]}
"""
VAR_ENV = {"CAM_PASS": SECRET, "CAM_HOST": "10.0.0.7:8554"}


def test_values_from_variables_are_hidden_wherever_they_are_in_a_url() -> None:
    layout = parse_layout(VAR_LAYOUT, "v.yaml", env=VAR_ENV)
    redactor = layout.redactor()
    token = layout.cameras["token"]
    assert token.url == f"rtsp://10.0.0.8/live/{SECRET}/main"  # the wall needs it whole
    assert redactor.url(token.url) == "rtsp://10.0.0.8/live/***/main"
    assert redactor.url(token.url_low or "") == "rtsp://10.0.0.8/s?k=***"
    assert redactor.url(layout.cameras["host"].url) == "rtsp://***/x"
    dumped = layout.model_dump_json()
    assert SECRET not in dumped and "10.0.0.7" not in dumped and "live/***/main" in dumped
    # In free text: the URL quoted whole, or cut short (a decoder's reason is 160 bytes).
    quoted = f"error opening {token.url}: 404; retry"
    assert redactor.text(quoted) == "error opening rtsp://10.0.0.8/live/***/main: 404; retry"
    cut = f"error opening {token.url}"[: len("error opening rtsp://10.0.0.8/live/") + 4]
    assert SECRET[:4] not in redactor.text(cut), redactor.text(cut)


def test_a_url_error_never_shows_a_password_parameter() -> None:
    text = (
        "cameras:\n  a: {url: 'rtsp:///user=admin&password=${CAM_PASS}&channel=1'}\n"
        "  b: {url: 'rtsp://@/live/${CAM_PASS}'}\n"
        "outputs:\n  - {id: A1, size: [640, 360], grid: 1x2, tiles: [a, b]}\n"
    )
    report = "\n".join(validate_text(text, "v.yaml", env=ENV).lines())
    assert "no host" in report and SECRET not in report, report
