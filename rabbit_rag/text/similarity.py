"""Surface similarity of Korean strings: character bigrams.

Kiwi terms miss paraphrases that share word stems but not morphemes (``재판관`` / ``재판``); two
syllables in a row catch much of that. Two flavours, used for different jobs:

- :func:`word_bigrams` — bigrams inside words only (spaces and punctuation break them): how much of a
  question's wording a candidate sentence repeats (the extractive answerer).
- :func:`spaceless_bigrams` — bigrams of the text with its spaces removed, so ``국회 의원`` and
  ``국회의원`` agree: which sentence of a chunk a generated statement rests on (citations).

예::

    >>> sorted(word_bigrams("대통령 임기"))
    ['대통', '임기', '통령']
    >>> sorted(spaceless_bigrams("대통령 임기"))
    ['대통', '령임', '임기', '통령']
"""

from __future__ import annotations

import re

_WORD_CHARS = re.compile(r"[^\W_]+")


def word_bigrams(text: str) -> frozenset[str]:
    """Character bigrams inside words (spaces and punctuation break them)."""
    return frozenset(w[i : i + 2] for w in _WORD_CHARS.findall(text) for i in range(len(w) - 1))


def spaceless_bigrams(text: str) -> set[str]:
    """Character bigrams of ``text`` with its whitespace removed."""
    s = "".join(text.split())
    return {s[i : i + 2] for i in range(len(s) - 1)}
