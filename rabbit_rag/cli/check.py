"""``rabbit-rag check``: verify an index folder and, with ``--repair``, rebuild what is derived."""

from __future__ import annotations

import typer

from rabbit_rag.cli.app import app
from rabbit_rag.cli.common import IndexOption, cli_errors, err, print_json, settings


@app.command()
def check(
    index: IndexOption,
    repair: bool = typer.Option(
        False,
        "--repair",
        help="Rebuild the manifest and search files from the docstore when only they are wrong "
        "(waits for a running ingest). A damaged docstore is reported, never rebuilt over.",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print one JSON object: {index, ok, revision, problems: [...], repaired: [...]}."
    ),
) -> None:
    """Verify an index's files and checksums (--repair rebuilds them).

    Checks the docstore (SQLite integrity, row checksums, every chunk's offsets), the manifest, and
    every search file's size and checksum. Exit 0 when all is well, 1 otherwise.

    Examples:

      rabbit-rag check --index indexes/sample

      rabbit-rag check --index indexes/sample --repair --json
    """
    from rabbit_rag.index.integrity import check_index  # here, so that other commands do not import it

    settings()
    with cli_errors(as_json):
        report = check_index(index, repair=repair)
    if as_json:
        print_json(report.to_dict())
    else:
        for fixed in report.repaired:
            err(f"repaired: {fixed}")
        for p in report.problems:
            hint = " (--repair rebuilds it)" if p.repairable and not repair else ""
            err(f"problem: {p.file}: {p.problem}{hint}")
        if report.ok:
            c = report.counts
            typer.echo(
                f"ok: {index} at revision {report.revision} — {c.get('documents', 0)} documents, "
                f"{c.get('chunks', 0)} chunks; {report.files_verified} search files match their checksums"
            )
    if not report.ok:
        raise typer.Exit(1)
