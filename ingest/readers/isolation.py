"""Parsing in a child process that is killed at the time limit: the robust half of the limits.

A thread cannot be killed, and a cooperative deadline cannot interrupt a library stuck inside one
call (a PDF library on a pathological content stream, a regex, a C parser). So the ingest pipeline hands
every file to one long-lived child process (running :func:`serve`) and waits at
most ``timeout_s`` (plus a second of grace) for the answer; past that it kills the child, reports
the file with the reason, and starts a fresh child for the next file. The child also runs under an
address-space limit (``RLIMIT_AS``, ``memory_mb``), so a file that needs too much memory fails
alone with a ``MemoryError`` instead of taking the machine; a child that dies for any other reason
(a crash in a C extension) is reported the same way. Inside the child the same limits apply
cooperatively, so most overruns end with a precise message before the kill is needed.

The protocol is length-prefixed frames over the child's stdin/stdout: a JSON header and the file
bytes in, a JSON document or error out. No pickle. The child's own prints go to stderr.

Cost: one interpreter start per ingest run (about 0.2 s), then a pipe round trip per file (about 5 ms
for a 60 kB text file).

예::

    with ParseWorker(ReadLimits(timeout_s=60), memory_mb=4096) as worker:
        doc = worker.read(Path("보고서.pdf").read_bytes(), "보고서.pdf")
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from rabbit_rag import errors
from rabbit_rag.childproc import ChildTimeout, FramedChild, child_pipes, died_how, read_frame, write_frame
from rabbit_rag.errors import DocumentError
from rabbit_rag.ingest.readers import read_bytes
from rabbit_rag.ingest.readers.limits import ReadLimits, timeout_reason
from rabbit_rag.types import Block, Document

_GRACE_S = 1.0
_ERRORS = {"DocumentError": DocumentError, "EmptyDocumentError": errors.EmptyDocumentError,
           "UnsupportedFormatError": errors.UnsupportedFormatError}  # fmt: skip
_CHILD = "from rabbit_rag.ingest.readers.isolation import serve; serve({memory_mb})"


class ParseWorker:
    """A child process that parses files under hard time and memory limits."""

    def __init__(
        self, limits: ReadLimits | None = None, memory_mb: int | None = 4096, command: Sequence[str] | None = None
    ):
        """``command`` replaces the child's command line (for tests of a stuck or crashing parser)."""
        self.limits = limits or ReadLimits()
        self.memory_mb = memory_mb
        self.child = FramedChild(_CHILD, memory_mb, command)
        self._lock = threading.Lock()  # one file at a time through the pipe; callers may share a worker

    def __enter__(self) -> ParseWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.child.close()

    def read(self, data: bytes, name: str) -> Document:
        """Parse ``data`` (``name`` is a label) in the child; raises :class:`DocumentError` on any failure."""
        with self._lock:
            return self._read(data, name)

    def _read(self, data: bytes, name: str) -> Document:
        header = {"name": name, "limits": asdict(self.limits)}
        timeout = None if self.limits.timeout_s is None else self.limits.timeout_s + _GRACE_S
        try:
            self.child.send(json.dumps(header).encode(), data)
            deadline = None if timeout is None else time.monotonic() + timeout
            answer = json.loads(self.child.receive(deadline))
        except ChildTimeout:
            raise DocumentError(name, timeout_reason(self.limits.timeout_s) + " (the parser was stopped)") from None
        except (BrokenPipeError, EOFError, OSError) as e:
            code = self.child.kill(grace_s=1.0)
            raise DocumentError(name, self._died_reason(code)) from e
        return self._decode(answer, name)

    def _died_reason(self, code: int | None) -> str:
        memory = (
            f" or needed more than the {self.memory_mb} MB memory limit (RABBIT_RAG_PARSE_MEMORY_MB)"
            if self.memory_mb
            else ""
        )
        return f"the parser process died ({died_how(code)}) on this file; the file is likely malformed{memory}"

    @staticmethod
    def _decode(answer: dict[str, Any], name: str) -> Document:
        if answer.get("ok"):
            d = answer["doc"]
            return Document(
                source=d["source"], text=d["text"], uri=d.get("uri"), title=d.get("title"),
                metadata=d.get("metadata") or {},
                pages=tuple(tuple(p) for p in d.get("pages") or ()),  # type: ignore[misc]
                sections=tuple((int(s[0]), str(s[1])) for s in d.get("sections") or ()),
                blocks=tuple(Block(**b) for b in d.get("blocks") or ()),
            )  # fmt: skip
        cls = _ERRORS.get(answer.get("error", ""), DocumentError)
        raise cls(name, answer.get("reason") or "the parser failed")


def serve(memory_mb: int) -> None:
    """The child's loop: frames in on stdin, frames out on the original stdout."""
    stdin, out = child_pipes(memory_mb)
    from rabbit_rag.ingest.readers.pdf import text_only_fonts

    text_only_fonts()  # this process only extracts text: no system font matching in PDFium

    while True:
        try:
            header = json.loads(read_frame(stdin))
        except EOFError:
            return
        data = read_frame(stdin)
        name = header["name"]
        fatal = False
        try:
            doc = read_bytes(data, name, ReadLimits(**header["limits"]))
            answer: dict[str, Any] = {"ok": True, "doc": asdict(doc)}
        except errors.DocumentError as e:
            answer = {"ok": False, "error": type(e).__name__, "reason": e.reason}
        except MemoryError:
            answer = {"ok": False, "error": "DocumentError",
                      "reason": f"parsing needed more than the {memory_mb} MB memory limit (RABBIT_RAG_PARSE_MEMORY_MB)"}  # fmt: skip
            fatal = True
        except RecursionError:
            answer = {
                "ok": False,
                "error": "DocumentError",
                "reason": "the file nests too deeply to parse; it is malformed",
            }
        except Exception as e:  # a reader bug or a library choking on a damaged file: report, keep going
            answer = {"ok": False, "error": "DocumentError", "reason": f"the reader failed: {type(e).__name__}: {e}"}
        del data
        write_frame(out, json.dumps(answer, ensure_ascii=False, default=str).encode())
        out.flush()
        if fatal:
            return
