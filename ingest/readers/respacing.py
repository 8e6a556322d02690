"""The spacing safety net every reader's document passes through (:func:`rabbit_rag.ingest.readers.read_bytes`).

Whatever the reader, a span whose word spacing is implausible for Korean (``임 종 석 은  청 량 리``)
is re-spaced with Kiwi (:func:`rabbit_rag.text.spacing.repair_spacing`). The repaired text *is* the
document text: page spans, section starts and blocks are carried over to it, so offsets and
citations point into what users see, and a title the reader took from the first line follows it.
The metadata says what happened: ``spacing_repaired_spans`` (how many spans), for paged
documents ``spacing_repaired_pages`` (which pages), and ``spacing_unrepaired_chars`` when a document
had more to re-space than :data:`~rabbit_rag.text.spacing.MAX_RESPACED_CHARS`.

Normal text is returned as the same object, untouched (measured byte for byte on the KorQuAD
contexts, the constitution and the bills in ``benchmarks/pdf_fidelity.py``).

예::

    doc = repair_document_spacing(doc)
    doc.metadata.get("spacing_repaired_pages")  # [1, 2]
"""

from __future__ import annotations

import bisect
import dataclasses

from rabbit_rag.text.spacing import OffsetMap, repair_spacing
from rabbit_rag.types import Document


def _first_line(text: str) -> str | None:
    return next((line.strip()[:200] for line in text.splitlines() if line.strip()), None)


def repair_document_spacing(doc: Document) -> Document:
    """``doc`` with its implausibly spaced spans re-spaced and its offsets carried over (see the module doc)."""
    result = repair_spacing(doc.text)
    if not result.edits:
        if result.unrepaired:
            return dataclasses.replace(doc, metadata={**doc.metadata, "spacing_unrepaired_chars": result.unrepaired})
        return doc
    move = OffsetMap(doc.text, result.edits)
    metadata = dict(doc.metadata)
    if result.unrepaired:
        metadata["spacing_unrepaired_chars"] = result.unrepaired  # past the per-document cap
    metadata["spacing_repaired_spans"] = len(result.edits)
    if doc.pages:
        starts = [s for s, _, _ in doc.pages]
        touched = set()
        for edit in result.edits:
            k = bisect.bisect_right(starts, edit.start) - 1
            if k >= 0 and edit.start < doc.pages[k][1]:
                touched.add(doc.pages[k][2])
        metadata["spacing_repaired_pages"] = sorted(touched)
    title = doc.title
    if title and title == _first_line(doc.text):
        title = _first_line(result.text)  # a title taken from the text follows its repair
    return dataclasses.replace(
        doc,
        text=result.text,
        title=title,
        metadata=metadata,
        pages=tuple((move(s), move(e), n) for s, e, n in doc.pages),
        sections=tuple((move(s), title) for s, title in doc.sections),
        blocks=tuple(dataclasses.replace(b, start=move(b.start), end=move(b.end)) for b in doc.blocks),
    )
