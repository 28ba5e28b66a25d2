"""Passwords out of everything shown: status, logs, errors, tiles, previews.

Camera URLs carry credentials, in more places than ``user:pass@``: DVRs take
them as parameters (``rtsp://host/user=admin&password=…&channel=1``,
``…/user=admin_password=…_channel=1``, ``?pwd=…``, ``;passwd=…``), and a layout
may put a ``${VAR}`` anywhere (a token in the path, the whole host).

Two layers:

- by pattern, with nothing known (:func:`redact_url`, :func:`redact_secrets`):
  the password of ``user:password@`` and the value of ``password=``,
  ``passwd=``, ``pwd=``, ``pass=``, ``auth=``, ``token=``, ``secret=`` (and a
  few more) wherever they are. This is all a decoder process has: it knows a
  URL, not the layout;
- by knowing the layout (:class:`Redactor`): every value that came from a
  ``${VAR}`` is hidden wherever it is in its URL, in the URL as shown and in
  any text quoting it, even cut short (a decoder's reason is 160 bytes).
"""

from __future__ import annotations

__all__ = ["Redactor", "SecretUrl", "redact_secrets", "redact_url"]

import re
from collections.abc import Iterable
from dataclasses import dataclass

HIDDEN = "***"
# Shorter values from a variable (a channel number, say) are hidden in their URL only:
# hidden everywhere, "1" would eat every digit of a message.
MIN_FREE_TEXT_SECRET = 4

# Keys whose value is a credential. Preceded by anything but a letter or digit, so
# `user=admin_password=x` (an underscore-separated DVR path) counts, `bypass=1` not.
_KEYS = r"password|passwort|passwd|passphrase|pass|pwd|auth|authorization|token|secret|api_?key"
# The value runs to the next separator of a URL or a message, or to `_key=` (the
# underscore-separated form: `…_password=x_channel=1_stream=0.sdp`).
_PARAMETER = re.compile(
    rf"(?<![A-Za-z0-9])(?P<key>{_KEYS})=(?P<value>(?:(?!_[A-Za-z][A-Za-z0-9]*=)[^\s&;/?#'\"<>,)\]])+)",
    re.IGNORECASE,
)
# The password runs to the last @ before a blank: it may hold an @ of its own.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@\s]*):\S*@")


def _hide_parameters(text: str) -> str:
    return _PARAMETER.sub(lambda match: f"{match['key']}={HIDDEN}", text)


def redact_url(url: str) -> str:
    """``rtsp://user:secret@host/x?pwd=secret`` -> ``rtsp://user:***@host/x?pwd=***``.

    Plain string work, not ``urlsplit``: a password with ``/``, ``@`` or ``#`` in it
    (an unencoded ``${VAR}``) would otherwise be taken for the path and shown. Up to
    the last ``@`` is hidden, so an ``@`` in the path may hide more than needed.
    """
    scheme, separator, rest = url.partition("://")
    at = rest.rfind("@")
    if separator and at >= 0:
        user = rest[:at].split(":", 1)[0]
        if not any(c in user for c in "/?#"):  # else the @ is in the path: no user part
            url = f"{scheme}://{user}:{HIDDEN}@{rest[at + 1 :]}"
    return _hide_parameters(url)


def redact_secrets(text: str) -> str:
    """Every ``scheme://user:password@`` and ``password=…`` in free text (an FFmpeg
    message, say) hidden."""
    return _hide_parameters(_USERINFO.sub(rf"\g<scheme>\g<user>:{HIDDEN}@", text))


@dataclass(frozen=True, slots=True)
class SecretUrl:
    """A URL as used (``${VAR}`` expanded) and where in it the values of variables are."""

    url: str
    spans: tuple[tuple[int, int], ...] = ()  # [start, end) of each value from a ${VAR}

    def shown(self, length: int | None = None) -> str:
        """The URL (its first ``length`` characters) as it may be shown."""
        end = len(self.url) if length is None else length
        parts, at = [], 0
        for start, stop in self.spans:
            if start >= end:
                break
            parts.append(self.url[at:start])
            parts.append(HIDDEN)  # even a value cut short: its start is a secret too
            at = stop
        if at < end:
            parts.append(self.url[at:end])
        return redact_url("".join(parts))

    @property
    def values(self) -> list[str]:
        return [self.url[start:stop] for start, stop in self.spans]


class Redactor:
    """Hides the values from ``${VAR}`` of known URLs, and every password by pattern."""

    def __init__(self, urls: Iterable[SecretUrl] = ()) -> None:
        known = {u.url: u for u in urls if u.spans and u.url}
        self._by_url = known
        # Longest first: a URL that begins another must not be replaced inside it.
        self._urls = sorted(known.values(), key=lambda u: len(u.url), reverse=True)
        values = {v for u in self._urls for v in u.values if len(v) >= MIN_FREE_TEXT_SECRET}
        self._values = sorted(values, key=len, reverse=True)

    def url(self, url: str) -> str:
        """``url`` as it may be shown."""
        known = self._by_url.get(url)
        return known.shown() if known is not None else redact_url(url)

    def text(self, text: str) -> str:
        """Free text (a decoder's reason, a message) as it may be shown."""
        for known in self._urls:
            if known.url in text:
                text = text.replace(known.url, known.shown())
            text = _hide_cut_url(text, known)
        for value in self._values:  # a piece of a URL quoted alone (a path, a host)
            text = text.replace(value, HIDDEN)
        return redact_secrets(text)


def _hide_cut_url(text: str, known: SecretUrl) -> str:
    """``text`` that ends in the first part of ``known``'s URL, that part as shown."""
    scheme = known.url.split("://", 1)[0] + "://"
    start = text.find(scheme)
    while start >= 0:
        tail = text[start:]
        if known.url.startswith(tail):
            return text[:start] + known.shown(len(tail))
        start = text.find(scheme, start + 1)
    return text
