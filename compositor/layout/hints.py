"""Did-you-mean hints for names a technician mistyped (camera ids, keys, presets)."""

from __future__ import annotations

__all__ = ["nearest_known"]

import difflib
from collections.abc import Iterable


def nearest_known(word: str, known: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The known word ``word`` most likely mistypes; a swap of letters (cam17 for cam71)
    counts as closer than a changed letter (cam74)."""

    def score(candidate: str) -> tuple[float, bool]:
        ratio = difflib.SequenceMatcher(None, word, candidate).ratio()
        return ratio, sorted(word) == sorted(candidate)

    scored = [(score(k), k) for k in known]
    scored = [(sc, k) for sc, k in scored if sc[0] >= cutoff]
    if not scored:
        return None
    return max(scored, key=lambda item: (item[0][0] + (0.1 if item[0][1] else 0.0), item[1]))[1]
