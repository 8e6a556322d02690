"""Settings from rabbit-rag.toml (or --config PATH), environment variables over it, `rabbit-rag config`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rabbit_rag.cli.main import app
from rabbit_rag.errors import InvalidInputError
from rabbit_rag.settings import Settings

runner = CliRunner()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for var in ("RABBIT_RAG_TOP_K", "RABBIT_RAG_LLM", "RABBIT_RAG_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def _config_json(*args: str) -> dict:
    result = runner.invoke(app, [*args, "config", "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_the_file_in_the_working_directory_and_the_environment_over_it(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "rabbit-rag.toml").write_text('top_k = 3\nllm = "extractive"\nembed_model = "none"\n', encoding="utf-8")
    monkeypatch.setenv("RABBIT_RAG_LLM", "openai")
    out = _config_json()
    assert out["config_file"] == str(workdir / "rabbit-rag.toml")
    s = out["settings"]
    assert s["top_k"] == {"value": 3, "source": str(workdir / "rabbit-rag.toml")}
    assert s["llm"] == {"value": "openai", "source": "RABBIT_RAG_LLM"}  # the variable wins
    assert s["rrf_k"] == {"value": 60, "source": "default"}
    assert s["index_root"]["value"] == "indexes"
    # the human form is TOML with the source of each line
    text = runner.invoke(app, ["config"]).stdout
    assert any(
        line.startswith("top_k = 3 ") and line.endswith(f"# {workdir / 'rabbit-rag.toml'}")
        for line in text.splitlines()
    )
    assert any(line.startswith('llm = "openai"') and line.endswith("# RABBIT_RAG_LLM") for line in text.splitlines())


def test_secrets_are_not_printed(workdir: Path) -> None:
    (workdir / "rabbit-rag.toml").write_text('openai_api_key = "sk-secret"\n', encoding="utf-8")
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 0 and "sk-secret" not in result.stdout and "**********" in result.stdout


def test_a_named_file_and_its_errors(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deploy = workdir / "deploy.toml"
    deploy.write_text("top_k = 7\n", encoding="utf-8")
    assert _config_json("--config", str(deploy))["settings"]["top_k"]["value"] == 7
    monkeypatch.setenv("RABBIT_RAG_CONFIG", str(deploy))
    assert _config_json()["settings"]["top_k"]["source"] == str(deploy)
    monkeypatch.delenv("RABBIT_RAG_CONFIG")

    missing = runner.invoke(app, ["--config", str(workdir / "nope.toml"), "config"])
    assert missing.exit_code == 2 and "nope.toml not found" in missing.stderr
    deploy.write_text("topk = 7\n", encoding="utf-8")
    typo = runner.invoke(app, ["--config", str(deploy), "config"])
    assert typo.exit_code == 2 and "'topk' is not a setting; did you mean 'top_k'?" in typo.stderr
    deploy.write_text("top_k = 0\n", encoding="utf-8")
    bad = runner.invoke(app, ["--config", str(deploy), "config"])
    assert bad.exit_code == 2 and f"{deploy}: top_k=0" in bad.stderr and "Traceback" not in bad.stderr
    deploy.write_text("top_k = \n", encoding="utf-8")
    broken = runner.invoke(app, ["--config", str(deploy), "config"])
    assert broken.exit_code == 2 and "not valid TOML" in broken.stderr


def test_commands_use_the_file(workdir: Path, sample_index_ro: Path) -> None:
    (workdir / "rabbit-rag.toml").write_text("top_k = 2\n", encoding="utf-8")
    out = runner.invoke(app, ["search", "국회의원 임기", "--index", str(sample_index_ro), "--json"])
    assert out.exit_code == 0 and len(json.loads(out.stdout)["results"]) == 2


def test_library_code_never_reads_the_file(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (workdir / "rabbit-rag.toml").write_text("top_k = 3\n", encoding="utf-8")
    assert Settings().top_k == 5 and Settings.defaults().top_k == 5
    assert Settings.load().top_k == 3 and Settings.load(cwd=workdir / "elsewhere").top_k == 5
    monkeypatch.setenv("RABBIT_RAG_TOP_K", "9")
    assert Settings.defaults().top_k == 5 and Settings.load().top_k == 9
    with pytest.raises(InvalidInputError, match="not found"):
        Settings.load(workdir / "missing.toml")


def test_the_api_reads_the_file(workdir: Path) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from rabbit_rag.api.app import create_app

    (workdir / "rabbit-rag.toml").write_text(
        f'index_root = "{(workdir / "kb").as_posix()}"\napi_preload = false\napi_auth_disabled = true\n',
        encoding="utf-8",
    )
    with TestClient(create_app()) as client:
        assert client.app.state.rr.settings.index_root == workdir / "kb"
        assert client.get("/v1/collections").status_code == 200
