"""The spacing net over whole documents: offsets, pages and titles follow the repaired text."""

from __future__ import annotations

from rabbit_rag.ingest.readers import read_bytes
from rabbit_rag.ingest.readers.respacing import repair_document_spacing
from rabbit_rag.types import Block, Document
from tests.rabbit_rag.text.test_spacing import BROKEN


def test_a_title_taken_from_a_repaired_first_line_is_repaired_too() -> None:
    doc = Document(source="x.txt", text=f"임 종 석\n{BROKEN}", title="임 종 석", pages=((0, 5 + len(BROKEN) + 1, 1),))
    fixed = repair_document_spacing(doc)
    assert fixed.title == "임종석" and fixed.metadata["spacing_repaired_pages"] == [1]
    assert fixed.pages == ((0, len(fixed.text), 1),)
    kept = repair_document_spacing(Document(source="y.txt", text=BROKEN, title="보고서"))
    assert kept.title == "보고서" and "spacing_repaired_pages" not in kept.metadata


def test_offsets_of_sections_and_blocks_follow_the_repair() -> None:
    text = f"개요\n{BROKEN}\n결론\n보통 문장이다."
    s2 = text.index("결론")
    doc = Document(
        source="z.md",
        text=text,
        sections=((0, "개요"), (s2, "결론")),
        blocks=(Block(0, 2, "heading", level=1), Block(3, 3 + len(BROKEN), "paragraph"), Block(s2, s2 + 2, "heading")),
    )
    fixed = repair_document_spacing(doc)
    assert fixed.metadata["spacing_repaired_spans"] == 1 and "spacing_repaired_pages" not in fixed.metadata
    assert [fixed.text[s : s + 2] for s, _ in fixed.sections] == ["개요", "결론"]
    paragraph = fixed.blocks[1]
    assert "".join(fixed.text[paragraph.start : paragraph.end].split()) == "".join(BROKEN.split())
    assert fixed.text[fixed.blocks[2].start : fixed.blocks[2].end] == "결론"
    assert fixed.text.endswith("\n결론\n보통 문장이다.")


def test_every_reader_gets_the_net_a_broken_text_file_included() -> None:
    doc = read_bytes(f"제목\n{BROKEN}\n".encode(), "깨진띄어쓰기.txt")
    assert doc.metadata["spacing_repaired_spans"] == 1 and "임종석은" in doc.text.split()
    same = read_bytes("제목\n보통 문장이다.\n".encode(), "보통.txt")
    assert "spacing_repaired_spans" not in same.metadata
