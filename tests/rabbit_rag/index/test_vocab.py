"""The per-generation query vocabulary: a small vocabulary is read whole once and answers every query
from memory; a large one is looked up per query. Both give the same ids."""

from __future__ import annotations

from collections.abc import Sequence

from rabbit_rag.index.vocab import QueryVocabulary

VOCAB = {"국회": 0, "의원": 1, "국회의원": 2, "임기": 3, "대통령": 4, "헌법재판소": 5, "재판관": 6, "새말": 7}
QUERIES = ["국회의원의 임기는?", "대통령 임기", "헌법재판소 재판관의 임기", "없는 말들", "새말 국회"]


class Store:
    def __init__(self) -> None:
        self.lookups = 0
        self.loads = 0

    def lookup(self, terms: Sequence[str]) -> dict[str, int]:
        self.lookups += 1
        return {t: VOCAB[t] for t in terms if t in VOCAB}

    def load_all(self, n: int) -> list[tuple[str, int]]:
        self.loads += 1
        return [(t, i) for t, i in VOCAB.items() if i < n]


def test_a_small_vocabulary_is_read_once_and_gives_the_same_ids() -> None:
    n_columns = 7  # "새말" (id 7) was added after this generation: unknown here
    plain_store, full_store = Store(), Store()
    plain = QueryVocabulary(plain_store.lookup, n_columns)
    full = QueryVocabulary(full_store.lookup, n_columns, load_all=full_store.load_all)
    for q in QUERIES * 2:
        assert full.term_ids(q) == plain.term_ids(q)
    assert full.term_ids("국회의원의 임기는?") == [2, 3]  # the compound replaces its parts
    assert full.term_ids("새말 국회") == [0]
    assert full_store.loads == 1 and full_store.lookups == 0
    assert plain_store.lookups > 0 and plain_store.loads == 0


def test_a_large_vocabulary_is_looked_up_per_query() -> None:
    store = Store()
    vocab = QueryVocabulary(store.lookup, n_columns=7, max_terms=5, load_all=store.load_all)
    assert vocab.term_ids("대통령 임기") == [4, 3]
    assert store.loads == 0 and store.lookups == 1
