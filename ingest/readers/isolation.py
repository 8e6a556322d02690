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
import os
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, BinaryIO

import rabbit_rag
from rabbit_rag import errors
from rabbit_rag.errors import DocumentError
from rabbit_rag.ingest.readers import read_bytes
from rabbit_rag.ingest.readers.limits import MB, ReadLimits, timeout_reason
from rabbit_rag.types import Block, Document

_LEN = struct.Struct(">Q")
_GRACE_S = 1.0
_ERRORS = {"DocumentError": DocumentError, "EmptyDocumentError": errors.EmptyDocumentError,
           "UnsupportedFormatError": errors.UnsupportedFormatError}  # fmt: skip


def _write_frame(f: BinaryIO, payload: bytes) -> None:
    f.write(_LEN.pack(len(payload)))
    f.write(payload)


def _read_exact(f: BinaryIO, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        piece = f.read(n - len(buf))
        if not piece:
            raise EOFError
        buf += piece
    return bytes(buf)


class ParseWorker:
    """A child process that parses files under hard time and memory limits."""

    def __init__(
        self, limits: ReadLimits | None = None, memory_mb: int | None = 4096, command: Sequence[str] | None = None
    ):
        """``command`` replaces the child's command line (for tests of a stuck or crashing parser)."""
        self.limits = limits or ReadLimits()
        self.memory_mb = memory_mb
        self.command = list(command) if command else None
        self._lock = threading.Lock()  # one file at a time through the pipe; callers may share a worker
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ParseWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> subprocess.Popen[bytes]:
        # the folder the running rabbit_rag package was imported from (the checkout, or site-packages)
        root = str(Path(rabbit_rag.__file__).resolve().parents[1])
        env = dict(os.environ)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        serve = f"from rabbit_rag.ingest.readers.isolation import serve; serve({int(self.memory_mb or 0)})"
        args = self.command or [sys.executable, "-c", serve]
        return subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=root)

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(timeout=5)
        except Exception:
            proc.kill()
            proc.wait()

    def _kill(self) -> int | None:
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        proc.kill()
        return proc.wait()

    def read(self, data: bytes, name: str) -> Document:
        """Parse ``data`` (``name`` is a label) in the child; raises :class:`DocumentError` on any failure."""
        with self._lock:
            return self._read(data, name)

    def _read(self, data: bytes, name: str) -> Document:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = self._start()
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None
        header = {"name": name, "limits": asdict(self.limits)}
        try:
            _write_frame(proc.stdin, json.dumps(header).encode())
            _write_frame(proc.stdin, data)
            proc.stdin.flush()
            answer = self._answer(proc, name)
        except (BrokenPipeError, EOFError, OSError) as e:
            code = self._kill()
            raise DocumentError(name, self._died_reason(code, e)) from e
        return self._decode(answer, name)

    def _answer(self, proc: subprocess.Popen[bytes], name: str) -> dict[str, Any]:
        assert proc.stdout is not None
        timeout = None if self.limits.timeout_s is None else self.limits.timeout_s + _GRACE_S
        deadline = None if timeout is None else time.monotonic() + timeout
        fd = proc.stdout.fileno()
        buf = bytearray()
        need = _LEN.size
        length: int | None = None
        while True:
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                self._kill()
                raise DocumentError(name, timeout_reason(self.limits.timeout_s) + " (the parser was stopped)")
            ready, _, _ = select.select([fd], [], [], wait)
            if not ready:
                continue
            piece = os.read(fd, max(1 << 16, need - len(buf)))
            if not piece:
                raise EOFError("the parser process closed its output")
            buf += piece
            if length is None and len(buf) >= _LEN.size:
                (length,) = _LEN.unpack_from(buf)
                need = _LEN.size + length
            if length is not None and len(buf) >= need:
                return json.loads(bytes(buf[_LEN.size : need]))

    def _died_reason(self, code: int | None, e: Exception) -> str:
        how = f"signal {-code}" if code is not None and code < 0 else f"exit status {code}"
        memory = (
            f" or needed more than the {self.memory_mb} MB memory limit (RABBIT_RAG_PARSE_MEMORY_MB)"
            if self.memory_mb
            else ""
        )
        return f"the parser process died ({how}) on this file; the file is likely malformed{memory}"

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
    if memory_mb > 0:
        import resource

        limit = memory_mb * MB
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # library prints go to stderr, never into the protocol
    sys.stdout = sys.stderr
    stdin = sys.stdin.buffer
    from rabbit_rag.ingest.readers.pdf import text_only_fonts

    text_only_fonts()  # this process only extracts text: no system font matching in PDFium

    while True:
        try:
            (n,) = _LEN.unpack(_read_exact(stdin, _LEN.size))
        except EOFError:
            return
        header = json.loads(_read_exact(stdin, n))
        (n,) = _LEN.unpack(_read_exact(stdin, _LEN.size))
        data = _read_exact(stdin, n)
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
        _write_frame(out, json.dumps(answer, ensure_ascii=False, default=str).encode())
        out.flush()
        if fatal:
            return
