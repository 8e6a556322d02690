"""Chunker invariants: offsets, budgets, overlap, boundaries, safe cuts."""

from __future__ import annotations

import itertools
import unicodedata
from pathlib import Path

import pytest

from rabbit_rag.errors import InvalidInputError
from rabbit_rag.text.chunker import ChunkSpan, KiwiChunker
from rabbit_rag.text.normalize import normalize_text
from rabbit_rag.text.sentences import analyze_sentences, atomic_spans, block_breaks, chunk_sentences, structural_breaks
from rabbit_rag.types import Block, Document
from tests.conftest import SAMPLES


@pytest.fixture(scope="module")
def constitution() -> Document:
    text = normalize_text((SAMPLES / "constitution.txt").read_text(encoding="utf-8"))
    return Document(source="constitution.txt", text=text)


@pytest.fixture(scope="module")
def constitution_sentences(constitution: Document) -> list:
    """The constitution's sentences, analyzed once for the invariants at every budget (Kiwi's analysis
    of the whole text is most of each test's time)."""
    return analyze_sentences(constitution.text, structural_breaks(constitution.text))


def _check_invariants(doc: Document, spans: list[ChunkSpan], budget: int, sentences: list | None = None) -> None:
    if sentences is None:
        sentences = analyze_sentences(doc.text, structural_breaks(doc.text))
    sent_bounds = {b for s in sentences for b in (s.start, s.end)}
    for s in spans:
        chunk = doc.text[s.start : s.end]
        assert chunk and chunk == chunk.strip()
        assert s.n_tokens <= budget
    # chunks advance through the document and together cover all of it
    assert [s.start for s in spans] == sorted(s.start for s in spans)
    covered: set[int] = set()
    for s in spans:
        covered.update(range(s.start, s.end))
    assert all(doc.text[i].isspace() for i in range(len(doc.text)) if i not in covered)
    # chunks start and end on sentence boundaries, except inside a sentence too long for the budget
    for offset in {o for s in spans for o in (s.start, s.end)} - sent_bounds:
        inside = [x for x in sentences if x.start < offset < x.end]
        assert len(inside) == 1 and inside[0].n_morphemes > budget, doc.text[offset - 20 : offset + 20]


@pytest.mark.parametrize("budget", [32, 128, 256])
def test_constitution_invariants(constitution: Document, constitution_sentences: list, budget: int) -> None:
    spans = KiwiChunker(chunk_tokens=budget).chunk(constitution)
    _check_invariants(constitution, spans, budget, constitution_sentences)


def test_tiny_document_is_one_chunk() -> None:
    doc = Document(source="t.txt", text="국회의원의 임기는 4년으로 한다.")
    spans = KiwiChunker().chunk(doc)
    assert len(spans) == 1 and (spans[0].start, spans[0].end) == (0, len(doc.text))
    assert spans[0].terms == ["국회의원", "임기", "4", "년", "하"]


def test_articles_never_share_a_chunk(constitution: Document) -> None:
    spans = KiwiChunker(chunk_tokens=512).chunk(constitution)
    for s in spans:
        chunk = constitution.text[s.start : s.end]
        assert sum(1 for line in chunk.split("\n") if line.strip().startswith("제") and "조 " in line[:8]) <= 1, chunk


def test_overlap_repeats_whole_sentences() -> None:
    text = " ".join(f"이것은 {i}번째 문장으로 조금 길게 쓴 시험용 문장입니다." for i in range(40))
    doc = Document(source="o.txt", text=text)
    spans = KiwiChunker(chunk_tokens=60, overlap_sentences=1).chunk(doc)
    assert len(spans) > 3
    for a, b in itertools.pairwise(spans):
        assert b.start < a.end  # the next chunk begins inside the previous one: one shared sentence
        shared = doc.text[b.start : a.end]
        assert shared.endswith("입니다.") and shared.count("입니다.") == 1
    no_overlap = KiwiChunker(chunk_tokens=60, overlap_sentences=0).chunk(doc)
    assert all(b.start >= a.end for a, b in itertools.pairwise(no_overlap))


def test_overlong_sentence_is_cut_between_words() -> None:
    words = [f"단어{i}를" for i in range(300)]
    text = " ".join(words) + " 끝낸다."
    doc = Document(source="long.txt", text=unicodedata.normalize("NFC", text))
    spans = KiwiChunker(chunk_tokens=50).chunk(doc)
    assert len(spans) > 5
    for s in spans:
        assert s.n_tokens <= 50
        assert s.start == 0 or text[s.start - 1] == " "  # a cut falls right after a space, never mid-word
    joined = " ".join(text[s.start : s.end] for s in spans)
    assert joined.split() == text.split()


def test_pages_and_sections_are_hard_boundaries() -> None:
    p1 = "첫 쪽의 문장이다. 또 하나."
    p2 = "둘째 쪽의 문장이다."
    text = p1 + "\n" + p2
    doc = Document(
        source="p.pdf", text=text, pages=((0, len(p1) + 1, 1), (len(p1) + 1, len(text), 2)),
        sections=((0, "서론"),),
    )  # fmt: skip
    spans = KiwiChunker(chunk_tokens=256).chunk(doc)
    assert [(text[s.start : s.end], s.page, s.section) for s in spans] == [(p1, 1, "서론"), (p2, 2, "서론")]


def test_budget_in_model_tokens(tiny_st_model: Path) -> None:
    from rabbit_rag.embeddings import load_embedder

    emb = load_embedder(str(tiny_st_model))
    doc = Document(source="c.txt", text=" ".join(f"대한민국은 {i}번째 민주공화국이다." for i in range(60)))
    spans = KiwiChunker(chunk_tokens=40, count_tokens=emb.count_tokens).chunk(doc)
    assert len(spans) > 5
    counts = emb.count_tokens([doc.text[s.start : s.end] for s in spans])
    assert max(counts) <= 40 + 2  # summed per sentence; joining whitespace may shift a token or two
    assert all(s.n_tokens <= 40 for s in spans)


def test_rejects_silly_budgets() -> None:
    with pytest.raises(InvalidInputError, match="chunk_tokens"):
        KiwiChunker(chunk_tokens=2)


def _sentences_of(doc: Document) -> list[str]:
    """The sentences of each chunk as the answerer reads them, shaped by the chunk's blocks."""
    spans = KiwiChunker(chunk_tokens=512, overlap_sentences=0).chunk(doc)
    out = []
    for s in spans:
        chunk = doc.text[s.start : s.end]
        sents = chunk_sentences(chunk, tuple(block_breaks(s.blocks, s.start)), tuple(atomic_spans(s.blocks, s.start)))
        out.extend(chunk[a:b] for a, b, _ in sents)
    return out


def test_headings_are_never_glued_to_the_next_sentence() -> None:
    text = "경영 실적\n2024년 매출은 1조 원을 넘었다. 영업이익도 늘었다."
    plain = Document(source="a.txt", text=text)
    assert _sentences_of(plain)[0].startswith("경영 실적\n2024년")  # without structure Kiwi glues them
    doc = Document(source="a.docx", text=text, sections=((0, "경영 실적"),), blocks=(Block(0, 5, "heading", level=1),))
    assert _sentences_of(doc) == ["경영 실적", "2024년 매출은 1조 원을 넘었다.", "영업이익도 늘었다."]


def test_bullets_and_table_rows_are_sentences() -> None:
    from rabbit_rag.ingest.readers import read_bytes

    text = (
        "□ 자금 공급\n"
        " ○ 벤처투자 시장 위축에 대응하여, 10.5조원의 자금을 적시공급(23.4~)하고, '복수의결권' 시행('23.10) 등 제도 기반도 정비\n"
        " ○ 정책보증 3.4조원 공급\n\n"
        "| 업무 | 담당 | 기한 |\n|---|---|---|\n| API 문서 정리 | 김민수 | 3월 15일 |\n| 로그인 오류 수정 | 이지은 | 3월 13일 |\n"
    )
    doc = read_bytes(text.encode(), "report.md")
    sents = _sentences_of(doc)
    assert (
        "○ 벤처투자 시장 위축에 대응하여, 10.5조원의 자금을 적시공급(23.4~)하고, '복수의결권' 시행('23.10) 등 제도 기반도 정비"
        in sents
    )
    assert "○ 정책보증 3.4조원 공급" in sents
    assert "| API 문서 정리 | 김민수 | 3월 15일 |" in sents and "| 로그인 오류 수정 | 이지은 | 3월 13일 |" in sents
    # a list item of two real sentences keeps both
    two = read_bytes("- 첫째 문장이다. 둘째 문장이다.\n- 다음 항목".encode(), "two.md")
    assert _sentences_of(two)[:2] == ["- 첫째 문장이다.", "둘째 문장이다."]


def test_chunks_carry_their_blocks_clipped() -> None:
    rows = [f"| 항목{i} | 담당자{i} | {i}일 |" for i in range(60)]
    text = "| 항목 | 담당 | 기한 |\n" + "\n".join(rows)
    blocks = [Block(0, text.index("\n"), "table_row")]
    pos = text.index("\n") + 1
    for r in rows:
        blocks.append(Block(pos, pos + len(r), "table_row", header="항목 | 담당 | 기한"))
        pos += len(r) + 1
    doc = Document(source="t.md", text=text, blocks=tuple(blocks))
    spans = KiwiChunker(chunk_tokens=64, overlap_sentences=0).chunk(doc)
    assert len(spans) > 3
    for s in spans:
        assert s.blocks and all(s.start <= b.start < b.end <= s.end for b in s.blocks)
        # every row of a later chunk still knows its header, though the header row is chunks away
        assert all(b.header == "항목 | 담당 | 기한" for b in s.blocks if b.start > 0)
        assert [doc.text[b.start : b.end] for b in s.blocks] == doc.text[s.start : s.end].split("\n")
