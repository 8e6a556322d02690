"""``/v1/chat/completions`` and ``/v1/models`` through the real ``openai`` Python client and a live server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rabbit_rag.api.app import create_app
from tests.api.conftest import COLLECTION, Keys, make_settings
from tests.api.live import live_server
from tests.conftest import OnFirstUse, skip_unless_installed

skip_unless_installed("openai", "the openai client is not installed (pip install -e '.[dev]')")
openai = OnFirstUse("openai")  # imported by the first test (about 1.7 s of CPU), not by every worker's collection

QUESTION = "대통령 임기는 몇 년이야?"


@pytest.fixture
def base_url(api_root, keys: Keys) -> Iterator[str]:
    with live_server(create_app(make_settings(api_root))) as base:
        yield f"{base}/v1"


def test_completion_keeps_markers_and_citations(base_url: str, keys: Keys) -> None:
    client = openai.OpenAI(base_url=base_url, api_key=keys.read, max_retries=0)
    r = client.chat.completions.create(model=COLLECTION, messages=[{"role": "user", "content": QUESTION}])
    answer = r.choices[0].message.content
    assert "[1]" in answer and "5년" in answer and r.choices[0].finish_reason == "stop"
    assert r.model == COLLECTION and r.id.startswith("chatcmpl-")
    citations = r.model_extra["citations"]
    assert citations[0]["n"] == 1 and "대통령의 임기는 5년" in citations[0]["quote"]
    assert r.model_extra["generator"] == "extractive" and r.model_extra["sources"]
    # the same answer fields as ask: not_found, span, timings
    assert r.model_extra["not_found"] is False and r.model_extra["span"]["text"] == "5년"
    assert r.model_extra["timings"]["total_ms"] > 0


def test_streamed_completion(base_url: str, keys: Keys) -> None:
    client = openai.OpenAI(base_url=base_url, api_key=keys.read, max_retries=0)
    stream = client.chat.completions.create(
        model=COLLECTION, messages=[{"role": "user", "content": [{"type": "text", "text": QUESTION}]}], stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "대통령의 임기는 5년" in text and "[1]" in text
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert "대통령의 임기는 5년" in chunks[-1].model_extra["citations"][0]["quote"]
    assert chunks[-1].model_extra["not_found"] is False and "total_ms" in chunks[-1].model_extra["timings"]


def test_follow_up_uses_the_conversation(base_url: str, keys: Keys) -> None:
    client = openai.OpenAI(base_url=base_url, api_key=keys.read, max_retries=0)
    first = client.chat.completions.create(model=COLLECTION, messages=[{"role": "user", "content": QUESTION}])
    r = client.chat.completions.create(
        model=COLLECTION,
        messages=[
            {"role": "system", "content": "너는 법률 도우미야."},
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": first.choices[0].message.content},
            {"role": "user", "content": "그럼 국회의원은?"},
        ],
    )
    assert "국회의원의 임기는 4년" in r.choices[0].message.content
    assert "4년" in r.model_extra["citations"][0]["quote"]


def test_errors_reach_the_client_as_openai_errors(base_url: str, keys: Keys) -> None:
    bad = openai.OpenAI(base_url=base_url, api_key="rr_wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model=COLLECTION, messages=[{"role": "user", "content": QUESTION}])
    client = openai.OpenAI(base_url=base_url, api_key=keys.other, max_retries=0)
    with pytest.raises(openai.PermissionDeniedError):
        client.chat.completions.create(model=COLLECTION, messages=[{"role": "user", "content": QUESTION}])
    client = openai.OpenAI(base_url=base_url, api_key=keys.read, max_retries=0)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="없는것", messages=[{"role": "user", "content": QUESTION}])
    with pytest.raises(openai.UnprocessableEntityError):
        client.chat.completions.create(model=COLLECTION, messages=[{"role": "assistant", "content": "안녕"}])


def test_models_lists_readable_collections(base_url: str, keys: Keys) -> None:
    assert [m.id for m in openai.OpenAI(base_url=base_url, api_key=keys.read).models.list()] == [COLLECTION]
    assert list(openai.OpenAI(base_url=base_url, api_key=keys.other).models.list()) == []
