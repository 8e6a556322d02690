"""The ``rabbit-rag`` command line (typer). Each command lives in its own module."""
