"""BM25 terms from Kiwi morphemes: content morphemes plus compounds of nouns written together.

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

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rabbit_rag.text.kiwi import KIWI_OPTIONS, Lex, get_kiwi, lex

#: Bump when the term function changes: indexes record it and refuse a mismatch.
TOKENIZER_VERSION = 1

KEPT_TAG_PREFIXES: tuple[str, ...] = (
    "NNG", "NNP", "NNB", "NR", "NP", "VV", "VA", "XR", "MAG", "SN", "SL", "SH", "W_",
)  # fmt: skip
# Tags that join into a compound term when written together (개정+안, 국회+의원, 비+정규직).
_COMPOUND_TAGS = frozenset({"NNG", "NNP", "NNB", "XPN", "XSN"})


def tokenizer_settings() -> dict[str, Any]:
    """What an index records about its BM25 tokenizer; opening with other settings is an error."""
    import kiwipiepy

    kiwi_major_minor = ".".join(kiwipiepy.__version__.split(".")[:2])
    return {
        "name": "kiwi-content-morphemes",
        "version": TOKENIZER_VERSION,
        "kiwi": kiwi_major_minor,
        "kiwi_options": dict(KIWI_OPTIONS),
        "kept_tags": list(KEPT_TAG_PREFIXES),
        "lowercase": True,
    }


_keep_cache: dict[str, bool] = {}


def _keep(tag: str) -> bool:
    keep = _keep_cache.get(tag)
    if keep is None:
        keep = _keep_cache[tag] = tag.startswith(KEPT_TAG_PREFIXES)
    return keep


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


def token_terms(morphs: Sequence[Lex]) -> list[list[str]]:
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
    return [term for terms in token_terms(lex(tokens)) for term in terms]


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
    own_terms = [_term(form, tag) for form, tag, _, _ in morphs]
    # ``known`` is asked once, about the compounds and the query's own terms together: a caller that
    # looks terms up in a database (the index's query vocabulary) then answers the whole query in one
    # round trip and has its own terms cached for the lookup that follows
    found = known([*runs.values(), *(t for t in own_terms if t is not None)]) if known is not None and runs else set()
    covered = {i for (a, b), c in runs.items() if c in found for i in range(a, b)}
    ends = {b - 1: c for (a, b), c in runs.items() if c in found}
    out: list[str] = []
    for i, own in enumerate(own_terms):
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


@functools.lru_cache(maxsize=4096)
def text_terms(text: str) -> frozenset[str]:
    """Kiwi content terms of a statement or question, as a set (cached: answers ask for the same
    question's terms many times).

    예: ``text_terms("국회의원의 임기는?")`` → ``frozenset({'국회의원', '국회', '의원', '임기'})``
    """
    return frozenset(bm25_tokenize(text))


#: Words that ask rather than say: they never occur in the answer, so they carry no content.
QUESTION_WORDS = frozenset(
    {
        "무엇",
        "뭐",
        "무슨",
        "어디",
        "누구",
        "언제",
        "얼마",
        "얼마나",
        "어느",
        "왜",
        "어떻",
        "어떠",
        "어찌",
        "몇",
        "어때",
        "며칠",
    }
)
#: Light verbs and bound nouns that add little to matching a question against a sentence.
LIGHT_TERMS = frozenset(
    {"하", "되", "있", "없", "것", "수", "등", "때", "경우", "이", "그", "저", "알", "말하", "중", "동안"}
)


def content_terms(text: str) -> list[str]:
    """The content words of a question (Kiwi BM25 terms minus question words and light verbs).

    Nouns written together count once, as their compound.

    예: ``content_terms("국회의원 임기는 얼마 동안인가요?")`` → ``['국회의원', '임기']``
    """
    terms = bm25_query_terms(text, known=set)  # every compound "known": 국회의원, not 국회 + 의원
    return [t for t in terms if t not in QUESTION_WORDS and t not in LIGHT_TERMS]
