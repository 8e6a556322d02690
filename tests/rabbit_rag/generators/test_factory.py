"""Choosing a generator: auto falls back and says so; an explicit transformers fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from rabbit_rag.components import generator_from_settings
from rabbit_rag.errors import InvalidInputError, ModelUnavailableError
from rabbit_rag.generators.factory import make_generator
from rabbit_rag.settings import Settings


def test_auto_falls_back_to_extractive_and_says_why() -> None:
    said: list[str] = []
    gen = make_generator("auto", model="nobody/not-downloaded", notify=said.append)
    assert gen.name.startswith("extractive (fallback: model 'nobody/not-downloaded' cannot be loaded")
    assert said and "nobody/not-downloaded" in said[0] and "extractive" in said[0]


def test_explicit_transformers_fails_naming_the_model(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="nobody/not-downloaded"):
        make_generator("transformers", model="nobody/not-downloaded")
    with pytest.raises(ModelUnavailableError, match="missing"):
        make_generator("transformers", model=str(tmp_path / "missing"))


def test_auto_uses_a_model_that_loads(tiny_llama: Path) -> None:
    gen = make_generator("auto", model=str(tiny_llama))
    assert gen.name == f"transformers:{tiny_llama}"


def test_names_and_choices() -> None:
    assert make_generator("extractive").name == "extractive"
    assert make_generator("openai", model="rabbit", openai_base_url="http://127.0.0.1:9/v1").name == "openai:rabbit"
    with pytest.raises(InvalidInputError, match="auto, transformers, openai, extractive"):
        make_generator("gpt")


def test_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RABBIT_RAG_LLM", "openai")
    monkeypatch.setenv("RABBIT_RAG_OPENAI_MODEL", "served-name")
    monkeypatch.setenv("RABBIT_RAG_OPENAI_API_KEY", "sk-x")
    monkeypatch.setenv("RABBIT_RAG_OPENAI_TIMEOUT", "2.5")
    gen = generator_from_settings(Settings())
    assert gen.name == "openai:served-name"
    chat = gen.chat_model  # type: ignore[attr-defined]
    assert chat.api_key == "sk-x" and chat.timeout == 2.5
    assert generator_from_settings(Settings(), "extractive").name == "extractive"
