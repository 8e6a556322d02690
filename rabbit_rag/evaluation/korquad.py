"""KorQuAD 1.0 as a retrieval benchmark.

``paragraph`` unit: each context is a document (one chunk); a hit is the question's own context.
``article`` unit: each article (its paragraphs joined by a blank line) is a document chunked by our
chunker; a hit is a chunk of the gold article whose span contains the gold answer span.

예::

    rabbit-rag eval retrieval --dataset korquad:KorQuAD_v1.0_dev.json --unit paragraph --embed-model none --json
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tqdm import tqdm

from rabbit_rag.backends import drop_engine_collection, parse_backend
from rabbit_rag.components import open_index_from_settings, retriever_from_settings
from rabbit_rag.errors import InvalidInputError
from rabbit_rag.evaluation.metrics import ranking_metrics
from rabbit_rag.ingest import IngestOptions, ingest_documents
from rabbit_rag.settings import Settings
from rabbit_rag.text.normalize import normalize_text
from rabbit_rag.types import Document

Unit = Literal["paragraph", "article"]
PARAGRAPH_CHUNK_TOKENS = 8192  # large enough that every KorQuAD context stays one chunk


@dataclass(frozen=True, slots=True)
class Question:
    qid: str
    question: str
    answer: str
    doc_uri: str  # the gold document
    start: int  # answer span in the gold document's normalized text
    end: int


def parse_dataset(spec: str) -> Path:
    """``korquad:PATH`` → PATH (the only dataset kind so far)."""
    kind, sep, path = spec.partition(":")
    if not sep or kind != "korquad" or not path:
        raise InvalidInputError(f"dataset {spec!r}: use the form korquad:PATH, e.g. korquad:KorQuAD_v1.0_dev.json")
    p = Path(path)
    if not p.is_file():
        raise InvalidInputError(f"dataset file {p} does not exist")
    return p


def _norm_prefix_len(text: str, offset: int) -> int:
    """Where ``offset`` of raw ``text`` lands after normalization."""
    return len(normalize_text(text[:offset]))


def load_korquad(path: Path, unit: Unit) -> tuple[list[Document], list[Question]]:
    """Documents and questions for a retrieval unit, with answer spans in normalized text."""
    if unit not in ("paragraph", "article"):
        raise InvalidInputError(f"unit {unit!r}: choose 'paragraph' or 'article'")
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError) as e:
        raise InvalidInputError(f"{path}: not a KorQuAD 1.0 JSON file ({e})") from e
    docs: list[Document] = []
    questions: list[Question] = []
    for a_i, article in enumerate(data):
        title = article.get("title", f"article-{a_i}")
        parts: list[str] = []
        offset = 0
        for p_i, para in enumerate(article["paragraphs"]):
            context = para["context"]
            norm = normalize_text(context)
            if unit == "paragraph":
                uri, base = f"korquad:{a_i}/{p_i}", 0
                docs.append(Document(source=f"{title} #{p_i + 1}", uri=uri, text=norm, title=title))
            else:
                uri, base = f"korquad:{a_i}", offset
                parts.append(norm)
                offset += len(norm) + 2
            for qa in para["qas"]:
                ans = qa["answers"][0]
                s = base + _norm_prefix_len(context, ans["answer_start"])
                e = base + _norm_prefix_len(context, ans["answer_start"] + len(ans["text"]))
                questions.append(Question(qa["id"], qa["question"], ans["text"], uri, s, e))
        if unit == "article":
            docs.append(Document(source=title, uri=f"korquad:{a_i}", text="\n\n".join(parts), title=title))
    return docs, questions


def evaluate_retrieval(
    dataset: str | Path,
    unit: Unit = "paragraph",
    k: int = 10,
    embed_model: str | None = None,
    mode: str = "hybrid",
    settings: Settings | None = None,
    limit: int | None = None,
    progress: bool | None = None,
    index_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Build a temporary index of KorQuAD and measure retrieval over its questions.

    ``settings`` (default: the built-in defaults) configure reading and the fusion weights."""
    path = parse_dataset(str(dataset)) if str(dataset).startswith("korquad:") else Path(dataset)
    settings = settings or Settings.defaults()
    docs, questions = load_korquad(path, unit)
    if limit is not None:
        questions = questions[:limit]
    depth = max(k, 10)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rabbit-rag-eval-") as tmp, _engine_cleanup(settings) as engine_names:
        # with an engine backend the collection is named by the folder: a fresh name per run, dropped after
        where = Path(index_dir) if index_dir else Path(tmp) / f"korquad_eval_{uuid.uuid4().hex[:12]}"
        if not index_dir:
            engine_names.append(where.name)
        ingest_documents(
            docs, where, embed_model=embed_model, options=IngestOptions.from_settings(settings), progress=progress,
            total=len(docs),
            chunk_tokens=PARAGRAPH_CHUNK_TOKENS if unit == "paragraph" else None,
        )  # fmt: skip
        build_s = time.perf_counter() - t0
        index = open_index_from_settings(settings, where)
        doc_id_of = {d.source: d.doc_id for d in index.documents()}
        uri_to_doc = {doc.uri: doc_id_of[doc.source] for doc in docs}
        relevant_counts: dict[tuple[str, int, int], int] = {}
        ranks: list[list[int]] = []
        n_relevant: list[int] = []
        t1 = time.perf_counter()
        retriever = retriever_from_settings(settings, index, mode)
        for q in _progress(questions, progress):
            gold = uri_to_doc[q.doc_uri]
            hits = retriever.retrieve(q.question, depth)
            if unit == "paragraph":
                ranks.append([i + 1 for i, h in enumerate(hits) if h.chunk.doc_id == gold][:1])
                n_relevant.append(1)
            else:
                ranks.append(
                    [
                        i + 1
                        for i, h in enumerate(hits)
                        if h.chunk.doc_id == gold and h.chunk.start <= q.start and q.end <= h.chunk.end
                    ]
                )
                key = (gold, q.start, q.end)
                if key not in relevant_counts:
                    relevant_counts[key] = sum(
                        1 for c in index.document_chunks(gold) if c.start <= q.start and q.end <= c.end
                    )
                n_relevant.append(relevant_counts[key])
        search_s = time.perf_counter() - t1
        stats = index.stats()
        index.close()
    ks = sorted({1, 5, 10, k})
    metrics = ranking_metrics(ranks, n_relevant, ks)
    return {
        "dataset": str(path.name),
        "unit": unit,
        "mode": retriever.name,
        "embedding_model": stats["embedding"].get("model"),
        **metrics,
        "n_questions": len(questions),
        "n_documents": len(docs),
        "n_chunks": stats["counts"]["chunks"],
        "unanswerable_by_chunking": sum(1 for n in n_relevant if n == 0) if unit == "article" else 0,
        "index_seconds": round(build_s, 2),
        "search_ms_per_query": round(search_s / max(len(questions), 1) * 1000, 3),
    }


@contextlib.contextmanager
def _engine_cleanup(settings: Settings) -> Iterator[list[str]]:
    """Drop the evaluation's temporary engine collections afterwards (nothing for the local index)."""
    names: list[str] = []
    try:
        yield names
    finally:
        if parse_backend(settings.backend) is not None and settings.backend is not None:
            token = settings.backend_token.get_secret_value() if settings.backend_token else None
            for name in names:
                drop_engine_collection(settings.backend, name, token)


def _progress(questions: list[Question], progress: bool | None) -> Iterator[Question]:
    yield from tqdm(
        questions,
        desc="questions",
        unit="q",
        file=sys.stderr,
        disable=None if progress is None else not progress,
    )
