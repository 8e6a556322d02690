"""Deciding what a PDF line break was: the end of a line of words, or a break inside a word.

PDFs store lines, not paragraphs. Korean text is often wrapped at any syllable (MS Word's default
for Korean, Hangul's 글자 단위), so ``국민`` / ``으로부터`` at a line end is one word, while
``홈런을`` / ``쳤다`` is two. Inserting a space into the first splits a word; gluing the second
merges two. For each break between two Hangul syllables we ask Kiwi's spacing model
(``Kiwi.space``) about the words on both sides written together: when it puts no space at the
junction the line break is dropped, otherwise the newline stays (a newline is whitespace to the
chunker and the tokenizer). Kiwi tends to split compounds (``민주 공화국``), so its mistakes keep a
newline inside a compound, which costs retrieval nothing: the BM25 tokens are the same morphemes.

The same question is asked when a syllable meets a digit. Without asking: a break before closing
punctuation (``,`` ``.`` ``)`` ``·`` ...), after an opening one, between two digits, between a
number and a counter (``57`` / ``조``) or between ``제`` and a number is dropped; a line that ends with whitespace keeps its break; a short line (under 60% of the page's
long lines) ends a paragraph and keeps its break, unless it is a lone syllable before a Hangul line
(PDFium splits off the first letter of widely tracked text: ``임`` / ``종석은``), which Kiwi judges; ``infor-`` / ``mation`` (a Latin hyphen before a
lower-case letter) is joined without the hyphen.

예::

    join_broken_words([["모든 권력은 국민", "으로부터 나온다."]]) == ["모든 권력은 국민으로부터 나온다."]
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rabbit_rag.text.kiwi import get_kiwi

_HYPHEN = "\x00hyphen"  # marker: drop the hyphen and the break
_LATIN_HYPHEN = re.compile(r"[A-Za-z]-$")
# Korean never puts a space before closing punctuation or after an opening one / a middle dot
_NO_SPACE_BEFORE = frozenset(",.)]}」』”’·:;!?%")
_NO_SPACE_AFTER = frozenset("([{「『“‘·")
# 제 + number, and number + counter (제57조, 3항, 2024년 ...): Kiwi's spacing model tends to split these
_COUNTERS = frozenset("조항호목장절관편년월일시분초원명개세층차회번쪽배위등권")


def _is_hangul(ch: str) -> bool:
    return "\uac00" <= ch <= "\ud7a3"


def _is_word_char(ch: str) -> bool:
    return _is_hangul(ch) or ch.isdigit()


def _probe(left: str, right: str) -> tuple[str, int]:
    """Up to two words either side of the junction, written together; and the non-space length on the left."""
    lw = left.split()[-2:]
    rw = right.split()[:2]
    left_part = " ".join(lw)
    return left_part + " ".join(rw), len(left_part.replace(" ", ""))


def _space_at(spaced: str, k: int) -> bool:
    """Whether ``spaced`` has whitespace right after its ``k``-th non-space character."""
    seen = 0
    for i, ch in enumerate(spaced):
        if not ch.isspace():
            seen += 1
            if seen == k:
                return i + 1 < len(spaced) and spaced[i + 1].isspace()
    return True


def join_broken_words(pages: Sequence[Sequence[str]]) -> list[str]:
    """Join the lines of each page, dropping breaks that fall inside a word. Returns one text per page."""
    candidates: list[tuple[int, int]] = []  # (page, line index of the left line)
    probes: list[str] = []
    lengths: list[int] = []
    glue: list[list[str]] = []
    for p, lines in enumerate(pages):
        seps = ["\n"] * max(0, len(lines) - 1)
        long_lines = sorted((len(line) for line in lines if line.strip()), reverse=True)
        full = long_lines[len(long_lines) // 10] if long_lines else 0
        for i in range(len(lines) - 1):
            a, b = lines[i], lines[i + 1]
            if not a or not b or a[-1].isspace() or b[0].isspace():
                continue
            if (
                b[0] in _NO_SPACE_BEFORE
                or a[-1] in _NO_SPACE_AFTER
                or (a[-1].isdigit() and (b[0].isdigit() or b[0] in _COUNTERS))
                or (a.endswith("제") and (len(a) == 1 or not _is_hangul(a[-2])) and b[0].isdigit())
            ):
                seps[i] = ""  # typography says there was no space here, full line or not
            elif len(a) < 0.6 * full and not (len(a) == 1 and _is_hangul(a) and _is_hangul(b[0])):
                continue  # a short line ends its paragraph (a lone syllable is a split-off first letter)
            elif _LATIN_HYPHEN.search(a) and b[0].islower():
                seps[i] = _HYPHEN
            elif _is_word_char(a[-1]) and _is_word_char(b[0]) and (_is_hangul(a[-1]) or _is_hangul(b[0])):
                probe, k = _probe(a, b)
                candidates.append((p, i))
                probes.append(probe)
                lengths.append(k)
        glue.append(seps)
    if probes:
        for (p, i), spaced, k in zip(
            candidates, get_kiwi().space(probes, reset_whitespace=False), lengths, strict=True
        ):
            if not _space_at(spaced, k):
                glue[p][i] = ""
    out = []
    for lines, seps in zip(pages, glue, strict=True):
        parts: list[str] = []
        for i, line in enumerate(lines):
            if i < len(seps) and seps[i] is _HYPHEN:
                parts.append(line[:-1])
            else:
                parts.append(line)
                if i < len(seps):
                    parts.append(seps[i])
        out.append("".join(parts))
    return out
