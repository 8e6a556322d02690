"""XLSX and PPTX readers: tables with their header, slides as pages, and the limits on big files."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from rabbit_rag.errors import DocumentError
from rabbit_rag.ingest.readers import read_bytes
from rabbit_rag.ingest.readers.isolation import ParseWorker
from rabbit_rag.ingest.readers.limits import ReadLimits
from tests.ingest.docgen import big_xlsx, korean_pptx, korean_xlsx, zip_bomb

HEADER = "부서 | 담당자 | 예산(억 원) | 집행률 | 보고일"


def _blocks(doc, kind: str) -> list[tuple[str, object]]:
    return [(doc.text[b.start : b.end], b) for b in doc.blocks if b.kind == kind]


def test_xlsx_sheets_are_sections_and_rows_carry_their_header() -> None:
    doc = read_bytes(korean_xlsx(), "예산.xlsx")
    assert doc.title == "연구 예산" and doc.metadata["format"] == "xlsx" and doc.metadata["sheets"] == 3
    assert [t for _, t in doc.sections] == ["예산", "인원", "참고"]
    lines = doc.text.split("\n")
    assert lines[:7] == [
        "예산",
        "2024년 연구 예산 현황",  # the title row above the table: a paragraph, not the header
        HEADER,
        "연구팀 | 김철수 | 10 | 12.5% | 2024-03-05",
        "관리팀 | 이영희 | 5.5 | 40% | 2024-04-01 09:30",
        "기획팀 |  | 0.1 | 100% | 2024-12-31",  # an empty cell keeps its column
        "합계",
    ]
    rows = _blocks(doc, "table_row")
    assert rows[0] == (HEADER, rows[0][1]) and rows[0][1].header is None
    assert [b.header for _, b in rows[1:4]] == [HEADER] * 3
    assert ("박민수 | 선임연구원 | 2019-07-01", rows[6][1]) == rows[6] and rows[6][1].header == "이름 | 직급 | 입사일"
    headings = _blocks(doc, "heading")
    assert [(t, b.level) for t, b in headings] == [("예산", 1), ("인원", 1), ("참고", 1)]
    for start, title in doc.sections:  # sections start at their heading block
        assert doc.text[start:].startswith(title)
    assert doc.metadata["rows"] == 11 and doc.metadata["cells"] == 34 and "skipped" not in doc.metadata


def test_xlsx_dates_numbers_and_shared_strings_from_raw_xml() -> None:
    """Number formats decide how a value reads: built-in and custom date codes, the 1904 system, time only."""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel_ns = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    styles = (
        f'<styleSheet {ns}><numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy&quot;년&quot; m&quot;월&quot;"/>'
        '<numFmt numFmtId="165" formatCode="[$-412]AM/PM h:mm"/></numFmts>'
        '<cellXfs><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="165"/><xf numFmtId="14"/><xf numFmtId="3"/></cellXfs>'
        "</styleSheet>"
    )
    sheet = (
        f'<worksheet {ns}><sheetData><row r="2"><c r="B2" t="s"><v>0</v></c><c r="D2" t="s"><v>1</v></c></row>'
        '<row r="3"><c r="B3" s="1"><v>45352</v></c><c r="C3" s="2"><v>0.75</v></c><c r="D3" s="3"><v>0</v></c></row>'
        '<row r="4"><c r="B4" s="4"><v>1234567.0000000002</v></c><c r="C4" t="b"><v>1</v></c>'
        '<c r="D4" t="e"><v>#N/A</v></c><c r="E4" t="str"><f>A1&amp;"x"</f><v>계산 결과</v></c></row></sheetData></worksheet>'
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(
            "xl/workbook.xml",
            f'<workbook {ns} {rel_ns}><workbookPr date1904="1"/><sheets><sheet name="시트" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Target="/xl/worksheets/sheet1.xml"/></Relationships>',
        )
        z.writestr("xl/worksheets/sheet1.xml", sheet)
        z.writestr("xl/styles.xml", styles)
        z.writestr(
            "xl/sharedStrings.xml",
            f"<sst {ns}><si><t>항목</t></si><si><r><t>금</t></r><r><t>액</t></r><rPh><t>きん</t></rPh></si></sst>",
        )
    doc = read_bytes(buf.getvalue(), "값.xlsx")
    # 1904 system: serial 45352 is 2028-03-02; serial 0 is 1904-01-01
    assert doc.text.split("\n") == [
        "시트",
        "항목 |  | 금액",
        "2028-03-02 | 18:00 | 1904-01-01",
        "1234567 | TRUE | #N/A | 계산 결과",
    ]


@pytest.mark.slow  # a 1,000,000-cell workbook through a parse child: 10-35 s here
def test_a_million_cell_sheet_stops_at_the_cell_limit_and_says_what_it_skipped() -> None:
    data = big_xlsx(100_000, cols=10)  # 1,000,000 filled cells
    with ParseWorker(ReadLimits(timeout_s=120), memory_mb=1536) as worker:
        doc = worker.read(data, "대용량.xlsx")
    assert doc.metadata["cells"] == ReadLimits().max_cells == 200_000
    assert doc.metadata["rows"] == 20_000
    assert doc.metadata["skipped"] == ["sheet '데이터': rows 20,001–100,000 (past the 200,000-cell limit)"]
    lines = doc.text.split("\n")
    assert lines[1] == " | ".join(f"항목{c}" for c in "ABCDEFGHIJ") and lines[-1].startswith(
        "값20000 | 140001 | 값20000 |"
    )
    small = read_bytes(data, "대용량.xlsx", limits=ReadLimits(max_cells=25))
    assert small.metadata["skipped"] == ["sheet '데이터': rows 3–100,000 (past the 25-cell limit)"]


def test_the_cell_limit_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from rabbit_rag.ingest.options import IngestOptions
    from rabbit_rag.settings import Settings

    monkeypatch.setenv("RABBIT_RAG_MAX_CELLS", "25")
    limits = IngestOptions.from_settings(Settings()).limits
    assert limits.max_cells == 25 and read_bytes(big_xlsx(10), "예산.xlsx", limits=limits).metadata["rows"] == 2


def test_xlsx_bombs_and_dtds_are_refused() -> None:
    with zipfile.ZipFile(io.BytesIO(big_xlsx(3))) as z:
        shell = {n: z.read(n) for n in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")}
    bomb = zip_bomb("xl/worksheets/sheet1.xml", 300 * 1024 * 1024, first=shell)
    with pytest.raises(DocumentError, match="decompression bomb"):
        read_bytes(bomb, "폭탄.xlsx")
    evil = big_xlsx(3)  # a valid workbook, then its sheet swapped for one with a DTD
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(evil)) as src, zipfile.ZipFile(buf, "w") as dst:
        for item in src.infolist():
            payload = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                payload = b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaa">]>' + payload.split(b"?>", 1)[1]
            dst.writestr(item.filename, payload)
    with pytest.raises(DocumentError, match="DTD"):
        read_bytes(buf.getvalue(), "dtd.xlsx")
    with pytest.raises(DocumentError, match=r"limit at 'xl/worksheets/sheet1\.xml'.*declares 0\.8 MB"):
        read_bytes(big_xlsx(2000), "작은예산.xlsx", limits=ReadLimits(max_unpacked_bytes=50_000))


def test_pptx_slides_are_pages_titles_are_sections_notes_are_read() -> None:
    doc = read_bytes(korean_pptx(), "계획.pptx")
    assert doc.title == "2024년 사업 계획" and doc.metadata["slides"] == 4
    assert [p[2] for p in doc.pages] == [1, 2, 3, 4]
    slides = [doc.text[s:e].split("\n") for s, e, _ in doc.pages]
    assert slides[0] == ["2024년 사업 계획", "토끼연구소 기획팀"]
    assert slides[1] == [
        "추진 목표",
        "인공지능 연구 예산을 320억 원으로 늘린다",
        "그중 절반은 한국어 검색 연구에 쓴다",
        "예산 증액은 3월 이사회에서 승인되었다고 말할 것",  # the speaker notes, on their slide's page
    ]
    assert slides[2] == ["추진 일정", "단계 | 기간 | 담당", "설계 | 1~3월 | 김철수", "구축 | 4~9월 | 이영희"]
    assert slides[3] == ["문의: 기획팀 내선 1234"]
    assert [t for _, t in doc.sections] == ["2024년 사업 계획", "추진 목표", "추진 일정", "슬라이드 4"]
    assert doc.metadata["slides_with_notes"] == 1
    items = _blocks(doc, "list_item")
    assert [(t[:6], b.level) for t, b in items] == [("인공지능 연", 1), ("그중 절반은", 2)]
    rows = _blocks(doc, "table_row")
    assert [b.header for _, b in rows] == [None, "단계 | 기간 | 담당", "단계 | 기간 | 담당"]


def test_pptx_full_of_images_reads_its_text_without_opening_them() -> None:
    data = korean_pptx(images=40)
    media = sum(
        i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist() if i.filename.startswith("ppt/media/")
    )
    assert media > 5_000_000
    # a 2 MB decompression budget is enough: the pictures are never inflated
    doc = read_bytes(data, "사진첩.pptx", limits=ReadLimits(max_unpacked_bytes=2_000_000))
    assert doc.metadata["images_skipped"] == 40 and "문의: 기획팀 내선 1234" in doc.text


def test_pptx_hidden_slides_and_furniture_placeholders() -> None:
    from lxml import etree
    from pptx import Presentation

    prs = Presentation(io.BytesIO(korean_pptx()))
    slide = prs.slides[1]
    slide._element.set("show", "0")
    for kind, text in (("sldNum", "2"), ("ftr", "토끼연구소 대외비"), ("dt", "2024-03-05")):
        slide.shapes._spTree.append(
            etree.fromstring(
                '<p:sp xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" '
                'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><p:nvSpPr><p:cNvPr id="90" name="x"/>'
                f'<p:cNvSpPr/><p:nvPr><p:ph type="{kind}" idx="9"/></p:nvPr></p:nvSpPr><p:spPr/>'
                f"<p:txBody><a:bodyPr/><a:p><a:r><a:t>{text}</a:t></a:r></a:p></p:txBody></p:sp>"
            )
        )
    buf = io.BytesIO()
    prs.save(buf)
    doc = read_bytes(buf.getvalue(), "숨김.pptx")
    assert doc.metadata["hidden_slides"] == [2] and [p[2] for p in doc.pages] == [1, 2, 3, 4]
    assert "추진 목표" in doc.text and "대외비" not in doc.text and "2024-03-05" not in doc.text


def test_office_files_reach_search_with_pages_and_rows(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from rabbit_rag.cli.main import app

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "예산.xlsx").write_bytes(korean_xlsx())
    (folder / "계획.pptx").write_bytes(korean_pptx())
    runner = CliRunner()
    index = tmp_path / "I"
    out = runner.invoke(app, ["ingest", str(folder), "--index", str(index), "--embed-model", "none", "--json"])
    report = json.loads(out.stdout)
    assert report["added"] == 2 and report["failed"] == [] and report["skipped"] == [], report
    res = json.loads(runner.invoke(app, ["search", "이사회 승인", "--index", str(index), "--json"]).stdout)
    top = res["results"][0]
    assert top["source"].endswith("계획.pptx") and top["page"] == 2
    res = json.loads(runner.invoke(app, ["search", "이영희 관리팀 예산", "--index", str(index), "--json"]).stdout)
    assert any(r["source"].endswith("예산.xlsx") and "이영희" in r["text"] for r in res["results"][:3])
