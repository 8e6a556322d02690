"""Every format through the pipeline: pages reach chunks and search results, bad files fail alone,
the parse worker enforces the time limit, and a file's name is only ever a label."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rabbit_rag.cli.main import app
from rabbit_rag.errors import DocumentError
from rabbit_rag.index import open_index
from rabbit_rag.ingest import ingest_paths
from rabbit_rag.ingest.readers import read_bytes
from rabbit_rag.ingest.readers.isolation import ParseWorker
from rabbit_rag.ingest.readers.limits import ReadLimits
from tests.conftest import shared_data
from tests.ingest.docgen import THREE_PAGES, image_only_pdf, korean_docx, korean_pdf, zip_bomb

runner = CliRunner()


def _json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def pdf_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "규정.pdf").write_bytes(korean_pdf(THREE_PAGES, title="연구소 규정"))
    (folder / "회의록.docx").write_bytes(korean_docx())
    (folder / "메모.md").write_text("# 메모\n\n점심은 12시에 먹는다.\n\n## 저녁\n\n저녁은 7시.\n", encoding="utf-8")
    return folder


def test_pdf_pages_reach_chunks_and_search_results(pdf_folder: Path, tmp_path: Path) -> None:
    index = tmp_path / "I"
    out = _json(
        runner.invoke(app, ["ingest", str(pdf_folder), "--index", str(index), "--embed-model", "none", "--json"])
    )
    assert out["added"] == 3 and out["failed"] == [] and out["skipped"] == []

    idx = open_index(index)
    pdf = next(d for d in idx.documents() if d.source.endswith("규정.pdf"))
    text = idx.document_text(pdf.doc_id)
    chunks = [c for c in idx.chunks(list(range(1, 1000))) if c.doc_id == pdf.doc_id]
    assert {c.page for c in chunks} == {1, 2, 3}
    pages = {n: (s, e) for s, e, n in json.loads(json.dumps(read_bytes(korean_pdf(THREE_PAGES), "x.pdf").pages))}
    for c in chunks:
        assert text[c.start : c.end] == c.text
        s, e = pages[c.page]
        assert s <= c.start and c.end <= e  # a chunk lies inside the page it names

    res = _json(
        runner.invoke(app, ["search", "토끼연구소의 올해 연구 예산은 얼마야?", "--index", str(index), "--json"])
    )
    top = res["results"][0]
    assert top["source"].endswith("규정.pdf") and top["page"] == 2 and "삼백이십억" in top["text"]
    asked = _json(
        runner.invoke(
            app,
            ["ask", "토끼연구소의 올해 연구 예산은 얼마야?", "--index", str(index), "--llm", "extractive", "--json"],
        )
    )
    assert "삼백이십억" in asked["answer"]
    cite = asked["citations"][0]
    assert cite["source"].endswith("규정.pdf") and cite["page"] == 2
    assert text[cite["start"] : cite["end"]] == cite["quote"]
    md = [r for r in _json(runner.invoke(app, ["search", "저녁", "--index", str(index), "--json"]))["results"]]
    assert md[0]["source"].endswith("메모.md") and md[0]["page"] is None


def test_bad_files_fail_alone_with_their_reasons(tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    pdf = korean_pdf(THREE_PAGES)
    (folder / "좋은문서.txt").write_text("이 문서는 멀쩡하다. 예산은 충분하다.", encoding="utf-8")
    (folder / "잘린.pdf").write_bytes(pdf[: len(pdf) // 2])
    (folder / "스캔.pdf").write_bytes(image_only_pdf())
    (folder / "폭탄.docx").write_bytes(zip_bomb("word/document.xml", 300 * 1024 * 1024))
    (folder / "가짜.hwp").write_bytes("한글 파일인 척하는 텍스트".encode())
    (folder / "그림.xyz").write_bytes(b"\x89PNG\r\n\x1a\n")
    report = ingest_paths([folder], tmp_path / "I", embed_model="none", progress=False)
    assert report.added == 1
    failed = {Path(f["source"]).name: f["reason"] for f in report.failed}
    assert "truncated" in failed.pop("잘린.pdf")
    assert "no text layer" in failed.pop("스캔.pdf")
    assert "decompression bomb" in failed.pop("폭탄.docx")
    assert "not an OLE compound file" in failed.pop("가짜.hwp")
    assert failed == {}
    assert [Path(s["source"]).name for s in report.skipped] == ["그림.xyz"]
    assert "unsupported type" in report.skipped[0]["reason"]


def test_shared_hwp_folder_ingests_all_but_the_encrypted_file(tmp_path: Path) -> None:
    folder = shared_data("hwp")
    index = tmp_path / "I"
    out = _json(runner.invoke(app, ["ingest", str(folder), "--index", str(index), "--embed-model", "none", "--json"]))
    assert [Path(f["source"]).name for f in out["failed"]] == ["hwp5_password-12345.hwp"]
    assert "encrypted" in out["failed"][0]["reason"]
    # hwp5_table.hwp holds one empty table and no characters at all: skipped as empty, not failed
    assert [Path(s["source"]).name for s in out["skipped"]] == ["hwp5_table.hwp"]
    assert out["added"] == len(list(folder.iterdir())) - 2
    res = _json(runner.invoke(app, ["search", "김하성 홈런", "--index", str(index), "--json"]))
    assert res["results"][0]["source"].endswith("hwpx_multipara.hwpx")


def test_worker_parses_and_kills_a_stuck_parser() -> None:
    with ParseWorker(ReadLimits(timeout_s=30)) as worker:
        doc = worker.read(korean_docx("워커"), "../../etc/회의록.docx")
        assert doc.title == "워커" and doc.source == "../../etc/회의록.docx" and doc.sections
        with pytest.raises(DocumentError, match="unsupported type"):
            worker.read(b"\x89PNG\r\n\x1a\n", "그림.png")
        assert worker.read(b"# a\n\nb", "x.md").sections == ((0, "a"),)  # the same child answers again
    stuck = ParseWorker(ReadLimits(timeout_s=0.5), command=[sys.executable, "-c", "import time; time.sleep(60)"])
    with stuck, pytest.raises(DocumentError, match=r"longer than the 0.5 s limit.*stopped") as e:
        stuck.read(b"data", "느린.pdf")
    assert e.value.path == "느린.pdf"
    crashing = ParseWorker(command=[sys.executable, "-c", "import os; os._exit(3)"])
    with crashing, pytest.raises(DocumentError, match=r"parser process died \(exit status 3\)"):
        crashing.read(b"data", "터짐.hwp")


def test_real_parse_over_the_time_limit_fails_and_the_next_file_goes_on(tmp_path: Path) -> None:
    # 400 pages: ~0.35 s to read with a warm worker here, seven times the limit (60 pages took 0.05 s,
    # the limit itself, and a quiet run once read them in time)
    big = korean_pdf([[f"{p}쪽 {i}번째 줄의 본문 내용이다." for i in range(40)] for p in range(400)])
    with ParseWorker(ReadLimits(timeout_s=0.05)) as worker:
        with pytest.raises(DocumentError, match=r"longer than the 0\.05 s limit"):
            worker.read(big, "큰문서.pdf")
        worker.limits = ReadLimits(timeout_s=30)
        assert worker.read(b"# ok\n\nfine", "next.md").title == "ok"


def test_a_dotdot_name_is_only_a_label(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("비밀 내용", encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    doc = read_bytes("업로드된 내용".encode(), "../secret.txt")
    assert doc.text == "업로드된 내용" and doc.source == "../secret.txt"
    with pytest.raises(DocumentError) as e:
        read_bytes(b"not ole", "../../etc/passwd.hwp")
    assert e.value.path == "../../etc/passwd.hwp"
    assert sorted(os.listdir(tmp_path)) == ["secret.txt", "work"] and os.listdir(work) == []


def test_markdown_headings_are_sections() -> None:
    doc = read_bytes("# 규정\n\n본문.\n\n## 제1장 총칙\n\n내용.\n### 세부 ###\n끝".encode(), "규정.md")
    assert doc.title == "규정"
    assert [t for _, t in doc.sections] == ["규정", "제1장 총칙", "세부"]
    for start, title in doc.sections:
        assert doc.text[start:].lstrip("#").strip().startswith(title)
    fenced = "개요\n====\n본문\n```bash\n# 주석은 제목이 아니다\n```\n- 목록\n---\n부록\n----\n끝"
    doc = read_bytes(fenced.encode(), "노트.md")
    assert doc.sections == ((0, "개요"), (doc.text.index("부록"), "부록"))
