"""The web app in a real browser: Debian's Chromium driven by Playwright against a real server.

A uvicorn server on a free localhost port (auth on, keys created, the extractive answerer, BM25
only); then, as a user would: sign in, create a collection, upload a Korean text file and a Korean
PDF (with upload progress and the job's status), ask, watch the answer stream in, click a citation,
see the quote highlighted in its context and on the PDF page image, ask a follow-up, delete a
document — at desktop and phone width, from the keyboard where it matters.

Needs ``chromium`` (``apt-get install -y chromium fonts-noto-cjk``; ``.ci/run`` installs it) and the
``playwright`` package (its bundled driver; Playwright's own browser download is not used).
``WEBAPP_SCREENSHOTS=docs/screenshots`` also writes the screenshots the README shows.
"""

from __future__ import annotations

import io
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("pypdfium2")
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed (pip install playwright)"
)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.slow,  # a real server and a real browser
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason="Chromium is not installed: apt-get install -y chromium fonts-noto-cjk (.ci/run does this)",
    ),
]

import httpx  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from rabbit_rag.api.app import create_app  # noqa: E402
from rabbit_rag.api.auth import add_key  # noqa: E402
from rabbit_rag.settings import Settings  # noqa: E402
from tests.api.live import live_server  # noqa: E402
from tests.ingest.docgen import THREE_PAGES, korean_pdf  # noqa: E402

# Chromium as root in a closed network: no sandbox, no GPU, none of its background connections
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RABBIT_TXT = """토끼 사육 안내

토끼는 하루에 두 번 먹이를 준다. 아침에는 건초를 주고, 저녁에는 채소를 조금 준다.
토끼의 평균 수명은 8년에서 12년이다. 토끼장은 매주 한 번 청소한다.

토끼가 아프면 동물병원에 데려간다. 토끼는 더위에 약하므로 여름에는 시원한 곳에 둔다.
"""
SHOTS = os.environ.get("WEBAPP_SCREENSHOTS")
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("upload")
    (d / "토끼안내.txt").write_text(RABBIT_TXT, encoding="utf-8")
    (d / "연구규정.pdf").write_bytes(korean_pdf(THREE_PAGES, title="연구 규정"))
    return {"txt": d / "토끼안내.txt", "pdf": d / "연구규정.pdf"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("indexes")
    keys_file = root / ".api-keys.json"
    keys = {
        "writer": add_key(keys_file, "writer", ["read", "write"]),
        "reader": add_key(keys_file, "reader", ["read"]),
        "temp": add_key(keys_file, "temp", ["read"]),
    }
    settings = Settings(index_root=root, embed_model="none", llm="extractive", api_preload=False)
    with live_server(create_app(settings)) as base:
        yield {"base": base, "keys_file": str(keys_file), **keys}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _watch(page: Any) -> list[str]:
    """Collect script errors and console errors; a test ends by asserting there were none."""
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("console", lambda m: problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.set_default_timeout(TIMEOUT_MS)
    return problems


def _active(page: Any) -> str:
    return page.evaluate(
        "() => document.activeElement && (document.activeElement.id || document.activeElement.className)"
    )


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / name))


def _wait_image(page: Any, selector: str) -> None:
    """Wait until the <img> has decoded (the page's CSP forbids the eval behind wait_for_function)."""
    loc = page.locator(selector)
    loc.wait_for(state="visible")
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not loc.evaluate("el => el.complete && el.naturalWidth > 0"):
        assert time.monotonic() < deadline, f"{selector} did not load"
        time.sleep(0.05)


def _yellow_share(png: bytes) -> float:
    px = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    r, g, b = px[..., 0], px[..., 1], px[..., 2]
    return float(((r > 200) & (g > 150) & (b < 170)).mean())


def _ask(page: Any, question: str, endpoint: str) -> Any:
    """Type the question, press Enter, and return the finished answer's <li>; the request went to
    ``endpoint`` and was answered as a stream of server-sent events."""
    box = page.get_by_label("질문", exact=True)
    box.fill(question)
    n = page.locator(".msg.bot").count()
    with page.expect_response(lambda r: endpoint in r.url and r.request.method == "POST") as info:
        box.press("Enter")
    response = info.value
    assert response.status == 200 and response.headers["content-type"].startswith("text/event-stream")
    answer = page.locator(".msg.bot").nth(n)
    page.locator(f".msg.bot:nth-child({2 * n + 2})[aria-busy=false]").wait_for()
    return answer


def test_sign_in_upload_ask_and_open_citations(server: dict[str, str], browser: Any, files: dict[str, Path]) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    problems = _watch(page)
    page.goto(server["base"] + "/")

    # sign in: a wrong key is refused in Korean, the right one opens the app with the question box focused
    key_box = page.get_by_label("API 키")
    key_box.fill("rr_wrong")
    key_box.press("Enter")
    page.get_by_text("키가 올바르지 않습니다").wait_for()
    assert page.locator("#app-view").is_hidden()
    assert [p for p in problems if "401" not in p] == []
    problems.clear()  # the browser logs the refused key's 401; nothing else may fail from here on
    key_box.fill(server["writer"])
    page.keyboard.press("Tab")  # 기억 checkbox, then the button: keyboard order follows the form
    assert _active(page) == "remember"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "로그인"
    page.keyboard.press("Enter")
    page.locator("#app-view").wait_for(state="visible")
    assert _active(page) == "question"
    assert page.get_by_text("writer (read, write)").is_visible()

    # create a collection (a write key may)
    page.get_by_role("button", name="새 컬렉션").click()
    page.get_by_label("이름").fill("연구소")
    page.get_by_label("검색 방식").select_option("none")
    page.get_by_role("button", name="만들기").click()
    page.get_by_text("「연구소」 컬렉션을 만들었습니다").wait_for()
    assert page.locator("#collection").input_value() == "연구소"

    # upload both files: progress, then the job's outcome, then the list
    page.set_input_files("#file-input", [str(files["txt"]), str(files["pdf"])])
    item = page.locator(".upload-item").first
    item.locator(".upload-status", has_text="완료").wait_for()
    assert "추가 2" in item.locator(".upload-status").inner_text()
    assert item.get_attribute("data-progress") == "100"  # XMLHttpRequest upload progress reached the end
    assert "ok" in (item.get_attribute("class") or "")
    docs = page.locator("#documents .doc-name")
    docs.nth(1).wait_for()
    assert sorted(docs.all_inner_texts()) == ["연구규정.pdf", "토끼안내.txt"]
    assert page.locator("#collection option:checked").inner_text() == "연구소 (문서 2)"
    assert "PDF 3쪽" in page.locator("#documents li", has_text="연구규정.pdf").inner_text()

    # Enter that ends a Korean IME composition must not send the half-typed question
    box = page.get_by_label("질문", exact=True)
    box.fill("토끼연구소")
    box.dispatch_event("keydown", {"key": "Enter", "isComposing": True})
    assert page.locator(".msg").count() == 0 and box.input_value() == "토끼연구소"

    # ask about the PDF: the answer streams in (SSE from /ask) and cites page 2
    answer = _ask(page, "토끼연구소의 올해 연구 예산은 얼마야?", "/v1/collections/%EC%97%B0%EA%B5%AC%EC%86%8C/ask")
    assert "삼백이십억" in answer.locator(".answer-text").inner_text()
    cite = answer.locator("button.cite").first
    assert cite.get_attribute("aria-label") == "출처 1: 연구규정.pdf 2쪽"
    quote = answer.locator(".sources .quote").first.inner_text().strip("“”")
    _shot(page, "desktop-chat.png")

    # the citation opens the quote highlighted in its context, and the page image with the quote marked
    cite.click()
    viewer = page.locator("#viewer")
    viewer.wait_for(state="visible")
    mark = page.locator("#quote-mark")
    mark.wait_for()
    assert mark.inner_text().split() == quote.split()  # the list shows the quote on one line
    assert "제2장 예산" in page.locator("#viewer-context").inner_text()  # the context around it
    assert page.locator("#viewer-meta").inner_text() == "연구규정.pdf · 2쪽"
    _wait_image(page, "#page-image")
    page.get_by_text("인용한 문장을 노란색으로 표시했습니다").wait_for()
    _shot(page, "desktop-citation.png")
    assert _yellow_share(page.locator("#page-image").screenshot()) > 0.003
    page.keyboard.press("Escape")
    viewer.wait_for(state="hidden")
    assert "cite" in _active(page)  # focus returns to the [1] that opened it

    # multi-turn: 새 대화 forgets the turns; then a follow-up is sent with the earlier turn (the
    # chat-completions endpoint is the API's one that takes history)
    page.get_by_role("button", name="새 대화").click()
    assert page.locator(".msg").count() == 0
    first = _ask(page, "토끼의 평균 수명은 몇 년이야?", "/ask")
    assert "8년에서 12년" in first.locator(".answer-text").inner_text()
    follow = _ask(page, "그럼 먹이는 하루에 몇 번 줘?", "/v1/chat/completions")
    assert "두 번" in follow.locator(".answer-text").inner_text()
    follow.locator("button.cite").first.click()
    page.locator("#quote-mark").wait_for()
    assert "하루에 두 번 먹이를 준다" in page.locator("#quote-mark").inner_text()
    assert page.locator("#page-section").is_hidden()  # a text file has no page image
    page.get_by_role("button", name="출처 창 닫기").click()

    # keyboard: Tab from the question reaches the send button, with a visible focus ring
    page.get_by_label("질문", exact=True).focus()
    page.keyboard.press("Tab")
    assert _active(page) == "send"
    assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") == "solid"

    # delete the text file (after the browser's confirm)
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="삭제: 토끼안내.txt").click()
    page.get_by_text("「토끼안내.txt」 문서를 지웠습니다").wait_for()
    sync_api.expect(page.locator("#documents .doc-name")).to_have_text(["연구규정.pdf"])
    sync_api.expect(page.locator("#collection option:checked")).to_have_text("연구소 (문서 1)")
    assert not problems, problems
    page.close()


@pytest.fixture(scope="module")
def seeded(server: dict[str, str], files: dict[str, Path]) -> str:
    """A collection filled through the API (not the UI): 규정, with the PDF and the text file."""
    h = {"Authorization": f"Bearer {server['writer']}"}
    with httpx.Client(base_url=server["base"], headers=h, timeout=60) as c:
        assert c.post("/v1/collections", json={"name": "규정", "embed_model": "none"}).status_code == 201
        up = [("files", (p.name, p.read_bytes())) for p in (files["pdf"], files["txt"])]
        job = c.post("/v1/collections/규정/documents", files=up).json()
        deadline = time.monotonic() + 60
        while (job := c.get(f"/v1/jobs/{job['id']}").json())["status"] not in ("succeeded", "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert job["status"] == "succeeded", job
    return "규정"


def test_phone_width_with_a_read_only_key(server: dict[str, str], browser: Any, seeded: str) -> None:
    ctx = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = ctx.new_page()
    problems = _watch(page)
    page.goto(server["base"] + "/")
    _shot(page, "phone-signin.png")
    page.get_by_label("API 키").fill(server["reader"])
    page.get_by_role("button", name="로그인").click()
    page.locator("#app-view").wait_for(state="visible")
    page.locator("#collection").select_option(seeded)

    # one pane at a time, chosen by tabs
    assert page.get_by_role("tab", name="대화").is_visible()
    assert page.locator("#docs-pane").is_hidden() and page.locator("#chat-pane").is_visible()
    assert page.get_by_role("button", name="새 컬렉션").is_hidden()  # a read key cannot create
    page.get_by_role("tab", name="문서").click()
    assert page.locator("#docs-pane").is_visible() and page.locator("#chat-pane").is_hidden()
    page.locator("#documents .doc-name").nth(1).wait_for()
    assert page.locator("#upload-area").is_hidden() and page.locator("#read-only").is_visible()
    assert page.locator("#documents button.danger").count() == 0  # nor delete
    _shot(page, "phone-documents.png")
    page.get_by_role("tab", name="문서").press("ArrowLeft")  # arrow keys move between tabs
    assert page.locator("#chat-pane").is_visible() and _active(page) == "tab-chat"

    answer = _ask(page, "연구 예산의 절반은 어디에 써?", "/ask")
    assert "인공지능" in answer.locator(".answer-text").inner_text()
    # everything fits the phone's width: nothing scrolls sideways, the answer wraps inside the screen
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    for el in (answer.locator(".answer-text"), answer.locator(".sources button").first, page.locator("#ask-form")):
        box = el.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    _shot(page, "phone-chat.png")
    answer.locator("button.cite").first.click()
    page.locator("#quote-mark").wait_for()
    _wait_image(page, "#page-image")
    box = page.locator("#viewer").bounding_box()
    assert box is not None and box["width"] >= 380  # the viewer takes the whole screen
    _shot(page, "phone-citation.png")
    assert not problems, problems
    ctx.close()


def test_the_server_refuses_what_the_page_hides(server: dict[str, str], seeded: str, files: dict[str, Path]) -> None:
    """Hiding the upload button is a courtesy; the read key is refused by the server itself."""
    h = {"Authorization": f"Bearer {server['reader']}"}
    with httpx.Client(base_url=server["base"], headers=h, timeout=30) as c:
        r = c.post(f"/v1/collections/{seeded}/documents", files=[("files", ("a.txt", b"\xea\xb0\x80"))])
        assert r.status_code == 403
        assert c.get("/", headers={}).status_code == 200
        assert httpx.get(server["base"] + f"/v1/collections/{seeded}/documents").status_code == 401


def test_a_revoked_key_returns_to_sign_in(server: dict[str, str], browser: Any, seeded: str) -> None:
    from rabbit_rag.api.auth import revoke_key

    page = browser.new_page(viewport={"width": 1024, "height": 768})
    problems = _watch(page)
    page.goto(server["base"] + "/")
    page.get_by_label("API 키").fill(server["temp"])
    page.get_by_label("이 브라우저에 기억").check()
    page.get_by_role("button", name="로그인").click()
    page.locator("#app-view").wait_for(state="visible")
    page.reload()  # remembered: signed in again without typing the key
    page.locator("#app-view").wait_for(state="visible")
    page.locator("#documents .doc-name").nth(1).wait_for()  # the sign-in's own calls are done
    assert revoke_key(Path(server["keys_file"]), "temp")  # the server re-reads its keys file
    page.get_by_role("button", name="새로 고침").click()
    page.get_by_text("키가 더 이상 유효하지 않습니다").wait_for()
    assert page.locator("#signin-view").is_visible() and page.locator("#app-view").is_hidden()
    assert _active(page) == "api-key"
    assert page.evaluate("() => localStorage.getItem('rabbit-rag.key')") is None  # forgotten
    assert [p for p in problems if "401" not in p] == []
    page.close()
