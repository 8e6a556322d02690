"""``rabbit-rag``: ingest Korean documents, search them, ask them, evaluate, serve.

The console script's entry point: importing a command module registers its commands on the app.
"""

from __future__ import annotations

from rabbit_rag.cli import ask, check, evaluate, ingest, keys, search, serve
from rabbit_rag.cli.app import app

COMMAND_MODULES = (ask, check, evaluate, ingest, keys, search, serve)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
