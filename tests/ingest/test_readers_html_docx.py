"""HTML and DOCX readers: main text, title, headings as sections, tables as rows, charsets, limits."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from rabbit_rag.errors import DocumentError
from rabbit_rag.ingest.readers import read_bytes
from rabbit_rag.ingest.readers.html import declared_charset
from rabbit_rag.ingest.readers.limits import ReadLimits
from tests.ingest.docgen import korean_docx, zip_bomb

DATA = Path(__file__).parent / "data"


def test_html_euc_kr_page_main_text_title_sections_and_table() -> None:
    raw = (DATA / "notice_euckr.html").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the fixture really is EUC-KR
    doc = read_bytes(raw, "notice_euckr.html")
    assert doc.title == "2024년 도서관 운영 안내 - 토끼시청"
    assert doc.metadata["encoding"] == "cp949" and doc.metadata["lang"] == "ko"
    assert "평일 오후 10시까지 연장 운영합니다.\n주말에는 오후 6시에 문을 닫습니다." in doc.text
    assert "종합자료실 | 09:00~22:00 | 09:00~18:00" in doc.text
    for boilerplate in (
        "스크립트 문구",
        "font-family",
        "시정 소식",
        "로그인",
        "국립중앙도서관",
        "저작권",
        "자바스크립트",
    ):
        assert boilerplate not in doc.text, boilerplate
    assert [title for _, title in doc.sections] == ["2024년 도서관 운영 안내", "휴관일"]
    for start, title in doc.sections:
        assert doc.text[start:].startswith(title)


def test_html_charset_declarations() -> None:
    assert declared_charset(b'<meta charset="EUC-KR">') == "cp949"
    assert declared_charset(b'<meta http-equiv="content-type" content="text/html; charset=ks_c_5601-1987">') == "cp949"
    assert declared_charset(b"<meta charset=utf-8>") == "utf-8"
    assert declared_charset(b"<p>no declaration</p>") is None
    # declared UTF-8 but really CP949: detection rescues it
    page = '<html><head><meta charset="utf-8"><title>제목</title></head><body><p>국회 본회의</p></body></html>'
    doc = read_bytes(page.encode("cp949"), "wrong.html")
    assert doc.title == "제목" and "국회 본회의" in doc.text


def test_html_main_element_wins_and_article_header_is_kept() -> None:
    page = (
        "<html><body><div>사이드 메뉴 글</div><main><article><header><h1>기사 제목</h1></header>"
        "<p>본문 첫 문단.</p></article></main><footer>하단</footer></body></html>"
    )
    doc = read_bytes(page.encode(), "news.htm")
    assert doc.text == "기사 제목\n본문 첫 문단." and doc.title == "기사 제목"


def test_docx_paragraphs_headings_table_and_title() -> None:
    doc = read_bytes(korean_docx("3월 예산 회의록"), "회의록.docx")
    assert doc.title == "3월 예산 회의록" and doc.metadata["author"] == "홍길동"
    assert doc.metadata["format"] == "docx" and doc.metadata["tables"] == 1
    assert [t for _, t in doc.sections] == ["1. 회의 개요", "2. 결정 사항"]
    for start, title in doc.sections:
        assert doc.text[start:].startswith(title)
    assert "부서 | 담당자 | 예산\n연구팀 | 김철수 | 10억\n관리팀 | 이영희 | 5억" in doc.text
    assert doc.text.endswith("다음 회의는 4월에 연다.")


def test_zip_bomb_renamed_docx_is_refused_before_inflating() -> None:
    bomb = zip_bomb("word/document.xml", 300 * 1024 * 1024, first={"[Content_Types].xml": b"<Types/>"})
    assert len(bomb) < 1_000_000
    with pytest.raises(DocumentError, match="decompression bomb") as e:
        read_bytes(bomb, "급여명세서.docx")
    assert e.value.path == "급여명세서.docx"


def test_unpacked_size_cap_is_enforced_while_streaming() -> None:
    data = korean_docx()
    with pytest.raises(DocumentError, match=r"passes the 0\.001 MB limit"):
        read_bytes(data, "회의록.docx", limits=ReadLimits(max_unpacked_bytes=1000))


def test_zip_that_is_not_a_docx() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("content/data.xml", "<data/>")
    with pytest.raises(DocumentError, match=r"no 'word/document\.xml'"):
        read_bytes(buf.getvalue(), "표.docx")
    with pytest.raises(DocumentError, match="unsupported type"):
        read_bytes(buf.getvalue(), "표.zip")
    # content decides: a workbook named .docx is read as a workbook (this one is an empty shell)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(DocumentError, match=r"XLSX: xl/workbook\.xml lists no worksheets"):
        read_bytes(buf.getvalue(), "표.docx")


def test_docx_part_with_a_dtd_is_refused() -> None:
    evil = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r>'
        b"<w:t>&b;</w:t></w:r></w:p></w:body></w:document>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/document.xml", evil)
    with pytest.raises(DocumentError, match="DTD"):
        read_bytes(buf.getvalue(), "billion-laughs.docx")


def test_a_zip_member_that_lies_about_its_size_is_not_inflated_past_it() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", b" " * 20_000_000)
    data = bytearray(buf.getvalue())
    # rewrite the uncompressed size in the local header (offset 22) and the central directory (offset 24)
    data[22:26] = (1000).to_bytes(4, "little")
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = (1000).to_bytes(4, "little")
    with pytest.raises(DocumentError, match="cannot be decompressed") as e:
        read_bytes(bytes(data), "거짓말.docx")
    assert e.value.path == "거짓말.docx"
