"""``rabbit-rag keys``: create, list and revoke the API keys of ``rabbit-rag serve``.

Keys are stored hashed in the keys file; the plain key is printed once, at creation. The key store is
part of the API (the ``api`` extra), so it is imported when a command runs.
"""

from __future__ import annotations

from pathlib import Path

import typer

from rabbit_rag.cli.app import keys_app
from rabbit_rag.cli.common import INDEX_ROOT_HELP, cli_errors, err, needs_extra, print_json, settings

_KEYS_FILE_HELP = "Keys file (default: RABBIT_RAG_API_KEYS_FILE, else <index root>/.api-keys.json)."


def _keys_file(index_root: Path | None, keys_file: Path | None) -> Path:
    with needs_extra("api", "keys"):
        from rabbit_rag.api.auth import keys_file_for

    s = settings()
    return keys_file or keys_file_for(index_root or s.index_root, s.api_keys_file)


@keys_app.command("create")
def keys_create(
    name: str = typer.Argument(
        ..., metavar="NAME", help="A name for the key, e.g. search-bot (shown in 403 messages, never the key)."
    ),
    scopes: str = typer.Option(
        "read", "--scopes", metavar="SCOPES", help="Comma-separated: read, write, admin (admin ⊃ write ⊃ read)."
    ),
    collections: str | None = typer.Option(
        None, "--collections", metavar="NAMES", help="Comma-separated collections; default: all."
    ),
    index_root: Path | None = typer.Option(None, "--index-root", help=INDEX_ROOT_HELP),
    keys_file: Path | None = typer.Option(None, "--keys-file", help=_KEYS_FILE_HELP),
    as_json: bool = typer.Option(False, "--json", help='Print {"name", "key", "scopes", "collections", "keys_file"}.'),
) -> None:
    """Create an API key and print it once (only its hash is stored).

    \b
    Example:
      rabbit-rag keys create uploader --scopes read,write --collections 헌법
    """
    with needs_extra("api", "keys"):
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
    index_root: Path | None = typer.Option(None, "--index-root", help=INDEX_ROOT_HELP),
    keys_file: Path | None = typer.Option(None, "--keys-file", help=_KEYS_FILE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print {keys: [...]} (names, scopes, collections; no hashes)."),
) -> None:
    """List the keys: names, scopes and collections (never the keys)."""
    with needs_extra("api", "keys"):
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
    name: str = typer.Argument(..., metavar="NAME", help="The key's name."),
    index_root: Path | None = typer.Option(None, "--index-root", help=INDEX_ROOT_HELP),
    keys_file: Path | None = typer.Option(None, "--keys-file", help=_KEYS_FILE_HELP),
) -> None:
    """Revoke a key; a running server refuses it from the next request."""
    with needs_extra("api", "keys"):
        from rabbit_rag.api.auth import revoke_key

    path = _keys_file(index_root, keys_file)
    with cli_errors():
        if not revoke_key(path, name):
            err(f"rabbit-rag: no key named {name!r} in {path}")
            raise typer.Exit(1)
    err(f"rabbit-rag: revoked {name!r}")
