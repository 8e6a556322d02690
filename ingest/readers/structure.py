"""Document structure from the lines of text: list items, table rows, titles, FAQ question/answer pairs.

Readers with markup (HTML, DOCX, HWPX) know their headings, list items and table rows; plain text,
Markdown and the paragraphs of every format still carry structure in their lines. This module finds
it, so every reader gives the chunker and the answerer the same :class:`~rabbit_rag.types.Block` kinds:

- **list items**: bullets (``-``, ``*``, ``•``, ``·``, and the government-report marks ``□ ○ ◦ ㅇ ※``),
  numbered items (``1.``, ``가.``, ``(1)``, ``①``); a wrapped continuation line stays with its item;
- **table rows**: pipe rows (``| 업무 | 담당 |``); a row above a ``|---|`` line is the header, and
  every data row carries it in ``header``;
- **headings**: in plain text, a first line that reads as a title (``[공지] 본관 정전 점검 안내``),
  Roman-numeral headings (``Ⅰ. 추진 실적``), chapter lines (``제2장 예산``), and a short bullet that
  heads deeper bullets (``□ 벤처·스타트업 자금 공급`` over ``○ …`` lines);
- **FAQ pairs**: a question line (``Q.``, ``Q:``, ``**Q.**``, ``질문:``, ``문)``; a heading that ends
  in ``?``; or, in a document with at least two of them, a short line of its own ending in ``?``)
  becomes a ``question`` block, and what follows it up to the next question or heading becomes
  ``answer`` blocks whose ``header`` is the question's text — so an answer can be matched to the
  question it answers even when a chunk holds only the answer.

예::

    blocks = infer_blocks("Q. 환불은 누가 하나요?\\nA. 결제지원팀이 처리합니다.")
    [(b.kind, b.header) for b in blocks]   # [('question', None), ('answer', '환불은 누가 하나요?')]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from rabbit_rag.types import Block, BlockKind, Document

# -- line patterns ----------------------------------------------------------------------------------
_Q_LINE = re.compile(
    r"^[ \t]*(?:[*_]{2})?[ \t]*(?:\[\s*Q\s*\]|Q\s*\d{0,3}\s*[.:：)]|Q(?=[ \t*])|질문\s*\d{0,3}\s*[.:：)]|문\s*[:：)])"
    r"[ \t]*(?:[*_]{2})?[ \t]*(?=\S)"
)
_A_LINE = re.compile(
    r"^[ \t]*(?:[*_]{2})?[ \t]*(?:\[\s*A\s*\]|A\s*\d{0,3}\s*[.:：)]|A(?=[ \t*])|답변\s*[.:：)]|답\s*[:：)])"
    r"[ \t]*(?:[*_]{2})?[ \t]*(?=\S)"
)
# Marks, in the order government reports nest them (□ over ○ over - over ·); markdown bullets by indent.
_BULLET_RANK = {
    **dict.fromkeys("□■◆◇▣", 1),
    **dict.fromkeys("○●◦ㅇ◎", 2),
    **dict.fromkeys("-–‐", 3),
    **dict.fromkeys("·•▪▫∙", 4),
    **dict.fromkeys("※☞▶▷►➢✓✔", 5),
    **dict.fromkeys("*+", 3),
}
_BULLET = re.compile(r"^([ \t]*)([□■◆◇▣○●◦ㅇ◎\-–‐·•▪▫∙※☞▶▷►➢✓✔*+])[ \t]+(?=\S)")
_NUMBERED = re.compile(r"^([ \t]*)(\d{1,2}[.)]|[가-하][.)]|\(\d{1,2}\)|\([가-하]\)|[\u2460-\u2473])[ \t]*(?=\S)")
_ROMAN = re.compile(r"^[ \t]*[\u2160-\u216b](?:[.)]|\s)[ \t]*\S")
_CHAPTER = re.compile(r"^[ \t]*(?:제\s*\d+\s*[장절편]|부\s*칙)(?:\s|$)")
# A line that starts a unit of its own: an article (제3조), a chapter or an FAQ mark.
_UNIT_START = re.compile(r"^[ \t]*(?:제\s*\d+\s*[조장절관편](?:의\s*\d+)?(?=[\s(（]|$)|부\s*칙|[\u2160-\u216b])")
_PIPE_ROW = re.compile(r"^[ \t]*\|.*\|[ \t]*$")
_PIPE_SEPARATOR = re.compile(r"^[ \t]*\|?[ \t]*:?-{2,}:?[ \t]*(?:\|[ \t]*:?-{2,}:?[ \t]*)*\|?[ \t]*$")
# A line that ends a statement: final punctuation, or a Korean sentence ending written without it.
_STATEMENT_END = re.compile(r"(?:[.!。…]|[다요음함됨임니까])[\s\"'”’)\]]*$")
_QUESTION_END = re.compile(r"[?？][\s*_\"'”’)\]]*$")
_MD_EMPHASIS = re.compile(r"^[ \t#>*_]+|[ \t*_]+$")

#: A title or heading line is at most this long; a bullet that heads others, at most this.
MAX_TITLE_CHARS = 80
MAX_HEAD_BULLET_CHARS = 40
MAX_QUESTION_CHARS = 200


@dataclass(slots=True)
class _Line:
    start: int
    end: int  # without the newline
    text: str


def lines_of(text: str, start: int = 0, end: int | None = None) -> list[_Line]:
    """The lines of ``text[start:end]`` with their offsets (line ends not included)."""
    end = len(text) if end is None else end
    out: list[_Line] = []
    pos = start
    while pos < end:
        nl = text.find("\n", pos, end)
        stop = end if nl == -1 else nl
        out.append(_Line(pos, stop, text[pos:stop]))
        pos = stop + 1
    return out


def _trimmed(line: _Line) -> tuple[int, int]:
    """``(start, end)`` of the line without surrounding whitespace."""
    lead = len(line.text) - len(line.text.lstrip())
    return line.start + lead, line.start + len(line.text.rstrip())


def question_text(text: str) -> str:
    """An FAQ question without its ``Q.`` / ``질문:`` mark, heading marks or emphasis.

    예: ``question_text("**Q. 환불은 누가 하나요?**")`` → ``'환불은 누가 하나요?'``
    """
    t = _Q_LINE.sub("", text.strip(), count=1)
    t = _MD_EMPHASIS.sub("", t)
    return " ".join(t.split())


def bullet_rank(line: str) -> int | None:
    """How deep a bullet or numbered line sits (1 = outermost); None when the line is not one."""
    m = _BULLET.match(line)
    if m:
        indent = len(m.group(1).expandtabs(4))
        mark = m.group(2)
        rank = _BULLET_RANK.get(mark, 3)
        return rank + (indent // 2 if mark in "*+-" else 0)
    m = _NUMBERED.match(line)
    if m:
        return 2 + len(m.group(1).expandtabs(4)) // 2
    return None


def _indent(line: str) -> int:
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip())


def _is_title(line: str) -> bool:
    s = line.strip()
    return 0 < len(s) <= MAX_TITLE_CHARS and not _STATEMENT_END.search(s) and not _QUESTION_END.search(s)


def _cells(row: str) -> list[str]:
    cells = [c.strip() for c in row.strip().strip("|").split("|")]
    return cells


@dataclass(slots=True)
class _Item:
    start: int
    end: int
    kind: BlockKind
    level: int | None = None
    header: str | None = None
    rank: int | None = None  # list items: the bullet's depth
    qa: str | None = None  # "q" / "a" when the line carries an FAQ mark


def _line_items(text: str, start: int, end: int) -> list[_Item]:
    """Blocks of the lines of ``text[start:end]``: list items, table rows, FAQ lines, paragraphs."""
    lines = [ln for ln in lines_of(text, start, end)]
    items: list[_Item] = []
    header: str | None = None
    i = 0
    while i < len(lines):
        ln = lines[i]
        raw = ln.text
        if not raw.strip():
            header = None
            items.append(_Item(ln.start, ln.start, "paragraph"))  # a blank line: ends items and pairs
            i += 1
            continue
        a, b = _trimmed(ln)
        if _PIPE_ROW.match(raw) and not _PIPE_SEPARATOR.match(raw):
            nxt = lines[i + 1].text if i + 1 < len(lines) else ""
            if _PIPE_SEPARATOR.match(nxt) and "|" in nxt:
                header = " | ".join(c for c in _cells(raw))
                items.append(_Item(a, b, "table_row"))
                i += 2  # the separator line answers nothing and belongs to no row
                continue
            items.append(_Item(a, b, "table_row", header=header))
            i += 1
            continue
        if not _PIPE_ROW.match(raw):
            header = None
        qa = "q" if _Q_LINE.match(raw) else "a" if _A_LINE.match(raw) else None
        rank = None if qa else bullet_rank(raw)
        if qa is not None:
            items.append(_Item(a, b, "paragraph", qa=qa))
        elif rank is not None:
            items.append(_Item(a, b, "list_item", rank=rank))
        elif (_ROMAN.match(raw) or _CHAPTER.match(raw)) and _is_title(raw):
            items.append(_Item(a, b, "heading", level=2))
        elif items and items[-1].kind == "list_item" and items[-1].end > items[-1].start and not _UNIT_START.match(raw):
            # a wrapped line continues the item above: indented deeper than the item, or after an item
            # that has not ended its sentence (a blank line, a new mark or an article ends it)
            prev = items[-1]
            deeper = _indent(raw) > _indent(text[text.rfind("\n", 0, prev.start) + 1 : prev.end])
            if deeper or not _STATEMENT_END.search(text[prev.start : prev.end]):
                prev.end = b
            else:
                items.append(_Item(a, b, "paragraph"))
        elif items and items[-1].qa is not None and items[-1].end > items[-1].start:
            items[-1].end = b  # a Q. or A. paragraph wrapped over several lines
        else:
            items.append(_Item(a, b, "paragraph"))
        i += 1
    return items


def _head_bullets(text: str, items: list[_Item]) -> None:
    """An outermost bullet (□ ■ ◆) that is short, has no sentence ending and is followed by deeper
    bullets heads them (``□ 벤처·스타트업 자금 공급`` over ``○ …``). Deeper ones (○ …) carry content
    even when short, so they stay list items."""
    for i, it in enumerate(items[:-1]):
        nxt = items[i + 1]
        if it.kind != "list_item" or nxt.kind != "list_item" or it.rank != 1 or nxt.rank is None:
            continue
        line = text[it.start : it.end]
        if nxt.rank > it.rank and len(line) <= MAX_HEAD_BULLET_CHARS and not _STATEMENT_END.search(line):
            it.kind, it.level = "heading", 3


def _pair_questions(text: str, items: list[_Item], *, loose: bool) -> None:
    """Question lines and the answers that follow them (see the module docstring)."""

    def is_question(it: _Item) -> bool:
        line = text[it.start : it.end]
        if it.qa == "q":
            return True
        if it.kind == "heading":
            return bool(_QUESTION_END.search(line)) and len(line) <= MAX_QUESTION_CHARS
        return (
            loose
            and it.kind == "paragraph"
            and it.qa is None
            and "\n" not in line
            and bool(_QUESTION_END.search(line))
            and len(line) <= MAX_QUESTION_CHARS
        )

    questions = [i for i, it in enumerate(items) if it.end > it.start and is_question(it)]
    for qi in questions:
        q = items[qi]
        q_text = question_text(text[q.start : q.end])
        level = q.level
        q.kind = "question"
        j = qi + 1
        while j < len(items):
            it = items[j]
            if it.end == it.start:  # blank line: answers in FAQ files often follow one
                j += 1
                continue
            if j in questions or it.kind == "question" or it.qa == "q":
                break
            if it.kind == "heading" and (level is None or it.level is None or it.level <= level):
                break
            it.kind, it.header = "answer", q_text
            j += 1


def infer_blocks(
    text: str,
    given: Sequence[Block] = (),
    *,
    title: bool = False,
    opaque: Sequence[tuple[int, int]] = (),
) -> tuple[Block, ...]:
    """The blocks of ``text``: those a reader ``given`` (headings, list items, table rows it knew from
    markup) plus what the lines of the rest show (see the module docstring), in text order.

    ``title`` (plain text): the first line is the document's title when it reads as one (short, no
    sentence ending) and more text follows. ``opaque`` spans (Markdown code fences) are left as they are.

    예: ``infer_blocks("□ 자금 공급\\n ○ 10.5조원 적시 공급")`` → a heading and a list item
    """
    given = sorted(given, key=lambda b: (b.start, b.end))
    items: list[_Item] = []
    pos = 0
    # The text between given structured blocks (and inside given paragraphs) is read line by line.
    regions: list[tuple[int, int]] = []
    bounds = [(b.start, b.end) for b in given if b.kind != "paragraph"] + list(opaque)
    for a, b in sorted(bounds):
        if a > pos:
            regions.append((pos, a))
        pos = max(pos, b)
    if pos < len(text):
        regions.append((pos, len(text)))
    structured = [_Item(b.start, b.end, b.kind, b.level, b.header) for b in given if b.kind != "paragraph"]
    for a, b in regions:
        items.extend(_line_items(text, a, b))
    items.extend(structured)
    items.sort(key=lambda it: (it.start, it.end))
    if title:
        first = next((it for it in items if it.end > it.start), None)
        if (
            first is not None
            and first.kind == "paragraph"
            and first.qa is None
            and _is_title(text[first.start : first.end])
            and "\n" not in text[first.start : first.end]
            and text[first.end :].strip()
        ):
            first.kind, first.level = "heading", 1
    _head_bullets(text, [it for it in items if it.end > it.start])
    real = [it for it in items if it.end > it.start or it.kind == "paragraph"]
    n_loose = sum(
        1
        for it in real
        if it.kind == "paragraph" and it.end > it.start and "\n" not in text[it.start : it.end]
        and _QUESTION_END.search(text[it.start : it.end]) and it.end - it.start <= MAX_QUESTION_CHARS
    )  # fmt: skip
    _pair_questions(text, real, loose=n_loose >= 2 and _looks_like_faq(text, real))
    out = [
        Block(it.start, it.end, it.kind, level=it.level, header=it.header)
        for it in real
        if it.end > it.start and it.kind != "paragraph"
    ]
    return tuple(_unique(out))


def _looks_like_faq(text: str, items: Sequence[_Item]) -> bool:
    """Whether lines ending in ``?`` are an FAQ's questions: most of them are followed by a line that
    is not a question (prose with rhetorical questions strings them inside paragraphs instead)."""
    qs = [
        i
        for i, it in enumerate(items)
        if it.kind == "paragraph" and it.end > it.start and _QUESTION_END.search(text[it.start : it.end])
    ]
    answered = 0
    for i in qs:
        nxt = next((it for it in items[i + 1 :] if it.end > it.start), None)
        if nxt is not None and not _QUESTION_END.search(text[nxt.start : nxt.end]):
            answered += 1
    return answered >= max(2, len(qs) * 2 // 3)


def _unique(blocks: Iterable[Block]) -> list[Block]:
    seen: set[tuple[int, int]] = set()
    out: list[Block] = []
    for b in blocks:
        if (b.start, b.end) not in seen:
            seen.add((b.start, b.end))
            out.append(b)
    return out


def heading_sections(text: str, blocks: Sequence[Block]) -> tuple[tuple[int, str], ...]:
    """``(start, title)`` of every heading and heading-question block, for :attr:`Document.sections`."""
    out = []
    for b in blocks:
        if b.kind == "heading" or (b.kind == "question" and b.level is not None):
            out.append((b.start, " ".join(_MD_EMPHASIS.sub("", text[b.start : b.end]).split())[:200]))
    return tuple(out)


def with_header(block: Block, header: str | None) -> Block:
    """``block`` with another ``header`` (a table row read with its table's header row)."""
    return replace(block, header=header)


def with_structure(doc: Document) -> Document:
    """``doc`` with the blocks its lines show (a title line, list items, pipe rows, FAQ pairs) and
    sections at its headings, when it came without blocks (a document made in code). Its text and
    offsets do not change.

    예: ``with_structure(Document(source="메모.txt", text="안내\n회의는 3시에 한다.")).blocks[0].kind`` → ``'heading'``
    """
    if doc.blocks:
        return doc
    blocks = infer_blocks(doc.text, title=True)
    if not blocks:
        return doc
    known = {start for start, _ in doc.sections}
    sections = sorted([*doc.sections, *(s for s in heading_sections(doc.text, blocks) if s[0] not in known)])
    return replace(doc, blocks=blocks, sections=tuple(sections))
