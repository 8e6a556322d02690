"""rabbit-rag: Korean retrieval-augmented generation.

Kiwi morphology for BM25, dense embeddings in FAISS, hybrid retrieval, and answers that cite the
exact characters they rest on. Importing is light: the names below are imported on first use, models, Kiwi and
indexes load on first use, and torch, transformers and FAISS are imported only by the code that
needs them.

예::

    import rabbit_rag
    index = rabbit_rag.open_index("indexes/헌법")
    hits = index.search("대통령 임기는 몇 년이야?", k=3)
    engine = rabbit_rag.Engine.from_index(index, "extractive")
    answer = engine.ask("국회의원 임기는?")   # text, citations (exact quotes), sources

Documents go in with :func:`rabbit_rag.ingest.ingest_paths`; the HTTP service is :mod:`rabbit_rag.api`.
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING

# name → the module that defines it. Imported on first access (PEP 562), so `import rabbit_rag` — and
# every `rabbit_rag.<module>` import, the CLI's included — costs nothing until a name is used.
_EXPORTS: dict[str, str] = {
    "Citation": "rabbit_rag.citations",
    "cite": "rabbit_rag.citations",
    "Answer": "rabbit_rag.engine",
    "ChatSession": "rabbit_rag.engine",
    "Engine": "rabbit_rag.engine",
    "RabbitRagError": "rabbit_rag.errors",
    "ExtractiveGenerator": "rabbit_rag.generators",
    "LLMGenerator": "rabbit_rag.generators",
    "OpenAIChatModel": "rabbit_rag.generators",
    "TransformersChatModel": "rabbit_rag.generators",
    "load_chat_model": "rabbit_rag.generators",
    "make_generator": "rabbit_rag.generators",
    "Index": "rabbit_rag.index",
    "IndexWriter": "rabbit_rag.index",
    "SearchFilter": "rabbit_rag.index",
    "open_index": "rabbit_rag.index",
    "BM25Retriever": "rabbit_rag.retrieval",
    "DenseRetriever": "rabbit_rag.retrieval",
    "HybridRetriever": "rabbit_rag.retrieval",
    "Settings": "rabbit_rag.settings",
    "Block": "rabbit_rag.types",
    "Chunk": "rabbit_rag.types",
    "Document": "rabbit_rag.types",
    "ScoredChunk": "rabbit_rag.types",
}

if TYPE_CHECKING:
    from rabbit_rag.citations import Citation, cite
    from rabbit_rag.engine import Answer, ChatSession, Engine
    from rabbit_rag.errors import RabbitRagError
    from rabbit_rag.generators import (
        ExtractiveGenerator,
        LLMGenerator,
        OpenAIChatModel,
        TransformersChatModel,
        load_chat_model,
        make_generator,
    )
    from rabbit_rag.index import Index, IndexWriter, SearchFilter, open_index
    from rabbit_rag.retrieval import BM25Retriever, DenseRetriever, HybridRetriever
    from rabbit_rag.settings import Settings
    from rabbit_rag.types import Block, Chunk, Document, ScoredChunk


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rabbit_rag' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # next time a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = [
    "Answer",
    "BM25Retriever",
    "Block",
    "ChatSession",
    "Chunk",
    "Citation",
    "DenseRetriever",
    "Document",
    "Engine",
    "ExtractiveGenerator",
    "HybridRetriever",
    "Index",
    "IndexWriter",
    "LLMGenerator",
    "OpenAIChatModel",
    "RabbitRagError",
    "ScoredChunk",
    "SearchFilter",
    "Settings",
    "TransformersChatModel",
    "__version__",
    "cite",
    "load_chat_model",
    "make_generator",
    "open_index",
]
