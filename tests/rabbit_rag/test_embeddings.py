"""Embedding models: loading local folders, failing fast when a model is not here."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from rabbit_rag.embeddings import Embedder, is_none_model, load_embedder, resolve_model
from rabbit_rag.errors import ModelUnavailableError
from rabbit_rag.index import open_index
from rabbit_rag.ingest import ingest_documents
from rabbit_rag.types import Document


def test_tiny_model_is_an_embedder(tiny_st_model: Path) -> None:
    emb = load_embedder(str(tiny_st_model))
    assert isinstance(emb, Embedder) and emb.dim == 32
    vecs = emb.embed(["대통령의 임기는 5년이다.", "국회의원의 임기는 4년이다."])
    assert vecs.shape == (2, 32) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert np.allclose(emb.embed_query("대통령의 임기는 5년이다."), vecs[0], atol=1e-5)
    assert emb.count_tokens(["대통령", ""]) == [3, 0]
    assert load_embedder(str(tiny_st_model)) is emb  # loaded once per process


def test_missing_model_fails_fast_offline() -> None:
    t = time.perf_counter()
    with pytest.raises(ModelUnavailableError, match="HF_HUB_OFFLINE"):
        resolve_model("nobody-here/no-such-model")
    assert time.perf_counter() - t < 2.0
    with pytest.raises(ModelUnavailableError, match="not a Hugging Face id"):
        resolve_model("./no/such/folder/model")


def test_unavailable_model_gives_a_bm25_index_and_says_why(tmp_path: Path, capsys) -> None:
    index = tmp_path / "idx"
    docs = [Document(source="a.txt", text="대통령의 임기는 5년으로 한다.")]
    report = ingest_documents(docs, index, embed_model="nobody-here/no-such-model", progress=False)
    assert report.added == 1 and report.embedding_model is None
    assert "BM25-only" in capsys.readouterr().err
    manifest = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["embedding"]["requested"] == "nobody-here/no-such-model"
    assert "HF_HUB_OFFLINE" in manifest["embedding"]["reason"]
    # the same request later is the same index configuration, not a mismatch
    again = ingest_documents(docs, index, embed_model="nobody-here/no-such-model", progress=False)
    assert again.unchanged == 1
    assert "no vectors" in open_index(index).dense_unavailable_reason()


def test_none_spellings() -> None:
    assert all(is_none_model(v) for v in (None, "none", "None", "off", " bm25 "))
    assert not is_none_model("nlpai-lab/KURE-v1")
