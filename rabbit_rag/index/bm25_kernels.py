"""Numba kernels of the BM25 index: building the score matrix and an exact, pruned top-k.

Both work on bm25s' CSC layout (one column per vocabulary id, rows = chunks, ascending within a
column) and give bm25s' numbers: the build computes each entry with bm25s' own formulas in the same
floating-point order, and a chunk's final score is summed in float32 in query-term order, as bm25s'
``get_scores_from_ids`` does. What differs is the work done.

**Build.** bm25s counts terms with a Python ``Counter`` per chunk and document frequencies with a
Python set per chunk, which is most of its build time at a million chunks. Here one pass sorts each
chunk's term ids (a few dozen) and counts runs, and a counting sort lays the entries out by column.

**Top-k.** bm25s adds every posting of every query term into a dense array of all chunks and then
selects the best ``k``. A Korean question nearly always holds a light verb (하, 있) or a common noun
whose postings cover a large part of the collection, yet such a term can add little: its column's
largest entry bounds what it can give. We take the terms from the largest bound down, adding their
postings into a scratch accumulator; as soon as the bounds of the terms left add up to less than the
``k``-th best partial score, no chunk those terms alone reach can enter the top ``k``, so their
postings are only looked up (binary search) for the few chunks still in the running, which are
dropped as their bound falls below the ``k``-th best. The survivors are scored again exactly, in query
order, and sorted by score then row. This is the MaxScore idea of Turtle and Flood (1995) on a
term-at-a-time index; the result is the exact top ``k`` (the tests compare it with full scoring).
When the terms added in full touched many rows, the candidates come from one scan of the accumulator
rather than a sort, a remaining term's column is walked beside the candidates (or, when shorter than
the candidate list, added in full) rather than searched once per candidate, and the accumulator is
cleared in one pass: a question of common words can leave most touched rows in the running. The
per-row bookkeeping is written without branches (a row is always written to the next slot and
counted only when it qualifies), since which rows qualify is as good as random to the processor.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Relative slack on every bound comparison: partial sums are float32 and summed in another order
#: than the final score, so a bound is trusted only beyond rounding (1e-4 is ~1000x float32's error
#: on 40 additions; a looser margin only keeps a few more candidates).
_SLACK = 1e-4

#: A remaining term's column is merged with the candidates (one walk over both) rather than searched
#: once per candidate when it holds at most this many entries per candidate.
_MERGE_RATIO = 16

#: The candidates are found by scanning the accumulator, in row order, rather than by sorting the
#: touched rows, when more than one row in this many was touched.
_SCAN_RATIO = 32


@njit(cache=True, nogil=True)
def count_terms(terms: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per chunk ``i`` (``terms[offsets[i]:offsets[i+1]]``): its distinct term ids, ascending, and how
    often each occurs. Returns ``(row, term, tf)`` arrays in row order."""
    n_docs = len(offsets) - 1
    rows = np.empty(len(terms), np.int32)
    out_terms = np.empty(len(terms), np.int32)
    tfs = np.empty(len(terms), np.int32)
    n = 0
    for d in range(n_docs):
        chunk = np.sort(terms[offsets[d] : offsets[d + 1]])
        i = 0
        while i < len(chunk):
            j = i + 1
            while j < len(chunk) and chunk[j] == chunk[i]:
                j += 1
            rows[n] = d
            out_terms[n] = chunk[i]
            tfs[n] = j - i
            n += 1
            i = j
    return rows[:n], out_terms[:n], tfs[:n]


@njit(cache=True, nogil=True)
def to_csc(
    rows: np.ndarray, cols: np.ndarray, values: np.ndarray, n_cols: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counting sort of ``(row, col, value)`` entries given in row order into CSC ``(data, indices,
    indptr)``: rows stay ascending within each column."""
    indptr = np.zeros(n_cols + 1, np.int64)
    for c in cols:
        indptr[c + 1] += 1
    for c in range(n_cols):
        indptr[c + 1] += indptr[c]
    heads = indptr[:-1].copy()
    data = np.empty(len(values), np.float32)
    indices = np.empty(len(values), np.int32)
    for i in range(len(values)):
        c = cols[i]
        p = heads[c]
        data[p] = values[i]
        indices[p] = rows[i]
        heads[c] = p + 1
    return data, indices, indptr


@njit(cache=True, nogil=True)
def column_max(data: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """The largest entry of each column (0 for an empty one): what one occurrence of the term can add."""
    n = len(indptr) - 1
    out = np.zeros(n, np.float32)
    for c in range(n):
        m = np.float32(0.0)
        for p in range(indptr[c], indptr[c + 1]):
            if data[p] > m:
                m = data[p]
        out[c] = m
    return out


@njit(cache=True, nogil=True)
def _kth_largest(acc: np.ndarray, docs: np.ndarray, n: int, k: int, heap: np.ndarray) -> float:
    """The ``k``-th largest of ``acc[docs[:n]]`` (0 when there are fewer than ``k``), with a min-heap."""
    if n < k:
        return 0.0
    size = 0
    for i in range(n):
        v = acc[docs[i]]
        if size < k:
            # sift up
            pos = size
            heap[pos] = v
            size += 1
            while pos > 0:
                parent = (pos - 1) >> 1
                if heap[parent] <= heap[pos]:
                    break
                heap[parent], heap[pos] = heap[pos], heap[parent]
                pos = parent
        elif v > heap[0]:
            heap[0] = v
            pos = 0
            while True:
                child = 2 * pos + 1
                if child >= size:
                    break
                if child + 1 < size and heap[child + 1] < heap[child]:
                    child += 1
                if heap[pos] <= heap[child]:
                    break
                heap[pos], heap[child] = heap[child], heap[pos]
                pos = child
    return heap[0]


@njit(cache=True, nogil=True)
def _find(indices: np.ndarray, lo: int, hi: int, row: int) -> int:
    """Position of ``row`` in the ascending ``indices[lo:hi]``, or -1."""
    p = lo + np.searchsorted(indices[lo:hi], row)
    if p < hi and indices[p] == row:
        return p
    return -1


@njit(cache=True, nogil=True)
def top_k(
    data: np.ndarray,
    indices: np.ndarray,
    indptr: np.ndarray,
    col_max: np.ndarray,
    query: np.ndarray,
    mask: np.ndarray,
    k: int,
    acc: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The exact top ``k`` rows (positive scores only) and their float32 scores, best first, ties by row.

    ``query`` holds the query's term ids in query order (repeats count again, as in bm25s);
    ``mask`` is empty or one flag per row (0: left out); ``acc`` is a zeroed float32 scratch array of
    one entry per row, zeroed again on return.
    """
    # distinct terms, how often each is asked for, and the most each can add
    uniq = np.unique(query)
    n_terms = len(uniq)
    mult = np.zeros(n_terms, np.int64)
    for t in query:
        mult[np.searchsorted(uniq, t)] += 1
    bound = np.empty(n_terms, np.float64)
    total_postings = 0
    for i in range(n_terms):
        bound[i] = mult[i] * np.float64(col_max[uniq[i]]) * (1.0 + _SLACK)
        total_postings += indptr[uniq[i] + 1] - indptr[uniq[i]]
    order = np.argsort(-bound, kind="mergesort")
    left = np.zeros(n_terms + 1, np.float64)  # left[j]: the bound of the terms after order[j - 1]
    for j in range(n_terms - 1, -1, -1):
        left[j] = left[j + 1] + bound[order[j]]
    use_mask = len(mask) > 0
    n_rows = len(acc)

    # one slot more than rows can be touched: the loop below writes a row into the next slot whether
    # or not it is new, and only counts it when it is (a branch it cannot predict cost twice the add:
    # 564k postings at a million chunks, 4.1 ms with the branch, 2.6 ms without)
    touched = np.empty(min(n_rows, total_postings) + 1, np.int32)
    n_touched = 0
    heap = np.empty(max(k, 1), np.float32)
    theta = 0.0
    best = np.float32(0.0)
    done = n_terms  # terms order[:done] were added in full
    for j in range(n_terms):
        t = uniq[order[j]]
        m = np.float32(mult[order[j]])
        for p in range(indptr[t], indptr[t + 1]):
            d = indices[p]
            if use_mask and mask[d] == 0:
                continue
            v = acc[d]
            touched[n_touched] = d
            n_touched += v == 0.0
            v += m * data[p]
            acc[d] = v
            best = max(best, v)
        # Stop adding in full once the terms left cannot lift an unseen row into the top k.
        if j + 1 < n_terms and left[j + 1] < best:
            theta = _kth_largest(acc, touched, n_touched, k, heap) * (1.0 - _SLACK)
            if left[j + 1] < theta:
                done = j + 1
                break

    # The rows still in the running, ascending.
    cand = np.empty(n_touched + 1, np.int32)
    n_cand = 0
    if done == n_terms:
        theta = _kth_largest(acc, touched, n_touched, k, heap) * (1.0 - _SLACK)
    # many touched rows: the candidates are found, and the accumulator cleared, by sweeping it whole
    swept = n_touched * _SCAN_RATIO > n_rows
    if swept:
        # one pass over the accumulator yields them in order, where sorting them
        # cost more (157k touched rows of a million: 8 ms to sort, ~1 ms to scan); written without a
        # branch, as above
        floor = theta - left[done]
        for d in range(n_rows):
            v = acc[d]
            cand[n_cand] = d
            n_cand += (v != 0.0) & (v >= floor)
        cand = cand[:n_cand]
    else:
        for i in range(n_touched):
            d = touched[i]
            if acc[d] + left[done] >= theta:
                cand[n_cand] = d
                n_cand += 1
        cand = np.sort(cand[:n_cand])

    # The remaining terms: look up only the candidates' entries, dropping those that fall behind.
    for j in range(done, n_terms):
        t = uniq[order[j]]
        m = np.float32(mult[order[j]])
        lo = indptr[t]
        hi = indptr[t + 1]
        if swept and hi - lo < n_cand:
            # a column shorter than the candidate list: add all of it (rows that are not candidates
            # gain a score nobody reads, and the accumulator is cleared in full below)
            for p in range(lo, hi):
                acc[indices[p]] += m * data[p]
        elif hi - lo <= _MERGE_RATIO * n_cand:
            # many candidates for this column: walk both ascending lists once (at a million chunks a
            # query of common words kept 157k candidates; searching each one cost ~2 ms more)
            i = 0
            p = lo
            while i < n_cand and p < hi:
                d = cand[i]
                r = indices[p]
                acc[d] += m * data[p] * np.float32(r == d)  # (no branch to mispredict)
                p += r <= d
                i += r >= d
        else:
            for i in range(n_cand):  # candidates ascending: each search starts where the last one ended
                d = cand[i]
                p = lo + np.searchsorted(indices[lo:hi], d)
                if p < hi and indices[p] == d:
                    acc[d] += m * data[p]
                    p += 1
                lo = p
        theta = _kth_largest(acc, cand, n_cand, k, heap) * (1.0 - _SLACK)
        kept = 0
        floor = theta - left[j + 1]
        for i in range(n_cand):  # in place, without a branch (kept never passes i)
            d = cand[i]
            cand[kept] = d
            kept += acc[d] >= floor
        n_cand = kept

    # Exact scores of the survivors, summed in query order as bm25s does.
    scores = np.zeros(n_cand, np.float32)
    for i in range(n_cand):
        d = cand[i]
        s = np.float32(0.0)
        for t in query:
            p = _find(indices, indptr[t], indptr[t + 1], d)
            if p >= 0:
                s += data[p]
        scores[i] = s

    if swept:
        acc[:] = 0.0  # one sequential pass, where scattered writes to many rows cost more
    else:
        for i in range(n_touched):
            acc[touched[i]] = 0.0

    ranked = np.argsort(-scores[:n_cand], kind="mergesort")  # stable: ties keep ascending rows
    n_out = 0
    for i in range(min(k, n_cand)):
        if scores[ranked[i]] > 0:
            n_out += 1
    out_rows = np.empty(n_out, np.int64)
    out_scores = np.empty(n_out, np.float32)
    for i in range(n_out):
        out_rows[i] = cand[ranked[i]]
        out_scores[i] = scores[ranked[i]]
    return out_rows, out_scores


@njit(cache=True, nogil=True)
def full_scores(
    data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, query: np.ndarray, n_rows: int
) -> np.ndarray:
    """Every row's score, term by term in query order (bm25s' ``get_scores_from_ids``): the reference
    :func:`top_k` is tested against, and the path for a caller that wants all scores."""
    scores = np.zeros(n_rows, np.float32)
    for t in query:
        for p in range(indptr[t], indptr[t + 1]):
            scores[indices[p]] += data[p]
    return scores
