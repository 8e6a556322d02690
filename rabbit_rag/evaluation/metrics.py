"""Ranking metrics over the rank of relevant results (1-based; None = not retrieved)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def ranking_metrics(
    ranks: Sequence[Sequence[int]], n_relevant: Sequence[int], ks: Sequence[int] = (1, 5, 10)
) -> dict[str, float]:
    """``recall@k`` (a relevant result in the top k), ``mrr@10`` and binary ``ndcg@10``.

    ``ranks[i]`` are the 1-based ranks of the relevant results retrieved for question ``i`` and
    ``n_relevant[i]`` how many relevant results exist (for the ideal DCG).

    예: ``ranking_metrics([[1], [3], []], [1, 1, 1])["recall@5"] == 2 / 3``
    """
    n = len(ranks)
    if n == 0:
        return {**{f"recall@{k}": 0.0 for k in ks}, "mrr@10": 0.0, "ndcg@10": 0.0}
    out: dict[str, float] = {}
    for k in ks:
        out[f"recall@{k}"] = sum(1 for r in ranks if r and min(r) <= k) / n
    out["mrr@10"] = sum(1 / min(r) for r in ranks if r and min(r) <= 10) / n
    total = 0.0
    for r, rel in zip(ranks, n_relevant, strict=True):
        dcg = sum(1 / math.log2(x + 1) for x in r if x <= 10)
        ideal = sum(1 / math.log2(x + 1) for x in range(1, min(max(rel, 1), 10) + 1))
        total += dcg / ideal
    out["ndcg@10"] = total / n
    return {k: round(v, 4) for k, v in out.items()}
