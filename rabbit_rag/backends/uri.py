"""Where an index's search data lives: ``--backend URI`` / ``RABBIT_RAG_BACKEND``.

``local`` (or nothing) is the index folder itself (SQLite docstore + BM25 ``.npy`` + FAISS), the default.
``milvus:///abs/path/file.db`` (or ``milvus:relative/file.db``) is Milvus Lite, the embedded engine, in
one local folder; ``milvus://host:19530`` (``milvus+https://`` for TLS) is a Milvus server or cluster,
reached with the same client code. The API key of a server, when it needs one, is
``RABBIT_RAG_BACKEND_TOKEN`` (never part of the URI, so it does not end up in logs).

예::

    parse_backend("milvus://10.0.0.5:19530").target   # 'http://10.0.0.5:19530'
    parse_backend("milvus:///srv/rag/engine.db").local  # True
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from rabbit_rag.errors import InvalidInputError

DEFAULT_MILVUS_PORT = 19530
FORMS = "local, milvus:///abs/path/engine.db, milvus:relative/engine.db, milvus://host:19530 or milvus+https://host:443"


@dataclass(frozen=True, slots=True)
class BackendURI:
    """A parsed backend: the engine (``milvus``) and what its client connects to.

    ``target`` is what ``pymilvus.MilvusClient(uri=...)`` takes: a local ``.db`` path (Milvus Lite) or
    ``http(s)://host:port``.
    """

    engine: str
    target: str
    raw: str

    @property
    def local(self) -> bool:
        """True for Milvus Lite in a local folder (one process at a time holds it)."""
        return not self.target.startswith(("http://", "https://"))

    def __str__(self) -> str:
        return self.raw


def parse_backend(uri: str | None) -> BackendURI | None:
    """The backend named by ``uri``; None for the local index (``None``, ``""`` or ``local``).

    A form we do not know is an :class:`InvalidInputError` naming the accepted ones.
    """
    if uri is None or not uri.strip() or uri.strip() == "local":
        return None
    raw = uri.strip()
    scheme, _, rest = raw.partition(":")
    scheme = scheme.lower()
    if scheme == "qdrant":
        raise InvalidInputError(
            f"backend {raw!r}: Qdrant is not a rabbit-rag backend. The engine backend is Milvus (docs/scaling.md "
            f"says why: an embedded form that persists without pickle and a standalone server for several "
            f"processes, with the same client code as a cluster). Use one of: {FORMS}"
        )
    if scheme not in ("milvus", "milvus+http", "milvus+https"):
        raise InvalidInputError(f"backend {raw!r} is not understood; use one of: {FORMS}")
    if rest.startswith("//") and not rest.startswith("///"):
        parts = urlsplit(raw)
        if not parts.hostname:
            raise InvalidInputError(f"backend {raw!r} names no host; use one of: {FORMS}")
        if parts.path not in ("", "/") or parts.query:
            raise InvalidInputError(
                f"backend {raw!r}: a server address takes no path ({parts.path!r}); the collection is named by "
                "--index (its folder name)"
            )
        try:
            port = parts.port or (443 if scheme == "milvus+https" else DEFAULT_MILVUS_PORT)
        except ValueError as e:
            raise InvalidInputError(f"backend {raw!r}: bad port ({e})") from None
        http = "https" if scheme == "milvus+https" else "http"
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return BackendURI("milvus", f"{http}://{host}:{port}", raw)
    if scheme != "milvus":
        raise InvalidInputError(f"backend {raw!r}: {scheme}: needs a host (milvus+https://host:443)")
    path = rest[2:] if rest.startswith("///") else rest
    if not path:
        raise InvalidInputError(f"backend {raw!r} names no file; use one of: {FORMS}")
    p = Path(path).expanduser()
    if p.suffix != ".db":
        # pymilvus takes a URI ending in .db as Milvus Lite and anything else as a server address
        raise InvalidInputError(
            f"backend {raw!r}: a Milvus Lite path must end in .db (e.g. milvus:///srv/rag/engine.db)"
        )
    return BackendURI("milvus", str(p.resolve()), raw)
