"""Fixtures of the llama-index tests: the components need llama-index-core (the ``llama-index`` extra)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import skip_unless_installed

skip_unless_installed("llama_index.core", "llama-index-core is not installed (pip install '.[llama-index]')")


@pytest.fixture(scope="session")
def tiny_embedder(tiny_st_model: Path):
    """Our embedder over the tiny sentence-transformers model."""
    from rabbit_rag.embeddings import load_embedder

    return load_embedder(str(tiny_st_model))


@pytest.fixture(scope="session")
def dense_sample_index(tmp_path_factory: pytest.TempPathFactory, tiny_st_model: Path) -> Path:
    """An index of ``samples/`` with vectors from the tiny embedding model. Do not write to it."""
    from rabbit_rag.ingest import ingest_paths
    from tests.conftest import SAMPLES

    path = tmp_path_factory.mktemp("dense-sample-index") / "idx"
    ingest_paths([SAMPLES], path, embed_model=str(tiny_st_model), progress=False)
    return path
