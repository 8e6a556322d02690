"""Sentences of Korean text with exact offsets: hard segments first, then Kiwi's sentence splitter.

A segment boundary is a blank line, a line that starts like a new unit (``제70조``, ``②``, a bullet),
a line after a sentence-final mark or a chapter heading, or an offset the document gives (a page or
section start, the edges of its structural blocks). Inside a segment Kiwi finds the sentences;
together they tile the segment exactly, so nothing Kiwi skipped is lost and ``text[start:end]`` is
always the sentence.

Blocks (:class:`~rabbit_rag.types.Block`) make a heading, a list item, a table row, an FAQ question
or a caption one sentence of its own (:func:`merge_atomic`): never glued to the next sentence, never
cut in two by Kiwi (up to :data:`MAX_ATOMIC_CHARS`).

예::

    >>> text = "대통령의 임기는 5년으로 한다. 중임할 수 없다."
    >>> [text[a:b] for a, b in split_sentences(text)]
    ['대통령의 임기는 5년으로 한다.', '중임할 수 없다.']
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from rabbit_rag.text.kiwi import get_kiwi, lex
from rabbit_rag.text.terms import token_terms
from rabbit_rag.types import Block, Chunk

# A new line that starts like this begins a new sentence even when Kiwi would glue it to the line
# before: article and chapter numbers, circled numbers, bullets, numbered items, markdown headings.
_LINE_START_BREAK = re.compile(
    r"[ \t]*(?:제\s*\d+\s*[조장절관항편호]|[\u2460-\u2473\u3200-\u321e\u3260-\u327e]|[-•·▪■□○●◦※*>ㅇ]\s"
    r"|\d{1,3}[.)]\s|[가-하][.)]\s|\(\d{1,3}\)|#{1,6}\s|\|)"
)
# ...and a line that ends like this ends its sentence.
_LINE_END_BREAK = re.compile(r"[.?!。…:;」』\"'”’)\]]\s*$")
# ...and a short line that is a chapter-level heading (제2장 예산, 제3관 행정각부, 부칙) stands alone.
_HEADING_LINE = re.compile(r"[ \t]*(?:제\s*\d+\s*[장절관편]|부\s*칙)(?:[ \t<(][^\n]{0,40})?[ \t]*")
_BLANK_LINE = re.compile(r"\n[ \t]*\n\s*")
MAX_SEGMENT_CHARS = 4000
#: Block kinds that are one sentence each (a longer block keeps Kiwi's sentences).
ATOMIC_KINDS = frozenset({"heading", "list_item", "table_row", "question", "caption"})
MAX_ATOMIC_CHARS = 400


# Korean statutes, regulations and bylaws (법령, 규정, 사규) are made of articles: a line starting
# with 제N조 (or a chapter/section heading, or 부칙) opens a new unit that people cite on its own.
_ARTICLE_START = re.compile(
    r"^[ \t]*(?:제\s*\d+\s*조(?:의\s*\d+)?(?=[\s(（]|$)|제\s*\d+\s*[장절관편](?=\s|$)|부\s*칙(?=[\s<(]|$))",
    re.M,
)


def structural_breaks(text: str) -> list[int]:
    """Offsets where a legal-style unit starts (``제70조``, ``제3장``, ``부칙``); chunks never span two.

    예: ``structural_breaks("제1조 목적\n제2조 정의")`` → ``[0, 6]``
    """
    return [m.start() + len(m.group(0)) - len(m.group(0).lstrip()) for m in _ARTICLE_START.finditer(text)]


@dataclass(slots=True)
class Sentence:
    """A sentence of a document: ``text[start:end]``, its morpheme count and its BM25 terms."""

    start: int
    end: int
    n_morphemes: int
    terms: list[str] = field(default_factory=list)
    #: ``(start, end, bm25 terms)`` per morpheme; kept only for sentences that may need cutting.
    morphemes: list[tuple[int, int, list[str]]] | None = None


def block_breaks(blocks: Iterable[Block], offset: int = 0) -> list[int]:
    """Where structural blocks start and end (minus ``offset``): no sentence crosses these.

    예: ``block_breaks([Block(0, 7, "heading", level=1)])`` → ``[0, 7]``
    """
    out: set[int] = set()
    for b in blocks:
        if b.kind != "paragraph":
            out.add(b.start - offset)
            out.add(b.end - offset)
    return sorted(out)


def atomic_spans(blocks: Iterable[Block], offset: int = 0) -> list[tuple[int, int]]:
    """``(start, end)`` (minus ``offset``) of the blocks that are one sentence each, in order."""
    return sorted(
        (b.start - offset, b.end - offset)
        for b in blocks
        if b.kind in ATOMIC_KINDS and b.end - b.start <= MAX_ATOMIC_CHARS
    )


_SENTENCE_FINAL = re.compile(r"[.!?。！？][\s\"'”’)\]]*$")


def merge_atomic(
    text: str, sentences: Sequence[Sentence], spans: Sequence[tuple[int, int]], max_morphemes: int | None = None
) -> list[Sentence]:
    """``sentences`` of ``text`` with the pieces of one atomic span (a list item, a table row, ...)
    that Kiwi split apart merged into one.

    Kiwi cuts unpunctuated bullets (``○ 10.5조원을 적시공급하고, 제도 기반도 정비``) and table rows
    into fragments; a piece that ends with a sentence-final mark is a real sentence and stays apart.
    A merge that would exceed ``max_morphemes`` is not made (the chunker's budget).
    """
    if not spans or len(sentences) < 2:
        return list(sentences)
    starts = [a for a, _ in spans]
    out: list[Sentence] = []
    current_span: tuple[int, int] | None = None
    for sent in sentences:
        i = bisect.bisect_right(starts, sent.start) - 1
        span = spans[i] if i >= 0 and spans[i][0] <= sent.start and sent.end <= spans[i][1] else None
        prev = out[-1] if out else None
        if (
            span is not None
            and span == current_span
            and prev is not None
            and not _SENTENCE_FINAL.search(text, prev.start, prev.end)
            and (max_morphemes is None or prev.n_morphemes + sent.n_morphemes <= max_morphemes)
        ):
            morphs = None
            if prev.morphemes is not None and sent.morphemes is not None:
                morphs = prev.morphemes + sent.morphemes
            out[-1] = Sentence(
                prev.start, sent.end, prev.n_morphemes + sent.n_morphemes, prev.terms + sent.terms, morphs
            )
            continue
        out.append(sent)
        current_span = span
    return out


def segment_spans(text: str, breaks: Sequence[int] = ()) -> list[tuple[int, int]]:
    """Cut ``text`` into spans that no sentence may cross.

    Boundaries: blank lines, a line break before a structural line start (``제70조``, ``②``, bullets)
    or after a sentence-final mark or a chapter heading line (``제2장 예산``), the extra offsets in ``breaks`` (pages, sections), and at most
    :data:`MAX_SEGMENT_CHARS` per span (cut at whitespace). Spans carry no surrounding whitespace.
    """
    cuts = {0, len(text)}
    cuts.update(b for b in breaks if 0 < b < len(text))
    for m in _BLANK_LINE.finditer(text):
        cuts.add(m.start())
        cuts.add(m.end())
    pos = text.find("\n")
    while pos != -1:
        nxt = pos + 1
        line_start = text.rfind("\n", 0, pos) + 1
        if (
            _LINE_END_BREAK.search(text, line_start, pos)
            or _LINE_START_BREAK.match(text, nxt)
            or _HEADING_LINE.fullmatch(text, line_start, pos)
        ):
            cuts.add(nxt)
        pos = text.find("\n", nxt)
    spans: list[tuple[int, int]] = []
    ordered = sorted(cuts)
    for a, b in itertools.pairwise(ordered):
        while b - a > MAX_SEGMENT_CHARS:
            cut = _safe_cut(text, a, a + MAX_SEGMENT_CHARS)
            _append_stripped(text, a, cut, spans)
            a = cut
        _append_stripped(text, a, b, spans)
    return spans


def _safe_cut(text: str, lo: int, hi: int) -> int:
    """An offset in ``(lo, hi]`` at whitespace when there is one, never inside a character."""
    ws = max(text.rfind(" ", lo + 1, hi), text.rfind("\n", lo + 1, hi))
    return ws if ws > lo + (hi - lo) // 2 else hi


def _append_stripped(text: str, a: int, b: int, out: list[tuple[int, int]]) -> None:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    if a < b:
        out.append((a, b))


def analyze_sentences(text: str, breaks: Sequence[int] = (), keep_morphemes_over: int | None = None) -> list[Sentence]:
    """Kiwi sentences of ``text`` in order, with offsets into ``text`` and their BM25 terms.

    Sentences tile each segment's non-space text exactly: nothing Kiwi skipped is lost.
    ``keep_morphemes_over`` keeps morpheme spans for sentences with more morphemes than that, so
    a chunker can cut them safely.
    """
    for _, _, sents in analyze_many([(None, text, breaks)], keep_morphemes_over):
        return sents
    return []


def analyze_many(
    items: Iterable[tuple[Any, str, Sequence[int]]], keep_morphemes_over: int | None = None
) -> Iterator[tuple[Any, str, list[Sentence]]]:
    """Like :func:`analyze_stream`, but one ``(key, text, sentences)`` per text."""
    collected: list[Sentence] = []
    for key, text, sents, done in analyze_stream(items, keep_morphemes_over):
        collected.extend(sents)
        if done:
            yield key, text, collected
            collected = []


def analyze_stream(
    items: Iterable[tuple[Any, str, Sequence[int]]], keep_morphemes_over: int | None = None
) -> Iterator[tuple[Any, str, list[Sentence], bool]]:
    """Sentences of many texts through one streamed Kiwi batch: ``(key, text, breaks)`` in,
    ``(key, text, sentences of one segment, last segment of this text?)`` out, in input order.

    Kiwi's worker threads analyze segments of several documents at once and read ahead only a few
    dozen segments, and results come out segment by segment, so memory stays bounded however large
    a document is and however many stream through. ``items`` is consumed lazily. A text with nothing
    to analyze comes out once, with no sentences.
    """
    order: deque[list[Any]] = deque()  # [key, text, segments not yet analyzed], in input order
    owners: deque[tuple[list[Any], int, int]] = deque()

    def segments() -> Iterator[str]:
        for key, text, breaks in items:
            spans = segment_spans(text, breaks)
            entry = [key, text, len(spans)]
            order.append(entry)
            for a, b in spans:
                owners.append((entry, a, b))
                yield text[a:b]

    def empty_before(entry: list[Any] | None) -> Iterator[tuple[Any, str, list[Sentence], bool]]:
        while order and order[0] is not entry and order[0][2] == 0:
            key, text, _ = order.popleft()
            yield key, text, [], True

    feed = segments()
    first = next(feed, None)
    if first is not None:  # nothing to analyze: don't pay for loading Kiwi
        # tokenize(split_sents=True) gives sentences as token lists: the same analysis as
        # split_into_sents without building a text copy per sentence.
        for result in get_kiwi().tokenize(itertools.chain([first], feed), split_sents=True):
            entry, a, b = owners.popleft()
            yield from empty_before(entry)
            entry[2] -= 1
            done = entry[2] == 0
            if done:
                order.popleft()
            yield entry[0], entry[1], list(_tile(entry[1], a, b, result, keep_morphemes_over)), done
    yield from empty_before(None)


def _tile(text: str, a: int, b: int, sents: list[Any], keep_over: int | None) -> Iterator[Sentence]:
    """Sentences of segment ``text[a:b]`` from Kiwi's token lists; each sentence runs to the next
    one's start (trailing space trimmed), so together they cover the segment."""
    groups = _rejoin([lex(toks) for toks in sents if len(toks)]) or [[]]
    starts = [a + g[0][2] if g else a for g in groups]
    starts[0] = a
    bounds = [*starts, b]
    for i, s_start in enumerate(starts):
        s_end = bounds[i + 1]
        while s_end > s_start and text[s_end - 1].isspace():
            s_end -= 1
        if s_end <= s_start:
            continue
        morphs = groups[i]
        per_token = token_terms(morphs)
        sent = Sentence(s_start, s_end, max(1, len(morphs)), [term for terms in per_token for term in terms])
        if keep_over is not None and len(morphs) > keep_over:
            sent.morphemes = [(a + m[2], a + m[3], terms) for m, terms in zip(morphs, per_token, strict=True)]
        yield sent


# Tags that cannot open a sentence: particles, endings, suffixes, the copula.
_CONTINUES = ("J", "EC", "EF", "EP", "ETM", "ETN", "VCP", "XSN", "XSV", "XSA")


def _rejoin(groups: list[list[Any]]) -> list[list[Any]]:
    """Kiwi's sentences with a piece that opens with a particle or an ending glued back to the one
    before: Kiwi sometimes ends a sentence at a closing bracket (``〈Saint Louis Blues〉|는 12마디
    형식을 취한다``, also with a space: ``"2011년 시리아 혁명" (Syrian Revolution 2011) |이라는 공식
    페이지에``), which leaves the next one without its subject."""
    out: list[list[Any]] = []
    for g in groups:
        # (tokens cover every character but spaces: a gap of one is a space)
        if out and g and out[-1] and g[0][1].startswith(_CONTINUES) and g[0][2] - out[-1][-1][3] in (0, 1):
            prev = out[-1]
            # Kiwi may have put the subject (《중천》) at the end of the sentence before: it moves over
            last_end = max((k for k, m in enumerate(prev) if m[1] == "SF"), default=-1)
            if 0 <= last_end < len(prev) - 1:
                out[-1], g = prev[: last_end + 1], prev[last_end + 1 :] + g
                out.append(g)
            else:
                out[-1] = prev + g
        else:
            out.append(g)
    return out


def split_sentences(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every sentence of ``text``; ``text[start:end]`` is the sentence.

    예::

        >>> text = "대통령의 임기는 5년으로 한다. 중임할 수 없다."
        >>> [text[a:b] for a, b in split_sentences(text)]
        ['대통령의 임기는 5년으로 한다.', '중임할 수 없다.']
    """
    return [(s.start, s.end) for s in analyze_sentences(text)]


@functools.lru_cache(maxsize=8192)
def chunk_sentences(
    text: str, breaks: tuple[int, ...] = (), atomic: tuple[tuple[int, int], ...] = ()
) -> tuple[tuple[int, int, frozenset[str]], ...]:
    """Kiwi sentences of a chunk's text: ``(start, end, content terms)``, offsets into ``text``
    (cached: the answerer and the citation resolver read the same chunks). ``breaks`` and ``atomic``
    come from the chunk's blocks (:func:`block_breaks`, :func:`atomic_spans` with the chunk's start)."""
    sents = merge_atomic(text, analyze_sentences(text, breaks), atomic)
    return tuple((s.start, s.end, frozenset(s.terms)) for s in sents)


def sentences_of(chunk: Chunk) -> tuple[tuple[int, int, frozenset[str]], ...]:
    """:func:`chunk_sentences` of a chunk, shaped by its blocks (offsets into ``chunk.text``).

    예: a chunk holding a table gives one sentence per row.
    """
    if not chunk.blocks:
        return chunk_sentences(chunk.text)
    return chunk_sentences(
        chunk.text, tuple(block_breaks(chunk.blocks, chunk.start)), tuple(atomic_spans(chunk.blocks, chunk.start))
    )
