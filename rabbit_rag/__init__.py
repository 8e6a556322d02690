"""rabbit-rag: Korean retrieval-augmented generation.

Kiwi morphology for BM25, dense embeddings in FAISS, hybrid retrieval, and answers that cite the
exact characters they rest on. Nothing heavy happens at import time.

예::

    import rabbit_rag
    index = rabbit_rag.open_index("indexes/헌법")
    hits = index.search("대통령 임기는 몇 년이야?", k=3)
    engine = rabbit_rag.Engine.from_index(index, "extractive")
    answer = engine.ask("국회의원 임기는?")   # text, citations (exact quotes), sources
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "open_index": "rabbit_rag.index.store",
    "Index": "rabbit_rag.index.store",
    "IndexWriter": "rabbit_rag.index.store",
    "Settings": "rabbit_rag.settings",
    "Document": "rabbit_rag.types",
    "Chunk": "rabbit_rag.types",
    "ScoredChunk": "rabbit_rag.types",
    "BM25Retriever": "rabbit_rag.retrievers",
    "DenseRetriever": "rabbit_rag.retrievers",
    "HybridRetriever": "rabbit_rag.retrievers",
    "RabbitRagError": "rabbit_rag.errors",
    "Engine": "rabbit_rag.engine",
    "Answer": "rabbit_rag.engine",
    "ChatSession": "rabbit_rag.engine",
    "Citation": "rabbit_rag.citations",
    "cite": "rabbit_rag.citations",
    "make_generator": "rabbit_rag.generators.factory",
    "ExtractiveGenerator": "rabbit_rag.generators.extractive",
    "LLMGenerator": "rabbit_rag.generators.llm",
    "TransformersChatModel": "rabbit_rag.generators.transformers_chat",
    "load_chat_model": "rabbit_rag.generators.transformers_chat",
    "OpenAIChatModel": "rabbit_rag.generators.openai_chat",
}

if TYPE_CHECKING:
    from rabbit_rag.citations import Citation, cite
    from rabbit_rag.engine import Answer, ChatSession, Engine
    from rabbit_rag.errors import RabbitRagError
    from rabbit_rag.generators.extractive import ExtractiveGenerator
    from rabbit_rag.generators.factory import make_generator
    from rabbit_rag.generators.llm import LLMGenerator
    from rabbit_rag.generators.openai_chat import OpenAIChatModel
    from rabbit_rag.generators.transformers_chat import TransformersChatModel, load_chat_model
    from rabbit_rag.index.store import Index, IndexWriter, open_index
    from rabbit_rag.retrievers import BM25Retriever, DenseRetriever, HybridRetriever
    from rabbit_rag.settings import Settings
    from rabbit_rag.types import Chunk, Document, ScoredChunk


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rabbit_rag' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "Answer",
    "BM25Retriever",
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
    "Settings",
    "TransformersChatModel",
    "cite",
    "load_chat_model",
    "make_generator",
    "open_index",
]
