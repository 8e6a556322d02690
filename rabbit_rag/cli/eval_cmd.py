"""``rabbit-rag eval retrieval``."""

from __future__ import annotations

import typer

from rabbit_rag.cli.app import eval_app
from rabbit_rag.cli.common import cli_errors, print_json, settings


@eval_app.command("retrieval")
def eval_retrieval(
    dataset: str = typer.Option(..., "--dataset", help="korquad:PATH to KorQuAD_v1.0_dev.json (or train)."),
    unit: str = typer.Option("paragraph", "--unit", help="paragraph (each context a document) or article."),
    k: int = typer.Option(10, "-k", "--top-k", min=1, max=100, help="Also report recall@k for this k."),
    embed_model: str | None = typer.Option(
        None, "--embed-model", help="Embedding model for dense/hybrid, or 'none' (default: RABBIT_RAG_EMBED_MODEL)."
    ),
    mode: str = typer.Option("hybrid", "--mode", "-m", help="hybrid, bm25 or dense (hybrid = BM25 without vectors)."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N questions."),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as one JSON object."),
) -> None:
    """Measure retrieval on KorQuAD 1.0: recall@1/5/10, MRR@10, nDCG@10.

    Builds a temporary index of the dataset and runs every question against it.

    paragraph: a hit is the question's own context. article: a hit is a chunk of the right article
    that contains the whole answer span.

    Example:

      rabbit-rag eval retrieval --dataset korquad:KorQuAD_v1.0_dev.json --unit paragraph --embed-model none --json
    """
    from rabbit_rag.evaluation.korquad import evaluate_retrieval, parse_dataset

    with cli_errors(as_json):
        path = parse_dataset(dataset)
        result = evaluate_retrieval(
            path,
            unit=unit,
            k=k,
            embed_model=embed_model,
            mode=mode,
            settings=settings(),
            limit=limit,  # type: ignore[arg-type]
        )
    if as_json:
        print_json(result)
    else:
        for key, value in result.items():
            typer.echo(f"{key:>26}: {value}")
