"""Checksums of generation files: recorded when a generation is published, verified when it is opened.

Every file of ``gen-<revision>/`` gets ``{"size": bytes, "<algorithm>": hex digest}`` in the
manifest's ``generation.files``. Opening a generation compares them before anything is loaded, so a
truncated or garbled ``.npy`` or FAISS file is an error that leads to a rebuild from the docstore
(:func:`rabbit_rag.index.publish.repair`), never wrong results.

The digest is xxh3-128 (the ``xxhash`` package): the checks guard against accidental damage (a disk,
a copy, a truncation), not against an attacker, and at 100k chunks it costs about a tenth of SHA-256
— measured by ``benchmarks/integrity.py`` next to the time it takes to load the same files. Entries
name their algorithm, so records made with another one (``sha256``) still verify.

예::

    entries = file_entries(Path("indexes/헌법/gen-00000003"))
    verify_files(Path("indexes/헌법/gen-00000003"), entries)   # [] when every file is intact
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

#: The digest recorded for each file (the entry's key names it, so another can be chosen later).
ALGORITHM = "xxh3_128"
_BLOCK = 1 << 20


def _hasher(algorithm: str) -> Any:
    if algorithm == "xxh3_128":
        import xxhash

        return xxhash.xxh3_128()
    return hashlib.new(algorithm)


def _known(algorithm: str) -> bool:
    return algorithm == "xxh3_128" or algorithm in hashlib.algorithms_available


def digest_file(path: Path, algorithm: str = ALGORITHM) -> str:
    """Hex digest of a file's bytes, read in 1 MiB blocks (bounded memory)."""
    h = _hasher(algorithm)
    with open(path, "rb") as f:
        buf = bytearray(_BLOCK)
        view = memoryview(buf)
        while n := f.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


def file_entries(folder: Path, names: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    """``{name: {"size", ALGORITHM}}`` for the files of ``folder`` (or just ``names``)."""
    folder = Path(folder)
    paths = [folder / n for n in names] if names is not None else sorted(p for p in folder.iterdir() if p.is_file())
    return {p.name: {"size": p.stat().st_size, ALGORITHM: digest_file(p)} for p in paths}


def verify_file(path: Path, entry: Mapping[str, Any]) -> str | None:
    """What is wrong with one file against its recorded entry, or None when it matches."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "missing"
    except OSError as e:
        return f"unreadable ({e.strerror or e})"
    if "size" in entry and size != entry["size"]:
        return f"{size} bytes, recorded {entry['size']}"
    algorithm = next((a for a in entry if a != "size" and _known(a)), None)
    if algorithm is None:
        return None  # nothing we can check beyond the size
    try:
        if digest_file(path, algorithm) != entry[algorithm]:
            return "content does not match its checksum"
    except OSError as e:
        return f"unreadable ({e.strerror or e})"
    return None


def verify_files(
    folder: Path, entries: Mapping[str, Mapping[str, Any]], skip: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """``(file name, problem)`` for every recorded file of ``folder`` that does not match (empty: all
    intact). ``skip`` names files verified elsewhere (e.g. the FAISS file, when it is loaded)."""
    skipped = set(skip)
    problems = []
    for name, entry in entries.items():
        if name in skipped:
            continue
        problem = verify_file(Path(folder) / name, entry)
        if problem is not None:
            problems.append((name, problem))
    return problems
