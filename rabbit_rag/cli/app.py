"""The ``rabbit-rag`` command groups. Each command lives in its own module and registers itself here;
:mod:`rabbit_rag.cli.main` imports them all and runs the app.

Every command takes ``--help``. ``--json`` prints exactly one JSON object on stdout; progress and
notices go to stderr.
"""

from __future__ import annotations

from pathlib import Path

import typer

from rabbit_rag.cli.common import use_config

app = typer.Typer(
    name="rabbit-rag",
    help=(
        "Korean retrieval-augmented generation: Kiwi BM25 + dense search, answers with character-level citations.\n\n"
        "Quick start:\n\n"
        "  rabbit-rag ingest samples --index indexes/sample --embed-model none\n\n"
        '  rabbit-rag search "대통령 임기는 몇 년이야?" --index indexes/sample\n\n'
        '  rabbit-rag ask "국회의원 임기는?" --index indexes/sample'
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
eval_app = typer.Typer(help="Measure retrieval and answers on KorQuAD 1.0.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
keys_app = typer.Typer(help="API keys for `rabbit-rag serve` (stored hashed in a keys file).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@app.callback()
def _global_options(
    config: Path | None = typer.Option(
        None,
        "--config",
        metavar="PATH",
        envvar="RABBIT_RAG_CONFIG",
        help="Settings file (TOML; default: rabbit-rag.toml in the working directory). "
        "RABBIT_RAG_* variables override it; `rabbit-rag config` shows the result.",
    ),
) -> None:
    use_config(config)
