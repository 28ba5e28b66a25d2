"""The API's access, without a wall: tokens kept only as hashes in a 0600 file and
checked against every stored hash; an address that keeps failing is slowed down, in a
table that stays bounded; the HTTP server's exposure rules."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from compositor.api.server import (
    GIL_SWITCH_S,
    ApiOptions,
    ApiServer,
    check_exposure,
    is_loopback,
    parse_listen,
)
from compositor.api.throttle import FailureThrottle
from compositor.api.tokens import TokenStore
from compositor.control.commands import Role
from compositor.core.errors import CompositorError, NotFoundError


def test_a_token_is_shown_once_and_kept_only_as_its_hash(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "state")
    token = store.add("alice", "operator", 1_800_000_000.0)
    assert token.startswith("vw_") and len(token) >= 40
    path = tmp_path / "state" / "tokens.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert token not in text and token[3:] not in text
    assert json.loads(text)["tokens"][0].keys() == {"name", "role", "sha256", "created"}
    record = store.verify(token)
    assert record is not None and (record.name, record.role) == ("alice", Role.OPERATOR)
    assert store.verify(token + "x") is None and store.verify("") is None
    assert store.verify(token[:-1]) is None

    # Another process (videowall token add) changes the file: the wall sees it at once.
    other = TokenStore(tmp_path / "state")
    viewer = other.add("wallboard", "viewer", 1_800_000_060.0)
    assert store.verify(viewer) is not None
    other.revoke("alice")
    assert store.verify(token) is None
    with pytest.raises(NotFoundError, match=r"no token named 'alice' \(tokens: wallboard\)"):
        other.revoke("alice")


def test_token_names_and_roles_are_checked(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    store.add("nvr-1", "operator", 0.0)
    with pytest.raises(CompositorError, match="a token named 'nvr-1' exists"):
        store.add("nvr-1", "admin", 0.0)
    replaced = store.add("nvr-1", "admin", 0.0, replace=True)
    found = store.verify(replaced)
    assert found is not None and found.role is Role.ADMIN and len(store.records()) == 1
    with pytest.raises(CompositorError, match="the audit log's own"):
        store.add("cli", "admin", 0.0)
    with pytest.raises(CompositorError, match="unknown role 'root'"):
        store.add("bob", "root", 0.0)
    with pytest.raises(CompositorError, match="token name"):
        store.add("bob smith", "viewer", 0.0)


def test_a_broken_tokens_file_lets_nobody_in(tmp_path: Path) -> None:
    (tmp_path / "tokens.json").write_text("{not json")
    with pytest.raises(CompositorError, match="cannot read the tokens file"):
        TokenStore(tmp_path).verify("vw_anything")


def test_failures_from_one_address_are_spaced_out_others_are_not() -> None:
    throttle = FailureThrottle(free=3, first_step=0.5, max_step=4.0, max_wait=5.0)
    for _ in range(3):  # a typo or two costs nothing
        assert throttle.admit("10.0.0.9", 100.0) == 0.0
        throttle.failed("10.0.0.9", 100.0)
    # From now on each request from that address gets its own slot, spaced further apart
    # with each failure: parallel guesses do not go faster.
    assert throttle.admit("10.0.0.9", 100.0) == 0.0
    assert throttle.admit("10.0.0.9", 100.0) == 0.5
    assert throttle.admit("10.0.0.9", 100.0) == 1.0
    throttle.failed("10.0.0.9", 100.0)  # 4 failures: slots 1 s apart, after those given
    assert throttle.admit("10.0.0.9", 100.0) == 1.5
    assert throttle.admit("10.0.0.9", 100.0) == 2.5
    for _ in range(5):
        throttle.failed("10.0.0.9", 100.0)  # 9 failures: 4 s apart (the most)
    assert throttle.admit("10.0.0.9", 100.0) == 3.5
    assert throttle.admit("10.0.0.9", 100.0) is None  # 7.5 s off: refused unchecked
    assert throttle.admit("10.0.0.10", 100.0) == 0.0  # another address is not slowed
    # Forgotten after a quiet quarter of an hour; a success clears at once.
    assert throttle.admit("10.0.0.9", 100.0 + 15 * 60 + 1) == 0.0
    for _ in range(5):
        throttle.failed("10.0.0.11", 200.0)
    throttle.succeeded("10.0.0.11")
    assert throttle.admit("10.0.0.11", 200.0) == 0.0


def test_the_throttle_table_is_bounded() -> None:
    throttle = FailureThrottle(capacity=100)
    for n in range(10_000):
        throttle.failed(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}", float(n))
    assert len(throttle) == 100


def test_the_api_listens_beyond_the_loopback_only_with_tls_or_on_purpose() -> None:
    assert parse_listen("off") is None
    assert parse_listen("127.0.0.1:8480") == ("127.0.0.1", 8480)
    assert parse_listen("[::1]:9000") == ("::1", 9000)
    assert parse_listen(":8480") == ("127.0.0.1", 8480)
    for wrong in ("8480", "host:port", "1.2.3.4:99999"):
        with pytest.raises(CompositorError, match="give HOST:PORT"):
            parse_listen(wrong)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("wall.example")
    check_exposure(ApiOptions("127.0.0.1", 8480))
    with pytest.raises(CompositorError, match="--tls-cert and --tls-key"):
        check_exposure(ApiOptions("0.0.0.0", 8480))
    check_exposure(ApiOptions("0.0.0.0", 8480, insecure_http=True))  # warned, allowed


def test_while_the_api_serves_the_render_loop_waits_at_most_1_ms_for_the_gil() -> None:
    """A request's Python would hold the GIL up to CPython's 5 ms switch interval each
    time the render loop wakes; while serving it is 1 ms, given back on close."""
    before = sys.getswitchinterval()
    server = ApiServer(FastAPI(), ApiOptions("127.0.0.1", 0))
    server.start()
    try:
        assert sys.getswitchinterval() == pytest.approx(GIL_SWITCH_S)
        assert httpx.get(f"{server.url}nothing-here", timeout=5).status_code == 404
    finally:
        server.close()
    assert sys.getswitchinterval() == pytest.approx(before)
