"""``rabbit-rag serve``: the knowledge-base HTTP API under uvicorn.

The API needs the ``api`` extra (FastAPI, uvicorn), so it is imported when the command runs.
"""

from __future__ import annotations

from pathlib import Path

import typer

from rabbit_rag.cli.app import app
from rabbit_rag.cli.common import INDEX_ROOT_HELP, BackendOption, cli_errors, err, needs_extra, settings


@app.command()
def serve(
    index_root: Path | None = typer.Option(None, "--index-root", help=INDEX_ROOT_HELP),
    host: str | None = typer.Option(
        None, "--host", metavar="HOST", help="Interface to listen on (default: RABBIT_RAG_API_HOST, 127.0.0.1)."
    ),
    port: int | None = typer.Option(
        None, "--port", min=1, max=65535, help="Port (default: RABBIT_RAG_API_PORT, 8000)."
    ),
    no_auth: bool = typer.Option(
        False, "--no-auth", help="Local development only: no API keys, every caller is an admin (warned about loudly)."
    ),
    backend: BackendOption = None,
    log_level: str = typer.Option(
        "info", "--log-level", metavar="LEVEL", help="uvicorn log level: critical, error, warning, info, debug."
    ),
) -> None:
    """Serve the knowledge-base HTTP API over the indexes in a folder.

    Collections, uploads, search, answers (JSON or server-sent events) and an OpenAI-compatible
    /v1/chat/completions. Every /v1 request needs an API key (`rabbit-rag keys create`). Needs the
    api extra: pip install -e ".[api]". OpenAPI docs at http://HOST:PORT/docs.

    \b
    Examples:
      rabbit-rag keys create me --scopes read,write --index-root indexes
      rabbit-rag serve --index-root indexes --port 8000

      rabbit-rag serve --backend milvus://10.0.0.5:19530 --host 0.0.0.0   # one of N stateless replicas
    """
    with needs_extra("api", "serve"):
        import uvicorn

        from rabbit_rag.api.app import create_app

    s = settings(backend)
    updates: dict[str, object] = {}
    if index_root is not None:
        updates["index_root"] = index_root
    if no_auth:
        updates["api_auth_disabled"] = True
    s = s.model_copy(update=updates)
    with cli_errors():
        err(
            f"rabbit-rag: serving {s.index_root.resolve()} on http://{host or s.api_host}:{port or s.api_port} (docs: /docs)"
        )
        uvicorn.run(create_app(s), host=host or s.api_host, port=port or s.api_port, log_level=log_level)
