"""Linear-time parsing: a 1 MB file that is one single line parses in seconds, in every text type.

Every regular expression on a reader path (``ingest/readers/*``, ``rabbit_rag/text/*``) must be safe
on long lines. Markdown's setext-heading pattern used to backtrack quadratically: an 843 KB line took
longer than the 120 s parse limit. These tests bound the time generously (a linear parse takes well
under a second; the old quadratic one takes hours), through the parse worker's own time limit or the
test's timeout, so they are limits, not timings.
"""

from __future__ import annotations

import pytest

from rabbit_rag.ingest.readers.isolation import ParseWorker
from rabbit_rag.ingest.readers.limits import ReadLimits
from rabbit_rag.ingest.readers.text import markdown_sections
from rabbit_rag.text.sentences import segment_spans, structural_breaks
from tests.conftest import SAMPLES
from tests.ingest.docgen import hwpx_section_xml, korean_hwpx

MB = 1_000_000
LIMIT_S = 30.0
WORDS = "대한민국은 민주공화국이다 제1조 ① 모든 권력은 국민으로부터 나온다. "


def _line(unit: str, size: int = MB) -> str:
    """One line of at least ``size`` UTF-8 bytes made of ``unit`` repeated (no newline)."""
    return unit * (size // len(unit.encode("utf-8")) + 1)


# adversarial single lines: long runs the old patterns backtracked over
LINES = {
    "korean": _line(WORDS),
    "no-spaces": _line("가"),
    "spaces": "a" + " " * (MB - 2) + "b",
    "hashes": "# " + "#" * (MB - 2),
    "underline-like": "= " * (MB // 2),
    "fence-like": _line("```"),
    "punctuation": ". " * (MB // 2),
}

#: every text type; the fast loop parses one per reader (plain text, delimited, Markdown), the full run all
TEXT_TYPES = [
    ext if ext in (".txt", ".csv", ".md") else pytest.param(ext, marks=pytest.mark.slow)
    for ext in (".txt", ".text", ".log", ".csv", ".tsv", ".rst", ".md", ".markdown")
]


@pytest.fixture(scope="module")
def worker():
    with ParseWorker(ReadLimits(timeout_s=LIMIT_S)) as w:
        yield w


@pytest.mark.parametrize("ext", TEXT_TYPES)
@pytest.mark.parametrize("kind", ["korean", "no-spaces", "hashes", "underline-like"])
def test_one_megabyte_single_line_parses(worker: ParseWorker, ext: str, kind: str) -> None:
    line = LINES[kind]
    data = line.encode("utf-8")
    assert len(data) >= MB and b"\n" not in data
    doc = worker.read(data, f"긴줄{ext}")  # killed (DocumentError) past the time limit
    assert len(doc.text) == len(line.strip()) or doc.text.strip() == line.strip()


@pytest.mark.parametrize("ext", [".html", ".htm", ".xhtml"])
def test_one_megabyte_single_line_html(worker: ParseWorker, ext: str) -> None:
    body = LINES["korean"]
    data = f"<html><head><title>긴 줄</title></head><body><p>{body}</p></body></html>".encode()
    doc = worker.read(data, f"긴줄{ext}")
    assert doc.text.startswith(body.strip()[:100])


@pytest.mark.parametrize("body", ["words", pytest.param("syllables", marks=pytest.mark.slow)])
def test_one_megabyte_single_paragraph_hwpx(worker: ParseWorker, body: str) -> None:
    """Varied text, since a repeated phrase would compress like a zip bomb and be refused: words drawn from
    the constitution, or random syllables, which the spacing safety net also re-spaces (Kiwi over 1 MB,
    about 4 s of CPU, so that case runs in the full suite only)."""
    import random

    rng = random.Random(0)
    if body == "words":
        words = (SAMPLES / "constitution.txt").read_text(encoding="utf-8").split()
        text = " ".join(rng.choice(words) for _ in range(MB // 10))
    else:
        text = "".join(chr(0xAC00 + rng.randrange(11172)) + (" " if rng.random() < 0.3 else "") for _ in range(MB // 3))
    assert len(text.encode("utf-8")) >= MB
    doc = worker.read(korean_hwpx([hwpx_section_xml([text])], title="긴 문단"), "긴문단.hwpx")
    assert doc.text.strip()[:100] == text.strip()[:100]
    assert len(doc.text) >= len(text) * 0.99


@pytest.mark.parametrize("kind", sorted(LINES))
def test_text_patterns_are_linear_on_a_long_line(kind: str) -> None:
    line = LINES[kind]
    for text in (line, "제목\n" + line, line + "\n" + line, "```\n" + line + "\n=====\n"):
        markdown_sections(text)
        spans = segment_spans(text)
        assert spans and all(a < b for a, b in spans)
        structural_breaks(text)


def test_markdown_sections_still_finds_headings() -> None:
    text = "# 개요\n본문\n\n제목 둘\n=====\n- 목록\n---\n```\n# 코드 안\n```\n## 끝 ##\n####### 일곱\n#해시태그"
    assert markdown_sections(text) == (
        (0, "개요"),
        (text.index("제목 둘"), "제목 둘"),
        (text.index("## 끝"), "끝"),
    )
    assert markdown_sections("```\n# 닫히지 않은 펜스\n") == ((4, "닫히지 않은 펜스"),)
    assert markdown_sections("   # 세 칸\n    # 네 칸") == ((0, "세 칸"),)


@pytest.mark.parametrize("texts", [2_000, pytest.param(20_000, marks=pytest.mark.slow)])
def test_markdown_sections_agrees_with_the_former_patterns_on_short_texts(texts: int) -> None:
    """The linear scanner finds exactly what the former regular expressions found (they are fine on
    short texts; only their time on long lines was wrong). Random texts over Markdown's tricky parts."""
    import random
    import re

    heading = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
    setext = re.compile(r"^([^\n]*\S[^\n]*)\n {0,3}(=+|-+)[ \t]*$", re.MULTILINE)
    fence = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$", re.MULTILINE | re.DOTALL)

    def reference(text: str) -> tuple[tuple[int, str], ...]:
        fenced = [(m.start(), m.end()) for m in fence.finditer(text)]
        inside = lambda pos: any(a <= pos < b for a, b in fenced)  # noqa: E731
        found = [(m.start(), m.group(2).strip()) for m in heading.finditer(text) if not inside(m.start())]
        for m in setext.finditer(text):
            line = m.group(1)
            if not inside(m.start()) and not line.lstrip().startswith(("#", "-", "*", "+", ">", "|")):
                found.append((m.start(), line.strip()))
        return tuple(sorted(found))

    rng = random.Random(13)
    parts = ["#", " ", "\t", "=", "-", "`", "~", "\n", "a", "가", ">", "*", "```", "~~~", "\n   ", "\n===", "\n---"]
    for _ in range(texts):
        text = "".join(rng.choice(parts) for _ in range(rng.randint(0, 60)))
        assert markdown_sections(text) == reference(text), repr(text)
