"""The index folder: a SQLite docstore (the source of truth) and derived BM25/FAISS generations.

=====================  ===========================================================================
module                 what
=====================  ===========================================================================
``reader``             :class:`Index` — the read interface (BM25/dense top-k, chunks, documents)
``writer``             :class:`IndexWriter` — the one writer (docstore transaction, then publish)
``publish``            deriving and switching in a generation; repairing a lagging one
``filters``            :class:`SearchFilter` — by source pattern and document id
``docstore``           SQLite: documents, chunks (offsets, term ids, float16 vectors), vocabulary
``generation``         one revision's search files, written beside the old and renamed in
``bm25`` / ``vectors`` the BM25 matrix (bm25s) and the FAISS index
``manifest``           what the index is, what built it, which generation is current
``fsio``               crash-safe writes and the writer lock
=====================  ===========================================================================

예::

    from rabbit_rag.index import open_index
    index = open_index("indexes/헌법")
    index.bm25_top_k("국회의원 임기", k=3)
"""

from __future__ import annotations

from rabbit_rag.index.docstore import StoredDocument
from rabbit_rag.index.filters import SearchFilter
from rabbit_rag.index.reader import Index, open_index
from rabbit_rag.index.writer import IndexWriter

__all__ = ["Index", "IndexWriter", "SearchFilter", "StoredDocument", "open_index"]
