"""The process-wide Kiwi analyzer and morphemes as plain values.

Kiwi's analysis methods are safe to call from several threads on one instance, so one instance
serves the whole process. It is created on first use, with the number of worker threads set by
:func:`configure_kiwi` (the CLI and the API pass ``RABBIT_RAG_KIWI_WORKERS``) or, by default, the CPU
count up to 8, and with :data:`KIWI_OPTIONS`.

Loading is most of what a first search costs (``benchmarks/first_answer.py``): kiwipiepy reads its
model in the constructor and builds the analyzer on the first call. Without the typo and multi-word
dictionaries both take half the time and 190 MB less memory, and BM25 retrieval is as good or better
(KorQuAD 1.0 dev, paragraph unit, 5,774 questions, ``benchmarks/kiwi_dictionaries.py``: recall@5
0.9865 vs 0.9848 with the default dictionaries, recall@10 0.9919 vs 0.9908, MRR@10 0.9432 vs 0.9426;
recall@1 0.9089 vs 0.9091, one question fewer). The multi-word dictionary holds
WikiData names written as several words; analyzing them as one proper noun gives BM25 one rare term
where the question, written a little differently, has the parts. The typo dictionary corrects
informal endings, which BM25 drops anyway.

The other options were measured for a cheaper load (``benchmarks/first_answer.py``, 2026-12-02):
``num_workers`` (0, 1, 2 or all cores) changes nothing; ``model_type`` has one choice, since the
only language model kiwipiepy_model ships is CoNg; ``load_default_dict=False`` (no proper nouns
from Wikipedia and Namuwiki) cuts the load by a third but loses recall (recall@5 0.9855 vs 0.9865,
recall@1 0.9075 vs 0.9089), so the default dictionary stays. Kiwi holds the GIL while it loads and
builds, so loading it on a thread does not overlap with the imports.

예::

    >>> [(form, tag) for form, tag, _, _ in lex(get_kiwi().tokenize("국회의원"))]
    [('국회', 'NNG'), ('의원', 'NNG')]
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiwipiepy import Kiwi

_kiwi: Kiwi | None = None
_kiwi_lock = threading.Lock()
_workers: int | None = None

#: Options of the shared Kiwi (see the module docstring). They change the analysis, so indexes record
#: them with their tokenizer settings (:func:`rabbit_rag.text.terms.tokenizer_settings`).
KIWI_OPTIONS: dict[str, bool] = {"load_typo_dict": False, "load_multi_dict": False}

#: A morpheme as plain values: (form, tag, start, end). Kiwi's Token attributes are slow to read, so
#: each is read once.
Lex = tuple[str, str, int, int]


def default_kiwi_workers() -> int:
    """Worker threads for batched Kiwi analysis when none are configured: the CPU count, at most 8."""
    return max(1, min(os.cpu_count() or 1, 8))


def kiwi_workers() -> int:
    """The worker threads the shared Kiwi uses (or will use once created)."""
    return _workers or default_kiwi_workers()


def configure_kiwi(num_workers: int | None) -> None:
    """Set the worker threads of the shared Kiwi before its first use (None: the default). A Kiwi that
    already exists keeps its threads; the setting then applies to nothing, which is harmless."""
    global _workers
    _workers = num_workers


def get_kiwi() -> Kiwi:
    """The process-wide Kiwi analyzer, created on first use (about 2 s of CPU and 330 MB, most of it
    on the first analysis).

    Kiwi's analysis methods are safe to call from several threads on one instance.
    """
    global _kiwi
    if _kiwi is None:
        with _kiwi_lock:
            if _kiwi is None:
                from kiwipiepy import Kiwi

                _kiwi = Kiwi(num_workers=kiwi_workers(), **KIWI_OPTIONS)
    return _kiwi


def lex(tokens: Iterable[Any]) -> list[Lex]:
    """Kiwi ``Token`` objects as ``(form, tag, start, end)`` tuples."""
    return [(t.form, t.tag, t.start, t.start + t.len) for t in tokens]
