"""A synthetic collection of any size made of real Korean, with dense vectors that have real structure.

Chunks: the KorQuAD 1.0 dev contexts are split into Kiwi sentences once; chunk ``i`` is 2-4 of those
sentences drawn at random (a fixed seed, so every process that asks for chunk ``i`` gets the same one),
with their text, our BM25 terms and all their Kiwi morphemes. By default the sentences of one chunk come
from one article, as a real chunk's sentences share a subject (``coherent=False`` draws them from
anywhere, as the first version of this benchmark did: every chunk then mixes unrelated subjects, which
leaves a query no clear neighbours and is the hardest case for an approximate vector index).

Vectors: random vectors are the worst case for an approximate index (no neighbourhood structure, so
nothing to exploit) and say nothing about recall on real embeddings; a real encoder (KURE-v1) cannot be
downloaded here. So each sentence gets an LSA vector of its real terms (TF-IDF, truncated SVD to
``components`` dimensions, rotated into 1024 dimensions by a fixed random orthonormal map), and a
chunk's vector is the normalized sum of its sentences' vectors. Like sentence embeddings, these vectors
are unit length, anisotropic and topical (sentences of one article lie close together), with a decaying
spectrum. A question's vector is the LSA vector of its own terms.

예::

    work = Workload.load(dataset, n_queries=200)
    picks = chunk_picks(1_000_000, work.groups)
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DIM = 1024


@dataclass
class Workload:
    """Sentences (text, BM25 terms, all morphemes), their vectors, and the queries with their vectors."""

    texts: list[str]
    groups: list[int]  # the article of each sentence
    terms: list[list[str]]
    morphs: list[list[str]]
    vectors: np.ndarray  # float32 (n_sentences, DIM), unit rows
    queries: list[str]
    query_vectors: np.ndarray  # float32 (n_queries, DIM), unit rows
    coherent: bool = True  # chunks draw their sentences from one article

    @classmethod
    def cached(cls, dataset: Path, n_queries: int, folder: Path | None) -> Workload:
        """:meth:`load`, or what an earlier run saved in ``folder`` (Kiwi analysis of the pool takes minutes
        on a busy machine)."""
        if folder is not None and (folder / "workload.json").is_file():
            work = cls.read(folder)
            if len(work.queries) == n_queries:
                return work
            work = cls.load(dataset, n_queries, sentences=work)  # the slow part (Kiwi) is kept
        else:
            work = cls.load(dataset, n_queries)
        if folder is not None:
            work.save(folder)
        return work

    @classmethod
    def load(
        cls, dataset: Path, n_queries: int, components: int = 384, seed: int = 0, sentences: Workload | None = None
    ) -> Workload:
        from rabbit_rag.evaluation.korquad import load_korquad
        from rabbit_rag.text.kiwi import get_kiwi
        from rabbit_rag.text.sentences import analyze_many
        from rabbit_rag.text.terms import bm25_tokenize

        docs, questions = load_korquad(dataset, "paragraph")
        if sentences is not None:
            texts, groups, terms, morphs = sentences.texts, sentences.groups, sentences.terms, sentences.morphs
        else:
            articles: dict[str | None, int] = {}
            texts, groups, terms = [], [], []
            for d, (_, text, sents) in zip(docs, analyze_many((None, d.text, ()) for d in docs), strict=True):
                for s in sents:
                    if s.terms:
                        texts.append(text[s.start : s.end])
                        groups.append(articles.setdefault(d.title, len(articles)))
                        terms.append(list(s.terms))
            morphs = [[t.form for t in tokens] for tokens in get_kiwi().tokenize(texts)]
        queries = [q.question for q in random.Random(1).sample(questions, n_queries)]
        vectors, query_vectors = lsa_vectors(terms, [bm25_tokenize(q) for q in queries], components, seed)
        return cls(texts, groups, terms, morphs, vectors, queries, query_vectors)

    def save(self, folder: Path) -> None:
        import json

        folder.mkdir(parents=True, exist_ok=True)
        (folder / "workload.json").write_text(
            json.dumps({"texts": self.texts, "groups": self.groups, "terms": self.terms, "morphs": self.morphs, "queries": self.queries, "coherent": self.coherent},
                       ensure_ascii=False), encoding="utf-8")  # fmt: skip
        np.save(folder / "vectors.npy", self.vectors)
        np.save(folder / "query_vectors.npy", self.query_vectors)

    @classmethod
    def read(cls, folder: Path) -> Workload:
        import json

        w = json.loads((folder / "workload.json").read_text(encoding="utf-8"))
        return cls(w["texts"], w["groups"], w["terms"], w["morphs"], np.load(folder / "vectors.npy"), w["queries"],
                   np.load(folder / "query_vectors.npy"), w.get("coherent", True))  # fmt: skip


def lsa_vectors(
    sentence_terms: list[list[str]], query_terms: list[list[str]], components: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Unit LSA vectors of sentences and queries in ``DIM`` dimensions (see the module docstring)."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    tfidf = TfidfVectorizer(analyzer=lambda terms: terms, sublinear_tf=True)
    x = tfidf.fit_transform(sentence_terms)
    svd = TruncatedSVD(n_components=components, random_state=seed)
    low = svd.fit_transform(x)
    low_q = svd.transform(tfidf.transform(query_terms))
    rotation, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((DIM, components)))
    return _unit(low @ rotation.T), _unit(low_q @ rotation.T)


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float32)
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.where(n > 0, n, 1)


def chunk_picks(n_chunks: int, groups: list[int], seed: int = 0, coherent: bool = True) -> list[list[int]]:
    """The sentences of each chunk (the same for every process and run): 2-4, drawn at random from the
    article of a first sentence drawn at random (``coherent``), or from anywhere."""
    rng = random.Random(seed)
    n = len(groups)
    if not coherent:
        return [[rng.randrange(n) for _ in range(rng.randint(2, 4))] for _ in range(n_chunks)]
    members: dict[int, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    out = []
    for _ in range(n_chunks):
        size = rng.randint(2, 4)
        first = rng.randrange(n)
        m = members[groups[first]]
        out.append([first] + [m[rng.randrange(len(m))] for _ in range(size - 1)])
    return out


def chunk_vectors(picks: list[list[int]], sentence_vectors: np.ndarray) -> np.ndarray:
    """Unit vectors of chunks: the normalized sum of their sentences' vectors (float32)."""
    out = np.zeros((len(picks), sentence_vectors.shape[1]), np.float32)
    for slot in range(4):
        rows = [i for i, p in enumerate(picks) if len(p) > slot]
        out[rows] += sentence_vectors[[picks[i][slot] for i in rows]]
    return _unit(out)
