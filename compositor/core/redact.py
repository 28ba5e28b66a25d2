"""Passwords out of everything shown: ``rtsp://user:secret@host/x`` -> ``rtsp://user:***@host/x``.

Camera URLs carry credentials (from ``${VAR}`` in the layout); every message, log
line, status and dump that could show one goes through these.
"""

from __future__ import annotations

__all__ = ["redact_secrets", "redact_url"]

import re


def redact_url(url: str) -> str:
    """``rtsp://user:secret@host/x`` -> ``rtsp://user:***@host/x``: never show a password.

    Plain string work, not ``urlsplit``: a password with ``/``, ``@`` or ``#`` in it
    (an unencoded ``${VAR}``) would otherwise be taken for the path and shown. Up to
    the last ``@`` is hidden, so an ``@`` in the path may hide more than needed.
    """
    scheme, separator, rest = url.partition("://")
    at = rest.rfind("@")
    if not separator or at < 0:
        return url
    user = rest[:at].split(":", 1)[0]
    if any(c in user for c in "/?#"):
        return url  # the @ is in the path: there is no user part
    return f"{scheme}://{user}:***@{rest[at + 1 :]}"


# The password runs to the last @ before a blank: it may hold an @ of its own.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@\s]*):\S*@")


def redact_secrets(text: str) -> str:
    """Every ``scheme://user:password@`` in free text (an FFmpeg message, say) -> ``user:***@``."""
    return _USERINFO.sub(r"\g<scheme>\g<user>:***@", text)
