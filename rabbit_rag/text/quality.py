"""Telling a broken text layer from text: private-use characters and Latin-1 mojibake.

A PDF font whose ``ToUnicode`` map is missing or wrong hands extractors the font's internal codes
instead of characters. For Korean documents that shows as private-use code points (U+E000–U+F8FF,
where a font maker parked its glyphs), as Latin-1 letters and symbols (``ÇÑ±¹¾î``: the EUC-KR bytes
of ``한국어`` read one by one) or as replacement and control characters. Indexed, such a page is
noise that matches nothing and is quoted back to users.

:func:`garbled_reason` says whether a piece of text is mostly such characters, and which kind. Real
text carries a few of them at most (Hancom documents keep some private-use symbols, French names
carry ``é``), so the test is a share: at least :data:`MIN_SHARE` of the non-space characters, and
at least :data:`MIN_COUNT` of them.

예::

    >>> garbled_reason("ÇÑ±¹¾î ¹®¼­ÀÇ ³»¿ëÀÔ´Ï´Ù")
    'Latin-1 mojibake (e.g. EUC-KR bytes read as Latin-1)'
    >>> garbled_reason("대한민국은 민주공화국이다.") is None
    True
"""

from __future__ import annotations

#: Share of non-space characters that must be broken for the text to count as garbled.
MIN_SHARE = 0.3
#: ... and at least this many of them (a short line with two odd symbols is not a broken page).
MIN_COUNT = 20

_KINDS = {
    "pua": "private-use characters (a font without a correct ToUnicode map)",
    "latin1": "Latin-1 mojibake (e.g. EUC-KR bytes read as Latin-1)",
    "bad": "replacement or control characters (glyphs without a Unicode mapping)",
}


def _kind(ch: str) -> str | None:
    o = ord(ch)
    if 0xE000 <= o <= 0xF8FF or o >= 0xF0000:
        return "pua"
    if 0x80 <= o <= 0xFF and ch not in "\xa0\xb7":  # NBSP and the middle dot are common in real Korean text
        return "latin1"
    if ch in "\ufffd\ufffe\uffff" or (o < 0x20 and ch not in "\t\n\r"):
        return "bad"
    return None


def garbled_reason(text: str) -> str | None:
    """Why ``text`` is not readable text (mostly private-use, Latin-1 or unmapped characters), or None.

    예: ``garbled_reason("\\ue020\\ue021" * 30)`` → ``'private-use characters (...)'``
    """
    counts = {"pua": 0, "latin1": 0, "bad": 0}
    total = 0
    for ch in text:
        if ch.isspace():
            continue
        total += 1
        kind = _kind(ch)
        if kind is not None:
            counts[kind] += 1
    broken = sum(counts.values())
    if broken < MIN_COUNT or broken < MIN_SHARE * total:
        return None
    return _KINDS[max(counts, key=counts.__getitem__)]
