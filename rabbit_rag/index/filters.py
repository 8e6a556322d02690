"""Restricting a search to some documents: by source name (exact or glob) and/or document id.

예: ``SearchFilter.of(source="kobill/*", doc_id=None)`` keeps the bills only.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence


class SearchFilter:
    """Restricts a search to some documents: by source name (exact or glob) and/or document id.

    A pattern may name the tail of a source path: ``kobill/*`` matches ``samples/kobill/1.txt``.
    """

    def __init__(self, sources: Sequence[str] = (), doc_ids: Sequence[str] = ()) -> None:
        self.sources = list(sources)
        self.doc_ids = set(doc_ids) if doc_ids else None

    @classmethod
    def of(cls, source: str | Sequence[str] | None, doc_id: str | Sequence[str] | None) -> SearchFilter | None:
        """A filter from optional single values or lists; None when neither restricts anything."""

        def as_list(v: str | Sequence[str] | None) -> list[str]:
            return [] if v is None else [v] if isinstance(v, str) else list(v)

        sources, doc_ids = as_list(source), as_list(doc_id)
        return cls(sources, doc_ids) if sources or doc_ids else None

    def source_match(self) -> Callable[[str], bool] | None:
        """A predicate on source names, or None when sources are not restricted."""
        if not self.sources:
            return None
        pats = self.sources
        return lambda s: any(s == p or fnmatch.fnmatchcase(s, p) or fnmatch.fnmatchcase(s, "*/" + p) for p in pats)
