"""``rabbit-rag ask`` and ``rabbit-rag eval answers`` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rabbit_rag.cli.main import app

runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env)


def test_ask_json_contract(sample_index_ro: Path) -> None:
    from rabbit_rag.index import open_index

    res = run("ask", "국회의원 임기는?", "--index", str(sample_index_ro), "--llm", "extractive", "--json")
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert list(d) == ["question", "answer", "generator", "not_found", "span", "citations", "sources", "timings"]
    assert "4년" in d["answer"] and d["generator"] == "extractive" and d["not_found"] is False
    assert d["span"]["text"] == "4년" and set(d["timings"]) >= {"retrieve_ms", "generate_ms", "cite_ms", "total_ms"}
    nf = json.loads(
        run("ask", "김치찌개 끓이는 법", "--index", str(sample_index_ro), "--llm", "extractive", "--json").stdout
    )
    assert nf["not_found"] is True and nf["span"] is None and nf["citations"] == []
    c = next(c for c in d["citations"] if "국회의원의 임기는 4년" in c["quote"])
    assert open_index(sample_index_ro).document_text(c["doc_id"])[c["start"] : c["end"]] == c["quote"]
    assert list(d["sources"][0]) == ["rank", "score", "chunk_id", "doc_id", "source", "page", "start", "end", "text"]


def test_ask_streams_and_lists_citations(sample_index_ro: Path) -> None:
    res = run("ask", "국회의원 임기는?", "--index", str(sample_index_ro), "--llm", "extractive", "-k", "3")
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("국회의원의 임기는 4년으로 한다. [1]")
    assert "출처:" in res.stdout and "“제42조 국회의원의 임기는 4년으로 한다.”" in res.stdout
    assert "(extractive" in res.stderr


def test_auto_falls_back_and_says_so(sample_index_ro: Path) -> None:
    env = {"RABBIT_RAG_LLM_MODEL": "nobody/not-downloaded"}
    res = run("ask", "국회의원 임기는?", "--index", str(sample_index_ro), "--json", env=env)
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["generator"].startswith("extractive (fallback: model 'nobody/not-downloaded'")
    assert "nobody/not-downloaded" in res.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["   "], "the question is empty"),
        (["가" * 2001], "limit is 2000"),
        (["국회의원 임기는?", "--llm", "transformers", "--model", "nobody/not-downloaded"], "nobody/not-downloaded"),
        (["국회의원 임기는?", "--llm", "gpt"], "auto, transformers, openai, extractive"),
    ],
)
def test_ask_bad_input(sample_index_ro: Path, args: list[str], message: str) -> None:
    res = run("ask", *args[:1], "--index", str(sample_index_ro), *args[1:], "--json")
    assert res.exit_code == 1
    assert message in json.loads(res.stdout)["error"]["message"]
    assert message in res.stderr


def test_ask_openai_server_down(sample_index_ro: Path) -> None:
    env = {"RABBIT_RAG_OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "RABBIT_RAG_OPENAI_TIMEOUT": "2"}
    res = run("ask", "국회의원 임기는?", "--index", str(sample_index_ro), "--llm", "openai", env=env)
    assert res.exit_code == 1 and "cannot connect" in res.stderr


def qa(qid: str, question: str, context: str, answer: str) -> dict:
    return {"id": qid, "question": question, "answers": [{"text": answer, "answer_start": context.index(answer)}]}


C1 = "대한민국 헌법에서 국회의원의 임기는 4년으로 한다. 대통령의 임기는 5년으로 하며, 중임할 수 없다."
C2 = "육아휴직은 만 8세 이하의 자녀를 양육하기 위하여 신청할 수 있다. 휴직 기간은 1년 이내로 한다."
KORQUAD = {
    "version": "KorQuAD_v1.0_dev",
    "data": [
        {
            "title": "대한민국 헌법",
            "paragraphs": [
                {
                    "context": C1,
                    "qas": [
                        qa("q1", "국회의원의 임기는 몇 년인가?", C1, "4년"),
                        qa("q2", "대통령의 임기는?", C1, "5년"),
                    ],
                },
                {"context": C2, "qas": [qa("q3", "육아휴직 기간은 얼마인가?", C2, "1년 이내")]},
            ],
        }
    ],
}


def test_eval_answers_json(tmp_path: Path) -> None:
    data = tmp_path / "korquad.json"
    data.write_text(json.dumps(KORQUAD, ensure_ascii=False), encoding="utf-8")
    res = run(
        "eval", "answers", "--dataset", f"korquad:{data}", "--llm", "extractive", "--embed-model", "none", "--json"
    )
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["n_questions"] == 3 and d["generator"] == "extractive"
    assert d["contains_answer"] == 1.0 and d["citation_in_gold"] == 1.0 and d["quote_covers_answer"] == 1.0
    assert d["not_found_rate"] == 0.0 and d["retrieval_recall@5"] == 1.0
    assert 0.0 < d["f1"] < 1.0 and d["exact_match"] == 0.0  # whole sentences: never exact, partly right
    # the short answer inside the sentence: 4년, 5년 exactly; 1년 (gold 1년 이내) partly
    assert d["span_rate"] == 1.0 and d["span_exact_match"] == round(2 / 3, 4) and d["span_f1"] > d["f1"]


def test_eval_answers_bad_dataset(tmp_path: Path) -> None:
    res = run("eval", "answers", "--dataset", "squad:x.json", "--llm", "extractive")
    assert res.exit_code == 1 and "korquad:PATH" in res.stderr


def test_eval_answers_sample_and_hits_cache(tmp_path: Path) -> None:
    data = tmp_path / "korquad.json"
    data.write_text(json.dumps(KORQUAD, ensure_ascii=False), encoding="utf-8")
    cache = tmp_path / "hits.json"
    base = ("eval", "answers", "--dataset", f"korquad:{data}", "--llm", "extractive", "--embed-model", "none")
    args = (*base, "--sample", "2", "--seed", "3", "--hits-cache", str(cache), "--json")
    first = run(*args)
    assert first.exit_code == 0, first.output
    d = json.loads(first.stdout)
    assert d["n_questions"] == 2 and d["sample"] == 2 and d["seed"] == 3
    assert d["hits_cache"] == {"path": str(cache), "reused": 0, "retrieved": 2, "stale": None}
    again = json.loads(run(*args).stdout)
    assert again["hits_cache"]["reused"] == 2 and again["hits_cache"]["retrieved"] == 0
    assert again["contains_answer"] == d["contains_answer"]
    both = run(*base, "--sample", "2", "--limit", "1", "--json")
    assert both.exit_code == 1 and "not both" in json.loads(both.stdout)["error"]["message"]
