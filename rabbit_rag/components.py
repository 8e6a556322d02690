"""Components from :class:`~rabbit_rag.settings.Settings`: the one place settings become objects.

The CLI, the API, the evaluation and the llama-index integration build their index readers,
retrievers, generators and answer engines here, so a setting means the same thing everywhere (the
search mode and weights, which generator answers, when the extractive answerer may use the index's
embedding model). Library classes themselves take plain arguments. Reading files and creating indexes
from settings is :meth:`rabbit_rag.ingest.IngestOptions.from_settings`.

예::

    s = Settings()
    index = open_index_from_settings(s, "indexes/헌법")
    engine = engine_from_settings(s, index, llm="extractive")
    engine.ask("국회의원 임기는?").text
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rabbit_rag.backends import open_engine_index, parse_backend
from rabbit_rag.index.reader import Index, open_index
from rabbit_rag.notices import notice
from rabbit_rag.retrieval import Retriever, make_retriever
from rabbit_rag.settings import Settings
from rabbit_rag.text.kiwi import configure_kiwi

# The engine and the generators are imported by the functions that build them: a search (the CLI's
# first answer, benchmarks/first_answer.py) needs neither. The engine backend's reader (pymilvus) is
# imported by open_engine_index on first use.
if TYPE_CHECKING:
    from rabbit_rag.backends.reader import EngineIndex
    from rabbit_rag.embeddings import Embedder
    from rabbit_rag.engine import Engine
    from rabbit_rag.generators.base import Generator


def configure_process(settings: Settings) -> None:
    """Process-wide settings: the shared Kiwi's worker threads (before its first use)."""
    configure_kiwi(settings.kiwi_workers)


def open_index_from_settings(settings: Settings, path: str | Path) -> Index | EngineIndex:
    """Open the index at ``path`` for reading (embedding model on ``settings.embed_device``): the local
    folder, or — with ``settings.backend`` — the engine collection named by the folder's name (no local
    file is read: the engine holds everything, see docs/scaling.md)."""
    if parse_backend(settings.backend) is not None:
        token = settings.backend_token.get_secret_value() if settings.backend_token else None
        assert settings.backend is not None
        return open_engine_index(settings.backend, Path(path).name, embed_device=settings.embed_device, token=token)
    return open_index(path, embed_device=settings.embed_device)


def retriever_from_settings(
    settings: Settings, index: Index, mode: str | None = None, *, for_answers: bool = False
) -> Retriever:
    """The retriever of ``mode`` (default: ``search_mode``, or ``ask_mode`` when it finds an answer's
    sources) over ``index``, with the settings' fusion weights. A default ``hybrid`` on an index built
    BM25-only on purpose is BM25 without a notice (:func:`~rabbit_rag.retrieval.make_retriever`)."""
    default = settings.ask_mode if for_answers else settings.search_mode
    weights = (settings.bm25_weight, settings.dense_weight)
    if mode is None and default == "hybrid":
        return make_retriever(index, None, weights=weights, rrf_k=settings.rrf_k)
    return make_retriever(index, mode or default, weights=weights, rrf_k=settings.rrf_k)


def generator_from_settings(
    settings: Settings,
    kind: str | None = None,
    *,
    model: str | None = None,
    embedder: Embedder | None = None,
    notify: Callable[[str], None] = notice,
) -> Generator:
    """The answer generator ``kind`` (default: ``settings.llm``) with every option from ``settings``;
    ``model`` overrides the chat model (the served model's name for ``openai``)."""
    from rabbit_rag.generators.factory import make_generator

    s = settings
    return make_generator(
        kind or s.llm, model=model or s.llm_model, device=s.llm_device, dtype=s.llm_dtype,
        max_context=s.llm_max_context, max_new_tokens=s.max_new_tokens, temperature=s.temperature, top_p=s.top_p,
        openai_base_url=s.openai_base_url, openai_model=s.openai_model or (model if model else None),
        openai_api_key=s.openai_api_key.get_secret_value() if s.openai_api_key else None,
        openai_timeout=s.openai_timeout, openai_connect_timeout=s.openai_connect_timeout,
        openai_max_context=s.openai_max_context, extractive_max_missing=s.extractive_max_missing,
        embedder=embedder, notify=notify, decoder=s.llm_decoder, max_batch=s.llm_max_batch,
        cuda_graphs=s.llm_cuda_graphs, compile_step=s.llm_compile,
    )  # fmt: skip


def engine_from_settings(
    settings: Settings,
    index: Index,
    *,
    llm: str | Generator | Callable[[Embedder | None], Generator] | None = None,
    mode: str | None = None,
    k: int | None = None,
    model: str | None = None,
) -> Engine:
    """An answer engine over ``index``: ``ask_mode`` retrieval of ``ask_top_k`` sources and the
    ``llm`` generator — a name (default: ``settings.llm``), a generator already built, or a function
    that makes one for the embedding model the answerer may use (:func:`~rabbit_rag.engine.answer_embedder`)
    — under the settings' question limit."""
    from rabbit_rag.engine import Engine, answer_embedder
    from rabbit_rag.generators.base import Generator

    retriever = retriever_from_settings(settings, index, mode, for_answers=True)
    embedder = answer_embedder(index, retriever)
    if isinstance(llm, str) or llm is None:
        generator = generator_from_settings(settings, llm, model=model, embedder=embedder)
    elif isinstance(llm, Generator):
        generator = llm
    else:
        generator = llm(embedder)
    return Engine(retriever, generator, k=k or settings.ask_top_k, max_question_chars=settings.max_question_chars)
