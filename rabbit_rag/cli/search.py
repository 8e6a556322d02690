"""``rabbit-rag search``."""

from __future__ import annotations

from typing import Annotated

import typer

from rabbit_rag.cli.app import app
from rabbit_rag.cli.common import BackendOption, IndexOption, cli_errors, print_json, settings
from rabbit_rag.cli.render import one_line, where
from rabbit_rag.limits import MAX_SEARCH_K


@app.command()
def search(
    query: Annotated[str, typer.Argument(metavar="QUERY", help="What to look for, in Korean or any language.")],
    index: IndexOption,
    k: int | None = typer.Option(
        None, "-k", "--top-k", min=1, max=MAX_SEARCH_K, help="Number of results (default: RABBIT_RAG_TOP_K, 5)."
    ),
    mode: str | None = typer.Option(
        None,
        "--mode",
        "-m",
        metavar="MODE",
        help="hybrid (BM25 + dense, fused), bm25 or dense (default: RABBIT_RAG_SEARCH_MODE, hybrid). "
        "Without vectors: BM25.",
    ),
    source: list[str] | None = typer.Option(
        None, "--source", metavar="GLOB", help="Only these sources (exact or glob, repeatable)."
    ),
    doc_id: list[str] | None = typer.Option(
        None, "--doc-id", metavar="ID", help="Only these document ids (repeatable)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object: {query, results: [...]}."),
    backend: BackendOption = None,
) -> None:
    """Search an index; each hit names its source and exact characters.

    Each result carries the document id, source, page and the offsets [start, end) of its text in
    the document, so it can be checked against the original.

    \b
    Examples:
      rabbit-rag search "대통령 임기는 몇 년이야?" --index indexes/sample
      rabbit-rag search "육아휴직" -i indexes/sample --source "kobill/*" --json
    """
    from rabbit_rag.components import open_index_from_settings, retriever_from_settings
    from rabbit_rag.index.filters import SearchFilter
    from rabbit_rag.retrieval import check_query
    from rabbit_rag.schemas import SearchHit

    s = settings(backend)
    with cli_errors(as_json):
        idx = open_index_from_settings(s, index)
        check_query(query, k or s.top_k, s.max_question_chars)
        retriever = retriever_from_settings(s, idx, mode)
        hits = retriever.retrieve(query, k or s.top_k, filters=SearchFilter.of(source or None, doc_id or None))
        # inside: the hits' chunk rows are read here, on first use (a damaged row is a one-line error)
        results = [SearchHit.of(h, i + 1).model_dump() for i, h in enumerate(hits)]
    if as_json:
        print_json({"query": query, "results": results})
        return
    if not results:
        typer.echo("no results")
    for r in results:
        at = where(r["source"], r["page"], r["start"], r["end"])
        typer.echo(f"{r['rank']:>2}. {r['score']:.4f}  {at}\n    {one_line(r['text'])}")
