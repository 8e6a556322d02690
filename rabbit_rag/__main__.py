"""``python -m rabbit_rag`` runs the ``rabbit-rag`` command line."""

from rabbit_rag.cli.main import main

main()
