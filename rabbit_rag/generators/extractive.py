"""The extractive answerer: no language model, just the sentences of the sources that answer best.

Every Kiwi sentence of the retrieved chunks is scored against the question:

- lexical: the share of the question's content morphemes (Kiwi BM25 terms minus question words
  such as 무엇/몇/언제) that the sentence contains, each weighted by its rarity among the candidate
  sentences (``log(1 + N/df)``), so ``국회의원`` outweighs ``임기`` when every sentence is about 임기;
- semantic (when an embedder is given): cosine similarity of question and sentence embeddings;
- surface: the share of the question's character bigrams (particles included) the sentence repeats,
  so the sentence phrased like the question wins among those with the same words;
- a small bonus for the chunk's retrieval rank, to break ties.

The best sentence (and a second one when it covers question words the first misses) becomes the
answer, verbatim but without a leading article number (``제42조``, ``①``), each followed by its
source number: ``국회의원의 임기는 4년으로 한다. [1]``. When no sentence reaches the threshold
the answer is :data:`~rabbit_rag.prompts.NOT_FOUND`.

With ``max_missing_share`` (setting ``RABBIT_RAG_EXTRACTIVE_MAX_MISSING``; off by default) it also
answers NOT_FOUND when that share of the question's words appears nowhere in the retrieved sentences
("대한민국의 국화는?" over the constitution) — see :meth:`ExtractiveGenerator._off_topic`.

In a chat, words of the topic question that the follow-up does not repeat count half.

예::

    gen = ExtractiveGenerator()
    "".join(gen.draft("국회의원 임기는?", hits).pieces)   # '국회의원의 임기는 4년으로 한다. [1]'
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from rabbit_rag.conversation import Turn, topic_for
from rabbit_rag.embeddings import Embedder
from rabbit_rag.generators.base import Draft
from rabbit_rag.prompts import NOT_FOUND
from rabbit_rag.text.sentences import chunk_sentences
from rabbit_rag.text.similarity import word_bigrams
from rabbit_rag.text.terms import content_terms, key_nouns, text_terms
from rabbit_rag.types import ScoredChunk

# A leading article / paragraph / item number: 제42조, 제3조의2(목적), ①, 1., 가.
MIN_SENTENCE_TERMS = 3
_LEADING_NUMBER = re.compile(
    r"^\s*(?:제\s*\d+\s*조(?:의\s*\d+)?(?:\s*\([^)]{1,30}\))?\s*)?(?:[\u2460-\u2473\u3260-\u327e]\s*|\d{1,2}\.\s+|[가-하]\.\s+)?"
)


@dataclass(frozen=True, slots=True)
class Pick:
    """A candidate sentence: source number ``n`` (1-based), offsets in the chunk text, its text, the
    share of the question it covers (``lexical``), its cosine to the question (with an embedder), the
    ranking score and the question words it matched."""

    n: int
    start: int
    end: int
    text: str
    lexical: float
    semantic: float | None
    score: float
    matched: frozenset[str]


def question_weights(question: str, history: Sequence[Turn] = ()) -> dict[str, float]:
    """Content words of the question (compounds as one word) with their weight: 1.0, or 0.5 for words
    that only the chat's topic question brings."""
    weights = dict.fromkeys(content_terms(question), 1.0)
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
    """1 when a sentence has the word; 0.7 when it has all of a compound's parts written apart."""
    if word in terms:
        return 1.0
    return 0.7 if len(parts) >= 2 and parts <= terms else 0.0


def clean_sentence(text: str) -> str:
    """The sentence without a leading article or item number (kept when nothing else would remain).

    예: ``clean_sentence("제42조 국회의원의 임기는 4년으로 한다.")`` → ``'국회의원의 임기는 4년으로 한다.'``
    """
    rest = _LEADING_NUMBER.sub("", text, count=1).strip()
    return rest if len(rest) >= 2 else text.strip()


class ExtractiveGenerator:
    """Answers with the best sentences of the sources (see the module docstring)."""

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
        max_missing_share: float | None = None,
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
        self.max_missing_share = max_missing_share
        self.fallback_reason = fallback_reason

    @property
    def name(self) -> str:
        return "extractive" if not self.fallback_reason else f"extractive (fallback: {self.fallback_reason})"

    # -- scoring -------------------------------------------------------------------------------------
    def candidates(self, question: str, sources: Sequence[ScoredChunk], history: Sequence[Turn] = ()) -> list[Pick]:
        """Every sentence of the sources, scored, best first."""
        raw: list[tuple[int, int, int, str, frozenset[str]]] = []
        for n, hit in enumerate(sources, 1):
            text = hit.chunk.text
            for a, b, terms in chunk_sentences(text):
                if len(terms) >= MIN_SENTENCE_TERMS:  # labels and table cells ("작성자 이름") answer nothing
                    raw.append((n, a, b, text[a:b], terms))
        if not raw:
            return []
        weights = question_weights(question, history)
        query_text = " ".join([question, topic_for(question, history)])
        query_terms = text_terms(query_text)
        parts = {t: _parts(t, query_terms) for t in weights}
        credit = [{t: c for t in weights if (c := _credit(t, parts[t], r[4]))} for r in raw]
        n_sent = len(raw)
        df = {t: sum(1 for cr in credit if t in cr) for t in weights}
        idf = {t: math.log(1 + n_sent / d) for t, d in df.items() if d}
        # A word no candidate has (often a paraphrase: 정수 for 수) still counts against every sentence.
        absent = self.absent_weight * float(np.median(list(idf.values()))) if idf else 1.0
        w = {t: weights[t] * idf.get(t, absent) for t in weights}
        total = sum(w.values()) or 1.0
        semantic = self._semantic(question, history, [r[3] for r in raw])
        q_grams = word_bigrams(question)
        picks = []
        for i, (n, a, b, text, terms) in enumerate(raw):
            got = credit[i]
            coverage = sum(w[t] * c for t, c in got.items()) / total
            # a little density: of two sentences that both cover the question, the one that says little
            # else is the direct answer (국회의원의 임기는 4년 vs a long transitional rule that mentions it)
            score = coverage + self.density_weight * len(got) / len(terms)
            # the question's own wording, particles included: "대통령의 임기는" is said by the article that
            # defines the term, "대통령의 임기가 만료되는" by one about something else
            if q_grams:
                score += self.surface_weight * len(q_grams & word_bigrams(text)) / len(q_grams)
            sem = None if semantic is None else float(semantic[i])
            if sem is not None:
                score = (1 - self.semantic_weight) * score + self.semantic_weight * max(sem, 0.0)
            # the retriever ranked the whole chunk; its rank breaks near-ties between sentences
            picks.append(Pick(n, a, b, text, coverage, sem, score + self.rank_weight / n, frozenset(got)))
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

    def _off_topic(self, own: set[str], ranked: Sequence[Pick], question: str) -> bool:
        """Whether the sources never mention too much of the question.

        "대한민국의 국화는?" over the constitution: 국화 is in none of the retrieved sentences, so a
        sentence about 대한민국 would answer a question nobody asked. Retrieval puts a chunk with a
        rare word near the top, so a word missing from every candidate is most likely missing from
        the collection. The question's words of two or more letters are counted, nouns fully and
        predicates (뽑히, 가능 of 가능한가) half, since questions rephrase verbs more than nouns; a
        word is mentioned when it, or a part of it of two or more letters (설립 of 설립시기), is
        written anywhere in the candidates. A sentence whose meaning (with an embedder) matches the
        question well is never declined this way.
        """
        if self.max_missing_share is None:
            return False
        if ranked[0].semantic is not None and ranked[0].semantic >= self.min_semantic:
            return False
        words = [t for t in own if len(t) >= 2]
        if not words:
            return False

        nouns = key_nouns(question)
        seen = set().union(*(p.matched for p in ranked))
        text = "\n".join(p.text for p in ranked)
        question_terms = text_terms(question)

        def mentioned(word: str) -> bool:
            if word in seen or word in text:
                return True
            return any(len(part) >= 2 and part in text for part in _parts(word, question_terms))

        weight = {w: 1.0 if w in nouns else 0.5 for w in words}
        missing = sum(weight[w] for w in words if not mentioned(w))
        return missing / sum(weight.values()) >= self.max_missing_share

    def select(self, question: str, sources: Sequence[ScoredChunk], history: Sequence[Turn] = ()) -> list[Pick]:
        """The sentences that make the answer (empty: the sources do not answer the question).

        A second sentence joins only when it scores near the first, matches two question words and
        brings one the first lacks (대통령 임기 *and* 연임, say).
        """
        ranked = self.candidates(question, sources, history)
        if not ranked or not self._answers(ranked[0]):
            return []
        own = {t for t, wt in question_weights(question, history).items() if wt >= 1.0}
        if self._off_topic(own, ranked, question):
            return []
        chosen = [ranked[0]]
        covered = set(ranked[0].matched)
        for p in ranked[1:9]:
            if len(chosen) >= self.max_sentences:
                break
            near = p.score >= 0.8 * chosen[0].score
            if near and len(p.matched) >= 2 and (p.matched & own) - covered and self._answers(p):
                chosen.append(p)
                covered |= p.matched
        return chosen

    # -- the Generator interface -------------------------------------------------------------------------
    def compose(self, question: str, sources: Sequence[ScoredChunk], history: Sequence[Turn] = ()) -> str:
        """The whole answer text."""
        return "".join(self._pieces(self.select(question, sources, history)))

    def draft(self, question: str, sources: Sequence[ScoredChunk], history: Sequence[Turn] = ()) -> Draft:
        picks = self.select(question, sources, history)
        return Draft(list(sources), self._pieces(picks))

    @staticmethod
    def _pieces(picks: Sequence[Pick]) -> Iterator[str]:
        if not picks:
            yield NOT_FOUND
            return
        for i, p in enumerate(picks):
            yield ("" if i == 0 else " ") + f"{clean_sentence(p.text)} [{p.n}]"
