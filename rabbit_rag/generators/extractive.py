"""The extractive answerer: no language model, just the sentences of the sources that answer best.

The candidates are the sentences of the retrieved chunks, shaped by the documents' structure
(:attr:`~rabbit_rag.types.Chunk.blocks`): a list item or a table row is one sentence, and headings,
titles, captions and FAQ questions are never answers — they describe what follows them. Each candidate
is scored against the question:

- lexical: the share of the question's content morphemes (Kiwi BM25 terms minus question words
  such as 무엇/몇/언제) that the sentence contains, each weighted by its rarity among the candidate
  sentences (``log(1 + N/df)``), so ``국회의원`` outweighs ``임기`` when every sentence is about 임기.
  A word the sentence lacks still counts in part when its context has it: the FAQ question an answer
  answers (nearly fully), the header of a table row, the headings above the sentence (half);
- the question's type (:mod:`rabbit_rag.text.answer_types`): for 언제 a sentence must name a date or
  time, for 얼마/몇 a number with its unit, for 누구 a person or organisation, for 어디 a place — one
  that does not is marked down, one that does is marked up;
- semantic (when an embedder is given): cosine similarity of question and sentence embeddings;
- surface: the share of the question's character bigrams (particles included) the sentence repeats,
  so the sentence phrased like the question wins among those with the same words;
- a small bonus for the chunk's retrieval rank, to break ties.

The best sentence (and a second one when it covers question words the first misses, completes the
first, or scores too close to it to call: :meth:`ExtractiveGenerator.select`) becomes the answer,
verbatim but without a leading article, item or bullet mark (``제42조``, ``①``, ``○``, ``A.``), a
table row read with its header (``업무: API 문서 정리, 담당: 김민수``), each followed by
its source number: ``국회의원의 임기는 4년으로 한다. [1]``. For a typed question the answer span
inside the sentence (``4년``) is given too (:attr:`Draft.span`); the whole sentence stays the quote.
``[n]`` markers inside the quoted text are neutralized (:func:`~rabbit_rag.citations.neutralize_markers`).

It declines — answers :data:`~rabbit_rag.prompts.NOT_FOUND` — when no sentence covers enough of
the question, and when too much of the question's words appear nowhere in the retrieved sentences
("회사 주차장 요금은?" over documents that never mention 주차장): see :meth:`ExtractiveGenerator._off_topic`.
The share (:data:`DEFAULT_MAX_MISSING`) was set by measurement — see ``docs/ask.md``.

In a chat, words of the topic question that the follow-up does not repeat count half.

예::

    gen = ExtractiveGenerator()
    "".join(gen.draft("국회의원 임기는?", hits).pieces)   # '국회의원의 임기는 4년으로 한다. [1]'
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from rabbit_rag.citations import neutralize_markers
from rabbit_rag.conversation import Turn, topic_for
from rabbit_rag.embeddings import Embedder
from rabbit_rag.generators.base import DEFAULT_MAX_MISSING, Draft
from rabbit_rag.prompts import NOT_FOUND
from rabbit_rag.text.answer_types import (
    TITLE_NOUNS,
    AnswerType,
    Entity,
    asked_noun,
    asks_year,
    counted_unit,
    expected_unit,
    label_type,
    labelled,
    question_type,
    same_unit,
    typed,
    unit_of,
)
from rabbit_rag.text.sentences import sentences_of
from rabbit_rag.text.similarity import word_bigrams
from rabbit_rag.text.terms import content_terms, key_nouns, text_terms
from rabbit_rag.types import Block, BlockKind, Chunk, ScoredChunk

MIN_SENTENCE_TERMS = 3
#: Sentences of these kinds describe what follows them; they are never answers.
NOT_ANSWERS: frozenset[BlockKind] = frozenset({"heading", "question", "caption"})
#: How much a word in a sentence's context counts, by where it is: the FAQ question an answer answers,
#: the header of a table row, the headings above the sentence.
CONTEXT_CREDIT = {"answer": 0.9, "table_row": 0.8, "heading": 0.8, "title": 0.8}
#: Credit for a question word written inside a longer word of the sentence (회의 in 회의록).
INSIDE_CREDIT = 0.6
#: Credit for a question word whose stem the sentence has (우승 for 우승자, 데뷔 for 데뷔작).
STEM_CREDIT = 0.6
#: Credit for a question word that only the sentence before says (both running text of one passage):
#: ``leans`` when the sentence starts with a pronoun, demonstrative or connective (그는, 이 곡은,
#: 그러나: :data:`_LEANS_BACK`) and so takes its subject from the one before, ``any`` otherwise (Korean
#: drops a subject the previous sentence said). KorQuAD paraphrases say the answer in the sentence
#: after the one that restates the question.
PREVIOUS_CREDIT = {"leans": 0.6, "any": 0.3}

# A leading article / paragraph / item number or bullet: 제42조, 제3조의2(목적), ①, 1., 가., ○, -, A.
_LEADING_NUMBER = re.compile(
    r"^\s*(?:제\s*\d+\s*조(?:의\s*\d+)?(?:\s*\([^)]{1,30}\))?\s*)?(?:[\u2460-\u2473\u3260-\u327e]\s*|\d{1,2}[.)]\s+|[가-하][.)]\s+"
    r"|\(\d{1,2}\)\s*|[□■◆◇▣○●◦◎\-–‐·•▪▫∙※☞▶▷►➢✓✔*+]\s+|ㅇ\s+)?"
)
_ANSWER_MARK = re.compile(
    r"^\s*(?:[*_]{2})?\s*(?:\[\s*A\s*\]|A\s*\d{0,3}\s*[.:：)]|A(?=\s)|답변\s*[.:：)]|답\s*[:：)])\s*(?:[*_]{2})?\s*"
)
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
_QUESTION_END = re.compile(r"[?？][\s\"'”’)\]*_]*$")
# A sentence that goes on from the one before it (그래서 이를 …라고 한다, 그 중 하나는 …, 대표적으로 …).
_GOES_ON = re.compile(
    r"^\s*(?:그래서|즉|이를|이는|이것은|이것이|그 ?중|이 ?중|대표적으로|또한?\s|특히|예를 들(?:면|어)|결국|따라서|그 결과|이에|이 무렵|이때|이 때)"
)
# A sentence that leans on the one before it (이후 …, 그는 …).
_REFERS_BACK = re.compile(r"^\s*(?:이후|이는|이것은|이때|이 때|그는|그녀는|그들은|그 후|당시|이에)")
# A sentence whose subject or topic is said by the sentence before it: a pronoun or demonstrative
# (그는, 이 곡은, 그의, 이들은, 이곳에서), or a connective (그러나, 하지만, 또한, 이후).
_LEANS_BACK = re.compile(
    r"^\s*(?:(?:그|이|저)(?:녀|들|것|곳|때|후|후에|해|에|를|는|의|가|로|와|러나|리고|래서|런데|러므로|럼에도)?(?=[\s은는이가을를의에도,])"
    r"|그녀|이들|그들|이곳|그곳|당시|이후|하지만|또한|게다가|결국|따라서)"
)


@dataclass(frozen=True, slots=True)
class Pick:
    """A candidate sentence: source number ``n`` (1-based), offsets in the chunk text, its text, the
    share of the question it covers (``lexical``), its cosine to the question (with an embedder), the
    ranking score, the question words it matched, its block kind, the table header or FAQ question
    that goes with it, and the answer span inside it (chunk offsets) when the question has a type
    (``weak``: only weak evidence; ``announced``: a label such as ``문의:`` says it is the asked value;
    ``borrowed``: the share of ``score`` from question words only the sentence before says)."""

    n: int
    start: int
    end: int
    text: str
    lexical: float
    semantic: float | None
    score: float
    matched: frozenset[str]
    kind: BlockKind = "paragraph"
    header: str | None = None
    span: tuple[int, int] | None = None
    weak: bool = False
    own: float = 0.0
    announced: bool = False
    borrowed: float = 0.0


@dataclass(slots=True)
class _Unit:
    n: int
    start: int
    end: int
    text: str
    terms: frozenset[str]
    kind: BlockKind
    header: str | None
    context: dict[str, float]  # context terms → credit


def question_weights(question: str, history: Sequence[Turn] = ()) -> dict[str, float]:
    """Content words of the question (compounds as one word) with their weight: 1.0, or 0.5 for words
    that only the chat's topic question brings. The unit a question counts in (번 of 몇 번, 명 of 몇 명)
    is left out: the answer often uses another (주 2회)."""
    unit = counted_unit(question)
    weights = {t: 1.0 for t in content_terms(question) if t != unit}
    topic = topic_for(question, history)
    if topic != question:
        for t in content_terms(topic):
            weights.setdefault(t, 0.5)
    return weights


def _parts(word: str, terms: frozenset[str]) -> frozenset[str]:
    """The morphemes a compound is made of (국회의원 → 국회, 의원), among ``terms``: the Kiwi terms of
    the text the compound came from (:func:`~rabbit_rag.citations.text_terms`, computed once)."""
    return frozenset(t for t in terms if t != word and t in word)


def _credit(word: str, parts: frozenset[str], terms: frozenset[str]) -> float:
    """1 when a sentence has the word; 0.7 when it has all of a compound's parts written apart; 0.6
    when a longer word of the sentence holds it (회의 in 회의록), or when the sentence has its stem —
    the word of three or more letters without its last one (우승 for 우승자, 데뷔 for 데뷔작): questions
    name the derived noun where the answering sentence says the act (KorQuAD dev, all 5,774
    questions: contains 0.8911 → 0.8945, a quote covers 0.8608 → 0.8642, not found 0.92 → 0.83 %)."""
    if word in terms:
        return 1.0
    if len(parts) >= 2 and parts <= terms:
        return 0.7
    if len(word) >= 2 and any(word in t for t in terms if len(t) > len(word)):
        return INSIDE_CREDIT
    if len(word) >= 3 and word[:-1] in terms:
        return STEM_CREDIT  # 우승 for 우승자, 데뷔 for 데뷔작: the word without its suffix
    return 0.0


def clean_sentence(text: str) -> str:
    """The sentence without a leading article, item or bullet mark, an FAQ ``A.`` mark or Markdown
    emphasis (kept when nothing else would remain).

    예: ``clean_sentence("제42조 국회의원의 임기는 4년으로 한다.")`` → ``'국회의원의 임기는 4년으로 한다.'``
    """
    rest = _ANSWER_MARK.sub("", text, count=1)
    rest = _LEADING_NUMBER.sub("", rest, count=1).strip()
    rest = _EMPHASIS.sub(r"\2", rest)
    return rest if len(rest) >= 2 else text.strip()


def _cells(row: str) -> tuple[str, ...]:
    return tuple(" ".join(c.split()) for c in row.strip().strip("|").split("|"))


def read_row(row: str, header: str | None) -> str:
    """A table row as a reader says it: each cell after its column name when the header fits.

    예: ``read_row("| API 문서 정리 | 김민수 |", "업무 | 담당")`` → ``'업무: API 문서 정리, 담당: 김민수'``
    """
    cells = _cells(row)
    if header:
        names = _cells(header)
        if len(names) == len(cells):
            return ", ".join(f"{k}: {v}" if k else v for k, v in zip(names, cells, strict=True) if v)
    return ", ".join(c for c in cells if c)


def _heading_terms(text: str) -> frozenset[str]:
    return text_terms(clean_sentence(text))


def _units(n: int, chunk: Chunk) -> list[_Unit]:
    """The sentences of source ``n`` with their block kind, header and context terms."""
    text = chunk.text
    blocks = sorted(chunk.blocks, key=lambda b: (b.start, b.end))
    starts = [b.start - chunk.start for b in blocks]
    section_ctx: dict[str, float] = {}
    if chunk.title and chunk.title != chunk.source:  # a document's title says what all of it is about
        section_ctx.update(dict.fromkeys(_heading_terms(chunk.title.replace("_", " ")), CONTEXT_CREDIT["title"]))
    if chunk.section:
        for t in _heading_terms(chunk.section):
            section_ctx[t] = max(section_ctx.get(t, 0.0), CONTEXT_CREDIT["heading"])
    headings: dict[int, frozenset[str]] = {}  # level → terms of the latest heading of that level
    out: list[_Unit] = []
    for a, b, terms in sentences_of(chunk):
        i = bisect.bisect_right(starts, a) - 1
        block: Block | None = None
        if i >= 0 and starts[i] <= a and b <= blocks[i].end - chunk.start:
            block = blocks[i]
        kind: BlockKind = block.kind if block is not None else "paragraph"
        header = block.header if block is not None else None
        if kind == "heading" and block is not None:
            level = block.level or 1
            headings = {lv: t for lv, t in headings.items() if lv < level}
            headings[level] = _heading_terms(text[a:b])
        context = dict(section_ctx)
        for t in frozenset().union(*headings.values()) if headings else ():
            context[t] = max(context.get(t, 0.0), CONTEXT_CREDIT["heading"])
        if header and kind in ("answer", "table_row"):
            for t in text_terms(header):
                context[t] = max(context.get(t, 0.0), CONTEXT_CREDIT[kind])
        out.append(_Unit(n, a, b, text[a:b], terms, kind, header, context))
    return out


def _answerable(u: _Unit, header_rows: set[tuple[str, ...]]) -> bool:
    if u.kind in NOT_ANSWERS or _QUESTION_END.search(u.text):
        return False
    if u.kind == "table_row" and u.header is None and _cells(u.text) in header_rows:
        return False  # the header row of a table names columns; it answers nothing
    return len(u.terms) >= MIN_SENTENCE_TERMS or (u.kind in ("table_row", "list_item", "answer") and len(u.terms) >= 1)


class ExtractiveGenerator:
    """Answers with the best sentences of the sources (see the module docstring).

    ``max_sentences`` caps the answer; ``min_lexical`` / ``min_semantic`` are the coverage a sentence
    needs to answer at all; the ``*_weight`` arguments weigh the scores above; ``max_missing_share``
    declines off-topic questions (None: never); ``follow``, ``second_ratio``, ``close_ratio`` and
    ``neighbour_ratio`` decide when a second sentence joins (:meth:`select`; ``neighbour_ratio=0``
    turns its rule off)."""

    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        max_sentences: int = 2,
        min_lexical: float = 0.3,
        min_semantic: float = 0.6,
        semantic_weight: float = 0.3,
        density_weight: float = 0.1,
        rank_weight: float = 0.1,
        surface_weight: float = 0.3,
        absent_weight: float = 0.5,
        type_weight: float = 0.15,
        label_weight: float = 0.15,
        max_missing_share: float | None = DEFAULT_MAX_MISSING,
        second_ratio: float = 0.7,
        close_ratio: float = 0.75,
        follow: bool = True,
        neighbour_ratio: float = 0.5,
        fallback_reason: str | None = None,
    ) -> None:
        self.embedder = embedder
        self.max_sentences = max_sentences
        self.min_lexical = min_lexical
        self.min_semantic = min_semantic
        self.semantic_weight = semantic_weight
        self.density_weight = density_weight
        self.rank_weight = rank_weight
        self.surface_weight = surface_weight
        self.absent_weight = absent_weight
        self.type_weight = type_weight
        self.label_weight = label_weight
        self.max_missing_share = max_missing_share
        self.fallback_reason = fallback_reason
        self._asked_weight = 0.5
        self._second_ratio = second_ratio
        self._close_ratio = close_ratio
        self._follow = follow
        self._neighbour_ratio = neighbour_ratio
        self._same_value_ratio = 0.6
        self._rank_mode = "rank"
        self._type_missing = 0.5
        self._rival_own = 0.75  # the share of the first's own coverage a close rival needs
        self._prev_lean = PREVIOUS_CREDIT["leans"]
        self._prev_any = PREVIOUS_CREDIT["any"]
        self._lent_join = True
        self._weak_follow = True
        self._names_asked = True
        self._apposition = True  # _names_asked also reads 감독이었던 X
        self._typed_far = 0.7

    @property
    def name(self) -> str:
        return "extractive" if not self.fallback_reason else f"extractive (fallback: {self.fallback_reason})"

    # -- scoring -------------------------------------------------------------------------------------
    def candidates(self, question: str, sources: Sequence[ScoredChunk], history: Sequence[Turn] = ()) -> list[Pick]:
        """Every sentence of the sources that may answer, scored, best first."""
        units: list[_Unit] = []
        for n, hit in enumerate(sources, 1):
            units.extend(_units(n, hit.chunk))
        header_rows = {_cells(u.header) for u in units if u.header and u.kind == "table_row"}
        # the sentence before each running-text sentence of the same passage: it may say the subject
        prev: dict[int, _Unit] = {}
        for a, b in itertools.pairwise(units):
            if a.n == b.n and a.kind == b.kind == "paragraph":
                prev[id(b)] = a
        raw = [u for u in units if _answerable(u, header_rows)]
        if not raw:
            return []
        weights = question_weights(question, history)
        query_text = " ".join([question, topic_for(question, history)])
        query_terms = text_terms(query_text)
        parts = {t: _parts(t, query_terms) for t in weights}
        credit = []
        lent: list[set[str]] = []  # per sentence, the words credited for its previous sentence's saying them
        for u in raw:
            got: dict[str, float] = {}
            lent.append(set())
            pu = prev.get(id(u))
            # a word the sentence before says: the sentence goes on about it (more when it starts with
            # 그는, 이 곡은, 그러나 …: its subject is the previous sentence's)
            pc = 0.0 if pu is None else self._prev_lean if _LEANS_BACK.match(u.text) else self._prev_any
            for t in weights:
                c = _credit(t, parts[t], u.terms)
                ctx = u.context.get(t, 0.0)
                if ctx > c:
                    c = ctx
                if pc > c and pu is not None and t in pu.terms:
                    c = pc
                    lent[-1].add(t)
                if c:
                    got[t] = c
            credit.append(got)
        n_sent = len(raw)
        df = {t: sum(1 for cr in credit if t in cr) for t in weights}
        idf = {t: math.log(1 + n_sent / d) for t, d in df.items() if d}
        # A word no candidate has (often a paraphrase: 정수 for 수) still counts against every sentence.
        absent = self.absent_weight * float(np.median(list(idf.values()))) if idf else 1.0
        w = {t: weights[t] * idf.get(t, absent) for t in weights}
        total = sum(w.values()) or 1.0
        semantic = self._semantic(question, history, [u.text for u in raw])
        q_grams = word_bigrams(question)
        q_type = question_type(question)
        if self._rank_mode == "ratio" and sources and sources[0].score > 0:
            rank_bonus = [max(0.0, h.score / sources[0].score) for h in sources]
        else:
            rank_bonus = [1 / n for n in range(1, len(sources) + 1)]
        picks = []
        for i, u in enumerate(raw):
            got = credit[i]
            coverage = sum(w[t] * c for t, c in got.items()) / total
            # the share the sentence's own words cover (no heading, title or header credit)
            said = sum(w[t] * c for t in got if (c := _credit(t, parts[t], u.terms))) / total
            own = sum(1 for t in got if t in u.terms)
            borrowed = sum(w[t] * got[t] for t in lent[i]) / total
            # a little density: of two sentences that both cover the question, the one that says little
            # else is the direct answer (국회의원의 임기는 4년 vs a long transitional rule that mentions it)
            score = coverage + self.density_weight * own / max(len(u.terms), 1)
            # the question's own wording, particles included: "대통령의 임기는" is said by the article that
            # defines the term, "대통령의 임기가 만료되는" by one about something else
            if q_grams:
                grams = word_bigrams(u.text) | (word_bigrams(u.header) if u.kind == "answer" and u.header else set())
                score += self.surface_weight * len(q_grams & grams) / len(q_grams)
            span, weak, announced = None, False, False
            if q_type is not None:
                span, announced, weak = _answer_span(u, q_type, question, got)
                if span is None:
                    score -= self.type_weight
                else:
                    score += self.type_weight / 2 if weak else self.type_weight
                if announced:  # 일시: …, a column named 담당: the document says this is the asked value
                    score += self.label_weight
            sem = None if semantic is None else float(semantic[i])
            if sem is not None:
                score = (1 - self.semantic_weight) * score + self.semantic_weight * max(sem, 0.0)
            # the retriever ranked the whole chunk; its rank breaks near-ties between sentences
            picks.append(
                Pick(
                    u.n, u.start, u.end, u.text, coverage, sem, score + self.rank_weight * rank_bonus[u.n - 1], frozenset(got),
                    u.kind, u.header, span, weak, said, announced, borrowed,
                )
            )  # fmt: skip
        picks.sort(key=lambda p: (-p.score, p.n, p.start))
        return picks

    def _semantic(self, question: str, history: Sequence[Turn], texts: list[str]) -> np.ndarray | None:
        if self.embedder is None or not texts:
            return None
        topic = topic_for(question, history)
        query = question if topic == question else f"{topic} {question}"
        q = self.embedder.embed_query(query)
        return self.embedder.embed(texts) @ q

    def _answers(self, pick: Pick) -> bool:
        if pick.lexical >= self.min_lexical:
            return True
        return pick.semantic is not None and pick.semantic >= self.min_semantic

    def _off_topic(self, own: set[str], best: Pick, question: str, sources: Sequence[ScoredChunk]) -> bool:
        """Whether the best answer's source never mentions too much of the question
        (:meth:`missing_share` above ``max_missing_share``)."""
        if self.max_missing_share is None:
            return False
        if best.semantic is not None and best.semantic >= self.min_semantic:
            return False  # the meaning matches: a paraphrase, not another topic
        return self.missing_share(own, best, question, sources) > self.max_missing_share

    def missing_share(self, own: set[str], best: Pick, question: str, sources: Sequence[ScoredChunk]) -> float:
        """The share of the question that the best answer's source never mentions.

        "회사 주차장 요금은 얼마야?" over documents about 요금제: 주차장 and 회사 are written nowhere in
        the retrieved sources (their text, sections and titles), so the best sentence answers a question
        nobody asked. Retrieval puts a passage with a rare word near the top, so a word missing from all
        of them is most likely missing from the collection. The question's words of two or more letters are counted: nouns fully;
        predicates (뽑히, 가능 of 가능한가) half, since questions rephrase verbs more than nouns; the noun
        that names what is asked (이름 of "…의 이름은?", 정책 of "…한 정책은?") half, since it describes
        the answer, which documents rarely call by that name. A word is mentioned when it, a part of it
        of two or more letters (설립 of 설립시기), or each word of a name written with spaces (알렉산더
        헤이그) is written there. A question with a type (언제, 얼마, 누구, 어디) whose best sentence
        names nothing of that type counts half a word more as missing; one whose answer counts in the
        asked unit (몇 명 → 200인) half a word less.
        """
        words = [t for t in own if len(t) >= 2]
        if not words:
            return 0.0
        nouns = key_nouns(question)
        asked = asked_noun(question)
        text = "\n".join(x for s in sources for x in (s.chunk.text, s.chunk.section, s.chunk.title) if x)
        question_terms = text_terms(question)

        def mentioned(word: str) -> bool:
            if word in best.matched or word in text:
                return True
            if " " in word and all(p in text for p in word.split() if len(p) >= 2):
                return True
            return any(len(part) >= 2 and part in text for part in _parts(word, question_terms))

        def weight(word: str) -> float:
            if word not in nouns:
                return 0.5
            if asked is not None and word.endswith(asked):
                return self._asked_weight
            return 1.0

        w = {x: weight(x) for x in words}
        missing = sum(w[x] for x in words if not mentioned(x))
        total = sum(w.values()) or 1.0
        if question_type(question) is not None and best.span is None:
            missing, total = missing + self._type_missing, total + self._type_missing
        elif best.span is not None and _counts_in_unit(question, best):
            missing = max(0.0, missing - 0.5)  # 몇 명 answered by 200인: the sentence says what was asked
        return missing / total

    def select(self, question: str, sources: Sequence[ScoredChunk], history: Sequence[Turn] = ()) -> list[Pick]:
        """The sentences that make the answer (empty: the sources do not answer the question).

        A second sentence joins when one of these holds, in this order:

        - ``follow``: it is next to the first in its source and completes it — the first restates the
          question but names nothing of the asked type (or only a value in the wrong unit) and its
          neighbour does (KorQuAD's "…한 사람은?" over "…을 밀고하는 사건이 발생했다. 이를 밀고한 것은
          곽충보였다."; the sentence before when the first says 같은 해; failing a neighbour, the
          passage's best sentence naming a strong value when it scores at least 0.7 of the first on
          its own words), a short neighbour says what
          the asked thing is ("대표적인 예가 10차 개헌안 발표이다." for "…대표적인 예는?"), the next one goes on
          from it (그래서, 이를, 즉 …), or the first leans on the one before (그는, 이후 …) or
          names the asked thing only by pointing back at it (이 영화로 … for "…수상한 작품은?");
        - it scores at least ``second_ratio`` of the first, matches two question words and brings one
          the first lacks (대통령 임기 *and* 연임, say);
        - it scores at least ``close_ratio`` of the first, says in its own words (not a heading's or
          title's) at least 3/4 of what the first says of the question, and is a rival answer
          (:meth:`_rival`): any sentence when the first names no value of the asked type (or the
          question has none) — the words cannot tell the two apart, so both are given, the better
          first; when the first names one, a sentence naming another value of that type, as strong,
          from the same passage. (A notice's signature date shares only the notice's title with
          "정전 점검은 언제 해?": it does not join.)
        - ``neighbour_ratio``: otherwise, the second best when it is the first's neighbour in its
          passage and scores at least that share (0.5) of the first — or, when the first names a
          strong value of the asked type, the second best of the same passage naming another strong
          value at 0.6 (:meth:`_runner_up`). KorQuAD dev, all 5,774 questions, same BM25 hits: a
          quote covers 0.8642 → 0.8692, contains 0.8945 → 0.8995, 1.35 → 1.41 sentences per answer,
          answer median 107 → 113 characters (p95 281 → 290).

        In each of these rules the second sentence's score leaves out the words it has only from its
        previous sentence (:data:`PREVIOUS_CREDIT`, :meth:`_alone`): that credit decides which
        sentence is first, not how many are given. KorQuAD dev, all 5,774 questions, same BM25 hits:
        the gold sentence first 0.811 → 0.818, a quote covers 0.8692 → 0.8750, contains 0.8995 →
        0.9041, 1.409 → 1.411 sentences per answer, answer median 113 → 113 characters (p95 290 →
        287). Letting the borrowed words count for joining too reaches covers 0.8808, but by quoting
        more: 1.507 sentences, median 123 characters.

        The defaults (``follow``, 0.7, 0.75) were set on 1,000 KorQuAD dev
        questions (seed 0) with cached BM25 hits: a quote covers the gold answer 85.7 % → 87.4 %,
        contains 89.5 % → 90.6 %, 1.28 → 1.34 sentences per answer, the not-found rate 0.9 % → 0.8 %
        (before: close rule only within one passage and only without an asked value, 0.9; rank 0.1;
        ``docs/answerer.md``). ``rank_weight`` stays 0.1: 0.2 gained 0.3 points on KorQuAD but let the
        top-ranked chunk's "대통령의 임기가 만료되는 때에는 …" beat "대통령의 임기는 5년" for "대통령의 임기는?".
        """
        ranked = self.candidates(question, sources, history)
        if not ranked or not self._answers(ranked[0]):
            return []
        own = {t for t, wt in question_weights(question, history).items() if wt >= 1.0}
        if self._off_topic(own, ranked[0], question, sources):
            return []
        chosen = [ranked[0]]
        covered = set(ranked[0].matched)
        if self._follow:
            follow = self._follow_up(ranked[0], ranked, question)
            if follow is not None:
                chosen.append(follow)
                return chosen
        for p in ranked[1:9]:
            if len(chosen) >= self.max_sentences:
                break
            near = self._alone(p) >= self._second_ratio * chosen[0].score
            if near and len(p.matched) >= 2 and (p.matched & own) - covered and self._answers(p):
                chosen.append(p)
                covered |= p.matched
        for p in ranked[1:9] if self._close_ratio else ():
            if len(chosen) >= self.max_sentences or p.score < self._close_ratio * chosen[0].score:
                break
            if self._alone(p) < self._close_ratio * chosen[0].score:
                continue
            if (
                p not in chosen
                and self._answers(p)
                # the first names the asked value (주 2회): only another value of that type, as good
                # evidence as the first's (not 30분 for 몇 번), is a rival answer
                and p.own > 0
                and p.own >= self._rival_own * chosen[0].own
                and self._rival(chosen[0], p)
            ):
                chosen.append(p)  # too close to call: both, the better first
        if len(chosen) == 1 and self._neighbour_ratio and len(ranked) > 1:
            runner = self._runner_up(ranked)
            if runner is not None:
                chosen.append(runner)
        return chosen

    def _alone(self, p: Pick) -> float:
        """``p``'s score without the words only its previous sentence says: a second sentence joins
        the first on what it says itself, not on what it borrows (from the first, often)."""
        return p.score - p.borrowed if self._lent_join else p.score

    def _runner_up(self, ranked: Sequence[Pick]) -> Pick | None:
        """The second best sentence when it stands beside the first in the same passage and scores at
        least ``neighbour_ratio`` of it (the first names no value of the asked type, or only weak
        evidence); or, when the first names a strong value the document does not label as the answer
        (``문의: …``), the second best of the same passage that names another strong value (not the same
        ``50명`` again) and scores at least 0.6 of the first.

        KorQuAD questions paraphrase their sentence, and the question's words are often spread over two
        neighbouring sentences: the one that restates the question wins on words while the answer is
        in the next one ("…1996년 애틀랜타 올림픽에서 타이틀을 지키려 했다." / "결국 미국의 찰스
        오스틴이 … 우승을 한다."). Two neighbours read as one passage, so both are quoted."""
        top, p = ranked[0], ranked[1]
        score = self._alone(p)
        if p.n != top.n or score < self._neighbour_ratio * top.score or p.own <= 0:
            return None  # (own: it says some of the question in its own words, not a signature date)
        if top.span is not None and not top.weak:
            if top.announced or p.span is None or p.weak or score < self._same_value_ratio * top.score:
                return None  # (a value the document labels as the asked one is not doubted)
            said, other = (x.text[x.span[0] - x.start : x.span[1] - x.start] for x in (top, p))
            return p if "".join(said.split()) != "".join(other.split()) else None  # another value, not the same again
        same = sorted((x for x in ranked if x.n == top.n), key=lambda x: x.start)
        i = same.index(top)
        return p if (i + 1 < len(same) and same[i + 1] is p) or (i > 0 and same[i - 1] is p) else None

    @staticmethod
    def _rival(top: Pick, p: Pick) -> bool:
        """Whether ``p``, scoring close to ``top``, is a rival answer worth giving beside it.

        When the first names no value of the asked type (or the question has no type), any close
        sentence is: the words alone cannot tell the two apart. When it names one (주 2회 for 몇 번),
        only a sentence that names another value of that type, as good evidence as the first's (not the
        30분 beside it), from the same passage — or from any passage when the first's value is itself
        only weak evidence (a number without the asked unit). A strong answer from one article is not
        doubted by another article's value (국회의원의 임기는 4년 stays alone)."""
        if top.span is None:
            return True
        if p.span is None or (p.weak and not top.weak):
            return False
        return p.n == top.n or top.weak

    def _follow_up(self, top: Pick, ranked: Sequence[Pick], question: str) -> Pick | None:
        """The sentence next to ``top`` that completes it, when there is one (see :data:`_GOES_ON`)."""
        same = sorted((p for p in ranked if p.n == top.n), key=lambda p: p.start)
        i = next(k for k, p in enumerate(same) if p.start == top.start)
        nxt = same[i + 1] if i + 1 < len(same) else None
        prev = same[i - 1] if i > 0 else None
        q_type = question_type(question)
        if q_type is not None and (top.span is None or (top.weak and self._weak_follow)):
            typed_near = [p for p in (nxt, prev) if p is not None and p.span is not None and not (top.span and p.weak)]
            if typed_near:
                if prev in typed_near and _points_back(top.text, question, q_type, False):
                    return prev  # 같은 해 10월 …: the year is the one the sentence before names
                return max(typed_near, key=lambda p: p.score)
            if self._typed_far:
                far = [
                    p
                    for p in same
                    if p is not top
                    and p.span is not None
                    and not p.weak
                    and p.own > 0
                    and self._alone(p) >= self._typed_far * top.score
                ]
                if far:
                    return max(far, key=lambda p: p.score)
        if nxt is not None and _GOES_ON.match(nxt.text):
            return nxt
        if self._names_asked:
            for p in (nxt, prev):
                if (
                    p is not None
                    and (top.span is None or (p.span is not None and not p.weak))
                    and _names_asked(p.text, question, self._apposition)
                ):
                    return p
        if prev is not None and _REFERS_BACK.match(top.text):
            return prev
        if prev is not None and _points_back(top.text, question, q_type, top.span is not None and not top.weak):
            return prev  # 진선규는 이 영화로 … for "…수상한 작품은?": the sentence before names it
        return None

    # -- the Generator interface -------------------------------------------------------------------------
    def compose(self, question: str, sources: Sequence[ScoredChunk], history: Sequence[Turn] = ()) -> str:
        """The whole answer text."""
        return "".join(self._pieces(self.select(question, sources, history)))

    def draft(self, question: str, sources: Sequence[ScoredChunk], history: Sequence[Turn] = ()) -> Draft:
        picks = self.select(question, sources, history)
        anchors = [(p.n, p.start, p.end) for p in picks]
        span = next(((p.n, *p.span) for p in picks if p.span is not None), None)
        return Draft(list(sources), self._pieces(picks), anchors=anchors or None, span=span)

    @staticmethod
    def _pieces(picks: Sequence[Pick]) -> Iterator[str]:
        if not picks:
            yield NOT_FOUND
            return
        for i, p in enumerate(picks):
            said = read_row(p.text, p.header) if p.kind == "table_row" else clean_sentence(p.text)
            yield ("" if i == 0 else " ") + f"{neutralize_markers(said)} [{p.n}]"


# A demonstrative and the noun it points with (이 영화로, 그 센터의, 해당 잡지의, 같은 해).
_POINTER = re.compile(r"(?:^|[\s,(])(?:이|그|해당|같은|저)\s?([가-힣]{1,6})")
_PARTICLES = frozenset(
    [
        "은",
        "는",
        "이",
        "가",
        "을",
        "를",
        "의",
        "에",
        "에서",
        "에서는",
        "에는",
        "로",
        "으로",
        "로는",
        "으로는",
        "와",
        "과",
        "도",
        "만",
    ]
) | {""}


def _points_back(text: str, question: str, q_type: AnswerType | None, names_value: bool) -> bool:
    """Whether ``text`` names the asked thing only by pointing back at it: "진선규는 이 영화로 …
    수상하였고" for "…수상한 작품은?", "그 센터의 산하에는 …" for "…건강센터명은?", or "같은 해 10월에
    개봉한" for "…개봉된 해는?" when the sentence names no strong value of the asked type
    (``names_value``). The name is then in the sentence before.

    KorQuAD dev, all 5,774 questions, same BM25 hits: 4 more quotes cover the gold answer, 1 fewer."""
    asked = asked_noun(question)
    if asked is None:
        return False
    heads = {asked, asked.removesuffix("명"), asked.removesuffix("이름")}
    if len(asked) >= 3:
        heads.add(asked[-2:])
        heads.add(asked.removesuffix("명")[-2:])
    if q_type == "title":
        heads |= TITLE_NOUNS
    heads.discard("")
    for m in _POINTER.finditer(text):
        word = m.group(1)
        if any(word.startswith(h) and word[len(h) :] in _PARTICLES for h in heads):
            return True
        if (
            not names_value
            and q_type == "time"
            and m.group(0).strip().startswith("같은")
            and word in ("해", "해에", "해에는")
        ):
            return True
    return False


def _names_asked(text: str, question: str, apposition: bool = True) -> bool:
    """Whether ``text`` says what the asked thing is: "대표적인 예가 10차 개헌안 발표이다." for
    "…의견이 제기된 대표적인 예는?" (the asked noun as the subject of a copula, in a short sentence),
    or "당시 국가대표 감독이었던 김인식위원장은 …" for "…국가대표 감독은?" (the asked noun in
    apposition: 감독이었던 X; up to 160 characters)."""
    asked = asked_noun(question)
    if asked is None or asked in ("것", "곳", "수", "점", "때"):
        return False
    if apposition and len(text) <= 160 and re.search(rf"(?:^|\s){re.escape(asked)}(?:이었던|였던|이던)\s+\S", text):
        return True  # "당시 국가대표 감독이었던 김인식위원장은 …" for "…국가대표 감독은?"
    if len(text) > 80:
        return False
    return (
        re.search(rf"(?:^|\s){re.escape(asked)}(?:은|는|이|가)\s+\S.*(?:이다|였다|이었다|다)[.!]?\s*$", text)
        is not None
    )


def _counts_in_unit(question: str, pick: Pick) -> bool:
    """Whether the pick's answer span counts in the unit the question asks for (몇 명 → 200인)."""
    unit = counted_unit(question)
    if unit is None or pick.span is None:
        return False
    said = pick.text[pick.span[0] - pick.start : pick.span[1] - pick.start]
    return any(same_unit(unit, said[-k:]) for k in (1, 2, 3) if len(said) > k)


def _mark_len(text: str) -> int:
    """How many leading characters are marks (``1.``, ``○``, ``**A.**``), not content."""
    rest = _ANSWER_MARK.sub("", text, count=1)
    rest = _LEADING_NUMBER.sub("", rest, count=1)
    return len(text) - len(rest)


def _cell_spans(row: str) -> list[tuple[int, int]]:
    """``(start, end)`` in ``row`` of each cell's text (``| a | b |`` or ``a | b``)."""
    out = []
    pos = 0
    for part in row.split("|"):
        a, b = pos, pos + len(part)
        pos = b + 1
        while a < b and row[a].isspace():
            a += 1
        while b > a and row[b - 1].isspace():
            b -= 1
        out.append((a, b))
    if row.strip().startswith("|"):
        out = out[1:]
    if row.strip().endswith("|"):
        out = out[:-1]
    return out


def _answer_span(
    u: _Unit, kind: AnswerType, question: str, got: dict[str, float]
) -> tuple[tuple[int, int] | None, bool, bool]:
    """The answer span (chunk offsets) of type ``kind`` in the sentence, whether a label announces it
    (``일시: …``, a table column named 담당), and whether it is only weak evidence (a bare title such as
    대표이사, a number without the asked unit, a date without the asked year).

    A labelled value is the span; otherwise the phrase of that type the question does not already say
    that is nearest to the question's words the sentence has (the first when it has none)."""
    text = u.text
    if u.kind == "table_row" and u.header:
        names = _cells(u.header)
        cells = _cell_spans(text)
        if len(names) == len(cells):
            for name, (a, b) in zip(names, cells, strict=True):
                if b > a and label_type(name) == kind:
                    return (u.start + a, u.start + b), True, False
    skip = _mark_len(text)
    lab = labelled(text[skip:])
    if lab is not None and label_type(lab[0]) == kind and skip + lab[1] < len(text):
        a, b = skip + lab[1], len(text.rstrip(" .。"))
        inside = [e for e in typed(text, kind, exclude=question) if a <= e.start and e.end <= b]
        if inside and kind in ("time", "number"):
            a, b = inside[0].start, inside[-1].end
        return (u.start + a, u.start + b), True, False
    found: list[Entity] = [e for e in typed(text, kind, exclude=question) if e.start >= skip]
    if not found:
        return None, False, False
    fitting = found
    if kind == "number" and (unit := expected_unit(question)) is not None:
        # 몇 번 → the number counted in 번 or 회, not the 30분 beside it
        fitting = [e for e in found if same_unit(unit, unit_of(e.text)) or unit_of(e.text).endswith(unit)]
    elif kind == "time" and asks_year(question):
        fitting = [e for e in found if "년" in e.text or re.search(r"'\d{2}|\d{4}", e.text)]
    strong = [e for e in fitting if not e.weak]
    pool = strong or fitting or found
    anchors = [m.start() for t in got for m in re.finditer(re.escape(t), text)] if got else []
    best = min(pool, key=lambda e: (min(abs(e.start - a) for a in anchors), e.start)) if anchors else pool[0]
    return (u.start + best.start, u.start + best.end), False, not strong
