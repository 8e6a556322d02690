"""``rabbit-rag serve`` (the HTTP API under uvicorn) and ``rabbit-rag keys`` (create, list, revoke API keys)."""

from __future__ import annotations

from pathlib import Path

import typer

from rabbit_rag.cli.app import app
from rabbit_rag.cli.common import cli_errors, err, print_json, settings

keys_app = typer.Typer(help="API keys for `rabbit-rag serve` (stored hashed in a keys file).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")

_INDEX_ROOT_HELP = "Folder holding one index folder per collection (default: RABBIT_RAG_INDEX_ROOT, else indexes)."
_KEYS_FILE_HELP = "Keys file (default: RABBIT_RAG_API_KEYS_FILE, else <index root>/.api-keys.json)."


@app.command()
def serve(
    index_root: Path | None = typer.Option(None, "--index-root", help=_INDEX_ROOT_HELP),
    host: str | None = typer.Option(
        None, "--host", help="Interface to listen on (default: RABBIT_RAG_API_HOST, 127.0.0.1)."
    ),
    port: int | None = typer.Option(
        None, "--port", min=1, max=65535, help="Port (default: RABBIT_RAG_API_PORT, 8000)."
    ),
    no_auth: bool = typer.Option(
        False, "--no-auth", help="Local development only: no API keys, every caller is an admin (warned about loudly)."
    ),
    log_level: str = typer.Option(
        "info", "--log-level", help="uvicorn log level: critical, error, warning, info, debug."
    ),
) -> None:
    """Serve the knowledge-base API: collections, uploads, search, answers, OpenAI-compatible chat.

    Every /v1 request needs an API key (`rabbit-rag keys create`). Docs at http://HOST:PORT/docs.

    Examples:

      rabbit-rag keys create me --scopes read,write --index-root indexes

      rabbit-rag serve --index-root indexes --port 8000
    """
    import uvicorn

    from rabbit_rag.api.app import create_app

    s = settings()
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


def _keys_file(index_root: Path | None, keys_file: Path | None) -> Path:
    from rabbit_rag.api.auth import keys_file_for

    s = settings()
    return keys_file or keys_file_for(index_root or s.index_root, s.api_keys_file)


@keys_app.command("create")
def keys_create(
    name: str = typer.Argument(..., help="A name for the key, e.g. search-bot (shown in 403 messages, never the key)."),
    scopes: str = typer.Option("read", "--scopes", help="Comma-separated: read, write, admin (admin ⊃ write ⊃ read)."),
    collections: str | None = typer.Option(None, "--collections", help="Comma-separated collections; default: all."),
    index_root: Path | None = typer.Option(None, "--index-root", help=_INDEX_ROOT_HELP),
    keys_file: Path | None = typer.Option(None, "--keys-file", help=_KEYS_FILE_HELP),
    as_json: bool = typer.Option(False, "--json", help='Print {"name", "key", "scopes", "collections", "keys_file"}.'),
) -> None:
    """Create an API key and print it once (only its SHA-256 hash is stored).

    Example: rabbit-rag keys create uploader --scopes read,write --collections 헌법
    """
    from rabbit_rag.api.auth import add_key, check_scopes

    path = _keys_file(index_root, keys_file)
    with cli_errors(as_json):
        scope_list = check_scopes(scopes.split(","))
        cols = [c.strip() for c in collections.split(",") if c.strip()] if collections else None
        key = add_key(path, name, scope_list, cols)
    if as_json:
        print_json({"name": name, "key": key, "scopes": scope_list, "collections": cols, "keys_file": str(path)})
        return
    typer.echo(key)
    err(f"rabbit-rag: key {name!r} ({','.join(scope_list)}) stored hashed in {path}; it is shown only this once")


@keys_app.command("list")
def keys_list(
    index_root: Path | None = typer.Option(None, "--index-root", help=_INDEX_ROOT_HELP),
    keys_file: Path | None = typer.Option(None, "--keys-file", help=_KEYS_FILE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print {keys: [...]} (names, scopes, collections; no hashes)."),
) -> None:
    """List the configured keys (names and scopes; keys cannot be shown, only their hashes are kept)."""
    from rabbit_rag.api.auth import read_key_records

    path = _keys_file(index_root, keys_file)
    with cli_errors(as_json):
        records = [
            {k: r.get(k) for k in ("name", "scopes", "collections", "created_at")} for r in read_key_records(path)
        ]
    if as_json:
        print_json({"keys_file": str(path), "keys": records})
        return
    if not records:
        err(f"rabbit-rag: no keys in {path}")
    for r in records:
        cols = ",".join(r["collections"]) if r["collections"] else "all collections"
        typer.echo(f"{r['name']}\t{','.join(r['scopes'])}\t{cols}\t{r.get('created_at') or ''}")


@keys_app.command("revoke")
def keys_revoke(
    name: str = typer.Argument(..., help="The key's name."),
    index_root: Path | None = typer.Option(None, "--index-root", help=_INDEX_ROOT_HELP),
    keys_file: Path | None = typer.Option(None, "--keys-file", help=_KEYS_FILE_HELP),
) -> None:
    """Revoke a key; a running server stops accepting it at the next request."""
    from rabbit_rag.api.auth import revoke_key

    path = _keys_file(index_root, keys_file)
    with cli_errors():
        if not revoke_key(path, name):
            err(f"rabbit-rag: no key named {name!r} in {path}")
            raise typer.Exit(1)
    err(f"rabbit-rag: revoked {name!r}")
