"""Korean word spacing: telling implausible spacing apart, and re-spacing it with Kiwi.

Some text extractors put a space between almost every Hangul syllable (``임 종 석 은  청 량 리
경 찰 서 에 서``): a PDF whose web font was sliced into many small fonts is read that way by pypdf,
and some OCR engines do the same. Such text ruins BM25 (every syllable becomes a term), embeddings
and quotes. Normal Korean has about three syllables per word (KorQuAD contexts: 3.1 syllables per
space, the constitution 3.5), and one-syllable words come alone or in twos and threes (``그 후``,
``수 있다``, ``이 두 곳``).

So a span is *implausible* when, among ten consecutive words that hold Hangul, at least eight are a
single syllable with nothing attached. Measured on text that must not change, the densest such
window holds six of ten (KorQuAD dev contexts, the constitution, ten National Assembly bills whose
forms letter-space ``제  출  자 :  정         부``); pypdf's output for web-saved PDFs holds ten
of ten on every line. A detected span grows to the whole line when the line as a whole has fewer
than 1.6 syllables per Hangul word (the line is broken throughout), else it covers the windows
only; words of the line outside it are never touched.

The opposite failure, a line that lost its spaces (``임종석은청량리경찰서에서약1시간동안``: PDFium
reads some widely tracked text that way), is a line of at least 20 Hangul syllables with more than
15 per space; lines of that length in the corpora above have at most 7.5.

A span is re-spaced by Kiwi's spacing model with its old spaces ignored
(``Kiwi.space(..., reset_whitespace=True)``). Only the spaces change: Kiwi's decisions are applied
to the original characters, so every non-space character, its order and every line break stay as
they were; an answer from the model that does not keep the characters is not used.

Everything here works on plain strings. :func:`repair_spacing` returns the new text and the edits,
and :class:`OffsetMap` carries offsets (page spans, headings) from the old text to the new one.

예::

    >>> fixed = repair_spacing("임 종 석 은  청 량 리 경 찰 서 에 서  약  1 시 간  동 안  조 사 를  받 았 다 .")
    >>> fixed.text
    '임종석은 청량리경찰서에서 약 1시간 동안 조사를 받았다.'
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: Words that hold Hangul looked at together, and how many of them must be single syllables.
WINDOW = 10
MIN_SINGLES = 8
#: A flagged line is re-spaced as a whole when it has fewer Hangul syllables per Hangul word than this.
WHOLE_LINE_BELOW = 1.6
#: A line of at least this many Hangul syllables with more than :data:`GLUED_ABOVE` syllables per
#: space has lost its spaces (normal lines of 20+ syllables peak at 7.5 in the corpora above).
GLUED_MIN_SYLLABLES = 20
GLUED_ABOVE = 15.0
#: Kiwi re-spaces about 2,000-10,000 characters a second on a loaded 2-core machine, so a document
#: gets at most this many characters re-spaced (the rest is left as it was and counted in
#: ``SpacingResult.unrepaired``: a deterministic cap, so the same file always gives the same text),
#: and a span is re-spaced in pieces of at most :data:`MAX_PIECE_CHARS` (cut at a space when there is
#: one nearby), so a 1 MB line without spaces stays inside the parse time limit.
MAX_RESPACED_CHARS = 20_000
MAX_PIECE_CHARS = 1_000

_HANGUL = re.compile("[\uac00-\ud7a3]")
_LONG_RUN = re.compile("[\uac00-\ud7a3]{12}")  # a line that lost its spaces has long Hangul runs
_WORD = re.compile(r"\S+")
# Eight single syllables among ten words cannot happen without three in a row (two other words
# split eight singles into at most three runs): a cheap test that lets normal lines through fast.
_THREE_SINGLES = re.compile("(?<!\\S)[\uac00-\ud7a3][ \t]+[\uac00-\ud7a3][ \t]+[\uac00-\ud7a3](?!\\S)")

#: Re-spaces a batch of strings, ignoring their spaces (Kiwi's ``space(texts, reset_whitespace=True)``).
Spacer = Callable[[list[str]], list[str]]


@dataclass(frozen=True, slots=True)
class SpacingEdit:
    """``old[start:end]`` became ``text`` (only spaces differ)."""

    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class SpacingResult:
    """The re-spaced text and the edits that made it from the old one (empty when nothing changed)."""

    text: str
    edits: tuple[SpacingEdit, ...]
    #: Characters of implausible spans left as they were (past :data:`MAX_RESPACED_CHARS`).
    unrepaired: int = 0


def _pieces(text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """``spans`` cut into pieces of at most :data:`MAX_PIECE_CHARS`, at a space near the cut when there is one."""
    out: list[tuple[int, int]] = []
    for a, b in spans:
        while b - a > MAX_PIECE_CHARS:
            cut = a + MAX_PIECE_CHARS
            space = text.rfind(" ", cut - MAX_PIECE_CHARS // 5, cut)
            if space > a:  # the space stays between the pieces, untouched
                out.append((a, space))
                a = space + 1
            else:
                out.append((a, cut))
                a = cut
        out.append((a, b))
    return out


def hangul_per_space(text: str) -> float:
    """Hangul syllables per whitespace run: about 3 for normal Korean, about 1 for broken spacing.

    예: ``hangul_per_space("대한민국은 민주공화국이다")`` → 10.0
    """
    syllables = len(_HANGUL.findall(text))
    spaces = len(re.findall(r"\s+", text.strip()))
    return syllables / max(1, spaces)


def _is_single(word: str) -> bool:
    return len(word) == 1 and "\uac00" <= word <= "\ud7a3"


def implausible_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` spans of ``text`` whose word spacing is implausible for Korean (see the module doc).

    Both kinds are found: too many spaces and lost spaces. A line next to a flagged line (and so on
    outwards) is flagged too when it is short but broken the same way (``임 종 석`` over a broken
    paragraph, ``재판을받았다.`` under a glued one): such lines are too short to judge alone, and
    never change unless a neighbour was broken beyond doubt. Spans never cross a line break, start
    at a word's first character and end after a word's last.

    예: ``implausible_spans("임 종 석 은  청 량 리 경 찰 서")`` → ``[(0, 23)]``
    """
    lines = text.split("\n")
    found: dict[int, list[tuple[int, int]]] = {}
    kinds: dict[int, str] = {}
    for i, line in enumerate(lines):
        if _THREE_SINGLES.search(line):
            spans = _line_spans(line)
            if spans:
                found[i], kinds[i] = spans, "spaced"
        elif _LONG_RUN.search(line) and _lost_spaces(line):
            found[i], kinds[i] = [_whole(line)], "glued"
    for i in sorted(kinds):  # contagion to short neighbours broken the same way
        kind = kinds[i]
        for step in (-1, 1):
            j = i + step
            while 0 <= j < len(lines) and j not in kinds and _like(lines[j], kind):
                found[j], kinds[j] = [_whole(lines[j])], kind
                j += step
    spans: list[tuple[int, int]] = []
    pos = 0
    for i, line in enumerate(lines):
        spans.extend((pos + a, pos + b) for a, b in found.get(i, ()))
        pos += len(line) + 1
    return spans


def _whole(line: str) -> tuple[int, int]:
    stripped = line.strip()
    a = line.index(stripped) if stripped else 0
    return a, a + len(stripped)


def _like(line: str, kind: str) -> bool:
    """Whether a neighbour of a flagged line is broken the same way, judged leniently."""
    words = [w for w in line.split() if _HANGUL.search(w)]
    syllables = sum(len(_HANGUL.findall(w)) for w in words)
    if kind == "spaced":  # nearly all single syllables: "임 종 석", "받 았 다 ."
        return len(words) >= 3 and sum(map(_is_single, words)) >= 0.8 * len(words)
    return syllables >= 4 and syllables / max(1, len(line.split())) >= 4.5


def _lost_spaces(line: str) -> bool:
    syllables = len(_HANGUL.findall(line))
    return syllables >= GLUED_MIN_SYLLABLES and syllables > GLUED_ABOVE * len(line.split())


def _line_spans(line: str) -> list[tuple[int, int]]:
    words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(line)]
    hangul = [i for i, (_, _, w) in enumerate(words) if _HANGUL.search(w)]
    single = [_is_single(words[i][2]) for i in hangul]
    flagged: list[tuple[int, int]] = []  # (first, last) index into ``words``
    count = sum(single[:WINDOW])
    for k in range(max(0, len(hangul) - WINDOW + 1)):
        if k:
            count += single[k + WINDOW - 1] - single[k - 1]
        if count >= MIN_SINGLES:
            first, last = hangul[k], hangul[k + WINDOW - 1]
            if flagged and first <= flagged[-1][1] + 1:
                flagged[-1] = (flagged[-1][0], last)
            else:
                flagged.append((first, last))
    if not flagged:
        return []
    syllables = sum(len(_HANGUL.findall(words[i][2])) for i in hangul)
    if syllables / len(hangul) < WHOLE_LINE_BELOW:
        return [(words[0][0], words[-1][1])]
    return [(words[a][0], words[b][1]) for a, b in flagged]


def kiwi_spacer(texts: list[str]) -> list[str]:
    """Kiwi's spacing model over ``texts``, old spaces ignored (the shared analyzer, loaded on first use)."""
    from rabbit_rag.text.kiwi import get_kiwi

    return list(get_kiwi().space(texts, reset_whitespace=True))


# Korean typography inside a re-spaced span: no space after an opening bracket or before a closing
# one or a punctuation mark; a number keeps its counter (``1989년``, ``12명``) and ``제`` its number.
_OPENING = frozenset("([{「『“‘《〈")
_CLOSING = frozenset(")]}」』”’》〉,.!?:;%·")
_QUOTES = frozenset("\"'")


def _glued(left: str, right: str, open_quotes: set[str]) -> bool:
    """Whether no space belongs between ``left`` and ``right`` (two characters of a re-spaced span)."""
    if left in _OPENING or right in _CLOSING:
        return True
    if left in _QUOTES and left in open_quotes:
        return True  # just after an opening quote
    if right in _QUOTES and right in open_quotes:
        return True  # just before the closing quote
    return (left.isdigit() and "\uac00" <= right <= "\ud7a3") or (left == "제" and right.isdigit())


def _apply_spaces(original: str, spaced: str) -> str | None:
    """``original``'s characters with the spaces of ``spaced`` and Korean typography; None when the characters differ."""
    chars = [ch for ch in original if not ch.isspace()]
    out: list[str] = []
    i = 0
    pending = False
    open_quotes: set[str] = set()  # straight quotes opened in this span and not closed yet
    for ch in spaced:
        if ch.isspace():
            pending = bool(out)
            continue
        if i >= len(chars) or ch != chars[i]:
            return None
        if pending and not _glued(out[-1], ch, open_quotes):
            out.append(" ")
        pending = False
        if ch in _QUOTES:
            open_quotes ^= {ch}
        out.append(ch)
        i += 1
    return "".join(out) if i == len(chars) else None


def repair_spacing(text: str, spacer: Spacer | None = None) -> SpacingResult:
    """Re-space the implausible spans of ``text`` (see the module doc); normal text comes back as is.

    ``spacer`` re-spaces a batch of strings (default: Kiwi, loaded only when a span is found).

    예: ``repair_spacing("국회는 법률을 제정한다.").edits == ()``
    """
    spans = implausible_spans(text)
    if not spans:
        return SpacingResult(text, ())
    spans = _pieces(text, spans)
    kept, budget = [], MAX_RESPACED_CHARS
    unrepaired = 0
    for n, (a, b) in enumerate(spans):
        if b - a > budget:
            unrepaired += sum(y - x for x, y in spans[n:])
            break
        if 20 * len(set(text[a:b])) < b - a:  # one syllable repeated is no prose (and Kiwi is slowest there)
            unrepaired += b - a
            continue
        kept.append((a, b))
        budget -= b - a
    spans = kept
    spaced = (spacer or kiwi_spacer)([text[a:b] for a, b in spans]) if spans else []
    edits: list[SpacingEdit] = []
    parts: list[str] = []
    last = 0
    for (a, b), new in zip(spans, spaced, strict=True):
        fixed = _apply_spaces(text[a:b], new)
        if fixed is None or fixed == text[a:b]:
            continue
        edits.append(SpacingEdit(a, b, fixed))
        parts.append(text[last:a])
        parts.append(fixed)
        last = b
    if not edits:
        return SpacingResult(text, (), unrepaired)
    parts.append(text[last:])
    return SpacingResult("".join(parts), tuple(edits), unrepaired)


class OffsetMap:
    """Maps offsets of the old text to the new one after :func:`repair_spacing`'s edits.

    An offset outside every edit moves by the length change of the edits before it; one inside an
    edit keeps its place among the non-space characters. (Spans never cross a line, and page,
    section and block boundaries fall on line boundaries, so in practice only the first case occurs.)

    예: ``OffsetMap(old_text, result.edits)(page_start)``
    """

    def __init__(self, old: str, edits: Sequence[SpacingEdit]):
        self._old = old
        self._edits = list(edits)
        self._starts = [e.start for e in self._edits]
        self._shift: list[int] = []
        total = 0
        for e in self._edits:
            self._shift.append(total)
            total += len(e.text) - (e.end - e.start)

    def __call__(self, offset: int) -> int:
        k = bisect.bisect_right(self._starts, offset) - 1
        if k < 0:
            return offset
        e = self._edits[k]
        new_start = e.start + self._shift[k]
        if offset >= e.end:
            return new_start + len(e.text) + (offset - e.end)
        seen = sum(not ch.isspace() for ch in self._old[e.start : offset])
        for j, ch in enumerate(e.text):
            if not ch.isspace():
                if seen == 0:
                    return new_start + j
                seen -= 1
        return new_start + len(e.text)
