"""``GET /v1/collections/{name}/documents/{doc_id}/pages/{page}``: a PDF page as PNG, the quote highlighted.

The page is rendered from the original PDF (see :mod:`api.originals`) by PDFium in a child process
(:mod:`api.pdfpages`); ``start``/``end`` are the citation's offsets into the document text, so the
quote is ``text[start:end]`` and never travels in the URL. Same key, scope and collection rules as
the other document endpoints. Rendered pages are kept in a bounded in-memory cache
(:class:`PngCache`), keyed by the document version, so clicking a citation again is instant.

예::

    curl "$B/v1/collections/규정/documents/9d14…/pages/2?start=120&end=160" -H "$H" -o page2.png
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from rabbit_rag.api.deps import Readable, State
from rabbit_rag.api.errors import GoneError, NotFoundError, error_responses
from rabbit_rag.api.originals import SourceFiles
from rabbit_rag.api.pdfpages import DEFAULT_WIDTH, MAX_WIDTH, MIN_WIDTH, PageNotFoundError, PageRenderer
from rabbit_rag.api.routers.documents import DocId, Revision
from rabbit_rag.errors import InvalidInputError

router = APIRouter(prefix="/v1/collections/{name}/documents", tags=["documents"])

CACHE_BYTES = 64 * 1024 * 1024  # about 300-1000 rendered pages
RENDER_TIMEOUT_S = 30.0
CONTEXT_CHARS = 200  # document text around the quote, to pick the right one of repeated quotes
MAX_QUOTE_CHARS = 20_000
STATE_KEY = "page_images"


class PngCache:
    """A least-recently-used cache of rendered pages bounded by their total size in bytes."""

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[Any, ...], tuple[bytes, dict[str, Any]]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> tuple[bytes, dict[str, Any]] | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: tuple[Any, ...], png: bytes, info: dict[str, Any]) -> None:
        if len(png) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old[0])
            self._items[key] = (png, info)
            self._bytes += len(png)
            while self._bytes > self.max_bytes:
                _, (evicted, _) = self._items.popitem(last=False)
                self._bytes -= len(evicted)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)


class PageImages:
    """The renderer (one child process), the cache and the lookup of original PDFs, per app."""

    def __init__(self, memory_mb: int | None, timeout_s: float = RENDER_TIMEOUT_S, cache_bytes: int = CACHE_BYTES):
        self.renderer = PageRenderer(memory_mb=memory_mb, timeout_s=timeout_s)
        self.cache = PngCache(cache_bytes)
        self.sources = SourceFiles()

    def close(self) -> None:
        self.renderer.close()


_create_lock = threading.Lock()


def page_images(state: State) -> PageImages:
    """The app's :class:`PageImages`, created on first use (no child process until a page is asked for)."""
    images = state.extras.get(STATE_KEY)
    if images is None:
        with _create_lock:
            images = state.extras.get(STATE_KEY)
            if images is None:
                images = state.extras[STATE_KEY] = PageImages(state.settings.parse_memory_mb or None)
    return images


@router.get(
    "/{doc_id}/pages/{page}",
    response_class=Response,
    summary="A page of a PDF document as a PNG image, with a quote highlighted",
    responses={
        200: {
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The page. `X-Highlight`: `exact`, `approximate` or `none` (the quote was not found "
            "on the page); `X-Highlight-Box`: `left,top,right,bottom` of the highlight in image pixels; "
            "`X-Page-Count`: the PDF's pages.",
        },
        **error_responses(401, 403, 404, 410, 422),
    },
)
def page_image(
    name: Readable,
    doc_id: DocId,
    page: Annotated[int, Path(ge=1, le=100_000, description="1-based page number (a citation's `page`).")],
    state: State,
    start: Annotated[
        int | None, Query(ge=0, le=1_000_000_000, description="Quote start: the citation's `start`.")
    ] = None,
    end: Annotated[int | None, Query(ge=0, le=1_000_000_000, description="Quote end: the citation's `end`.")] = None,
    width: Annotated[int, Query(ge=MIN_WIDTH, le=MAX_WIDTH, description="Image width in pixels.")] = DEFAULT_WIDTH,
    revision: Revision = None,
) -> Response:
    """Renders page `page` of the document's original PDF and highlights `text[start:end]` on it (the
    characters are found on the page whatever the whitespace). Only PDFs have pages: other documents,
    and PDFs whose original is no longer available, are a 404 that says why. `revision` (the answer's)
    reads the offsets against the text of that revision, as the document endpoint does."""
    index, rev = state.collections.at_revision(name, revision)
    doc = index.document(doc_id, revision=rev)
    if doc is None:
        raise NotFoundError(
            f"no document {doc_id!r} in collection {name!r} at revision {rev}; "
            f"GET /v1/collections/{name}/documents lists them"
        )
    fmt = doc.metadata.get("format")
    if fmt != "pdf":
        raise NotFoundError(
            f"document {doc.source!r} is {'a ' + str(fmt).upper() if fmt else 'not a PDF'} file: "
            "page images exist only for PDFs; its text is at GET …/documents/{doc_id}"
        )
    pages = doc.metadata.get("page_count")
    if isinstance(pages, int) and page > pages:
        raise NotFoundError(f"page {page} does not exist: {doc.source!r} has {pages} page(s)")
    quote = before = after = ""
    if (start is None) != (end is None):
        raise InvalidInputError("give both start and end (a citation's offsets), or neither for the plain page")
    if start is not None and end is not None:
        if not start < end <= doc.n_chars:
            raise InvalidInputError(
                f"start={start}, end={end} is not a span of the document's {doc.n_chars} characters (start < end)"
            )
        if end - start > MAX_QUOTE_CHARS:
            raise InvalidInputError(f"the quote is over {MAX_QUOTE_CHARS} characters; cite a shorter span")
        text = index.document_text(doc_id, revision=rev)
        if text is None:
            raise GoneError(f"document {doc_id!r} at revision {rev} is no longer kept; search again")
        quote = text[start:end]
        before, after = text[max(0, start - CONTEXT_CHARS) : start], text[end : end + CONTEXT_CHARS]
    images = page_images(state)
    folder = state.collections.path(name)
    path, reason = images.sources.find(folder, doc)
    if path is None:
        if rev != index.revision:  # an older version whose PDF copy was replaced by the newer one's
            reason = f"the PDF of revision {rev} is no longer kept (the document was replaced); search again"
        raise NotFoundError(f"no page image for {doc.source!r}: {reason}")
    key = (str(path), doc.content_hash, page, start, end, width)
    hit = images.cache.get(key)
    if hit is None:
        try:
            png, info = images.renderer.render(path, page, quote, before, after, width)
        except PageNotFoundError as e:
            raise NotFoundError(f"{doc.source!r}: {e}") from None
        images.cache.put(key, png, info)
    else:
        png, info = hit
    headers = {
        "Cache-Control": "private, max-age=3600",
        "X-Highlight": str(info["match"]),
        "X-Page-Count": str(info["pages"]),
        "X-Cache": "hit" if hit is not None else "miss",
    }
    if info["boxes"]:  # where the highlight is, so a client can scroll or zoom to it
        boxes = info["boxes"]
        union = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
        headers["X-Highlight-Box"] = ",".join(str(v) for v in union)
    return Response(png, media_type="image/png", headers=headers)
