"""Search hits whose chunk rows are read from the docstore when first used, in one query per search.

A search ranks chunk ids; reading the winners' rows (text, offsets, source, blocks, CRC check) from
SQLite cost 0.7 ms of a 3 ms BM25 query at 30k chunks, more than the ranking itself — and a hybrid
search ranks 40 candidates per side and keeps 10, so reading every candidate's row read 8 times what
it returned. So :meth:`~rabbit_rag.index.Index.bm25_top_k` and ``dense_top_k`` return
:class:`LazyChunk` objects: a :class:`~rabbit_rag.types.Chunk` whose ``chunk_id`` is known and whose
other fields are read the first time any of them is used, together with those of every other chunk of
the same search that is still referenced (one ``SELECT ... IN``). Candidates a fusion dropped are no
longer referenced by then and are not read.

To callers a :class:`LazyChunk` is a :class:`~rabbit_rag.types.Chunk` (``isinstance``, fields,
equality and hash with an equal ``Chunk``, ``repr``; it pickles and copies as a plain ``Chunk``); the
rows are read at the hits' generation revision, which the batch keeps held (so an ingest meanwhile
does not collect them), and :meth:`~rabbit_rag.index.Index.close` reads any still pending before it
closes the docstore.

예::

    hits = index.search("대통령의 임기", k=3, mode="bm25")   # no chunk row read yet
    hits[0].chunk.text                                       # the three rows, in one query
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

from rabbit_rag.errors import IndexCorruptError
from rabbit_rag.types import Chunk

_FIELDS = tuple(Chunk.__dataclass_fields__)
_LAZY_FIELDS = tuple(f for f in _FIELDS if f != "chunk_id")
#: the slot descriptors of Chunk's fields: a LazyChunk fills them once its row is read
_SLOTS = {f: Chunk.__dict__[f] for f in _FIELDS}


class ChunkBatch:
    """The chunks of one search, read together on first use.

    ``fetch(ids)`` returns ``{chunk_id: Chunk}`` as of the search's revision; ``hold`` is whatever keeps
    that revision's rows from being collected meanwhile (the generation, whose folder lock readers hold).
    """

    __slots__ = ("__weakref__", "_fetch", "_hold", "_lock", "_members", "_what")

    def __init__(self, fetch: Callable[[list[int]], dict[int, Chunk]], hold: Any, what: str) -> None:
        self._fetch = fetch
        self._hold = hold
        self._what = what
        self._members: list[weakref.ref[LazyChunk]] = []
        self._lock = threading.Lock()

    def chunk(self, chunk_id: int) -> LazyChunk:
        """A member whose row this batch reads."""
        c = LazyChunk.__new__(LazyChunk)
        _SLOTS["chunk_id"].__set__(c, int(chunk_id))
        object.__setattr__(c, "_batch", self)
        self._members.append(weakref.ref(c))
        return c

    @property
    def pending(self) -> bool:
        return self._fetch is not None

    def load(self) -> None:
        """Read the rows of every member still referenced (no-op once done)."""
        with self._lock:
            if self._fetch is None:
                return
            alive = [c for r in self._members if (c := r()) is not None]
            got = self._fetch([c.chunk_id for c in alive]) if alive else {}
            missing = [c.chunk_id for c in alive if c.chunk_id not in got]
            if missing:
                raise IndexCorruptError(
                    f"{self._what}: chunk {missing[0]} of a search result is not in the docstore at the revision it "
                    "was found at; search again (`rabbit-rag check --index DIR` tells whether the index is damaged)"
                )
            for c in alive:
                row = got[c.chunk_id]
                for f in _LAZY_FIELDS:
                    _SLOTS[f].__set__(c, getattr(row, f))
                object.__setattr__(c, "_batch", None)
            self._fetch = self._hold = None
            self._members = []


class LazyChunk(Chunk):
    """A :class:`~rabbit_rag.types.Chunk` whose row is read on first use (see the module docstring)."""

    __slots__ = ("__weakref__", "_batch")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Chunk):
            return _values(self) == _values(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(_values(self))

    def __reduce__(self) -> tuple[type[Chunk], tuple[Any, ...]]:
        return Chunk, _values(self)  # pickles and copies as a plain Chunk

    def __repr__(self) -> str:
        return repr(Chunk(*_values(self)))

    def __copy__(self) -> Chunk:
        return Chunk(*_values(self))

    def __deepcopy__(self, memo: dict[int, Any]) -> Chunk:
        return Chunk(*_values(self))


def _values(c: Chunk) -> tuple[Any, ...]:
    return tuple(getattr(c, f) for f in _FIELDS)


def _lazy_field(name: str) -> property:
    slot = _SLOTS[name]

    def get(self: LazyChunk) -> Any:
        batch = self._batch
        if batch is not None:
            batch.load()
        return slot.__get__(self, Chunk)

    return property(get, doc=f"``Chunk.{name}``, read from the docstore on first use")


for _name in _LAZY_FIELDS:
    setattr(LazyChunk, _name, _lazy_field(_name))
del _name
