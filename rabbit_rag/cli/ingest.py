"""``rabbit-rag ingest``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer

from rabbit_rag.cli.app import app
from rabbit_rag.cli.common import BackendOption, cli_errors, err, print_json, settings


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(
        ..., metavar="PATH", help="Files and folders to ingest (folders are walked; hidden files skipped)."
    ),
    index: Path = typer.Option(..., "--index", "-i", help="Index folder; created when new or empty."),
    embed_model: str | None = typer.Option(
        None,
        "--embed-model",
        metavar="MODEL",
        help="sentence-transformers id or local folder for dense search, or 'none' for BM25 only. "
        "Default: the index's own model, or RABBIT_RAG_EMBED_MODEL for a new index.",
    ),
    sync: bool = typer.Option(False, "--sync", help="Also remove documents whose files are gone."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON object on stdout."),
    strict: bool = typer.Option(False, "--strict", help="Exit with status 3 when any file failed."),
    chunk_tokens: int | None = typer.Option(None, "--chunk-tokens", help="Chunk budget for a new index (default 256)."),
    backend: BackendOption = None,
    workers: int | None = typer.Option(
        None,
        "--workers",
        "-w",
        metavar="N",
        min=1,
        max=256,
        help="Processes that read, analyze (Kiwi) and embed files; one writer commits what they make "
        "(default: RABBIT_RAG_INGEST_WORKERS, 1).",
    ),
    ray: str | None = typer.Option(
        None,
        "--ray",
        metavar="ADDRESS",
        help="Run those workers on a Ray cluster: auto, ray://head:10001, or local to start one here "
        "(needs the ray extra). Default: RABBIT_RAG_RAY_ADDRESS.",
    ),
) -> None:
    """Read documents into an index (created when new).

    PDF, HWP, HWPX, DOCX, HTML, Markdown and text files are split into Kiwi sentences and chunks
    for BM25 and, with an embedding model, dense search. Incremental: unchanged files are skipped,
    changed files are replaced. A file that fails is reported with its reason and the rest is
    ingested; when nothing could be ingested the exit status is 1 and no index is created.

    \b
    Examples:
      rabbit-rag ingest samples --index indexes/sample --embed-model none
      rabbit-rag ingest ~/문서/규정 --index indexes/규정 --sync

      rabbit-rag ingest ~/문서 --index indexes/문서 --workers 4 --backend milvus://10.0.0.5:19530
    """
    from rabbit_rag.ingest import IngestOptions, ingest_paths

    s = settings(backend)
    options = IngestOptions.from_settings(s)
    if workers is not None or ray is not None:
        options = dataclasses.replace(
            options, workers=workers or options.workers, ray_address=ray if ray is not None else options.ray_address
        )
    with cli_errors(as_json):
        report = ingest_paths(
            [str(p) for p in paths], index, embed_model=embed_model, sync=sync, options=options,
            chunk_tokens=chunk_tokens,
        )  # fmt: skip
    # nothing could be ingested (every file failed or was empty): say so and exit 1; the pipeline
    # removed the index if this run had created it
    nothing = not (report.added or report.updated or report.unchanged or report.removed)
    if as_json:
        print_json(report.to_dict())
    else:
        c = report.counts
        err(
            f"{report.index}: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
            f"{report.removed} removed, {len(report.skipped)} skipped, {len(report.failed)} failed "
            f"({report.chunks_added} chunks, {report.embedded} embedded) in {report.seconds:.1f}s"
        )
        for skip in report.skipped:
            err(f"  skipped {skip['source']}: {skip['reason']}")
        for f in report.failed:
            err(f"  failed  {f['source']}: {f['reason']}")
        if not nothing:
            typer.echo(
                f"index {report.index}: {c.get('documents', 0)} documents, {c.get('chunks', 0)} chunks, "
                f"{c.get('vectors', 0)} vectors (embedding: {report.embedding_model or 'none, BM25 only'})"
            )
    if nothing:
        created = (Path(report.index) / "manifest.json").exists()
        err(
            "error: nothing could be ingested"
            + ("" if created else f"; no index was created at {report.index}")
            + ". Fix or remove the files above, or point at the documents you meant"
        )
        raise typer.Exit(1)
    if strict and report.failed:
        raise typer.Exit(3)
