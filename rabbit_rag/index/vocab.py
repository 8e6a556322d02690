"""Query terms to vocabulary ids for one generation, with a cache in front of the docstore.

A query's terms are looked up in the docstore's vocabulary (one indexed SQLite query), and the answer
is kept: the vocabulary only grows and an id never changes, and term frequencies are Zipfian, so after
a few hundred queries nearly every term of a new query is already known here and a search makes no
SQLite round trip for its terms. What is "known" is judged against the generation's own matrix: a
term added by a later ingest has no column in this generation, so it counts as unknown (and a
compound only this newer revision knows does not replace its parts).

The cache holds at most ``max_terms`` entries (about 150 bytes each) and is dropped with its
generation, so a term unknown at one revision is looked up again at the next. A generation whose whole
vocabulary fits (``load_all`` given and at most ``max_terms`` columns) reads it all at its first query
(one ``SELECT``; ~15k terms in 10 ms): every later query is answered from memory, known or not, as
bm25s answers from its ``vocab_dict`` — the per-query lookup cost ~0.2 ms of CPU at 100k chunks,
where queries keep bringing terms not seen before.

예::

    vocab = QueryVocabulary(store.lookup_terms, n_columns=len(matrix.indptr) - 2)
    vocab.ids(["국회의원", "임기"])   # {'국회의원': 812, '임기': 77}
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence

from rabbit_rag.text.terms import bm25_query_terms

#: Entries kept per generation: far more than the distinct terms of a day's queries, a few MB at most.
DEFAULT_MAX_TERMS = 200_000


class QueryVocabulary:
    """Term → id (or unknown) for the columns of one generation's BM25 matrix."""

    def __init__(
        self,
        lookup: Callable[[Sequence[str]], dict[str, int]],
        n_columns: int,
        max_terms: int = DEFAULT_MAX_TERMS,
        load_all: Callable[[int], Iterable[tuple[str, int]]] | None = None,
    ) -> None:
        self._lookup = lookup
        self._n_columns = n_columns
        self._max_terms = max_terms
        self._cache: dict[str, int] = {}  # -1: not in this generation
        self._lock = threading.Lock()
        #: ``load_all(n)``: every (term, id) with id < n, read once when the vocabulary fits the cache
        self._load_all = load_all if load_all is not None and n_columns <= max_terms else None
        self._complete = False

    def _preload(self) -> None:
        with self._lock:
            if self._load_all is not None and not self._complete:
                self._cache = dict(self._load_all(self._n_columns))
                self._complete = True

    def ids(self, terms: Sequence[str]) -> dict[str, int]:
        """The ids of those of ``terms`` this generation knows."""
        if self._load_all is not None and not self._complete:
            self._preload()
        cache = self._cache
        if self._complete:  # the whole vocabulary is here: a term not in it is unknown
            return {t: i for t in terms if (i := cache.get(t)) is not None and i >= 0}
        resolved = {t: cache.get(t) for t in dict.fromkeys(terms)}
        missing = [t for t, i in resolved.items() if i is None]
        if missing:
            found = self._lookup(missing)
            for t in missing:
                i = found.get(t, -1)
                resolved[t] = i if 0 <= i < self._n_columns else -1
            with self._lock:
                if len(cache) + len(missing) > self._max_terms:
                    cache.clear()  # rare: a simple reset keeps the bound without an LRU's per-hit cost
                cache.update((t, resolved[t]) for t in missing)
        return {t: i for t, i in resolved.items() if i is not None and i >= 0}

    def term_ids(self, query: str) -> list[int]:
        """The ids of ``query``'s BM25 terms this generation knows, in query order (a term asked twice
        counts twice); compounds the generation knows replace their parts."""
        terms = bm25_query_terms(query, self.known)
        ids = self.ids(terms)
        return [ids[t] for t in terms if t in ids]

    def known(self, terms: Sequence[str]) -> set[str]:
        """Which of ``terms`` this generation knows (the ``known`` callback of ``bm25_query_terms``)."""
        return set(self.ids(terms))
