"""Embedding models: sentence-transformers behind a tiny interface, found fast or not at all.

An embedder turns texts into L2-normalized float32 rows (``embed(texts) -> np.ndarray``) and counts
tokens the way the model does, so chunk budgets are in the model's own tokens.

Finding out that a model is unavailable is quick: a local folder or the Hugging Face cache is
looked at first, ``HF_HUB_OFFLINE`` is respected, and otherwise one short TCP probe of the hub
decides, instead of minutes of download retries on a machine without the hub.

예::

    emb = load_embedder("nlpai-lab/KURE-v1")      # or a local folder
    vecs = emb.embed(["대통령의 임기는 5년이다."])   # shape (1, 1024)
"""

from __future__ import annotations

import functools
import os
import socket
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlparse

import numpy as np

from rabbit_rag.errors import InvalidInputError, ModelUnavailableError

#: Spellings of "no embedding model" accepted by settings and the CLI.
#: The default embedding model: a Korean sentence-transformers model (``none`` builds BM25-only indexes).
DEFAULT_EMBED_MODEL = "nlpai-lab/KURE-v1"
#: Texts embedded per forward pass.
DEFAULT_EMBED_BATCH_SIZE = 32

NONE_VALUES = frozenset({"none", "off", "false", "0", "bm25", ""})


def is_none_model(model_id: str | None) -> bool:
    return model_id is None or model_id.strip().lower() in NONE_VALUES


@runtime_checkable
class Embedder(Protocol):
    """What the index needs from an embedding model."""

    model_id: str
    dim: int
    max_tokens: int | None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Document embeddings, shape ``(len(texts), dim)``, float32, unit length."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """One query embedding, shape ``(dim,)``, float32, unit length."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Model tokens per text (no special tokens)."""
        ...


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


@functools.lru_cache(maxsize=4)
def _hub_reachable(endpoint: str, timeout: float = 3.0) -> bool:
    url = urlparse(endpoint)
    host = url.hostname or "huggingface.co"
    port = url.port or (443 if url.scheme != "http" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def resolve_model(model_id: str) -> str:
    """A loadable location for ``model_id``: a local folder, a cached snapshot, or the id to download.

    Raises :class:`ModelUnavailableError` at once when none of these can work here.
    """
    path = Path(model_id).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelUnavailableError(model_id, "is a file; give the model folder")
        return str(path)
    if model_id.count("/") != 1 or model_id.startswith((".", "/", "~")):
        raise ModelUnavailableError(model_id, "no such folder, and not a Hugging Face id of the form 'owner/name'")
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(model_id, local_files_only=True)
    except Exception:
        pass
    if hub_offline():
        raise ModelUnavailableError(
            model_id,
            "not in the local Hugging Face cache and HF_HUB_OFFLINE is set; download it where the hub is "
            "reachable (`huggingface-cli download " + model_id + "`) or pass a local folder",
        )
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    if not _hub_reachable(endpoint):
        raise ModelUnavailableError(
            model_id, f"not in the local Hugging Face cache and {endpoint} is unreachable from this machine"
        )
    return model_id


def pick_device(requested: str | None = None) -> str:
    """``requested`` when given, else CUDA, then Apple MPS, then CPU."""
    if requested:
        return requested
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


class SentenceTransformerEmbedder:
    """A sentence-transformers model as an :class:`Embedder`.

    Uses the model's query/document prompts when it defines them (``encode_query`` /
    ``encode_document``), so models such as E5 get their prefixes right.
    """

    def __init__(self, model_id: str, device: str | None = None, batch_size: int = DEFAULT_EMBED_BATCH_SIZE) -> None:
        location = resolve_model(model_id)
        try:
            from sentence_transformers import SentenceTransformer

            self.model = SentenceTransformer(location, device=pick_device(device))
        except ModelUnavailableError:
            raise
        except Exception as e:
            raise ModelUnavailableError(model_id, f"{type(e).__name__}: {e}") from e
        self.model_id = model_id
        self.batch_size = batch_size
        # sentence-transformers 6 renamed the method; keep working with 3.x-5.x
        get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        dim = get_dim()
        if not dim:
            raise ModelUnavailableError(model_id, "the model does not report an embedding dimension")
        self.dim = int(dim)
        self.max_tokens = int(self.model.max_seq_length) if self.model.max_seq_length else None
        self._lock = threading.Lock()

    def _encode(self, texts: Sequence[str], query: bool) -> np.ndarray:
        fn: Any = getattr(self.model, "encode_query" if query else "encode_document", None) or self.model.encode
        with self._lock:  # one forward pass at a time; torch already uses every core
            out = fn(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return self._encode(texts, query=False)

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([text], query=True)[0]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        enc = self.model.tokenizer(
            list(texts), add_special_tokens=False, return_attention_mask=False, return_token_type_ids=False,
            verbose=False,
        )  # fmt: skip
        return [len(ids) for ids in enc["input_ids"]]


_cache: dict[tuple[str, str | None], SentenceTransformerEmbedder] = {}
_cache_lock = threading.Lock()


def load_embedder(
    model_id: str, device: str | None = None, batch_size: int = DEFAULT_EMBED_BATCH_SIZE
) -> SentenceTransformerEmbedder:
    """Load (once per process) the embedding model ``model_id``: a Hugging Face id or a local folder."""
    if is_none_model(model_id):
        raise InvalidInputError(f"embedding model {model_id!r} means 'no embedding model'; nothing to load")
    key = (model_id, device)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = SentenceTransformerEmbedder(model_id, device=device, batch_size=batch_size)
        return _cache[key]
