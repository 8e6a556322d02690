"""HTML: the main text of a page, its title, headings as sections, tables as rows.

Structure travels as blocks: ``h1``–``h6`` are headings with their level, ``li`` list items, ``tr``
table rows carrying their table's header row (the ``th`` row, else a first row of short labels),
``caption``/``figcaption`` captions; FAQ question/answer pairs are found in the text
(:mod:`rabbit_rag.ingest.readers.structure`).

Parsed with selectolax (MIT; the Lexbor engine follows the HTML5 parsing rules browsers use, so
broken markup is read the way a browser shows it, and it is fast). We chose it over trafilatura
(Apache-2.0) because trafilatura's boilerplate scoring is tuned for news pages and may drop parts
of intranet pages, notices and exported documents, where everything in the main area is content,
and it brings eight more dependencies; beautifulsoup4 (MIT) needs a parser underneath and is
several times slower. The structural rules here are simple and predictable:

- removed: ``script``, ``style``, ``noscript``, ``template``, ``svg``, ``iframe``, ``nav``,
  ``aside``, navigation/search/banner/contentinfo roles, ``aria-hidden`` parts, and the page-level
  ``header``/``footer`` (a ``header`` inside ``article`` or ``main`` is kept: it holds the headline);
- the content root is ``main`` (or ``role=main``), else a single ``article``, else ``body``;
- the charset comes from a byte-order mark, then the document's own ``<meta charset>`` or
  ``http-equiv`` declaration (``euc-kr`` and ``ks_c_5601-1987`` are read as CP949, as browsers do),
  then detection.

예::

    doc = HtmlReader().read(Path("공지.html").read_bytes(), "공지.html")
    doc.title, doc.sections[:2]
"""

from __future__ import annotations

import codecs
import re
from typing import Any

from rabbit_rag.ingest.readers.builder import TextBuilder
from rabbit_rag.ingest.readers.limits import check_deadline
from rabbit_rag.ingest.readers.tables import header_row
from rabbit_rag.text.normalize import decode_bytes
from rabbit_rag.types import BlockKind, Document

_META_CHARSET = re.compile(rb"""<meta[^>]{0,400}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_KOREAN_ALIASES = {
    "euc-kr",
    "euckr",
    "ks_c_5601-1987",
    "ks_c_5601",
    "ksc5601",
    "x-windows-949",
    "windows-949",
    "cp949",
    "uhc",
}
_DROP = (
    "script, style, noscript, template, svg, iframe, object, nav, aside, "
    "[role=navigation], [role=search], [role=banner], [role=contentinfo], [aria-hidden=true]"
)
_BLOCK = {
    "p", "div", "section", "article", "main", "header", "footer", "li", "ul", "ol", "dl", "dt", "dd",
    "blockquote", "figure", "figcaption", "address", "form", "fieldset", "details", "summary", "hr",
    "body", "html", "center", "caption",
}  # fmt: skip
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_SPACE = re.compile(r"[ \t\r\n\f\u00a0]+")


def declared_charset(data: bytes) -> str | None:
    """The charset a page declares in its first 4 KB (``<meta charset=...>`` or ``http-equiv``), as a codec name."""
    m = _META_CHARSET.search(data[:4096])
    if not m:
        return None
    label = m.group(1).decode("ascii", "ignore").lower()
    if label in _KOREAN_ALIASES:
        return "cp949"  # the WHATWG encoding standard maps every EUC-KR label to windows-949
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode_html(data: bytes, name: str) -> tuple[str, str]:
    """Text and encoding of an HTML file: BOM, then the declared charset, then detection."""
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(enc, errors="replace"), enc
    declared = declared_charset(data)
    if declared:
        try:
            return data.decode(declared), declared
        except (UnicodeDecodeError, LookupError):
            pass  # a wrong declaration is common (e.g. says utf-8, is cp949): detect instead
    decoded = decode_bytes(data, name)
    return decoded.text, decoded.encoding


class _Blocks:
    """Flattens the DOM into blocks: paragraphs, headings, list items and table rows."""

    def __init__(self, builder: TextBuilder, name: str):
        self.builder = builder
        self.name = name
        self.line: list[str] = []
        self.seen = 0
        self.context: list[BlockKind] = []  # the list item or caption the walk is inside

    def flush(self, heading: bool = False, kind: BlockKind | None = None, level: int | None = None) -> None:
        text = "".join(self.line)
        self.line = []
        lines = [_SPACE.sub(" ", part).strip() for part in text.split("\n")]
        if kind is None and not heading and self.context:
            kind = self.context[-1]
        self.builder.add("\n".join(x for x in lines if x), heading=heading, kind=kind, level=level)

    def walk(self, node: Any, pre: bool = False) -> None:
        for child in node.iter(include_text=True):
            self.seen += 1
            if self.seen & 0x3FF == 0:
                check_deadline(self.name)
            tag = child.tag
            if tag == "-text":
                text = child.text_content or ""
                self.line.append(text.replace("\n", "\u2028") if pre else text.replace("\n", " "))
            elif tag == "br":
                self.line.append("\n")
            elif tag in _HEADINGS:
                self.flush()
                self.walk(child)
                self.flush(heading=True, level=int(tag[1]))
            elif tag in ("li", "caption", "figcaption"):
                self.flush()
                self.context.append("list_item" if tag == "li" else "caption")
                self.walk(child, pre)
                self.flush()
                self.context.pop()
            elif tag == "table":
                self.flush()
                self.table(child)
            elif tag == "pre":
                self.flush()
                self.walk(child, pre=True)
                text = "".join(self.line).replace("\u2028", "\n")
                self.line = []
                self.builder.add(text)
            elif tag in _BLOCK:
                self.flush()
                self.walk(child, pre)
                self.flush()
            elif not tag.startswith("-"):
                self.walk(child, pre)

    def table(self, table: Any) -> None:
        caption = table.css_first("caption")
        if caption is not None and _closest_table(caption) == table:
            self.context.append("caption")
            self.walk(caption)
            self.flush()
            self.context.pop()
        rows: list[tuple[list[str], bool]] = []
        for tr in table.css("tr"):
            if _closest_table(tr) != table:
                continue  # rows of a nested table are read inside their cell
            cells = []
            all_th = True
            for cell in tr.iter():
                if cell.tag in ("td", "th"):
                    all_th = all_th and cell.tag == "th"
                    sub = _Blocks(TextBuilder(), self.name)
                    sub.walk(cell)
                    sub.flush()
                    cells.append(" ".join(sub.builder.text().split()))
            if any(cells):
                rows.append((cells, all_th))
        header = header_row([c for c, _ in rows], rows[0][1] if rows else False)
        for i, (cells, _) in enumerate(rows):
            is_header = header is not None and i == 0
            self.builder.add(" | ".join(cells), kind="table_row", header=None if is_header else header)


def _closest_table(node: Any) -> Any:
    p = node.parent
    while p is not None and p.tag != "table":
        p = p.parent
    return p


class HtmlReader:
    """``.html``/``.htm``: main text, title, headings as sections, tables as rows."""

    name = "html"
    extensions: tuple[str, ...] = (".html", ".htm", ".xhtml")

    def sniff(self, head: bytes, name: str) -> bool:
        start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:64].lower()
        return start.startswith((b"<!doctype html", b"<html"))

    def read(self, data: bytes, name: str) -> Document:
        from selectolax.lexbor import LexborHTMLParser

        text, encoding = decode_html(data, name)
        tree = LexborHTMLParser(text)
        title_node = tree.css_first("title")
        title = " ".join(title_node.text().split()) if title_node is not None else ""
        if not title:
            og = tree.css_first('meta[property="og:title"]')
            title = (og.attributes.get("content") or "").strip() if og is not None else ""
        lang_node = tree.css_first("html")
        lang = (lang_node.attributes.get("lang") or "") if lang_node is not None else ""
        for node in tree.css(_DROP):
            node.decompose()
        for node in tree.css("header, footer"):
            if _inside(node, ("article", "main")) is None:
                node.decompose()
        root = tree.css_first("main, [role=main]")
        if root is None:
            articles = tree.css("article")
            root = articles[0] if len(articles) == 1 else tree.body
        builder = TextBuilder()
        if root is not None:
            blocks = _Blocks(builder, name)
            blocks.walk(root)
            blocks.flush()
        meta: dict[str, Any] = {"format": "html", "encoding": encoding}
        if lang:
            meta["lang"] = lang
        if not title and builder.sections:
            title = builder.sections[0][1]
        return builder.document(name, title[:200] or None, meta, "the HTML page holds no text in its main content")


def _inside(node: Any, tags: tuple[str, ...]) -> Any:
    p = node.parent
    while p is not None:
        if p.tag in tags:
            return p
        p = p.parent
    return None
