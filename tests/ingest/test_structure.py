"""Document structure: blocks from the lines of text and from every reader's markup."""

from __future__ import annotations

from pathlib import Path

import pytest

from rabbit_rag.ingest.readers import read_bytes
from rabbit_rag.ingest.readers.structure import infer_blocks, question_text
from rabbit_rag.ingest.readers.tables import header_row
from rabbit_rag.types import Block, Document
from tests.ingest.docgen import hwpx_section_xml, korean_hwpx

ANSWERS = Path(__file__).parents[1] / "data" / "answers"


def kinds(doc: Document) -> list[tuple[str, str]]:
    return [(b.kind, doc.text[b.start : b.end]) for b in doc.blocks]


def of_kind(text: str, blocks: tuple[Block, ...], kind: str) -> list[str]:
    return [text[b.start : b.end] for b in blocks if b.kind == kind]


def test_blocks_point_at_their_text() -> None:
    for path in sorted(ANSWERS.glob("*.*")):
        if path.suffix == ".jsonl":
            continue
        doc = read_bytes(path.read_bytes(), path.name)
        assert doc.blocks, path.name
        for b in doc.blocks:
            assert 0 <= b.start < b.end <= len(doc.text) and doc.text[b.start : b.end].strip(), (path.name, b)
        starts = [b.start for b in doc.blocks]
        assert starts == sorted(starts) and len(set(starts)) == len(starts)


def test_faq_patterns_pair_questions_with_their_answers() -> None:
    text = (
        "Q. 환불은 누가 처리하나요?\nA. 결제지원팀이 처리합니다.\n\n"
        "**Q. 파일은 어디에 저장되나요?**\n\n**A.** 국내 데이터센터에 저장됩니다.\n\n"
        "질문: 노트북은 언제 받나요?\n답변: 5영업일 안에 지급합니다.\n이어지는 설명입니다."
    )
    blocks = infer_blocks(text)
    assert of_kind(text, blocks, "question") == [
        "Q. 환불은 누가 처리하나요?",
        "**Q. 파일은 어디에 저장되나요?**",
        "질문: 노트북은 언제 받나요?",
    ]
    answers = [(text[b.start : b.end], b.header) for b in blocks if b.kind == "answer"]
    assert answers == [
        ("A. 결제지원팀이 처리합니다.", "환불은 누가 처리하나요?"),
        ("**A.** 국내 데이터센터에 저장됩니다.", "파일은 어디에 저장되나요?"),
        ("답변: 5영업일 안에 지급합니다.\n이어지는 설명입니다.", "노트북은 언제 받나요?"),
    ]
    assert question_text("**Q. 환불은 누가 하나요?**") == "환불은 누가 하나요?"


def test_questions_without_marks_only_in_a_document_of_questions() -> None:
    faq = "요금은 얼마인가요?\n월 9,900원입니다.\n\n해지는 언제 되나요?\n신청한 달의 말일에 됩니다."
    blocks = infer_blocks(faq)
    assert of_kind(faq, blocks, "question") == ["요금은 얼마인가요?", "해지는 언제 되나요?"]
    assert [b.header for b in blocks if b.kind == "answer"] == ["요금은 얼마인가요?", "해지는 언제 되나요?"]
    # one rhetorical question in prose is not an FAQ
    prose = "왜 이런 일이 생겼을까?\n원인은 토큰 만료 처리 누락이었다.\n다음 주에 고친다."
    assert not [b for b in infer_blocks(prose) if b.kind in ("question", "answer")]


def test_markdown_faq_headings_lists_and_tables() -> None:
    doc = read_bytes((ANSWERS / "faq_drive.md").read_bytes(), "faq_drive.md")
    heads = [(b.level, doc.text[b.start : b.end]) for b in doc.blocks if b.kind == "heading"]
    assert heads[:2] == [(1, "# 래빗드라이브 자주 묻는 질문"), (2, "## 요금제")]
    q = next(b for b in doc.blocks if b.kind == "question")
    assert doc.text[q.start : q.end] == "### 무료 요금제의 저장 용량은 얼마인가요?" and q.level == 3
    a = next(b for b in doc.blocks if b.kind == "answer")
    assert doc.text[a.start : a.end] == "무료 요금제는 계정당 5GB의 저장 공간을 제공합니다."
    assert a.header == "무료 요금제의 저장 용량은 얼마인가요?"
    # a heading that asks still opens a section, so its answer never shares a chunk with the next one
    assert (q.start, "무료 요금제의 저장 용량은 얼마인가요?") in doc.sections

    minutes = read_bytes((ANSWERS / "minutes_dev.md").read_bytes(), "minutes_dev.md")
    rows = [(minutes.text[b.start : b.end], b.header) for b in minutes.blocks if b.kind == "table_row"]
    assert rows[0] == ("| 업무 | 담당 | 기한 |", None)
    assert rows[1] == ("| API 문서 정리 | 김민수 | 3월 15일 |", "업무 | 담당 | 기한")
    assert len(rows) == 5 and "|---|" not in "".join(r for r, _ in rows)
    items = of_kind(minutes.text, minutes.blocks, "list_item")
    assert items[:2] == ["- 일시: 2024년 3월 11일(월) 오전 10시 ~ 11시", "- 장소: 본사 7층 대회의실"]


def test_markdown_code_fences_are_left_alone() -> None:
    doc = read_bytes("# 설치\n\n```\n- 이것은 목록이 아니다\nQ. 질문도 아니다\n```\n".encode(), "a.md")
    assert [b.kind for b in doc.blocks] == ["heading"]


def test_cp949_notice_title_and_numbered_items() -> None:
    raw = (ANSWERS / "notice_power_cp949.txt").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    doc = read_bytes(raw, "notice_power_cp949.txt")
    assert doc.metadata["encoding"] == "cp949"
    assert kinds(doc)[0] == ("heading", "[공지] 본관 정전 점검 안내")
    assert doc.sections[0] == (0, "[공지] 본관 정전 점검 안내")
    assert of_kind(doc.text, doc.blocks, "list_item")[0] == "1. 일시: 2024년 3월 16일(토) 오전 9시 ~ 오후 3시"
    # the closing date and signature are text, not a title
    assert "2024년 3월 8일" not in "".join(of_kind(doc.text, doc.blocks, "heading"))


def test_government_report_bullets() -> None:
    doc = read_bytes((ANSWERS / "gov_report.txt").read_bytes(), "gov_report.txt")
    heads = of_kind(doc.text, doc.blocks, "heading")
    assert heads[:3] == [
        "2023년 중소벤처기업 정책 추진 실적과 2024년 계획",
        "Ⅰ. 2023년 주요 추진 실적",
        "□ 벤처·스타트업 자금 공급",
    ]
    items = of_kind(doc.text, doc.blocks, "list_item")
    assert items[0].startswith("○ 벤처투자 시장 위축에 대응하여, 10.5조원의 자금을") and items[0].endswith(
        "제도 기반도 정비"
    )
    assert "- 모태펀드 출자 확대로 민간 벤처펀드 4.2조원 결성 지원" in items
    assert "ㅇ 지역 혁신 중소기업 육성 대상 기업 300개사 선정" in items
    # a ○ bullet over - bullets carries content: it stays an item, not a heading
    assert "○ 전통시장 온누리상품권 판매액 4.5조원 달성으로 역대 최대 기록" in items


def test_wrapped_bullet_lines_and_articles() -> None:
    text = (
        "○ 첫째 항목은 길어서\n  다음 줄로 이어진다\n○ 둘째 항목\n제3조 대한민국의 영토는 한반도와 그 부속도서로 한다."
    )
    blocks = infer_blocks(text)
    assert of_kind(text, blocks, "list_item") == ["○ 첫째 항목은 길어서\n  다음 줄로 이어진다", "○ 둘째 항목"]
    # an indented article after a list item starts a unit of its own
    law = "①국회의원은 국민이 선출한다.\n  제42조 국회의원의 임기는 4년으로 한다."
    assert of_kind(law, infer_blocks(law), "list_item") == ["①국회의원은 국민이 선출한다."]


def test_html_headings_lists_tables_captions() -> None:
    doc = read_bytes((ANSWERS / "hr_policy.html").read_bytes(), "hr_policy.html")
    heads = [(b.level, doc.text[b.start : b.end]) for b in doc.blocks if b.kind == "heading"]
    assert heads[:3] == [(1, "근무 및 휴가 운영 지침"), (2, "1. 근무 시간"), (2, "2. 재택근무")]
    assert of_kind(doc.text, doc.blocks, "caption") == ["휴가 종류별 일수"]
    rows = [(doc.text[b.start : b.end], b.header) for b in doc.blocks if b.kind == "table_row"]
    assert rows[0] == ("휴가 종류 | 일수 | 비고", None)
    assert rows[1] == ("연차휴가 | 15일 | 근속 2년마다 1일 가산", "휴가 종류 | 일수 | 비고")
    assert of_kind(doc.text, doc.blocks, "list_item")[0] == "출장 숙박비는 1박에 12만 원까지 실비로 지원한다."
    nested = read_bytes(b"<html><body><ul><li>bun <ul><li>inner</li></ul> tail</li></ul></body></html>", "n.html")
    assert [b.kind for b in nested.blocks] == ["list_item", "list_item", "list_item"]


def test_docx_heading_levels_list_items_table_header() -> None:
    import io

    import docx

    d = docx.Document()
    d.add_heading("인사 규정", level=1)
    d.add_heading("1. 휴가", level=2)
    d.add_paragraph("연차는 15일이다.", style="List Bullet")
    d.add_paragraph("표 1. 휴가 일수", style="Caption")
    table = d.add_table(rows=2, cols=2)
    for r, row in enumerate([("종류", "일수"), ("연차", "15일")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    buf = io.BytesIO()
    d.save(buf)
    doc = read_bytes(buf.getvalue(), "규정.docx")
    got = [(b.kind, b.level, b.header, doc.text[b.start : b.end]) for b in doc.blocks]
    assert got == [
        ("heading", 1, None, "인사 규정"),
        ("heading", 2, None, "1. 휴가"),
        ("list_item", None, None, "연차는 15일이다."),
        ("caption", None, None, "표 1. 휴가 일수"),
        ("table_row", None, None, "종류 | 일수"),
        ("table_row", None, "종류 | 일수", "연차 | 15일"),
    ]


def test_hwpx_outline_headings_and_table_rows() -> None:
    xml = hwpx_section_xml(["1|추진 배경", "○ 예산 10억원 편성"], table=[["구분", "담당"], ["예산", "기획팀"]])
    doc = read_bytes(korean_hwpx([xml], title="계획"), "계획.hwpx")
    got = [(b.kind, b.header, doc.text[b.start : b.end]) for b in doc.blocks]
    assert got == [
        ("heading", None, "추진 배경"),
        ("list_item", None, "○ 예산 10억원 편성"),
        ("table_row", None, "구분 | 담당"),
        ("table_row", "구분 | 담당", "예산 | 기획팀"),
    ]


def test_header_row_rules() -> None:
    assert header_row([["업무", "담당"], ["정리", "김민수"]]) == "업무 | 담당"
    assert header_row([["2024", "매출"], ["2025", "이익"]]) is None  # digits: data, not labels
    assert header_row([["업무", "담당"]]) is None  # one row: nothing to head
    assert header_row([["1분기", "2분기"], ["10", "20"]], marked=True) == "1분기 | 2분기"
