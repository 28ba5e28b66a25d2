"""The API's access tokens: random, shown once, kept only as a hash.

``videowall token add NAME --role R`` makes a token (``vw_`` and 43 random URL-safe
characters: 256 bits), prints it once, and stores only its SHA-256 in
``<state dir>/tokens.json`` (mode 0600, in the 0700 state folder) with its name,
role and creation time. A token is checked by hashing what the client sent and
comparing it with every stored hash in constant time; the running wall reads the
file again when it changes, so ``token add`` and ``token revoke`` take effect at
the next request. A token never goes to a log, the audit log or an error message.

A hash without a salt or stretching is enough here: the tokens are random with
256 bits, not passwords a person chose, so no dictionary reaches them.
"""

from __future__ import annotations

__all__ = [
    "TOKENS_FILE",
    "TokenRecord",
    "TokenStore",
    "new_token",
]

import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from compositor.control.commands import Role
from compositor.core.clock import local_iso
from compositor.core.errors import CompositorError, NotFoundError
from compositor.core.files import ensure_folder, write_file

TOKENS_FILE = "tokens.json"
TOKEN_PREFIX = "vw_"  # so a token pasted somewhere it should not be is recognisable
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
# The audit log's own actors: a token of one of these names would pass for them.
RESERVED_NAMES = frozenset({"cli", "file", "wall"})
MAX_TOKENS = 1000
ROLES = {role.label: role for role in Role}


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenRecord:
    name: str
    role: Role
    sha256: str
    created: str  # local time, ISO 8601

    def public(self) -> dict[str, str]:
        """What may be shown of it: everything but the hash."""
        return {"name": self.name, "role": self.role.label, "created": self.created}


_Signature = tuple[int, int, int]  # inode, size, mtime


class TokenStore:
    """The tokens file of one state folder; safe to use from several threads."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / TOKENS_FILE
        self._lock = threading.Lock()
        self._records: tuple[TokenRecord, ...] = ()
        self._seen: _Signature | None = None

    def _signature(self) -> _Signature | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def records(self) -> tuple[TokenRecord, ...]:
        """The tokens as the file has them now (read again only when it changed)."""
        signature = self._signature()
        with self._lock:
            if signature != self._seen:
                self._records = self._read() if signature is not None else ()
                self._seen = signature
            return self._records

    def _read(self) -> tuple[TokenRecord, ...]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return tuple(
                TokenRecord(str(t["name"]), ROLES[t["role"]], str(t["sha256"]), str(t["created"]))
                for t in data["tokens"]
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # No token is accepted from a file that cannot be read: locked out, not open.
            raise CompositorError(f"cannot read the tokens file {self.path}: {exc}") from None

    def verify(self, token: str) -> TokenRecord | None:
        """The record of ``token``, or None. Every stored hash is compared, in constant
        time, whether or not one matched: how long it takes tells nothing."""
        digest = _digest(token)
        found = None
        for record in self.records():
            if hmac.compare_digest(record.sha256, digest):
                found = record
        return found

    def add(self, name: str, role: str, wall_time: float, replace: bool = False) -> str:
        """A new token for ``name``; returned once, never stored. ``replace``: a token of
        the same name is revoked first (else that is an error)."""
        if not NAME_PATTERN.match(name):
            raise CompositorError(
                f"token name {name[:70]!r}: letters, digits, '_', '.', '@', '-', starting "
                "with a letter or digit, at most 64"
            )
        if name in RESERVED_NAMES:
            raise CompositorError(
                f"token name {name!r} is the audit log's own ({', '.join(sorted(RESERVED_NAMES))})"
            )
        if role not in ROLES:
            raise CompositorError(f"unknown role {role!r}: it is one of {', '.join(ROLES)}")
        records = list(self.records())
        if any(r.name == name for r in records):
            if not replace:
                raise CompositorError(
                    f"a token named {name!r} exists: revoke it first "
                    f"(videowall token revoke {name})"
                )
            records = [r for r in records if r.name != name]
        if len(records) >= MAX_TOKENS:
            raise CompositorError(f"{len(records)} tokens exist already: revoke some first")
        token = new_token()
        records.append(TokenRecord(name, ROLES[role], _digest(token), local_iso(wall_time)))
        self._write(records)
        return token

    def revoke(self, name: str) -> TokenRecord:
        records = list(self.records())
        gone = next((r for r in records if r.name == name), None)
        if gone is None:
            names = ", ".join(r.name for r in records) or "none"
            raise NotFoundError(f"no token named {name!r} (tokens: {names})")
        self._write([r for r in records if r.name != name])
        return gone

    def _write(self, records: list[TokenRecord]) -> None:
        data = {
            "tokens": [
                {"name": r.name, "role": r.role.label, "sha256": r.sha256, "created": r.created}
                for r in records
            ]
        }
        try:
            # The state folder must be ours alone: whoever could write in it could put a
            # token of their own in this file.
            ensure_folder(self.path.parent)
            text = json.dumps(data, indent=2) + "\n"
            write_file(self.path.parent, self.path.name, text.encode(), 0o600, durable=True)
        except OSError as exc:
            raise CompositorError(
                f"cannot write the tokens file {self.path}: {exc.strerror or exc}"
            ) from None
