"""Korean morphology with Kiwi: one shared analyzer, sentences with offsets, BM25 terms.

Generic tokenizers glue particles to nouns (``대통령의``, ``대통령은``, ``대통령이`` become three
unrelated words), which ruins BM25 on Korean. We analyze with Kiwi and keep only content morphemes:

=============  ================================================  ==================
tag prefix     what                                              example
=============  ================================================  ==================
``NNG``        common noun                                       임기, 국회
``NNP``        proper noun                                       대한민국
``NNB``        bound noun (units, counters)                      년 (5년), 조 (제70조)
``NR``         numeral                                           하나, 셋
``NP``         pronoun                                           그, 이것
``VV``         verb stem (incl. irregular ``VV-I``/``VV-R``)     중임하 → 하, 정하
``VA``         adjective stem                                    없, 크
``XR``         root                                              민주
``MAG``        general adverb                                    다시, 이미
``SN``         number                                            5, 1948
``SL``         foreign word (lower-cased)                        gpt, chatgpt
``SH``         Hanja                                             大韓民國
``W_*``        URL, e-mail, hashtag, serial, emoji               https://…
=============  ================================================  ==================

Particles (``J*``), endings (``E*``), suffixes (``XS*``), copula and punctuation are dropped.
Changing this list changes every index: bump :data:`TOKENIZER_VERSION` and the manifest check
will ask users to rebuild.

예::

    >>> bm25_tokenize("대통령의 임기는 5년으로 하며")
    ['대통령', '임기', '5', '년', '하']
"""

from __future__ import annotations

import itertools
import os
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiwipiepy import Kiwi

#: Bump when the term function changes: indexes record it and refuse a mismatch.
TOKENIZER_VERSION = 1

KEPT_TAG_PREFIXES: tuple[str, ...] = (
    "NNG", "NNP", "NNB", "NR", "NP", "VV", "VA", "XR", "MAG", "SN", "SL", "SH", "W_",
)  # fmt: skip
# Tags that join into a compound term when written together (개정+안, 국회+의원, 비+정규직).
_COMPOUND_TAGS = frozenset({"NNG", "NNP", "NNB", "XPN", "XSN"})

_kiwi: Kiwi | None = None
_kiwi_lock = threading.Lock()


def kiwi_workers() -> int:
    """Worker threads for batched Kiwi analysis (``RABBIT_RAG_KIWI_WORKERS``, default: CPU count ≤ 8)."""
    env = os.environ.get("RABBIT_RAG_KIWI_WORKERS")
    if env:
        return max(1, int(env))
    return max(1, min(os.cpu_count() or 1, 8))


def get_kiwi() -> Kiwi:
    """The process-wide Kiwi analyzer, created on first use (about 1 s and 280 MB).

    Kiwi's analysis methods are safe to call from several threads on one instance.
    """
    global _kiwi
    if _kiwi is None:
        with _kiwi_lock:
            if _kiwi is None:
                from kiwipiepy import Kiwi

                _kiwi = Kiwi(num_workers=kiwi_workers())
    return _kiwi


def tokenizer_settings() -> dict[str, Any]:
    """What an index records about its BM25 tokenizer; opening with other settings is an error."""
    import kiwipiepy

    kiwi_major_minor = ".".join(kiwipiepy.__version__.split(".")[:2])
    return {
        "name": "kiwi-content-morphemes",
        "version": TOKENIZER_VERSION,
        "kiwi": kiwi_major_minor,
        "kept_tags": list(KEPT_TAG_PREFIXES),
        "lowercase": True,
    }


_keep_cache: dict[str, bool] = {}

#: A morpheme as plain values: (form, tag, start, end). Kiwi's Token attributes are slow to read, so
#: each is read once.
Lex = tuple[str, str, int, int]


def _keep(tag: str) -> bool:
    keep = _keep_cache.get(tag)
    if keep is None:
        keep = _keep_cache[tag] = tag.startswith(KEPT_TAG_PREFIXES)
    return keep


def lex(tokens: Iterable[Any]) -> list[Lex]:
    """Kiwi ``Token`` objects as ``(form, tag, start, end)`` tuples."""
    return [(t.form, t.tag, t.start, t.start + t.len) for t in tokens]


def _term(form: str, tag: str) -> str | None:
    if not _keep(tag):
        return None
    return form.lower() if tag == "SL" else form


def _compound_runs(morphs: Sequence[Lex]) -> list[tuple[int, int]]:
    """``[start, stop)`` of every run of two or more joinable nouns written without a space."""
    runs: list[tuple[int, int]] = []
    start = -1
    prev_end = -1
    for i, (_, tag, m_start, m_end) in enumerate(morphs):
        joinable = tag in _COMPOUND_TAGS
        if not (joinable and start >= 0 and prev_end == m_start):
            if start >= 0 and i - start >= 2:
                runs.append((start, i))
            start = i if joinable else -1
        prev_end = m_end
    if start >= 0 and len(morphs) - start >= 2:
        runs.append((start, len(morphs)))
    return runs


def _token_terms(morphs: Sequence[Lex]) -> list[list[str]]:
    """Terms per morpheme: its own content term, plus — on the last morpheme of a run of nouns
    written together — the compound they form.

    Kiwi splits the same compound differently by context (``국회의원의`` → 국회의원, but
    ``국회의원 임기`` → 국회 + 의원), so a document that wrote 국회의원 gets the term 국회의원
    either way. Measured on KorQuAD dev (paragraph unit, BM25): recall@5 0.9808 → 0.9848.
    """
    out: list[list[str]] = []
    for form, tag, _, _ in morphs:
        own = _term(form, tag)
        out.append([own] if own is not None else [])
    for start, stop in _compound_runs(morphs):
        out[stop - 1].append("".join(m[0] for m in morphs[start:stop]))
    return out


def terms_from_tokens(tokens: Iterable[Any]) -> list[str]:
    """BM25 terms from Kiwi ``Token`` objects: content morphemes (foreign words lower-cased) and the
    compounds of nouns written together."""
    return [term for terms in _token_terms(lex(tokens)) for term in terms]


def bm25_tokenize(text: str) -> list[str]:
    """The BM25 term function for documents (``str -> list[str]``)."""
    if not text.strip():
        return []
    return terms_from_tokens(get_kiwi().tokenize(text))


def bm25_query_terms(text: str, known: Callable[[list[str]], set[str]] | None = None) -> list[str]:
    """BM25 terms of a query. Where nouns written together form a compound the index knows
    (``known`` answers which), the compound replaces its parts: 국회의원 rather than 국회 + 의원,
    so a short passage about 국회의원 is not outscored by long ones that merely mention 국회.

    예: ``bm25_query_terms("국회의원 임기는?", lambda ts: {"국회의원"})`` → ``['국회의원', '임기']``
    """
    if not text.strip():
        return []
    morphs = lex(get_kiwi().tokenize(text))
    runs = {(a, b): "".join(m[0] for m in morphs[a:b]) for a, b in _compound_runs(morphs)}
    found = known(list(runs.values())) if known is not None and runs else set()
    covered = {i for (a, b), c in runs.items() if c in found for i in range(a, b)}
    ends = {b - 1: c for (a, b), c in runs.items() if c in found}
    out: list[str] = []
    for i, (form, tag, _, _) in enumerate(morphs):
        own = _term(form, tag)
        if own is not None and i not in covered:
            out.append(own)
        if i in ends:
            out.append(ends[i])
    return out


_NOUN_TAGS = frozenset({"NNG", "NNP", "SL", "SH"})
_PREDICATE_SUFFIX_TAGS = frozenset({"XSV", "XSA"})


def key_nouns(text: str) -> frozenset[str]:
    """The nouns of ``text`` of two or more letters and the compounds of nouns written together (as
    BM25 terms build them), without predicate nouns: a noun followed by 하다/되다 (가능한가, 선출된다).

    예: ``key_nouns("대통령의 임기는 몇 년이며 연임이 가능한가?")`` → ``{'대통령', '임기', '연임'}``
    """
    if not text.strip():
        return frozenset()
    morphs = lex(get_kiwi().tokenize(text))

    def predicate(i: int) -> bool:
        nxt = morphs[i + 1] if i + 1 < len(morphs) else None
        return nxt is not None and nxt[1] in _PREDICATE_SUFFIX_TAGS and nxt[2] == morphs[i][3]

    out = {
        _term(form, tag) or form
        for i, (form, tag, _, _) in enumerate(morphs)
        if tag in _NOUN_TAGS and len(form) >= 2 and not predicate(i)
    }
    out.update("".join(m[0] for m in morphs[a:b]) for a, b in _compound_runs(morphs) if not predicate(b - 1))
    return frozenset(out)


# --- sentence segmentation ------------------------------------------------------------------------

# A new line that starts like this begins a new sentence even when Kiwi would glue it to the line
# before: article and chapter numbers, circled numbers, bullets, numbered items, markdown headings.
_LINE_START_BREAK = re.compile(
    r"[ \t]*(?:제\s*\d+\s*[조장절관항편호]|[\u2460-\u2473\u3200-\u321e\u3260-\u327e]|[-•·▪■□○●◦※*>]\s"
    r"|\d{1,3}[.)]\s|[가-하][.)]\s|\(\d{1,3}\)|#{1,6}\s|\|)"
)
# ...and a line that ends like this ends its sentence.
_LINE_END_BREAK = re.compile(r"[.?!。…:;」』\"'”’)\]]\s*$")
# ...and a short line that is a chapter-level heading (제2장 예산, 제3관 행정각부, 부칙) stands alone.
_HEADING_LINE = re.compile(r"[ \t]*(?:제\s*\d+\s*[장절관편]|부\s*칙)(?:[ \t<(][^\n]{0,40})?[ \t]*")
_BLANK_LINE = re.compile(r"\n[ \t]*\n\s*")
MAX_SEGMENT_CHARS = 4000


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
    groups = [lex(toks) for toks in sents if len(toks)] or [[]]
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
        per_token = _token_terms(morphs)
        sent = Sentence(s_start, s_end, max(1, len(morphs)), [term for terms in per_token for term in terms])
        if keep_over is not None and len(morphs) > keep_over:
            sent.morphemes = [(a + m[2], a + m[3], terms) for m, terms in zip(morphs, per_token, strict=True)]
        yield sent


def split_sentences(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every sentence of ``text``; ``text[start:end]`` is the sentence.

    예::

        >>> text = "대통령의 임기는 5년으로 한다. 중임할 수 없다."
        >>> [text[a:b] for a, b in split_sentences(text)]
        ['대통령의 임기는 5년으로 한다.', '중임할 수 없다.']
    """
    return [(s.start, s.end) for s in analyze_sentences(text)]
