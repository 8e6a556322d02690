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

import lazy_loader

__version__ = "0.1.0"

# Every public name is declared once, in __init__.pyi (read by type checkers too), and imported on first
# use: importing one submodule — the parse worker's child process imports rabbit_rag.ingest.readers, the
# CLI one command — must not pay for numpy, pydantic and the whole engine (0.7 s of CPU measured).
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
