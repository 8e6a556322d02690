"""KorQuAD 1.0 as an end-to-end answer benchmark: retrieve from all paragraphs, answer, cite.

Each KorQuAD paragraph is a document of a temporary index; every question is asked through the
:class:`~rabbit_rag.engine.Engine` (retrieval over the whole collection, not the gold paragraph),
and the answer is scored:

- ``exact_match`` / ``f1``: KorQuAD's official normalization and character F1 of the answer text
  without its ``[n]`` markers (a "not found" answer scores 0);
- ``contains_answer``: the normalized gold answer appears in the answer (fairer to sentence answers);
- ``citation_in_gold``: a citation points into the gold paragraph; ``citation_precision``: the share
  of all citations that do; ``quote_covers_answer``: a cited quote spans the gold answer's characters;
- the gold paragraph is every paragraph with the gold one's text: KorQuAD's dev set repeats some
  paragraphs word for word under other titles (5 documents, 2 texts, 31 questions), and a quote of
  the copy shows the reader the same characters, which nothing in the text can tell apart.
  ``quote_covers_answer_strict`` counts only the paragraph the question was written on, and
  ``duplicate_gold_questions`` says how many questions have such a copy;
- ``span_exact_match`` / ``span_f1``: the same scores of the short answer span inside the quoted
  sentence (:attr:`~rabbit_rag.engine.Answer.span`; the whole answer where none is given), and
  ``span_rate``: the share of answers that give a span;
- ``not_found_rate``: answers that say the documents do not hold the answer (KorQuAD questions all
  have one, so this is a miss rate);
- ``retrieval_recall@k``: the gold paragraph is among the sources.

Tuning an answerer wants cheap, repeatable runs: ``sample`` answers a seeded random sample of the
questions (the same ``seed`` gives the same questions on every machine), and ``hits_cache`` stores
each question's retrieval hits in a file that later runs over the same index reuse (see
:mod:`rabbit_rag.evaluation.hits_cache`; a cache made for another index, dataset, ``k`` or retrieval
code is never used: the run says so and retrieves again).

예::

    rabbit-rag eval answers --dataset korquad:KorQuAD_v1.0_dev.json --llm extractive --embed-model none --json
    rabbit-rag eval answers --dataset korquad:KorQuAD_v1.0_dev.json --llm extractive --embed-model none \\
        --sample 1000 --seed 1 --hits-cache /tmp/korquad-hits.json --json
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tqdm import tqdm

from rabbit_rag.components import engine_from_settings, open_index_from_settings
from rabbit_rag.errors import GeneratorError, InvalidInputError
from rabbit_rag.evaluation.answer_metrics import contains_answer, exact_match, f1_score
from rabbit_rag.evaluation.hits_cache import HitsCache, cache_key
from rabbit_rag.evaluation.korquad import PARAGRAPH_CHUNK_TOKENS, Question, load_korquad, parse_dataset
from rabbit_rag.generators.base import Generator
from rabbit_rag.ingest import IngestOptions, ingest_documents
from rabbit_rag.notices import notice
from rabbit_rag.prompts import strip_markers
from rabbit_rag.settings import Settings
from rabbit_rag.types import Document

#: Stop when this many answers in a row fail to generate (a server that is down).
MAX_FAILURES_IN_A_ROW = 3


def evaluate_answers(
    dataset: str | Path,
    generator: Generator | str = "extractive",
    *,
    k: int = 5,
    mode: str = "hybrid",
    embed_model: str | None = None,
    model: str | None = None,
    settings: Settings | None = None,
    limit: int | None = None,
    progress: bool | None = None,
    index_dir: str | Path | None = None,
    sample: int | None = None,
    seed: int = 0,
    hits_cache: str | Path | None = None,
) -> dict[str, Any]:
    """Build a paragraph index of KorQuAD (or reuse ``index_dir``) and score answers to its questions.

    ``settings`` (default: the built-in defaults) configure reading, the generator and its limits.
    ``limit`` keeps the first N questions; ``sample`` instead N drawn at random with ``seed`` (kept in
    the dataset's order), so a tuning sample is not one article's questions. ``hits_cache`` is a file
    of retrieval hits reused between runs (:mod:`rabbit_rag.evaluation.hits_cache`)."""
    path = parse_dataset(str(dataset)) if str(dataset).startswith("korquad:") else Path(dataset)
    settings = settings or Settings.defaults()
    docs, questions = load_korquad(path, "paragraph")
    if limit is not None and sample is not None:
        raise InvalidInputError("give --limit (the first N questions) or --sample (N at random), not both")
    if limit is not None:
        questions = questions[:limit]
    if sample is not None:
        questions = sample_questions(questions, sample, seed)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rabbit-rag-eval-") as tmp:
        where = Path(index_dir) if index_dir else Path(tmp) / "index"
        ingest_documents(
            docs, where, embed_model=embed_model, options=IngestOptions.from_settings(settings), progress=progress,
            total=len(docs),
            chunk_tokens=PARAGRAPH_CHUNK_TOKENS,
        )  # fmt: skip
        build_s = time.perf_counter() - t0
        index = open_index_from_settings(settings, where)
        try:
            engine = engine_from_settings(settings, index, llm=generator, mode=mode, k=k, model=model)
            cache = None
            if hits_cache is not None:
                fusion = {"bm25_weight": settings.bm25_weight, "dense_weight": settings.dense_weight,
                          "rrf_k": settings.rrf_k}  # fmt: skip
                key = cache_key(path, index, engine.retriever.name, engine.k, fusion)
                cache = HitsCache(hits_cache, key)
                if cache.stale:
                    notice(f"hits cache {cache.stale}: retrieving again and rewriting it")
                engine.retriever = cache.wrap(engine.retriever, index.chunks)
            gold_doc = gold_documents(docs, {d.source: d.doc_id for d in index.documents()})
            try:
                result = _score(engine, questions, gold_doc, progress)
            finally:
                if cache is not None:
                    cache.save()
        finally:
            index.close()
    if sample is not None:
        result.update({"sample": sample, "seed": seed})
    if cache is not None:
        result["hits_cache"] = cache.summary()
    result.update(
        {
            "dataset": path.name,
            "generator": engine.generator.name,
            "mode": engine.retriever.name,
            "k": k,
            "n_documents": len(docs),
            "index_seconds": round(build_s, 2),
        }
    )
    return result


def gold_documents(docs: list[Document], doc_id_of: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """Each paragraph's URI → the ids of the documents with its text, its own first.

    ``doc_id_of`` maps a document's source to its id in the index."""
    same_text: dict[str, list[str]] = {}
    for doc in docs:
        same_text.setdefault(doc.text, []).append(doc_id_of[doc.source])
    gold: dict[str, tuple[str, ...]] = {}
    for doc in docs:
        own = doc_id_of[doc.source]
        gold[doc.uri] = (own, *(d for d in same_text[doc.text] if d != own))
    return gold


def sample_questions(questions: list[Question], n: int, seed: int) -> list[Question]:
    """``n`` of ``questions`` drawn at random with ``seed`` (all of them when ``n`` is not smaller),
    in the dataset's order. The draw depends only on the number of questions, ``n`` and ``seed``."""
    if n < 1:
        raise InvalidInputError(f"sample {n}: sample at least one question")
    if n >= len(questions):
        return list(questions)
    picked = sorted(random.Random(seed).sample(range(len(questions)), n))
    return [questions[i] for i in picked]


def _score(
    engine: Any, questions: list[Question], gold_doc: dict[str, tuple[str, ...]], progress: bool | None
) -> dict[str, Any]:
    sums: dict[str, float] = dict.fromkeys(
        (
            "exact_match", "f1", "contains_answer", "citation_in_gold", "quote_covers_answer", "not_found", "recall",
            "span_exact_match", "span_f1", "span", "quote_covers_answer_strict", "duplicate_gold",
        ),
        0.0,
    )  # fmt: skip
    n_citations = n_citations_gold = n_errors = failures_in_a_row = 0
    latencies: list[float] = []
    for q in _progress(questions, progress):
        gold = gold_doc[q.doc_uri]
        try:
            answer = engine.ask(q.question)
        except GeneratorError:
            n_errors += 1
            failures_in_a_row += 1
            if failures_in_a_row >= MAX_FAILURES_IN_A_ROW:
                raise
            continue
        failures_in_a_row = 0
        latencies.append(answer.timings.get("total_ms", 0.0))
        prediction = "" if answer.not_found else strip_markers(answer.text)
        sums["exact_match"] += exact_match(prediction, q.answer)
        sums["f1"] += f1_score(prediction, q.answer)
        sums["contains_answer"] += contains_answer(prediction, q.answer)
        sums["not_found"] += answer.not_found
        short = answer.span.text if answer.span is not None else prediction
        sums["span_exact_match"] += exact_match(short, q.answer)
        sums["span_f1"] += f1_score(short, q.answer)
        sums["span"] += answer.span is not None
        sums["recall"] += any(s.chunk.doc_id in gold for s in answer.sources)
        in_gold = [c for c in answer.citations if c.doc_id in gold]
        n_citations += len(answer.citations)
        n_citations_gold += len(in_gold)
        sums["citation_in_gold"] += bool(in_gold)
        covering = [c for c in in_gold if c.start <= q.start and q.end <= c.end]
        sums["quote_covers_answer"] += bool(covering)
        sums["quote_covers_answer_strict"] += any(c.doc_id == gold[0] for c in covering)
        sums["duplicate_gold"] += len(gold) > 1
    n = max(len(questions), 1)
    return {
        "n_questions": len(questions),
        "exact_match": round(sums["exact_match"] / n, 4),
        "f1": round(sums["f1"] / n, 4),
        "contains_answer": round(sums["contains_answer"] / n, 4),
        "citation_in_gold": round(sums["citation_in_gold"] / n, 4),
        "citation_precision": round(n_citations_gold / n_citations, 4) if n_citations else 0.0,
        "quote_covers_answer": round(sums["quote_covers_answer"] / n, 4),
        "quote_covers_answer_strict": round(sums["quote_covers_answer_strict"] / n, 4),
        "duplicate_gold_questions": int(sums["duplicate_gold"]),
        "span_exact_match": round(sums["span_exact_match"] / n, 4),
        "span_f1": round(sums["span_f1"] / n, 4),
        "span_rate": round(sums["span"] / n, 4),
        "not_found_rate": round(sums["not_found"] / n, 4),
        f"retrieval_recall@{engine.k}": round(sums["recall"] / n, 4),
        "errors": n_errors,
        "ms_per_question_p50": round(statistics.median(latencies), 2) if latencies else None,
        "ms_per_question_mean": round(statistics.fmean(latencies), 2) if latencies else None,
    }


def _progress(questions: list[Question], progress: bool | None) -> Iterator[Question]:
    yield from tqdm(
        questions, desc="answers", unit="q", file=sys.stderr, disable=None if progress is None else not progress
    )
