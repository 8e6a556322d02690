"""API keys: stored as SHA-256 hashes, scopes ``read`` < ``write`` < ``admin``, optional collection lists.

A key is a random token (``rr_…``) shown once when created; only its hash is kept, in a JSON
keys file (default ``<index_root>/.api-keys.json``, mode 0600) and/or the ``RABBIT_RAG_API_KEYS``
environment variable (the same records as JSON). Clients send ``Authorization: Bearer <key>`` or
``X-API-Key: <key>``. The presented key is hashed and compared with every stored hash in constant
time; keys are never logged. The file is re-read when it changes, so ``rabbit-rag keys create``
takes effect without a restart.

Scopes: ``read`` (list, get, search, ask), ``write`` (also create collections, upload and delete
documents), ``admin`` (also delete collections). A key with ``collections`` set sees only those.

예::

    key = add_key(Path("indexes/.api-keys.json"), "ci", ["read", "write"], ["헌법"])
    # curl -H "Authorization: Bearer $key" ...
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rabbit_rag.api.collections import check_name
from rabbit_rag.api.errors import AuthenticationError, PermissionDeniedError
from rabbit_rag.errors import InvalidInputError
from rabbit_rag.index.docstore import now_iso
from rabbit_rag.index.fsio import atomic_write_bytes

SCOPES = ("read", "write", "admin")
_RANK = {s: i for i, s in enumerate(SCOPES)}
KEY_PREFIX = "rr_"
KEYS_FILE_NAME = ".api-keys.json"


def hash_key(key: str) -> str:
    """The stored form of a key (hex SHA-256). Keys are 256-bit random tokens, so no salt is needed."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh random key, e.g. ``rr_3q…`` (43 URL-safe characters after the prefix)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def check_scopes(scopes: Iterable[str]) -> list[str]:
    out = []
    for s in scopes:
        s = s.strip().lower()
        if not s:
            continue
        if s not in _RANK:
            raise InvalidInputError(f"scope {s!r} is not one of {', '.join(SCOPES)}; e.g. --scopes read,write")
        out.append(s)
    if not out:
        raise InvalidInputError(f"give at least one scope of {', '.join(SCOPES)}")
    return sorted(set(out), key=_RANK.__getitem__)


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One configured key (its hash, never the key itself)."""

    name: str
    sha256: str
    scopes: frozenset[str]
    collections: frozenset[str] | None = None  # None: every collection

    @property
    def level(self) -> int:
        return max(_RANK[s] for s in self.scopes)

    def has_scope(self, scope: str) -> bool:
        # admin implies write implies read
        return self.level >= _RANK[scope]

    def can_access(self, collection: str) -> bool:
        return self.collections is None or unicodedata.normalize("NFC", collection) in self.collections

    @classmethod
    def from_record(cls, rec: Any, where: str) -> ApiKey:
        if not isinstance(rec, dict):
            raise InvalidInputError(f"{where}: each key must be an object with name, sha256, scopes")
        name, digest, scopes = rec.get("name"), rec.get("sha256"), rec.get("scopes")
        if not isinstance(name, str) or not name:
            raise InvalidInputError(f"{where}: a key has no 'name'")
        if not isinstance(digest, str) or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise InvalidInputError(
                f"{where}: key {name!r} needs 'sha256', the 64 lower-case hex digits of sha256(key); "
                "create keys with `rabbit-rag keys create`"
            )
        if not isinstance(scopes, list):
            raise InvalidInputError(f"{where}: key {name!r} needs 'scopes', a list of {', '.join(SCOPES)}")
        cols = rec.get("collections")
        if cols is not None and (not isinstance(cols, list) or not all(isinstance(c, str) for c in cols)):
            raise InvalidInputError(f"{where}: key {name!r}: 'collections' must be a list of names or null")
        names = None if cols is None else frozenset(unicodedata.normalize("NFC", c) for c in cols)
        return cls(name, digest, frozenset(check_scopes(scopes)), names)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the matched key, or the anonymous admin when auth is disabled."""

    name: str
    key: ApiKey | None  # None only when auth is disabled

    def can(self, scope: str, collection: str | None = None) -> bool:
        if self.key is None:
            return True
        return self.key.has_scope(scope) and (collection is None or self.key.can_access(collection))

    def require(self, scope: str, collection: str | None = None) -> None:
        """Raise 403 unless this caller has ``scope`` (on ``collection`` when given)."""
        if self.key is None:
            return
        if not self.key.has_scope(scope):
            raise PermissionDeniedError(
                f"API key {self.name!r} has scopes {sorted(self.key.scopes, key=_RANK.__getitem__)}; "
                f"this needs '{scope}'. Use a key with the '{scope}' scope"
            )
        if collection is not None and not self.key.can_access(collection):
            raise PermissionDeniedError(
                f"API key {self.name!r} is limited to collections {sorted(self.key.collections or ())}; "
                f"it cannot use {collection!r}"
            )


ANONYMOUS_ADMIN = Principal("anonymous (auth disabled)", None)


def _parse_records(text: str, where: str) -> list[ApiKey]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidInputError(f"{where}: not valid JSON ({e.msg} at {e.pos})") from None
    records = data.get("keys") if isinstance(data, dict) else data
    if not isinstance(records, list):
        raise InvalidInputError(f'{where}: expected {{"keys": [...]}} or a list of keys')
    return [ApiKey.from_record(r, where) for r in records]


class KeyStore:
    """The configured keys, from the keys file (re-read when it changes) and the environment."""

    def __init__(self, path: Path | None, env_json: str | None = None) -> None:
        self.path = path
        self._env_keys = _parse_records(env_json, "RABBIT_RAG_API_KEYS") if env_json else []
        self._file_keys: list[ApiKey] = []
        self._stamp: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self._reload()

    def _reload(self) -> None:
        if self.path is None:
            return
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._file_keys, self._stamp = [], None
            return
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            self._file_keys = _parse_records(self.path.read_text(encoding="utf-8"), str(self.path))
            self._stamp = stamp

    def keys(self) -> list[ApiKey]:
        with self._lock:
            self._reload()
            return self._file_keys + self._env_keys

    def __len__(self) -> int:
        return len(self.keys())

    def lookup(self, presented: str) -> ApiKey | None:
        """The key whose hash matches ``presented``; every stored hash is compared, in constant time."""
        digest = hash_key(presented)
        found = None
        for key in self.keys():
            if hmac.compare_digest(digest, key.sha256):
                found = key
        return found

    def authenticate(self, presented: str | None) -> Principal:
        if not presented:
            raise AuthenticationError(
                "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>' "
                "(create one with `rabbit-rag keys create NAME --scopes read`)"
            )
        key = self.lookup(presented.strip())
        if key is None:
            raise AuthenticationError("invalid API key; check the key or create one with `rabbit-rag keys create`")
        return Principal(key.name, key)


# -- the keys file (used by `rabbit-rag keys`) ---------------------------------------------------------
def keys_file_for(index_root: Path, configured: Path | None) -> Path:
    return configured if configured is not None else Path(index_root) / KEYS_FILE_NAME


def read_key_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    records = data.get("keys") if isinstance(data, dict) else data
    for r in records:
        ApiKey.from_record(r, str(path))  # validate
    return list(records)


def _write_records(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, (json.dumps({"keys": records}, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    os.chmod(path, 0o600)  # hashes only, but nobody else needs to read them


def add_key(path: Path, name: str, scopes: Sequence[str], collections: Sequence[str] | None = None) -> str:
    """Create a key named ``name``, store its hash in ``path`` and return the key (shown only now)."""

    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInputError("give the key a name of 1-100 characters, e.g. 'search-bot'")
    records = read_key_records(path)
    if any(r.get("name") == name for r in records):
        raise InvalidInputError(f"a key named {name!r} exists in {path}; revoke it first or pick another name")
    cols = None if not collections else [check_name(c) for c in collections]
    key = new_key()
    records.append(
        {
            "name": name,
            "sha256": hash_key(key),
            "scopes": check_scopes(scopes),
            "collections": cols,
            "created_at": now_iso(),
        }
    )
    _write_records(path, records)
    return key


def revoke_key(path: Path, name: str) -> bool:
    """Remove the key named ``name``; whether it existed."""
    records = read_key_records(path)
    kept = [r for r in records if r.get("name") != name]
    if len(kept) == len(records):
        return False
    _write_records(path, kept)
    return True
