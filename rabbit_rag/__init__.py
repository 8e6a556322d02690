"""rabbit-rag: Korean retrieval-augmented generation.

Kiwi morphology for BM25, dense embeddings in FAISS, hybrid retrieval, and answers that cite the
exact characters they rest on. Importing is light: models, Kiwi and indexes load on first use, and
torch, transformers and FAISS are imported only by the code that needs them.

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
