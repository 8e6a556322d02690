"""One-line notices for people, on stderr, once per process and message.

stdout stays clean for ``--json``; a server or a loop of searches does not repeat a notice on every
call. Library code says what it had to do instead of what was asked (a fallback, a rebuild) here.

예: ``notice("hybrid search answered with BM25 only: the index has no vectors")``
"""

from __future__ import annotations

import sys
import threading

_noticed: set[str] = set()
_lock = threading.Lock()


def notice(message: str) -> None:
    """Print ``rabbit-rag: <message>`` on stderr unless this process already did."""
    with _lock:
        if message in _noticed:
            return
        _noticed.add(message)
    print(f"rabbit-rag: {message}", file=sys.stderr, flush=True)


def forget_notices() -> None:
    """Let every notice be printed again (tests, long-lived processes that want a fresh start)."""
    with _lock:
        _noticed.clear()
