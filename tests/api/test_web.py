"""The web app's serving side: the page and its assets are public, shipped in the package, local only
(no CDN), under a strict CSP; ``/v1/me`` needs a key like every data call."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

from rabbit_rag.api.routers.web import WEB_DIR, asset_paths
from tests.api.conftest import assert_error

ROOT = Path(__file__).resolve().parents[2]


def test_page_is_public_and_locked_down(client) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '<html lang="ko">' in r.text and '<script type="module" src="/web/js/main.js">' in r.text
    csp = r.headers["content-security-policy"]
    for directive in ("default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["referrer-policy"] == "no-referrer"
    assert "/" not in client.get("/openapi.json").json()["paths"]  # the page is not an API operation


def test_every_asset_is_served_with_its_type(client) -> None:
    assets = asset_paths()
    assert {"index.html", "app.css", "js/main.js", "js/api.js", "js/sse.js"} <= set(assets)
    types = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml"}
    for rel in assets:
        r = client.get(f"/web/{rel}")
        assert r.status_code == 200, rel
        assert r.headers["content-type"].startswith(types[Path(rel).suffix]), (rel, r.headers["content-type"])
        assert r.headers["x-content-type-options"] == "nosniff"
    assert client.get("/web/nothing.js").status_code == 404
    # the static mount never reaches outside api/web (the keys file, the code)
    for probe in ("/web/../auth.py", "/web/..%2Fauth.py", "/web/%2E%2E/%2E%2E/pyproject.toml"):
        r = client.get(probe)
        assert r.status_code == 404 or "API keys" not in r.text, probe


def test_assets_reference_only_each_other() -> None:
    """No CDN, no external fonts: every URL in the page is one of our assets, every import resolves."""
    html = (WEB_DIR / "index.html").read_text(encoding="utf-8")
    refs = re.findall(r'(?:src|href)="([^"#]+)"', html)
    assert refs and all(r.startswith("/web/") and (WEB_DIR / r.removeprefix("/web/")).is_file() for r in refs), refs
    for js in (WEB_DIR / "js").glob("*.js"):
        for spec in re.findall(r'^import .* from "([^"]+)";', js.read_text(encoding="utf-8"), re.M):
            assert spec.startswith("./") and (js.parent / spec).is_file(), (js.name, spec)
    for rel in asset_paths():
        text = (WEB_DIR / rel).read_text(encoding="utf-8")
        urls = [u for u in re.findall(r"https?://[^\s\"')]+", text) if u != "http://www.w3.org/2000/svg"]
        assert not urls, (rel, urls)
        assert "@import" not in text and "url(" not in text, rel  # no fonts or stylesheets fetched from anywhere


def test_package_data_ships_every_asset() -> None:
    """A non-editable install has the web app: every file under api/web matches pyproject's package-data."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["rabbit_rag.api"]
    missing = [rel for rel in asset_paths() if not any(fnmatch.fnmatch(f"web/{rel}", p) for p in patterns)]
    assert not missing, f'add these to [tool.setuptools.package-data] "rabbit_rag.api": {missing}'


def test_me_needs_a_key_and_describes_it(client, keys) -> None:
    assert_error(client.get("/v1/me"), 401, "AuthenticationError")
    assert_error(client.get("/v1/me", headers={"Authorization": "Bearer rr_nope"}), 401)
    assert client.get("/v1/me", headers=keys.h("read")).json() == {
        "name": "reader",
        "scopes": ["read"],
        "collections": None,
        "auth": "api-keys",
    }
    assert client.get("/v1/me", headers=keys.h("write")).json()["scopes"] == ["read", "write"]
    assert client.get("/v1/me", headers=keys.h("admin")).json()["scopes"] == ["read", "write", "admin"]
    assert client.get("/v1/me", headers=keys.h("other")).json()["collections"] == ["다른팀"]


def test_me_without_auth(client_factory) -> None:
    c = client_factory(api_auth_disabled=True)
    body = c.get("/v1/me").json()
    assert body["auth"] == "disabled" and body["scopes"] == ["read", "write", "admin"]


def test_follow_up_history_fits_the_chat_request_caps(client, keys) -> None:
    """The web app sends earlier turns with each follow-up; ``fitHistory`` (chat.js) shortens and drops
    them so a long conversation stays within the server's caps on a chat request instead of a 422."""
    import json
    import shutil
    import subprocess

    import pytest

    from tests.api.conftest import COLLECTION

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    history = [
        {"question": f"질문 {i}은 무엇인가?", "answer": "긴 답변입니다. " * (400 if i % 3 else 2000)} for i in range(12)
    ]
    script = (
        f"const m = await import({json.dumps((WEB_DIR / 'js' / 'chat.js').as_uri())});"
        "let s = ''; for await (const b of process.stdin) s += b;"
        "process.stdout.write(JSON.stringify(m.fitHistory(JSON.parse(s))));"
    )
    out = subprocess.run(
        [node, "--input-type=module", "-e", script],
        input=json.dumps(history, ensure_ascii=False),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    fitted = json.loads(out.stdout)
    assert 1 <= len(fitted) < len(history) and fitted[-1]["question"] == history[-1]["question"]
    messages = [m for t in fitted for m in ({"role": "user", "content": t["question"]},
                                             {"role": "assistant", "content": t["answer"]})]  # fmt: skip
    messages.append({"role": "user", "content": "그럼 대통령의 임기는?"})
    body = {"model": COLLECTION, "messages": messages}
    r = client.post("/v1/chat/completions", json=body, headers=keys.h("read"))
    assert r.status_code == 200, r.text
    unfitted = [m for t in history for m in ({"role": "user", "content": t["question"]},
                                              {"role": "assistant", "content": t["answer"]})]  # fmt: skip
    assert_error(client.post("/v1/chat/completions", json={**body, "messages": unfitted}, headers=keys.h("read")), 422)
