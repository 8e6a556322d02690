"""PDF page images: finding the quote among PDFium's characters, drawing it, the killable renderer,
the endpoint (auth, scoping, errors, cache) and where the original PDFs come from."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

pytest.importorskip("pypdfium2")
from PIL import Image

from rabbit_rag.api import collections as collections_module
from rabbit_rag.api.originals import ORIGINALS_DIR, SourceFiles
from rabbit_rag.api.pdfpages import PageNotFoundError, PageRenderer, locate, merge_boxes, render_page, squash
from rabbit_rag.api.routers.pages import PngCache
from rabbit_rag.errors import DocumentError
from tests.api.conftest import COLLECTION, assert_error, wait_job
from tests.ingest.docgen import CID_FONT, THREE_PAGES, korean_pdf

QUOTE = "토끼연구소의 올해 연구 예산은 삼백이십억 원이며, 그중 절반은\n인공지능 연구에 쓴다."
QUESTION = "토끼연구소의 올해 연구 예산은 얼마야?"


# -- locate: the quote among the page's characters ---------------------------------------------------
def test_squash_drops_whitespace_and_maps_back() -> None:
    assert squash(["가", " ", "ﬁ", "\n", "Ａ"]) == ("가fia", [0, 2, 2, 4])
    assert squash(["한", "\x02", "러", "-", "나"]) == ("한러나", [0, 2, 4])  # PDFium's line-end hyphen mark


def test_quotes_from_the_reader_text_are_found_exactly_on_their_page() -> None:
    """Citations quote the reader's text (furniture out, lines joined, hyphens kept or dropped); each
    quote is found exactly among PDFium's characters of its page, and furniture never is a quote."""
    import pypdfium2.raw as pdfium_c

    from rabbit_rag.ingest.readers import read_bytes
    from tests.ingest.docgen import paged_pdf

    hyphens = [
        "야로슬라블에서 개최된 한-",
        "러 정상회담에서 두 정상은 협력을 약속했고 이어서 길게 이어지는",
        "information is infor-",
        "mation and the rest of this line is long enough",
    ]
    data = korean_pdf([hyphens])
    doc = read_bytes(data, "하이픈.pdf")
    assert "한-러 정상회담" in doc.text and "information is information" in doc.text
    for q in ("개최된 한-러 정상회담에서", "information is information and"):
        assert render_page(data, 1, q, width=400)[1]["match"] == "exact", q

    import pypdfium2 as pdfium

    data = paged_pdf(THREE_PAGES, header="토끼연구소 연구 규정", footer="- {page} -")
    doc = read_bytes(data, "머리말.pdf")
    assert doc.metadata["furniture_lines"] == 6 and "- 2 -" not in doc.text

    pdf = pdfium.PdfDocument(data)
    try:
        for start, end, page_no in doc.pages:
            text = pdf[page_no - 1].get_textpage()
            chars = [chr(pdfium_c.FPDFText_GetUnicode(text.raw, i) or 0x20) for i in range(text.count_chars())]
            text.close()
            lines = [line for line in doc.text[start:end].split("\n") if len(line.strip()) >= 8]
            assert lines
            for line in lines:
                assert locate(chars, line).kind == "exact", (page_no, line)
    finally:
        pdf.close()


def test_quotes_from_a_web_saved_pdf_are_found_exactly() -> None:
    """A Korean article printed by Chromium with a sliced web font (``../shared/data/pdf_web``): every
    sentence of the reader's text (spacing as the source has it) is found exactly on its page."""
    import re

    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    from rabbit_rag.ingest.readers import read_bytes
    from tests.conftest import shared_data

    path = shared_data("pdf_web", "006_web.pdf")
    doc = read_bytes(path.read_bytes(), path.name)
    pdf = pdfium.PdfDocument(path)
    found = 0
    try:
        for start, end, page_no in doc.pages:
            text = pdf[page_no - 1].get_textpage()
            chars = [chr(pdfium_c.FPDFText_GetUnicode(text.raw, i) or 0x20) for i in range(text.count_chars())]
            text.close()
            for m in re.finditer(r"[^.!?]{10,300}?[.!?]", doc.text[start:end]):
                assert locate(chars, m.group(0).strip()).kind == "exact", (page_no, m.group(0))
                found += 1
    finally:
        pdf.close()
    assert found >= 30 and len(doc.pages) == 3


def test_locate_ignores_whitespace_and_line_breaks() -> None:
    page = list("제2장 예산\r\n토끼연구소의  올해 연구 예산은 삼백이십억 원이며, 그중 절반은\r\n인공지능 연구에 쓴다.")
    m = locate(page, QUOTE)
    assert m.kind == "exact"
    covered = "".join(page[i] for i in range(m.indexes[0], m.indexes[-1] + 1))
    assert covered.startswith("토끼연구소") and covered.endswith("쓴다.")
    assert all(not page[i].isspace() for i in m.indexes)


def test_locate_normalizes_width_and_ligatures() -> None:
    assert locate(list("예산은 ３２０억 원"), "320억").kind == "exact"
    assert locate(list("the ﬁnal rule"), "final").kind == "exact"


def test_locate_picks_the_occurrence_whose_neighbourhood_matches() -> None:
    page = list("제1조 목적을 정한다. 제1조 정의를 정한다.")
    first = locate(page, "제1조", before="", after=" 목적을 정한다.")
    second = locate(page, "제1조", before="목적을 정한다. ", after=" 정의를 정한다.")
    assert first.indexes == (0, 1, 2)
    assert second.indexes[0] == "".join(page).index("제1조", 1)


def test_locate_approximate_and_none() -> None:
    page = list("예산의 집행 결과는 매 분기 이사회에 보고한다.")
    # two characters differ (another extractor, a typo fixed in one of them): still found, approximately
    m = locate(page, "예산의 집행 결과는 매 분기 이사회애 보고헌다.")
    assert m.kind == "approximate"
    assert "".join(page[i] for i in m.indexes) == "예산의집행결과는매분기이사회에보고한다."  # the whole passage
    assert locate(page, "전혀 다른 문장이 여기에 있다").kind == "none"
    assert locate(page, "").kind == "none" and locate([], "예산").kind == "none"


def test_merge_boxes_one_rectangle_per_line() -> None:
    line1 = [(10.0 + 10 * i, 100.0, 19.0 + 10 * i, 112.0) for i in range(5)]
    line2 = [(10.0 + 10 * i, 120.0, 19.0 + 10 * i, 132.0) for i in range(3)]
    assert merge_boxes([*line1, *line2, (5, 5, 5, 9)]) == [(10.0, 100.0, 59.0, 112.0), (10.0, 120.0, 39.0, 132.0)]


# -- rendering -------------------------------------------------------------------------------------------
def _yellow(px: tuple[int, ...]) -> bool:
    r, g, b = px[:3]
    return r > 200 and g > 150 and b < 170


def _box_pixels(png: bytes, box: list[int]) -> list[tuple[int, ...]]:
    img = Image.open(io.BytesIO(png)).convert("RGB")
    left, top, right, bottom = box
    return [img.getpixel((x, y)) for x in range(left, right, 2) for y in range(top, bottom, 2)]


@pytest.fixture(scope="module")
def three_pages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("pdf") / "규정.pdf"
    p.write_bytes(korean_pdf(THREE_PAGES, title="연구 규정"))
    return p


def test_render_page_highlights_the_quote_where_it_is_drawn(three_pages: Path) -> None:
    # A4 is 595 pt wide: at 595 px one pixel is one point; line i of a page is drawn at 72 + 18*i pt from the top
    png, info = render_page(three_pages, 2, QUOTE, width=595)
    assert info["match"] == "exact" and info["pages"] == 3 and (info["width"], info["height"]) == (595, 842)
    boxes = info["boxes"]
    assert len(boxes) == 2  # the quote runs over two drawn lines
    for box, line in zip(boxes, (1, 2), strict=True):
        baseline = 72 + 18 * line
        assert box[1] < baseline < box[3] + 4 and box[3] - box[1] < 20, (box, baseline)
        assert abs(box[0] - 60) <= 3  # lines start at x = 60 pt
    assert boxes[0][2] > boxes[1][2]  # the first line is the longer one
    pixels = _box_pixels(png, boxes[0])
    assert sum(map(_yellow, pixels)) > 0.5 * len(pixels)
    # the line below the quote (예산의 집행 결과는 …) is not painted
    below = _box_pixels(png, [60, 72 + 18 * 3 - 10, 300, 72 + 18 * 3 + 2])
    assert not any(map(_yellow, below))
    # and without a quote nothing is painted at all
    plain, plain_info = render_page(three_pages, 2, "", width=595)
    assert plain_info["match"] == "none" and plain_info["boxes"] == []
    assert not any(map(_yellow, _box_pixels(plain, boxes[0])))


def test_render_page_on_a_rotated_page(tmp_path: Path) -> None:
    """/Rotate 90: the text, drawn left to right on a landscape media box, is shown running down a
    portrait page, and the highlight still covers the glyphs."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    c.setPageRotation(90)
    c.setFont(CID_FONT, 14)
    c.drawString(60, 300, "회전된 쪽의 인용문은 여기에 있다.")  # reportlab made the media box 842 x 595
    c.showPage()
    c.save()
    pdf = tmp_path / "rotated.pdf"
    pdf.write_bytes(buf.getvalue())
    png, info = render_page(pdf, 1, "인용문은 여기에", width=595)
    assert info["match"] == "exact" and (info["width"], info["height"]) == (595, 842)
    (box,) = info["boxes"]
    assert 0 <= box[0] < box[2] <= 595 and 0 <= box[1] < box[3] <= 842
    assert box[3] - box[1] > 3 * (box[2] - box[0])  # a vertical run: the line is rotated
    img = Image.open(io.BytesIO(png)).convert("L")
    inside = [img.getpixel((x, y)) for x in range(box[0], box[2]) for y in range(box[1], box[3])]
    assert min(inside) < 100  # glyphs under the highlight


def test_render_page_out_of_range(three_pages: Path) -> None:
    with pytest.raises(PageNotFoundError, match="has 3 page"):
        render_page(three_pages, 4)


def test_renderer_child_renders_and_is_killed_when_stuck_or_dead(three_pages: Path) -> None:
    with PageRenderer(timeout_s=60) as r:
        png, info = r.render(three_pages, 2, QUOTE, width=400)
        assert png.startswith(b"\x89PNG") and info["match"] == "exact" and r.renders == 1
        with pytest.raises(PageNotFoundError):
            r.render(three_pages, 9)
        with pytest.raises(DocumentError, match="could not be rendered"):
            r.render(three_pages.with_name("없는파일.pdf"), 1)
        assert r.render(three_pages, 1, width=300)[1]["pages"] == 3  # the child kept serving
    stuck = PageRenderer(timeout_s=0.5, command=[sys.executable, "-c", "import time; time.sleep(60)"])
    with stuck, pytest.raises(DocumentError, match=r"longer than 0.5 s.*stopped"):
        stuck.render(three_pages, 1)
    crashing = PageRenderer(command=[sys.executable, "-c", "import os; os._exit(3)"])
    with crashing, pytest.raises(DocumentError, match=r"renderer died \(exit status 3\)"):
        crashing.render(three_pages, 1)


def test_png_cache_is_bounded_and_least_recently_used_goes_first() -> None:
    cache = PngCache(max_bytes=100)
    cache.put(("a",), b"x" * 40, {})
    cache.put(("b",), b"x" * 40, {})
    assert cache.get(("a",)) is not None  # a is now the most recent
    cache.put(("c",), b"x" * 40, {})
    assert cache.get(("b",)) is None and cache.get(("a",)) is not None and cache.get(("c",)) is not None
    assert cache.size_bytes == 80 and len(cache) == 2
    cache.put(("huge",), b"x" * 101, {})  # larger than the whole cache: not kept, nothing evicted
    assert len(cache) == 2


# -- the endpoint -------------------------------------------------------------------------------------
def _upload_pdf(client, keys, data: bytes, name: str = "규정.pdf") -> dict:
    r = client.post(
        f"/v1/collections/{COLLECTION}/documents",
        files=[("files", (name, data, "application/pdf"))],
        headers=keys.h("write"),
    )
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["id"], keys.h("write"))
    assert job["status"] == "succeeded", job
    return job


def _pdf_citation(client, keys) -> dict:
    r = client.post(
        f"/v1/collections/{COLLECTION}/ask", json={"question": QUESTION, "top_k": 3}, headers=keys.h("read")
    )
    assert r.status_code == 200, r.text
    cites = [c for c in r.json()["citations"] if c["source"] == "규정.pdf"]
    assert cites, r.json()
    return cites[0]


@pytest.mark.slow  # an upload through a parse worker, ~20 s
def test_page_image_of_a_cited_pdf_passage(client, keys, api_root: Path) -> None:
    job = _upload_pdf(client, keys, korean_pdf(THREE_PAGES))
    doc_id = job["files"][0]["doc_id"]
    kept = list((api_root / COLLECTION / ORIGINALS_DIR).iterdir())
    assert [p.name.split(".")[0] for p in kept] == [doc_id] and kept[0].read_bytes().startswith(b"%PDF-")
    assert not list((api_root / ".staging").iterdir())  # the kept link left no staging file behind

    c = _pdf_citation(client, keys)
    assert c["doc_id"] == doc_id and c["page"] == 2 and "삼백이십억" in c["quote"]
    url = f"/v1/collections/{COLLECTION}/documents/{doc_id}/pages/2?start={c['start']}&end={c['end']}&width=595"
    r = client.get(url, headers=keys.h("read"))
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.headers["x-highlight"] == "exact" and r.headers["x-page-count"] == "3"
    assert r.headers["x-cache"] == "miss" and "private" in r.headers["cache-control"]
    left, top, right, bottom = map(int, r.headers["x-highlight-box"].split(","))
    assert abs(left - 60) <= 3 and top < 72 + 18 < 72 + 36 < bottom + 4 and right > 300  # both quoted lines
    img = Image.open(io.BytesIO(r.content)).convert("RGB")
    assert img.size == (595, 842)
    assert _yellow(img.getpixel((70, 72 + 18 - 4)))  # the first quoted line, just above its baseline
    again = client.get(url, headers=keys.h("read"))
    assert again.headers["x-cache"] == "hit" and again.content == r.content
    images = client.app.state.rr.extras["page_images"]
    assert images.renderer.renders == 1
    plain = client.get(f"/v1/collections/{COLLECTION}/documents/{doc_id}/pages/1", headers=keys.h("read"))
    assert plain.status_code == 200 and plain.headers["x-highlight"] == "none"

    # the same rules as the other document endpoints
    assert_error(client.get(url), 401, "AuthenticationError")
    assert_error(client.get(url, headers={"Authorization": "Bearer rr_wrong"}), 401)
    assert_error(client.get(url, headers=keys.h("other")), 403, "PermissionDeniedError")


@pytest.mark.slow  # an upload through a parse worker, ~20 s
def test_page_image_errors_say_why(client, keys) -> None:
    job = _upload_pdf(client, keys, korean_pdf(THREE_PAGES))
    doc_id = job["files"][0]["doc_id"]
    base = f"/v1/collections/{COLLECTION}/documents"
    r = client.get(f"{base}/{doc_id}?text=false", headers=keys.h("read")).json()
    n = r["n_chars"]
    h = keys.h("read")
    assert "has 3 page(s)" in assert_error(client.get(f"{base}/{doc_id}/pages/4", headers=h), 404)["message"]
    assert (
        "both start and end" in assert_error(client.get(f"{base}/{doc_id}/pages/1?start=3", headers=h), 422)["message"]
    )
    assert_error(client.get(f"{base}/{doc_id}/pages/1?start=5&end=5", headers=h), 422)
    assert_error(client.get(f"{base}/{doc_id}/pages/1?start=0&end={n + 1}", headers=h), 422)
    assert_error(client.get(f"{base}/{doc_id}/pages/1?width=50", headers=h), 422)
    assert_error(client.get(f"{base}/0000000000000000/pages/1", headers=h), 404, "NotFoundError")
    text_doc = client.get(f"{base}?limit=1", headers=h).json()["documents"][0]
    assert text_doc["metadata"].get("format") != "pdf"
    msg = assert_error(client.get(f"{base}/{text_doc['doc_id']}/pages/1", headers=h), 404)["message"]
    assert "only for PDFs" in msg


@pytest.mark.slow  # an upload through a parse worker, ~20 s
def test_new_version_replaces_the_kept_pdf_and_delete_removes_it(client, keys, api_root: Path) -> None:
    first = _upload_pdf(client, keys, korean_pdf(THREE_PAGES))
    doc_id = first["files"][0]["doc_id"]
    folder = api_root / COLLECTION / ORIGINALS_DIR
    old = {p.name for p in folder.iterdir()}
    changed = [list(p) for p in THREE_PAGES]
    changed[1][1] = "토끼연구소의 올해 연구 예산은 사백억 원이며, 그중 절반은"
    second = _upload_pdf(client, keys, korean_pdf(changed))
    assert second["files"][0] == {**second["files"][0], "doc_id": doc_id, "status": "updated"}
    new = {p.name for p in folder.iterdir()}
    assert len(new) == 1 and new != old  # one copy, of the version in the index
    c = _pdf_citation(client, keys)
    assert "사백억" in c["quote"]
    r = client.get(
        f"/v1/collections/{COLLECTION}/documents/{doc_id}/pages/2?start={c['start']}&end={c['end']}",
        headers=keys.h("read"),
    )
    assert r.status_code == 200 and r.headers["x-highlight"] == "exact"

    r = client.delete(f"/v1/collections/{COLLECTION}/documents/{doc_id}", headers=keys.h("write"))
    assert r.status_code == 200
    assert list(folder.iterdir()) == []
    assert_error(client.get(f"/v1/collections/{COLLECTION}/documents/{doc_id}/pages/1", headers=keys.h("read")), 404)


@pytest.mark.slow  # two uploads through a parse worker, ~40 s
def test_page_image_reads_the_offsets_at_the_answers_revision(client, keys, monkeypatch) -> None:
    """A citation's offsets point into the text of the revision its answer came from: the page endpoint
    reads them there (``?revision=``), says plainly when that version's PDF was replaced, and 410s
    once the revision is no longer kept; the chat endpoint, like ask, says which revision it read."""
    first = _upload_pdf(client, keys, korean_pdf(THREE_PAGES))
    doc_id = first["files"][0]["doc_id"]
    r = client.post(
        f"/v1/collections/{COLLECTION}/ask", json={"question": QUESTION, "top_k": 3}, headers=keys.h("read")
    ).json()
    old_rev, old = r["revision"], next(c for c in r["citations"] if c["source"] == "규정.pdf")
    changed = [list(p) for p in THREE_PAGES]
    changed[0] += ["개정으로 새로 들어온 조항이 인용의 위치를 뒤로 민다."] * 3
    _upload_pdf(client, keys, korean_pdf(changed))
    base = f"/v1/collections/{COLLECTION}/documents/{doc_id}"
    h = keys.h("read")
    then = client.get(base, params={"revision": old_rev}, headers=h).json()
    assert then["text"][old["start"] : old["end"]] == old["quote"]
    now = client.get(base, headers=h).json()
    assert now["revision"] > old_rev and now["text"][old["start"] : old["end"]] != old["quote"]
    url = f"{base}/pages/2?start={old['start']}&end={old['end']}&revision={old_rev}"
    msg = assert_error(client.get(url, headers=h), 404, "NotFoundError")["message"]
    assert f"revision {old_rev} is no longer kept" in msg
    chat = client.post(
        "/v1/chat/completions",
        json={"model": COLLECTION, "messages": [{"role": "user", "content": QUESTION}]},
        headers=h,
    ).json()
    assert chat["revision"] == now["revision"]
    cite = next(c for c in chat["citations"] if c["source"] == "규정.pdf")
    assert now["text"][cite["start"] : cite["end"]] == cite["quote"]
    r = client.get(f"{base}/pages/2?start={cite['start']}&end={cite['end']}&revision={chat['revision']}", headers=h)
    assert r.status_code == 200 and r.headers["x-highlight"] == "exact"
    monkeypatch.setattr(collections_module, "SNAPSHOT_GRACE_S", 0.0)
    assert_error(client.get(url, headers=h), 410, "GoneError")


@pytest.mark.slow  # an upload through a parse worker, ~20 s
def test_upload_without_a_kept_original_says_so(client, keys, api_root: Path) -> None:
    job = _upload_pdf(client, keys, korean_pdf(THREE_PAGES))
    doc_id = job["files"][0]["doc_id"]
    for p in (api_root / COLLECTION / ORIGINALS_DIR).iterdir():
        p.unlink()  # as for a PDF uploaded before page images existed
    r = client.get(f"/v1/collections/{COLLECTION}/documents/{doc_id}/pages/1", headers=keys.h("read"))
    assert "not kept" in assert_error(r, 404)["message"]


@pytest.mark.slow  # an upload through a parse worker, ~20 s
def test_cli_ingested_pdf_is_read_from_its_path_while_unchanged(client, keys, api_root: Path, tmp_path: Path) -> None:
    from rabbit_rag.ingest import ingest_paths

    src = tmp_path / "docs" / "규정.pdf"
    src.parent.mkdir()
    src.write_bytes(korean_pdf(THREE_PAGES))
    ingest_paths([src.parent], api_root / "cli", embed_model="none", progress=False)
    h = keys.h("read")
    docs = client.get("/v1/collections/cli/documents", headers=h).json()["documents"]
    doc_id = docs[0]["doc_id"]
    assert not (api_root / "cli" / ORIGINALS_DIR).exists()  # nothing copied: the file itself is used
    r = client.get(f"/v1/collections/cli/documents/{doc_id}/pages/2", headers=h)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    src.write_bytes(korean_pdf(THREE_PAGES[:2]))  # changed after the ingest: its pages no longer match the text
    msg = assert_error(client.get(f"/v1/collections/cli/documents/{doc_id}/pages/2", headers=h), 404)["message"]
    assert "has changed since" in msg
    src.unlink()
    msg = assert_error(client.get(f"/v1/collections/cli/documents/{doc_id}/pages/2", headers=h), 404)["message"]
    assert "no longer there" in msg


def test_source_files_verify_cli_files_once_per_version(tmp_path: Path) -> None:
    from rabbit_rag.index.docstore import StoredDocument

    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(b"%PDF-1.4 one")
    import hashlib

    doc = StoredDocument(
        "d1", pdf.as_posix(), "a.pdf", None, hashlib.sha256(pdf.read_bytes()).hexdigest(), 12, 0, 1, 1, {}, "", ""
    )
    files = SourceFiles()
    assert files.find(tmp_path / "col", doc) == (pdf, "")
    assert len(files._verified) == 1
    assert files.find(tmp_path / "col", doc) == (pdf, "")
    assert len(files._verified) == 1  # same size and mtime: not hashed again


@pytest.mark.slow  # an upload through a parse worker, ~20 s
def test_renderer_closes_with_the_app(api_root: Path, keys) -> None:
    from fastapi.testclient import TestClient

    from rabbit_rag.api.app import create_app
    from tests.api.conftest import make_settings

    client = TestClient(create_app(make_settings(api_root)))
    client.__enter__()
    _upload_pdf(client, keys, korean_pdf(THREE_PAGES))
    c = _pdf_citation(client, keys)
    r = client.get(f"/v1/collections/{COLLECTION}/documents/{c['doc_id']}/pages/2", headers=keys.h("read"))
    assert r.status_code == 200
    renderer = client.app.state.rr.extras["page_images"].renderer
    proc = renderer.child.process
    assert proc is not None and proc.poll() is None
    client.__exit__(None, None, None)
    assert renderer.child.process is None and proc.poll() is not None
