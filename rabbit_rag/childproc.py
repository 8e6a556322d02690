"""A long-lived child process that speaks length-prefixed frames and is killed when it is stuck.

Work that may hang or exhaust memory inside a C library (parsing a hostile PDF, rendering a page)
cannot be stopped in a thread. Both users — the ingest parse worker
(:mod:`rabbit_rag.ingest.readers.isolation`) and the API's page renderer (:mod:`rabbit_rag.api.pdfpages`) —
run it in one child per worker instead: requests go in as frames on the child's stdin, answers come
back as frames on its stdout, and a parent that waits past its deadline kills the child and starts a
fresh one for the next request. The child runs under an address-space limit (``RLIMIT_AS``), so a
request that needs too much memory fails alone.

A frame is an 8-byte big-endian length and that many bytes: JSON headers and raw payloads (file
bytes, PNG images), never pickle. The child's own prints go to stderr so they can never corrupt the
protocol (:func:`child_pipes`).

예::

    child = FramedChild("from mypkg.worker import serve; serve({memory_mb})", memory_mb=2048)
    child.send(json.dumps({"path": "보고서.pdf"}).encode())
    answer = child.receive(deadline=time.monotonic() + 30)   # ChildTimeout (child killed) past it
"""

from __future__ import annotations

import os
import select
import struct
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import rabbit_rag

LEN = struct.Struct(">Q")


class ChildTimeout(Exception):
    """The child did not answer before the deadline; it has been killed."""


def write_frame(f: BinaryIO, payload: bytes) -> None:
    f.write(LEN.pack(len(payload)))
    f.write(payload)


def read_exact(f: BinaryIO, n: int) -> bytes:
    """``n`` bytes from ``f``; ``EOFError`` when it ends first (the parent closed the pipe)."""
    buf = bytearray()
    while len(buf) < n:
        piece = f.read(n - len(buf))
        if not piece:
            raise EOFError
        buf += piece
    return bytes(buf)


def read_frame(f: BinaryIO) -> bytes:
    """One frame's payload (the child's side, blocking); ``EOFError`` at the end of input."""
    (n,) = LEN.unpack(read_exact(f, LEN.size))
    return read_exact(f, n)


def child_pipes(memory_mb: int) -> tuple[BinaryIO, BinaryIO]:
    """In the child: apply the memory limit (MB, 0 = none) and return (requests in, answers out).

    The answers go to a duplicate of the original stdout; file descriptor 1 and ``sys.stdout`` then
    point at stderr, so a library's prints never land inside a frame."""
    if memory_mb > 0:
        import resource

        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return sys.stdin.buffer, out


class FramedChild:
    """The parent's handle on one child: started on first use, restarted after it died or was killed.

    ``code`` is the Python the child runs (``python -c``), with ``{memory_mb}`` filled in; ``command``
    replaces the whole command line (tests of a stuck or crashing child). Not thread-safe: the owner
    serializes requests (one request in flight per child).
    """

    def __init__(self, code: str, memory_mb: int | None, command: Sequence[str] | None = None) -> None:
        self.code = code
        self.memory_mb = memory_mb
        self.command = list(command) if command else None
        self._proc: subprocess.Popen[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        # the folder the running rabbit_rag package was imported from (the checkout, or site-packages);
        # not this file's parent, which in an installed wheel is the package itself (its types.py
        # would shadow the standard library's)
        root = str(Path(rabbit_rag.__file__).resolve().parents[1])
        env = dict(os.environ)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        args = self.command or [sys.executable, "-c", self.code.format(memory_mb=int(self.memory_mb or 0))]
        return subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=root)

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The child now (None before the first request and after :meth:`close` or :meth:`kill`)."""
        return self._proc

    def running(self) -> subprocess.Popen[bytes]:
        """The child, started now if there is none or the last one has exited."""
        if self._proc is None or self._proc.poll() is not None:
            self._proc = self._start()
        return self._proc

    def send(self, *payloads: bytes) -> None:
        """Write ``payloads`` as frames to the child (started if needed). ``OSError`` (a broken pipe)
        when it has died."""
        proc = self.running()
        assert proc.stdin is not None
        for payload in payloads:
            write_frame(proc.stdin, payload)
        proc.stdin.flush()

    def receive(self, deadline: float | None) -> bytes:
        """The next frame's payload. Past ``deadline`` (``time.monotonic()``; None waits for ever) the
        child is killed and :class:`ChildTimeout` raised; ``EOFError`` when the child closed its
        output (it died). Reads exactly one frame, so a second frame stays for the next call."""
        proc = self._proc
        if proc is None or proc.stdout is None:
            raise EOFError("the child process is not running")
        fd = proc.stdout.fileno()
        buf = bytearray()
        need = LEN.size
        length: int | None = None
        while True:
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                self.kill()
                raise ChildTimeout
            ready, _, _ = select.select([fd], [], [], wait)
            if not ready:
                continue
            piece = os.read(fd, need - len(buf))
            if not piece:
                raise EOFError("the child process closed its output")
            buf += piece
            if length is None and len(buf) >= LEN.size:
                (length,) = LEN.unpack_from(buf)
                need = LEN.size + length
            if length is not None and len(buf) >= need:
                return bytes(buf[LEN.size :])

    def kill(self, grace_s: float = 0.0) -> int | None:
        """Kill the child; its exit status (negative: the signal), or None when there was none.

        ``grace_s``: first wait that long for a child that is already ending (it closed its output),
        so that its own exit status is reported rather than the kill's."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        if grace_s > 0:
            try:
                return proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                pass
        proc.kill()
        return proc.wait()

    def close(self) -> None:
        """End the child gently (its input closes, it returns), killing it after 5 s."""
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


def died_how(code: int | None) -> str:
    """``signal 9`` or ``exit status 1`` for a child's exit status."""
    return f"signal {-code}" if code is not None and code < 0 else f"exit status {code}"
