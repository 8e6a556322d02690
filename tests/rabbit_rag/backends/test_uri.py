"""Backend URIs: the forms we accept, and clear errors for the others."""

from __future__ import annotations

from pathlib import Path

import pytest

from rabbit_rag.backends import parse_backend
from rabbit_rag.backends.milvus import collection_prefix, name_of_prefix
from rabbit_rag.errors import InvalidInputError


def test_local_is_none() -> None:
    assert parse_backend(None) is None
    assert parse_backend("") is None
    assert parse_backend("local") is None


def test_milvus_lite_paths(tmp_path: Path) -> None:
    b = parse_backend(f"milvus://{tmp_path}/engine.db")
    assert b is not None and b.local and b.target == str(tmp_path / "engine.db")
    rel = parse_backend("milvus:data/engine.db")
    assert rel is not None and rel.local and rel.target == str(Path("data/engine.db").resolve())


def test_milvus_servers() -> None:
    b = parse_backend("milvus://10.0.0.5")
    assert b is not None and not b.local and b.target == "http://10.0.0.5:19530"
    assert parse_backend("milvus://db.example:1234").target == "http://db.example:1234"  # type: ignore[union-attr]
    assert parse_backend("milvus+https://db.example").target == "https://db.example:443"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("qdrant://localhost:6333", "Milvus"),
        ("elastic://x", "not understood"),
        ("milvus:///tmp/engine.sqlite", ".db"),
        ("milvus://host:19530/헌법", "takes no path"),
        ("milvus://host:notaport", "bad port"),
    ],
)
def test_bad_uris_say_why(uri: str, says: str) -> None:
    with pytest.raises(InvalidInputError, match=says):
        parse_backend(uri)


@pytest.mark.parametrize("name", ["헌법", "kobill", "kobill-2024", "x_files", "a_b", "규정_2024"])
def test_collection_prefix_round_trips(name: str) -> None:
    prefix = collection_prefix(name)
    assert prefix.replace("_", "a").isalnum() and prefix.isascii()
    assert name_of_prefix(prefix) == name


def test_prefixes_do_not_collide() -> None:
    names = ["a-b", "a_b", "x41", "A", "a"]
    assert len({collection_prefix(n) for n in names}) == len(names)
