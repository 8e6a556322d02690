"""``rabbit-rag eval retrieval`` and ``rabbit-rag eval answers``: KorQuAD 1.0 measurements."""

from __future__ import annotations

from pathlib import Path

import typer

from rabbit_rag.cli.app import eval_app
from rabbit_rag.cli.common import BACKEND_HELP, cli_errors, print_json, settings


@eval_app.command("retrieval")
def eval_retrieval(
    dataset: str = typer.Option(
        ..., "--dataset", metavar="korquad:PATH", help="korquad:PATH to KorQuAD_v1.0_dev.json (or train)."
    ),
    unit: str = typer.Option(
        "paragraph", "--unit", metavar="UNIT", help="paragraph (each context a document) or article."
    ),
    k: int = typer.Option(10, "-k", "--top-k", min=1, max=100, help="Also report recall@k for this k."),
    embed_model: str | None = typer.Option(
        None,
        "--embed-model",
        metavar="MODEL",
        help="Embedding model for dense/hybrid, or 'none' (default: RABBIT_RAG_EMBED_MODEL).",
    ),
    mode: str = typer.Option(
        "hybrid", "--mode", "-m", metavar="MODE", help="hybrid, bm25 or dense (hybrid = BM25 without vectors)."
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N questions."),
    backend: str | None = typer.Option(
        None, "--backend", metavar="URI", help=BACKEND_HELP + " The temporary collection is dropped afterwards."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as one JSON object."),
) -> None:
    """Measure retrieval on KorQuAD 1.0: recall@k, MRR@10, nDCG@10.

    Builds a temporary index of the dataset and runs every question against it.

    paragraph: a hit is the question's own context. article: a hit is a chunk of the right article
    that contains the whole answer span.

    KorQuAD is not part of rabbit-rag: download KorQuAD_v1.0_dev.json (CC BY-ND 2.0 KR) from
    https://korquad.github.io/KorQuad%201.0/, e.g. into data/.

    \b
    Example:
      rabbit-rag eval retrieval --dataset korquad:data/KorQuAD_v1.0_dev.json \\
          --unit paragraph --embed-model none --json
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
            settings=settings(backend),
            limit=limit,  # type: ignore[arg-type]
        )
    if as_json:
        print_json(result)
    else:
        for key, value in result.items():
            typer.echo(f"{key:>26}: {value}")


@eval_app.command("answers")
def eval_answers(
    dataset: str = typer.Option(
        ..., "--dataset", metavar="korquad:PATH", help="korquad:PATH to KorQuAD_v1.0_dev.json (or train)."
    ),
    llm: str | None = typer.Option(
        None,
        "--llm",
        metavar="KIND",
        help="auto, transformers, openai or extractive (default: RABBIT_RAG_LLM, else auto).",
    ),
    model: str | None = typer.Option(
        None, "--model", metavar="MODEL", help="Chat model id or folder, or the served model name."
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N questions."),
    sample: int | None = typer.Option(
        None,
        "--sample",
        min=1,
        metavar="N",
        help="Only N questions drawn at random with --seed (in the dataset's order; not with --limit).",
    ),
    seed: int = typer.Option(0, "--seed", metavar="S", help="Seed of --sample: the same seed, the same questions."),
    hits_cache: Path | None = typer.Option(
        None,
        "--hits-cache",
        metavar="PATH",
        help="Keep each question's retrieval hits in PATH and reuse them on later runs over the same "
        "index (keyed by dataset, index, retriever, k and retrieval code; a stale file is said and rebuilt).",
    ),
    k: int = typer.Option(5, "-k", "--top-k", min=1, max=100, help="Passages retrieved as sources per question."),
    mode: str = typer.Option(
        "hybrid", "--mode", "-m", metavar="MODE", help="hybrid, bm25 or dense (hybrid = BM25 without vectors)."
    ),
    embed_model: str | None = typer.Option(
        None,
        "--embed-model",
        metavar="MODEL",
        help="Embedding model for dense/hybrid, or 'none' (default: RABBIT_RAG_EMBED_MODEL).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as one JSON object."),
) -> None:
    """Measure answers on KorQuAD 1.0: exact match, F1, citations.

    Exact match and F1 (KorQuAD normalization), citations that point into the gold paragraph, and
    the not-found rate.

    Every paragraph goes into a temporary index and every question is answered from the whole
    collection, so retrieval errors count too.

    For tuning an answerer: --sample N --seed S answers the same N random questions on every run,
    and --hits-cache PATH reuses the retrieval hits of an earlier run over the same index.

    KorQuAD is not part of rabbit-rag: download KorQuAD_v1.0_dev.json (CC BY-ND 2.0 KR) from
    https://korquad.github.io/KorQuad%201.0/, e.g. into data/.

    \b
    Example:
      rabbit-rag eval answers --dataset korquad:data/KorQuAD_v1.0_dev.json \\
          --llm extractive --embed-model none --limit 500 --json
      rabbit-rag eval answers --dataset korquad:data/KorQuAD_v1.0_dev.json \\
          --llm extractive --embed-model none --sample 1000 --seed 1 \\
          --hits-cache /tmp/korquad-hits.json --json
    """
    from rabbit_rag.evaluation.answers import evaluate_answers
    from rabbit_rag.evaluation.korquad import parse_dataset

    s = settings()
    with cli_errors(as_json):
        path = parse_dataset(dataset)
        result = evaluate_answers(
            path, llm or s.llm, k=k, mode=mode, embed_model=embed_model, model=model, settings=s, limit=limit,
            sample=sample, seed=seed, hits_cache=hits_cache,
        )  # fmt: skip
    if as_json:
        print_json(result)
    else:
        for key, value in result.items():
            typer.echo(f"{key:>26}: {value}")
