"""The framed child process both the parse worker and the page renderer run their work in."""

from __future__ import annotations

import contextlib
import json
import sys
import time

import pytest

from rabbit_rag.childproc import ChildTimeout, FramedChild, died_how

# A child that answers each request frame with two frames: the request upper-cased, then its length;
# "sleep" makes it hang, "die" makes it exit 3 without answering.
ECHO = """
import json, sys, time
from rabbit_rag.childproc import child_pipes, read_frame, write_frame
stdin, out = child_pipes({memory_mb})
print("a library print, which must not reach the protocol")
while True:
    try:
        req = read_frame(stdin).decode()
    except EOFError:
        break
    if req == "sleep":
        time.sleep(60)
    if req == "die":
        sys.exit(3)
    write_frame(out, req.upper().encode())
    write_frame(out, json.dumps(len(req)).encode())
    out.flush()
"""


def test_two_frames_per_request_are_read_one_at_a_time() -> None:
    child = FramedChild(ECHO, memory_mb=0)
    try:
        for word in ("하나", "two"):
            child.send(word.encode())
            deadline = time.monotonic() + 30
            assert child.receive(deadline).decode() == word.upper()
            assert json.loads(child.receive(deadline)) == len(word)
        first = child.process
        assert first is not None and first.poll() is None  # one child served both requests
    finally:
        child.close()
    assert child.process is None and first.poll() is not None


def test_a_stuck_child_is_killed_at_the_deadline_and_replaced() -> None:
    child = FramedChild(ECHO, memory_mb=0)
    try:
        child.send(b"sleep")
        stuck = child.process
        t0 = time.monotonic()
        with pytest.raises(ChildTimeout):
            child.receive(time.monotonic() + 0.5)
        assert time.monotonic() - t0 < 20
        assert child.process is None and stuck is not None and stuck.poll() is not None
        child.send(b"again")  # a fresh child answers the next request
        assert child.receive(time.monotonic() + 30) == b"AGAIN"
    finally:
        child.close()


def test_a_child_that_dies_ends_the_read_and_reports_how() -> None:
    child = FramedChild(ECHO, memory_mb=0)
    try:
        child.send(b"die")
        with pytest.raises(EOFError):
            child.receive(time.monotonic() + 30)
        assert died_how(child.kill(grace_s=10)) == "exit status 3"
    finally:
        child.close()
    assert died_how(-9) == "signal 9"


def test_command_replaces_the_child() -> None:
    child = FramedChild("unused", memory_mb=0, command=[sys.executable, "-c", "import sys; sys.exit(0)"])
    with contextlib.suppress(OSError):  # the child may already be gone: a broken pipe
        child.send(b"x")
    with pytest.raises(EOFError):
        child.receive(time.monotonic() + 30)
    child.close()
