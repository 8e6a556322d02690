"""Answer metrics with KorQuAD 1.0's official normalization: exact match and character-level F1.

The official script (``evaluate-v1.0.py``, after SQuAD v1.1) replaces quotes, angle and round
brackets with spaces, lower-cases, removes ASCII punctuation and collapses whitespace; F1 counts
characters (not words: Korean morphology makes word tokens unreliable) with spaces removed.

예::

    >>> exact_match("1988년 2월 25일", "1988년 2월 25일")
    1.0
    >>> round(f1_score("이 헌법은 1988년 2월 25일부터 시행한다.", "1988년 2월 25일"), 3)
    0.667
"""

from __future__ import annotations

import re
import string
from collections import Counter

_REPLACED = re.compile(r"['\"《》<>〈〉()‘’]")
_PUNCT = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """KorQuAD 1.0's ``normalize_answer``."""
    text = _REPLACED.sub(" ", text).lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    return " ".join(text.split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction: str, gold: str) -> float:
    """Character-level F1 of the normalized strings, spaces excluded (KorQuAD 1.0)."""
    pred = list("".join(normalize_answer(prediction).split()))
    ref = list("".join(normalize_answer(gold).split()))
    common = Counter(pred) & Counter(ref)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def contains_answer(prediction: str, gold: str) -> float:
    """Whether the normalized gold answer appears in the normalized prediction (a lenient match
    that suits sentence-long answers)."""
    g = normalize_answer(gold)
    return float(bool(g) and g in normalize_answer(prediction))
